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

}  // namespace adsx::simulate::truth
