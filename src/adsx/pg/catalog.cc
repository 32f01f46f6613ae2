#include "adsx/pg/catalog.h"

#include <limits>

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"

namespace adsx::pg {

namespace {

using simulate::geos;

std::string date_of(std::int64_t start_ms, int day)
{
    return utc_date(start_ms + std::int64_t{day} * day_ms);
}

std::string pg_array(const std::vector<std::string_view>& items)
{
    std::string out = "{";
    for (const auto& i : items) {
        out += (out.size() > 1 ? "," : "") + std::string(i);
    }
    return out + "}";
}

std::vector<std::string> campaign_row(const simulate::world& w, std::size_t i, std::int64_t start)
{
    const auto& c = w.campaigns[i];
    std::vector<std::string_view> g, d;
    for (std::size_t k = 0; k < geos.size(); ++k) {
        if (c.geo_mask >> k & 1u) {
            g.push_back(geos[k].code);
        }
    }
    for (int k = 0; k < events::device_count; ++k) {
        if (c.device_mask >> k & 1u) {
            d.push_back(events::name(static_cast<events::device_type>(k)));
        }
    }
    return {std::to_string(i + 1),
            std::to_string(c.advertiser + 1),
            std::string(simulate::segment_names[c.category]),
            std::string(simulate::name(c.type)),
            fmt::format("{:.4f}", c.bid),
            fmt::format("{:.2f}", c.daily_budget),
            fmt::format("{:.2f}", c.lifetime_budget),
            date_of(start, c.flight_start_day),
            date_of(start, c.flight_end_day),
            std::to_string(c.priority),
            std::to_string(c.frequency_cap),
            pg_array(g),
            pg_array(d)};
}

// One multi-row INSERT: rows × columns parameters.
result<void> insert(connection& c, const std::string& table, const std::string& columns,
                    const std::vector<std::vector<std::string>>& rows)
{
    if (rows.empty()) {
        return {};
    }
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", table, columns);
    std::vector<std::string> params;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        sql += r ? ",(" : "(";
        for (std::size_t k = 0; k < rows[r].size(); ++k) {
            params.push_back(rows[r][k]);
            sql += fmt::format("{}${}", k ? "," : "", params.size());
        }
        sql += ')';
    }
    auto q = c.query(sql, params);
    return q ? result<void>{} : fail(q.error().wrap("writing " + table));
}

result<void> write_rows(connection& c, const simulate::world& w, std::int64_t start_ms)
{
    std::vector<std::vector<std::string>> advertisers, campaigns, ads;
    for (std::size_t i = 0; i < w.advertisers.size(); ++i) {
        advertisers.push_back({std::to_string(i + 1), w.advertisers[i].name});
    }
    for (std::size_t i = 0; i < w.campaigns.size(); ++i) {
        campaigns.push_back(campaign_row(w, i, start_ms));
    }
    for (std::size_t i = 0; i < w.ads.size(); ++i) {
        ads.push_back({std::to_string(i + 1), std::to_string(w.ads[i].campaign + 1),
                       std::string(simulate::segment_names[w.ads[i].category])});
    }
    auto r = insert(c, "advertisers", "advertiser_id, name", advertisers);
    if (r) {
        r = insert(c, "campaigns",
                   "campaign_id, advertiser_id, category, bid_type, bid, daily_budget, "
                   "lifetime_budget, flight_start, flight_end, priority, frequency_cap, "
                   "target_geos, target_devices",
                   campaigns);
    }
    if (r) {
        r = insert(c, "ads", "ad_id, campaign_id, creative_category", ads);
    }
    if (r) {
        r = insert(
            c, "catalog_source", "seed, start_date, days, users, advertisers",
            {{std::to_string(w.params.seed), date_of(start_ms, 0), std::to_string(w.params.days),
              std::to_string(w.params.users), std::to_string(w.params.advertisers)}});
    }
    return r;
}

}  // namespace

result<catalog_counts> write_catalog(connection& c, const simulate::world& w, std::int64_t start_ms)
{
    if (auto r = c.execute("BEGIN"); !r) {
        return fail(r.error());
    }
    auto cleared = c.execute("TRUNCATE ads, campaigns, advertisers, catalog_source");
    auto written = cleared ? write_rows(c, w, start_ms) : fail(cleared.error());
    if (!written) {
        (void)c.execute("ROLLBACK");
        return fail(written.error());
    }
    if (auto r = c.execute("COMMIT"); !r) {
        return fail(r.error());
    }
    return catalog_counts{w.advertisers.size(), w.campaigns.size(), w.ads.size()};
}

result<catalog_world> load_catalog_world(connection& c)
{
    auto rows = c.query("SELECT seed, (extract(epoch FROM start_date::timestamp AT TIME ZONE "
                        "'UTC') * 1000)::bigint,"
                        " days, users, advertisers FROM catalog_source");
    if (!rows) {
        return fail(rows.error().wrap("reading catalog_source"));
    }
    if (rows->empty() || !(*rows)[0][3] || !(*rows)[0][4]) {
        return fail(error_code::not_found,
                    "no catalog of a known world is loaded (run adsx generate first)");
    }
    const auto& r = (*rows)[0];
    auto seed = parse_int(r[0].value_or(""));
    auto start = parse_int(r[1].value_or(""));
    auto days = parse_int(r[2].value_or(""));
    auto users = parse_int(r[3].value_or(""));
    auto advertisers = parse_int(r[4].value_or(""));
    if (!seed || !start || !days || !users || !advertisers) {
        return fail(error_code::internal, "catalog_source: a column is not a number");
    }
    catalog_world w;
    w.params.seed = static_cast<std::uint64_t>(*seed);
    w.params.days = static_cast<int>(*days);
    w.params.users = static_cast<std::uint32_t>(*users);
    w.params.advertisers = static_cast<std::uint32_t>(*advertisers);
    w.start_ms = *start;
    return w;
}

result<std::vector<ad_id>> catalog_ad_ids(connection& c)
{
    auto rows = c.query("SELECT ad_id FROM ads ORDER BY ad_id");
    if (!rows) {
        return fail(rows.error().wrap("reading the catalog (run adsx generate first)"));
    }
    std::vector<ad_id> ids;
    ids.reserve(rows->size());
    for (const auto& r : *rows) {
        auto id = parse_int(r[0].value_or(""));
        if (!id || *id < 0 || *id > std::numeric_limits<std::uint32_t>::max()) {
            return fail(error_code::internal,
                        "catalog: ad_id '" + r[0].value_or("NULL") + "' is not an ad id");
        }
        ids.emplace_back(static_cast<std::uint32_t>(*id));
    }
    return ids;
}

result<std::vector<ad_id>> catalog_ad_ids(const config::postgres_config& cfg)
{
    auto c = connection::open(cfg);
    return c ? catalog_ad_ids(*c) : fail(c.error());
}

result<std::optional<std::int64_t>> newest_daily_features_ms(connection& c)
{
    auto rows = c.query("SELECT (extract(epoch FROM max(date)) * 1000)::bigint FROM features_ad");
    if (!rows) {
        return fail(rows.error());
    }
    const auto& v = (*rows)[0][0];
    return v ? std::optional<std::int64_t>(std::stoll(*v)) : std::nullopt;
}

}  // namespace adsx::pg
