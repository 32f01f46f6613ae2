#include "adsx/simulate/world.h"

#include <cmath>

#include <fmt/format.h>

#include "adsx/simulate/random.h"

namespace adsx::simulate {

using events::device_type;

const std::vector<geo_info> geos = {
    {"US-CA", -8, 0.14, {0.38, 0.30, 0.25, 0.07}, 0.10, 23},
    {"US-NY", -5, 0.11, {0.40, 0.28, 0.26, 0.06}, 0.05, 24},
    {"US-TX", -6, 0.09, {0.34, 0.36, 0.24, 0.06}, 0.00, 45},
    {"GB-ENG", 0, 0.09, {0.42, 0.33, 0.21, 0.04}, 0.00, 51},
    {"DE-BE", 1, 0.08, {0.30, 0.44, 0.23, 0.03}, -0.10, 62},
    {"FR-IDF", 1, 0.07, {0.33, 0.42, 0.22, 0.03}, -0.05, 78},
    {"BR-SP", -3, 0.12, {0.16, 0.68, 0.14, 0.02}, 0.15, 177},
    {"IN-MH", 5, 0.14, {0.06, 0.82, 0.11, 0.01}, 0.20, 103},
    {"JP-13", 9, 0.09, {0.58, 0.24, 0.15, 0.03}, -0.15, 126},
    {"AU-NSW", 10, 0.07, {0.45, 0.30, 0.20, 0.05}, 0.05, 101},
};

std::string_view name(bid_type b) noexcept
{
    switch (b) {
        case bid_type::cpm:
            return "CPM";
        case bid_type::cpc:
            return "CPC";
        case bid_type::cpa:
            return "CPA";
    }
    return "CPM";
}

std::string raw_user_id(std::uint32_t index)
{
    return fmt::format("u{}", index);
}

std::string ipv4_text(std::uint32_t ip)
{
    return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

namespace {

template <class T>
std::size_t draw(rng& r, const T& weights)
{
    double u = r.uniform();
    double acc = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        acc += weights[i];
        if (u < acc) {
            return i;
        }
    }
    return weights.size() - 1;
}

user make_user(rng& r, double no_consent_share)
{
    std::vector<double> geo_w;
    for (const auto& g : geos) {
        geo_w.push_back(g.weight);
    }
    user u{};
    u.geo = static_cast<std::uint8_t>(draw(r, geo_w));
    u.device = static_cast<device_type>(draw(r, geos[u.geo].device_mix));
    u.segment = static_cast<std::uint8_t>(r.below(segment_count));
    u.personalisation_consent = !r.bernoulli(no_consent_share);
    u.ip = std::uint32_t{geos[u.geo].ip_first_octet} << 24 |
           static_cast<std::uint32_t>(r.below(1u << 24));
    return u;
}

campaign make_campaign(rng& r, std::uint32_t advertiser_index, int days)
{
    campaign c{};
    c.advertiser = advertiser_index;
    c.category = static_cast<std::uint8_t>(r.below(segment_count));
    double u = r.uniform();
    c.type = u < 0.5 ? bid_type::cpm : (u < 0.85 ? bid_type::cpc : bid_type::cpa);
    switch (c.type) {
        case bid_type::cpm:
            c.bid = 1.0 + 9.0 * r.uniform();
            break;  // $1–10 CPM
        case bid_type::cpc:
            c.bid = 0.2 + 1.8 * r.uniform();
            break;  // $0.2–2 per click
        case bid_type::cpa:
            c.bid = 5.0 + 45.0 * r.uniform();
            break;  // $5–50 per conversion
    }
    c.bid = std::round(c.bid * 100) / 100;  // bids are set in cents
    c.daily_budget = std::round(200.0 + 4800.0 * r.uniform());
    c.lifetime_budget = std::round(c.daily_budget * (days + 1) * (0.6 + 0.6 * r.uniform()));
    c.geo_mask = 0;
    bool everywhere = r.bernoulli(0.5);
    for (std::size_t g = 0; g < geos.size(); ++g) {
        if (everywhere || r.bernoulli(0.4)) {
            c.geo_mask |= 1u << g;
        }
    }
    if (c.geo_mask == 0) {
        c.geo_mask = 1u << r.below(geos.size());
    }
    c.device_mask = r.bernoulli(0.6) ? 0xf : static_cast<std::uint8_t>(1 + r.below(15));
    c.flight_start_day =
        r.bernoulli(0.8) ? 0 : static_cast<int>(r.below(static_cast<std::uint64_t>(days)));
    c.flight_end_day =
        r.bernoulli(0.8)
            ? days + 1
            : c.flight_start_day + 1 + static_cast<int>(r.below(static_cast<std::uint64_t>(days)));
    c.priority = 1 + static_cast<int>(r.below(3));
    c.frequency_cap = 3 + static_cast<int>(r.below(8));
    return c;
}

}  // namespace

world world::build(const world_params& p)
{
    world w;
    w.params = p;
    rng root(p.seed);
    rng user_rng = root.fork();
    rng catalog_rng = root.fork();
    rng truth_rng = root.fork();

    w.users.reserve(p.users);
    for (std::uint32_t i = 0; i < p.users; ++i) {
        w.users.push_back(make_user(user_rng, p.no_consent_share));
    }
    for (std::uint32_t a = 0; a < p.advertisers; ++a) {
        w.advertisers.push_back({fmt::format("advertiser-{:03}", a + 1)});
        for (std::uint32_t c = 0; c < p.campaigns_per_advertiser; ++c) {
            w.campaigns.push_back(make_campaign(catalog_rng, a, p.days));
            auto ci = static_cast<std::uint32_t>(w.campaigns.size() - 1);
            for (std::uint32_t k = 0; k < p.ads_per_campaign; ++k) {
                w.ads.push_back({ci, w.campaigns[ci].category, 0.3 * catalog_rng.normal()});
            }
        }
    }
    for (int s = 0; s < segment_count; ++s) {
        for (int c = 0; c < segment_count; ++c) {
            w.affinity[s][c] = s == c ? 1.1 : (truth_rng.bernoulli(0.25) ? 0.4 : -0.35);
        }
    }
    return w;
}

int local_hour_of(std::int64_t t_ms, int utc_offset_hours) noexcept
{
    auto h = (t_ms / 3'600'000 + utc_offset_hours) % 24;
    return static_cast<int>(h < 0 ? h + 24 : h);
}

}  // namespace adsx::simulate
