#pragma once
// The simulated ad world: users, advertisers, campaigns and ads, built deterministically from a
// seed. Pure data plus the hidden ground truth (truth.h) the traffic is drawn from.
//
//   auto w = adsx::simulate::world::build({.seed = 7, .users = 100'000});
//   w.users[0].segment;  w.campaigns[3].bid;  w.ads[10].category;
//
// Ids on the wire are 1-based (ad_id = index + 1, and so on); user ids on the wire are
// pseudonyms of the raw id `raw_user_id(index)`, made at the edge (see generator.h).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/events/event.h"

namespace adsx::simulate {

inline constexpr int segment_count = 8;  // user interest = creative category
// Where on the page an ad is shown (the event's `placement`); the ground truth's click effect
// of each depends on the device (truth.h).
inline constexpr std::array<std::string_view, 4> placements = {"feed", "sidebar", "interstitial",
                                                               "video_preroll"};
// The user agent each device's traffic carries.
inline constexpr std::array<std::string_view, events::device_count> user_agents = {
    "Safari/iOS", "Chrome/Android", "Chrome/Windows", "Roku/CTV"};
inline constexpr std::array<std::string_view, segment_count> segment_names = {
    "gaming", "sports", "fashion", "tech", "travel", "food", "finance", "auto"};

struct geo_info
{
    std::string_view code;  // ISO country-region
    int utc_offset_hours;
    double weight;                     // share of users
    std::array<double, 4> device_mix;  // ios, android, desktop, ctv
    double click_effect;               // ground-truth logit shift
    std::uint8_t ip_first_octet;
};
extern const std::vector<geo_info> geos;

enum class bid_type : std::uint8_t
{
    cpm,
    cpc,
    cpa
};
[[nodiscard]] std::string_view name(bid_type b) noexcept;

struct user
{
    std::uint8_t geo;  // index into geos
    events::device_type device;
    std::uint8_t segment;
    bool personalisation_consent;
    std::uint32_t ip;  // raw IPv4 (host order); truncated at the edge
};

struct advertiser
{
    std::string name;
};

struct campaign
{
    std::uint32_t advertiser;  // index
    std::uint8_t category;     // creative category (= a segment)
    bid_type type;
    double bid;           // CPM per 1000 impressions, or per click / per conversion
    double daily_budget;  // currency units
    double lifetime_budget;
    std::uint32_t geo_mask;    // bit per geos index; all bits = everywhere
    std::uint8_t device_mask;  // bit per device_type
    int flight_start_day;      // days from the simulation start, inclusive
    int flight_end_day;        // exclusive
    int priority;              // 1 = guaranteed/high … 3 = remnant
    int frequency_cap;         // impressions per user per day
};

struct ad
{
    std::uint32_t campaign;  // index
    std::uint8_t category;
    double quality;  // ground-truth logit shift of the creative
};

struct world_params
{
    std::uint64_t seed = 1;
    std::uint32_t users = 200'000;
    std::uint32_t advertisers = 40;
    std::uint32_t campaigns_per_advertiser = 4;
    std::uint32_t ads_per_campaign = 3;
    int days = 7;
    double zipf_exponent = 1.05;     // user activity: Zipf–Mandelbrot over users …
    double zipf_offset = 200;        // … flattened at the head: the busiest user is a power user
                                     // (≈ 0.1 % of traffic), not a bot with 10 %
    double no_consent_share = 0.15;  // users without personalisation consent
};

struct world
{
    world_params params;
    std::vector<user> users;
    std::vector<advertiser> advertisers;
    std::vector<campaign> campaigns;
    std::vector<ad> ads;
    std::array<std::array<double, segment_count>, segment_count> affinity{};  // [segment][category]

    [[nodiscard]] static world build(const world_params& p);
};

// Hour of day (0..23) at `t_ms` in a zone `utc_offset_hours` from UTC.
[[nodiscard]] int local_hour_of(std::int64_t t_ms, int utc_offset_hours) noexcept;
// "u<index>": the raw (pre-pseudonym) user id the collector sees.
[[nodiscard]] std::string raw_user_id(std::uint32_t index);
// Dotted IPv4 text of a raw address.
[[nodiscard]] std::string ipv4_text(std::uint32_t ip);

}  // namespace adsx::simulate
