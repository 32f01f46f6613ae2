#pragma once
// The hidden ground truth the simulated users act by. Models never see it; they have to learn
// it from the events. Base CTR sits around 1–2 %, p(conversion | click) around 4–8 %.
//
//   p(click) = sigmoid(b0 + affinity[segment][category] + device + geo + hour(local)
//                      + slot[device] + placement[device]
//                      + ad quality − fatigue × impressions of this campaign to this user in 24 h
//                      + recency: −0.3 if the user saw this very ad within the last 10 minutes)
//
// Slot and placement act through the device, as on real pages: a phone's screen shows the first
// slot and little else, a TV only the first, while a desktop page shows most of them; a sidebar
// barely exists on a phone, a pre-roll is a TV's natural format. These are interactions: a model
// that adds a slot effect to a device effect cannot express them without the right crosses.
//   p(conversion | click) = sigmoid(c0 + category + device)
//   revenue | conversion ~ lognormal(mu[category], 0.8)
//   click delay ~ lognormal(ln 8 s, 1.0), capped at 30 min
//   conversion delay ~ exponential(mean 90 min), capped at 24 h
#include <array>
#include <cstdint>
#include <optional>

#include "adsx/simulate/random.h"
#include "adsx/simulate/world.h"

namespace adsx::simulate::truth {

struct click_context
{
    const user& u;
    const ad& a;
    int local_hour;            // 0..23 in the user's time zone
    int slot;                  // 1..5
    std::size_t placement;     // index into placements
    int recent_same_campaign;  // impressions of the ad's campaign to this user in the last 24 h
    bool saw_ad_recently;      // this ad shown to this user within 10 minutes
};

inline constexpr double base_click_logit = -4.35;      // ≈ 1.3 %
inline constexpr double base_conversion_logit = -2.9;  // ≈ 5 %
inline constexpr double fatigue_per_impression = 0.25;
inline constexpr double revenue_sigma = 0.8;
inline constexpr double click_delay_median_ms = 8'000;
inline constexpr double click_delay_sigma = 1.0;
inline constexpr double click_delay_cap_ms = 30 * 60'000;
inline constexpr double conversion_delay_mean_ms = 90 * 60'000;
inline constexpr double conversion_delay_cap_ms = 24 * 3'600'000.0;

[[nodiscard]] double device_click_effect(events::device_type d) noexcept;
[[nodiscard]] double hour_click_effect(int local_hour) noexcept;
[[nodiscard]] double slot_click_effect(events::device_type d, int slot) noexcept;
[[nodiscard]] double placement_click_effect(events::device_type d, std::size_t placement) noexcept;
[[nodiscard]] double p_click(const world& w, const click_context& c) noexcept;
[[nodiscard]] double p_conversion(const user& u, const ad& a) noexcept;
[[nodiscard]] double revenue_mu(int category) noexcept;  // log-scale mean of revenue
// How active users are by local hour (relative weight, max 1).
[[nodiscard]] double activity(int local_hour) noexcept;

// What follows an impression, drawn in one fixed order (so that the generator's and the closed
// loop's streams stay reproducible): whether it is clicked; if so the click's delay, whether it
// converts, the conversion's delay after the click and its revenue.
struct chain
{
    double click_delay_ms;
    bool converts;
    double conversion_delay_ms;
    double revenue;  // rounded to cents
};
[[nodiscard]] std::optional<chain> draw_chain(rng& r, double p_click, double p_conversion,
                                              int category) noexcept;

// A user's recent impressions (a ring of the last 16), for the fatigue and recency terms of
// p_click: how often this ad's campaign was shown in the last 24 h, whether the ad itself in the
// last 10 minutes.
class exposures
{
public:
    struct seen
    {
        int same_campaign = 0;
        bool ad_recently = false;
    };
    [[nodiscard]] seen before(const world& w, std::uint32_t ad_index,
                              std::int64_t t_ms) const noexcept;
    void add(std::uint32_t ad_index, std::int64_t t_ms) noexcept;

private:
    struct recent
    {
        std::uint32_t ad = UINT32_MAX;
        std::int64_t time_ms = 0;
    };
    static constexpr int ring_size = 16;
    std::array<recent, ring_size> _ring{};
    std::uint8_t _pos = 0;
};

}  // namespace adsx::simulate::truth
