#include "adsx/serving/inventory.h"

#include <algorithm>

#include "adsx/base/time.h"

namespace adsx::serving {

std::string_view name(drop_reason r) noexcept
{
    switch (r) {
        case drop_reason::unknown_ad:
            return "unknown_ad";
        case drop_reason::not_targeted:
            return "not_targeted";
        case drop_reason::flight:
            return "flight";
        case drop_reason::budget:
            return "budget";
        case drop_reason::pacing:
            return "pacing";
        case drop_reason::frequency_cap:
            return "frequency_cap";
        case drop_reason::below_reserve:
            return "below_reserve";
        case drop_reason::same_campaign:
            return "same_campaign";
    }
    return "unknown";
}

inventory inventory::build(std::vector<campaign_info> campaigns, std::vector<ad_info> ads,
                           const std::unordered_map<std::uint32_t, campaign_spend>& spend,
                           std::int64_t loaded_at_ms)
{
    inventory inv;
    inv._loaded_at_ms = loaded_at_ms;
    inv._campaigns = std::move(campaigns);
    for (auto& c : inv._campaigns) {
        c.id_text = std::to_string(c.id.value);
    }
    std::erase_if(ads, [&](const ad_info& a) { return a.campaign >= inv._campaigns.size(); });
    std::sort(ads.begin(), ads.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    inv._ads = std::move(ads);
    for (const auto& c : inv._campaigns) {
        auto it = spend.find(c.id.value);
        inv._spend.push_back(it == spend.end() ? campaign_spend{} : it->second);
    }
    for (std::uint32_t i = 0; i < inv._ads.size(); ++i) {
        auto& a = inv._ads[i];
        a.id_text = std::to_string(a.id.value);
        inv._by_id.emplace(a.id.value, i);
        const auto& c = inv._campaigns[a.campaign];
        for (const auto& g : c.geos) {
            auto& by_device = inv._by_target[g];
            for (int d = 0; d < events::device_count; ++d) {
                if (c.device_mask & (1u << d)) {
                    by_device[static_cast<std::size_t>(d)].push_back(i);
                }
            }
        }
    }
    return inv;
}

std::span<const std::uint32_t> inventory::targeted(std::string_view geo,
                                                   events::device_type d) const
{
    auto it = _by_target.find(std::string(geo));
    if (it == _by_target.end()) {
        return {};
    }
    return it->second[static_cast<std::size_t>(d)];
}

std::optional<std::uint32_t> inventory::find(ad_id id) const
{
    auto it = _by_id.find(id.value);
    return it == _by_id.end() ? std::nullopt : std::optional(it->second);
}

bool inventory::targets(const ad_info& a, std::string_view geo, events::device_type d) const
{
    const auto& c = campaign_of(a);
    return (c.device_mask & (1u << static_cast<unsigned>(d))) &&
           std::find(c.geos.begin(), c.geos.end(), geo) != c.geos.end();
}

const campaign_spend& inventory::spend(const campaign_info& c) const
{
    return _spend[static_cast<std::size_t>(&c - _campaigns.data())];
}

std::optional<drop_reason> inventory::ineligible(const ad_info& a, std::int64_t now_ms) const
{
    const auto& c = campaign_of(a);
    if (now_ms < c.flight_start_ms || now_ms >= c.flight_end_ms) {
        return drop_reason::flight;
    }
    const auto& s = spend(c);
    if (s.today >= c.daily_budget || s.total >= c.lifetime_budget) {
        return drop_reason::budget;
    }
    // Even delivery through the UTC day: spend so far against the day's plan, with some slack.
    const double elapsed = static_cast<double>(now_ms % day_ms) / static_cast<double>(day_ms);
    if (s.today > c.daily_budget * std::min(1.0, elapsed + pacing_slack)) {
        return drop_reason::pacing;
    }
    return std::nullopt;
}

}  // namespace adsx::serving
