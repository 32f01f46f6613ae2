#include "adsx/pg/inventory.h"

#include <fmt/format.h>

#include "adsx/base/defer.h"
#include "adsx/base/strings.h"

namespace adsx::pg {

namespace {

using row = connection::row;

result<std::int64_t> int_of(const row& r, std::size_t i, std::string_view what)
{
    if (auto v = parse_int(r[i].value_or(""))) {
        return *v;
    }
    return fail(error_code::internal,
                fmt::format("catalog: {} '{}' is not an integer", what, r[i].value_or("NULL")));
}

result<double> number_of(const row& r, std::size_t i, std::string_view what)
{
    if (auto v = parse_double(r[i].value_or(""))) {
        return *v;
    }
    return fail(error_code::internal,
                fmt::format("catalog: {} '{}' is not a number", what, r[i].value_or("NULL")));
}

result<ranking::bid_kind> kind_of(std::string_view s)
{
    if (s == "CPM") {
        return ranking::bid_kind::cpm;
    }
    if (s == "CPC") {
        return ranking::bid_kind::cpc;
    }
    if (s == "CPA") {
        return ranking::bid_kind::cpa;
    }
    return fail(error_code::internal, fmt::format("catalog: bid type '{}'", s));
}

result<serving::campaign_info> campaign_of(const row& r)
{
    serving::campaign_info c;
    auto id = int_of(r, 0, "campaign_id");
    auto adv = int_of(r, 1, "advertiser_id");
    auto kind = kind_of(r[3].value_or(""));
    auto bid = number_of(r, 4, "bid");
    auto daily = number_of(r, 5, "daily_budget");
    auto lifetime = number_of(r, 6, "lifetime_budget");
    auto start = int_of(r, 7, "flight_start");
    auto end = int_of(r, 8, "flight_end");
    auto priority = int_of(r, 9, "priority");
    auto cap = int_of(r, 10, "frequency_cap");
    for (const error* e : {id ? nullptr : &id.error(), adv ? nullptr : &adv.error(),
                           kind ? nullptr : &kind.error(), bid ? nullptr : &bid.error(),
                           daily ? nullptr : &daily.error(), lifetime ? nullptr : &lifetime.error(),
                           start ? nullptr : &start.error(), end ? nullptr : &end.error(),
                           priority ? nullptr : &priority.error(), cap ? nullptr : &cap.error()}) {
        if (e) {
            return fail(*e);
        }
    }
    c.id = campaign_id{static_cast<std::uint32_t>(*id)};
    c.advertiser = advertiser_id{static_cast<std::uint32_t>(*adv)};
    c.category = r[2].value_or("");
    c.kind = *kind;
    c.bid = *bid;
    c.daily_budget = *daily;
    c.lifetime_budget = *lifetime;
    c.flight_start_ms = *start;
    c.flight_end_ms = *end;
    c.priority = static_cast<int>(*priority);
    c.frequency_cap = static_cast<int>(*cap);
    const auto geos = r[11].value_or("");  // named: split() views into it
    const auto devices = r[12].value_or("");
    for (auto g : split(geos, ',')) {
        if (!g.empty()) {
            c.geos.emplace_back(g);
        }
    }
    for (auto d : split(devices, ',')) {
        if (auto dev = events::parse_device(d)) {
            c.device_mask |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(*dev));
        }
    }
    return c;
}

constexpr std::string_view campaigns_sql = R"(
    SELECT campaign_id, advertiser_id, category, bid_type, bid, daily_budget, lifetime_budget,
           (extract(epoch FROM flight_start::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,
           (extract(epoch FROM flight_end::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,
           priority, frequency_cap, array_to_string(target_geos, ','),
           array_to_string(target_devices, ',')
    FROM campaigns ORDER BY campaign_id)";

constexpr std::string_view spend_sql = R"(
    SELECT campaign_id,
           coalesce(sum(spend) FILTER (WHERE minute >= to_timestamp($1::bigint / 86400000 * 86400)), 0),
           sum(spend)
    FROM analytics_minute GROUP BY campaign_id)";

}  // namespace

result<serving::inventory> load_inventory(connection& c, std::int64_t now_ms)
{
    if (auto r = c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) {
        return fail(r.error().wrap("reading the catalog"));
    }
    auto rollback = defer([&] { (void)c.execute("ROLLBACK"); });
    auto campaigns = c.query(std::string(campaigns_sql));
    auto ads = campaigns ? c.query("SELECT ad_id, campaign_id, creative_category FROM ads")
                         : fail(campaigns.error());
    auto spend =
        ads ? c.query(std::string(spend_sql), {std::to_string(now_ms)}) : fail(ads.error());
    if (!spend) {
        return fail(spend.error().wrap("reading the catalog (run adsx generate first)"));
    }
    std::vector<serving::campaign_info> cs;
    std::unordered_map<std::uint32_t, std::uint32_t> index;
    for (const auto& r : *campaigns) {
        auto ci = campaign_of(r);
        if (!ci) {
            return fail(ci.error());
        }
        index.emplace(ci->id.value, static_cast<std::uint32_t>(cs.size()));
        cs.push_back(std::move(*ci));
    }
    std::vector<serving::ad_info> as;
    for (const auto& r : *ads) {
        auto id = int_of(r, 0, "ad_id");
        auto campaign = int_of(r, 1, "campaign_id");
        if (!id || !campaign) {
            return fail(id ? campaign.error() : id.error());
        }
        auto it = index.find(static_cast<std::uint32_t>(*campaign));
        if (it != index.end()) {
            as.push_back(
                {ad_id{static_cast<std::uint32_t>(*id)}, "", it->second, r[2].value_or("")});
        }
    }
    std::unordered_map<std::uint32_t, serving::campaign_spend> spent;
    for (const auto& r : *spend) {
        auto id = int_of(r, 0, "campaign_id");
        auto today = number_of(r, 1, "spend today");
        auto total = number_of(r, 2, "spend");
        if (id && today && total) {
            spent[static_cast<std::uint32_t>(*id)] = {*today, *total};
        }
    }
    return serving::inventory::build(std::move(cs), std::move(as), spent, now_ms);
}

}  // namespace adsx::pg
