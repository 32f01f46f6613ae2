#pragma once
// The auction of one request: candidates with their bids and predicted rates in, winners with
// their prices out. Pure and deterministic.
//
//   std::vector<ranking::bidder> c = {{ad_id{7}, campaign_id{2}, bid_kind::cpc, 1.20, 1, 0.02, 0}};
//   auto won = ranking::run_auction(c, {.slots = 3, .reserve_ecpm = 0.5});
//   won[0].price;   // what the winner pays, in its bid's unit (per mille / click / conversion)
//
// Rules (DESIGN.md "Ranking"):
// - eCPM (value of 1000 impressions) per bid kind: CPM bid; CPC bid × pCTR × 1000;
//   CPA bid × pCTR × pCVR × 1000.
// - Candidates below the placement's reserve eCPM, or with an eCPM that is not a positive
//   finite number, do not take part.
// - Order: priority tier first (1 before 2 before 3), then eCPM (higher first), then ad id
//   (lower first): the same candidates always give the same order.
// - The top `slots` win. Generalized second price within a tier: a winner pays the eCPM of the
//   candidate ranked right after it in its own tier, or the reserve when it is the tier's last;
//   never more than its own eCPM, so never more than its bid. The price is stated in the
//   winner's bid unit (CPC: per click = price eCPM / (pCTR × 1000)).
#include <cstdint>
#include <span>
#include <vector>

#include "adsx/base/ids.h"

namespace adsx::ranking {

enum class bid_kind : std::uint8_t
{
    cpm,
    cpc,
    cpa,
};

struct bidder
{
    ad_id ad;
    campaign_id campaign;
    bid_kind kind = bid_kind::cpm;
    double bid = 0;    // per 1000 impressions (CPM), per click (CPC), per conversion (CPA)
    int priority = 3;  // 1 = highest tier
    double pctr = 0;
    double pcvr = 0;  // used by CPA only
};

struct auction_settings
{
    std::size_t slots = 1;
    double reserve_ecpm = 0;  // the placement's floor
};

struct winner
{
    std::size_t candidate = 0;  // index into the candidates given
    double ecpm = 0;
    double price = 0;       // in the bid's unit
    double price_ecpm = 0;  // the same price as eCPM
};

[[nodiscard]] double ecpm(const bidder& b) noexcept;

// Winners in slot order (at most `slots`).
[[nodiscard]] std::vector<winner> run_auction(std::span<const bidder> candidates,
                                              const auction_settings& s);

}  // namespace adsx::ranking
