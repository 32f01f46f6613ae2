#pragma once
// The catalog as serving holds it: campaigns and ads from PostgreSQL with their targeting,
// flights, budgets and caps, indexed by (geo, device) so that retrieval never scans every ad,
// plus each campaign's spend so far (today and in total) for budgets and pacing. Immutable once
// built; the refresher (catalog_snapshot.h) swaps in a new one atomically.
//
//   auto inv = serving::inventory::build(campaigns, ads, spend, loaded_at_ms);
//   for (auto i : inv.targeted("US-CA", events::device_type::ios)) { const auto& a = inv.ads()[i];
//   } if (auto why = inv.ineligible(inv.ads()[i], now_ms)) { … }   // flight, budget, pacing
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "adsx/base/ids.h"
#include "adsx/events/event.h"
#include "adsx/ranking/auction.h"

namespace adsx::serving {

struct campaign_info
{
    campaign_id id;
    std::string id_text;  // the id as a model's categorical value
    advertiser_id advertiser;
    std::string category;
    ranking::bid_kind kind = ranking::bid_kind::cpm;
    double bid = 0;
    double daily_budget = 0;
    double lifetime_budget = 0;
    std::int64_t flight_start_ms = 0;  // inclusive
    std::int64_t flight_end_ms = 0;    // exclusive
    int priority = 3;
    int frequency_cap = 1;  // impressions per user in 24 h
    std::vector<std::string> geos;
    std::uint8_t device_mask = 0;  // bit per events::device_type
};

struct ad_info
{
    ad_id id;
    std::string id_text;
    std::uint32_t campaign = 0;  // index into inventory::campaigns()
    std::string creative_category;
};

struct campaign_spend
{
    double today = 0;  // since midnight UTC
    double total = 0;
};

// Why a candidate is not served (debug replies and metrics name them).
enum class drop_reason : std::uint8_t
{
    unknown_ad,
    not_targeted,
    flight,
    budget,
    pacing,
    frequency_cap,
    below_reserve,
    same_campaign,  // another ad of its campaign ranked higher (one ad per campaign)
};
[[nodiscard]] std::string_view name(drop_reason r) noexcept;

// How far ahead of an even spread through the day a campaign may spend before it is throttled,
// as a share of its daily budget.
inline constexpr double pacing_slack = 0.1;

class inventory
{
public:
    // Ads whose campaign index is out of range are dropped. `spend` by campaign id.
    [[nodiscard]] static inventory build(
        std::vector<campaign_info> campaigns, std::vector<ad_info> ads,
        const std::unordered_map<std::uint32_t, campaign_spend>& spend, std::int64_t loaded_at_ms);

    [[nodiscard]] const std::vector<campaign_info>& campaigns() const noexcept
    {
        return _campaigns;
    }
    [[nodiscard]] const std::vector<ad_info>& ads() const noexcept { return _ads; }
    [[nodiscard]] const campaign_info& campaign_of(const ad_info& a) const
    {
        return _campaigns[a.campaign];
    }
    // Indices into ads() of the ads targeting this geo and device, ascending by ad id.
    [[nodiscard]] std::span<const std::uint32_t> targeted(std::string_view geo,
                                                          events::device_type d) const;
    // The index into ads() of an ad id.
    [[nodiscard]] std::optional<std::uint32_t> find(ad_id id) const;
    [[nodiscard]] bool targets(const ad_info& a, std::string_view geo, events::device_type d) const;
    [[nodiscard]] const campaign_spend& spend(const campaign_info& c) const;
    // Flight, budgets (daily, lifetime) and pacing at `now_ms`; nullopt when eligible.
    [[nodiscard]] std::optional<drop_reason> ineligible(const ad_info& a,
                                                        std::int64_t now_ms) const;
    [[nodiscard]] std::int64_t loaded_at_ms() const noexcept { return _loaded_at_ms; }

private:
    std::vector<campaign_info> _campaigns;
    std::vector<ad_info> _ads;
    std::vector<campaign_spend> _spend;                       // by campaign index
    std::unordered_map<std::uint32_t, std::uint32_t> _by_id;  // ad id -> index
    std::unordered_map<std::string, std::array<std::vector<std::uint32_t>, events::device_count>>
        _by_target;
    std::int64_t _loaded_at_ms = 0;
};

}  // namespace adsx::serving
