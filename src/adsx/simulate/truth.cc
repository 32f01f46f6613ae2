#include "adsx/simulate/truth.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "adsx/base/time.h"
#include "adsx/simulate/random.h"

namespace adsx::simulate::truth {

double device_click_effect(events::device_type d) noexcept
{
    constexpr std::array<double, events::device_count> effect = {0.15, 0.0, -0.2, -0.6};
    return effect[static_cast<std::size_t>(d)];
}

namespace {

template <class F>
std::array<double, 24> by_hour(F f)
{
    std::array<double, 24> t{};
    for (int h = 0; h < 24; ++h) {
        t[static_cast<std::size_t>(h)] = f(h);
    }
    return t;
}

std::size_t hour_index(int local_hour) noexcept
{
    return static_cast<std::size_t>(((local_hour % 24) + 24) % 24);
}

}  // namespace

double hour_click_effect(int local_hour) noexcept
{
    // Evenings click more: +0.2 at 21:00, −0.2 at 09:00.
    static const auto table =
        by_hour([](int h) { return 0.2 * std::cos(2 * std::numbers::pi * (h - 21) / 24.0); });
    return table[hour_index(local_hour)];
}

double slot_click_effect(events::device_type d, int slot) noexcept
{
    // By device (ios, android, desktop, ctv), then slot 1..5.
    constexpr std::array<std::array<double, 5>, events::device_count> effect = {{
        {0.8, 0.3, -0.2, -0.6, -0.9},
        {0.8, 0.3, -0.2, -0.6, -0.9},
        {0.15, 0.1, 0.05, 0.0, -0.05},
        {0.4, -1.0, -1.0, -1.0, -1.0},
    }};
    return effect[static_cast<std::size_t>(d)]
                 [static_cast<std::size_t>(std::clamp(slot, 1, 5) - 1)];
}

double placement_click_effect(events::device_type d, std::size_t placement) noexcept
{
    // By device (ios, android, desktop, ctv), then placement (feed, sidebar, interstitial,
    // video_preroll: the order of `placements`).
    static_assert(placements.size() == 4);
    constexpr std::array<std::array<double, 4>, events::device_count> effect = {{
        {0.15, -0.9, 0.4, -0.1},
        {0.15, -0.9, 0.4, -0.1},
        {0.0, 0.25, -0.5, 0.15},
        {-0.4, -0.9, -0.4, 0.8},
    }};
    return effect[static_cast<std::size_t>(d)][std::min(placement, placements.size() - 1)];
}

double p_click(const world& w, const click_context& c) noexcept
{
    double x = base_click_logit + w.affinity[c.u.segment][c.a.category] +
               device_click_effect(c.u.device) + geos[c.u.geo].click_effect +
               hour_click_effect(c.local_hour) + slot_click_effect(c.u.device, c.slot) +
               placement_click_effect(c.u.device, c.placement) + c.a.quality -
               fatigue_per_impression * c.recent_same_campaign - (c.saw_ad_recently ? 0.3 : 0.0);
    return sigmoid(x);
}

double p_conversion(const user& u, const ad& a) noexcept
{
    constexpr std::array<double, segment_count> category = {-0.3, 0.0,  0.3, 0.2,
                                                            0.4,  -0.2, 0.1, 0.3};
    constexpr std::array<double, events::device_count> device = {0.2, -0.1, 0.3, -0.5};
    return sigmoid(base_conversion_logit + category[a.category] +
                   device[static_cast<std::size_t>(u.device)]);
}

double revenue_mu(int category) noexcept
{
    constexpr std::array<double, segment_count> mean = {15, 40, 60, 120, 300, 25, 200, 500};
    return std::log(mean[static_cast<std::size_t>(category)]);
}

double activity(int local_hour) noexcept
{
    // Low at night (08:00 is the trough of 0.1), high in the evening (20:00).
    static const auto table = by_hour(
        [](int h) { return 0.55 + 0.45 * std::cos(2 * std::numbers::pi * (h - 20) / 24.0); });
    return table[hour_index(local_hour)];
}

std::optional<chain> draw_chain(rng& r, double p_click, double p_conversion, int category) noexcept
{
    if (!r.bernoulli(p_click)) {
        return std::nullopt;
    }
    chain c{};
    c.click_delay_ms = std::min(click_delay_cap_ms,
                                r.lognormal(std::log(click_delay_median_ms), click_delay_sigma));
    c.converts = r.bernoulli(p_conversion);
    c.conversion_delay_ms =
        std::min(conversion_delay_cap_ms, r.exponential(conversion_delay_mean_ms));
    c.revenue = std::round(r.lognormal(revenue_mu(category), revenue_sigma) * 100) / 100;
    return c;
}

exposures::seen exposures::before(const world& w, std::uint32_t ad_index,
                                  std::int64_t t_ms) const noexcept
{
    constexpr std::int64_t recency_ms = 600'000;
    const auto campaign = w.ads[ad_index].campaign;
    seen s;
    for (const auto& e : _ring) {
        if (e.ad != UINT32_MAX && t_ms - e.time_ms < day_ms) {
            s.same_campaign += w.ads[e.ad].campaign == campaign;
            s.ad_recently |= e.ad == ad_index && t_ms - e.time_ms < recency_ms;
        }
    }
    return s;
}

void exposures::add(std::uint32_t ad_index, std::int64_t t_ms) noexcept
{
    _ring[_pos] = {ad_index, t_ms};
    _pos = static_cast<std::uint8_t>((_pos + 1) % ring_size);
}

}  // namespace adsx::simulate::truth
