#include "adsx/ranking/auction.h"

#include <algorithm>
#include <cmath>

namespace adsx::ranking {

double ecpm(const bidder& b) noexcept
{
    switch (b.kind) {
        case bid_kind::cpm:
            return b.bid;
        case bid_kind::cpc:
            return b.bid * b.pctr * 1000.0;
        case bid_kind::cpa:
            return b.bid * b.pctr * b.pcvr * 1000.0;
    }
    return 0;
}

namespace {

struct entry
{
    std::size_t index;
    int priority;
    double ecpm;
    std::uint32_t ad;
};

// The price in the bid's unit of an eCPM paid by `b` (whose own eCPM is positive).
double in_bid_unit(const bidder& b, double price_ecpm) noexcept
{
    switch (b.kind) {
        case bid_kind::cpm:
            return price_ecpm;
        case bid_kind::cpc:
            return price_ecpm / (b.pctr * 1000.0);
        case bid_kind::cpa:
            return price_ecpm / (b.pctr * b.pcvr * 1000.0);
    }
    return 0;
}

}  // namespace

std::vector<winner> run_auction(std::span<const bidder> candidates, const auction_settings& s)
{
    std::vector<entry> ranked;
    ranked.reserve(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const double e = ecpm(candidates[i]);
        if (std::isfinite(e) && e > 0 && e >= s.reserve_ecpm) {
            ranked.push_back({i, candidates[i].priority, e, candidates[i].ad.value});
        }
    }
    std::sort(ranked.begin(), ranked.end(), [](const entry& a, const entry& b) {
        if (a.priority != b.priority) {
            return a.priority < b.priority;
        }
        if (a.ecpm != b.ecpm) {
            return a.ecpm > b.ecpm;
        }
        return a.ad < b.ad;
    });
    std::vector<winner> out;
    for (std::size_t k = 0; k < ranked.size() && k < s.slots; ++k) {
        const auto& w = ranked[k];
        const bool next_in_tier = k + 1 < ranked.size() && ranked[k + 1].priority == w.priority;
        const double competitor = next_in_tier ? ranked[k + 1].ecpm : s.reserve_ecpm;
        const double price_ecpm = std::min(std::max(competitor, s.reserve_ecpm), w.ecpm);
        out.push_back({w.index, w.ecpm, in_bid_unit(candidates[w.index], price_ecpm), price_ecpm});
    }
    return out;
}

}  // namespace adsx::ranking
