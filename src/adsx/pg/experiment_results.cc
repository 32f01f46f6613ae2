#include "adsx/pg/experiment_results.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::pg {

namespace {

// Rows per INSERT: 11 parameters each, under PostgreSQL's 65,535 parameters per statement.
constexpr std::size_t rows_per_insert = 4'000;

result<void> rollback(connection& c, const error& e)
{
    (void)c.execute("ROLLBACK");
    return fail(e);
}

std::string number(double v)
{
    return fmt::format("{}", v);
}

}  // namespace

result<std::map<int, std::int64_t>> load_collect_offsets(connection& c, const std::string& topic)
{
    auto rows =
        c.query("SELECT partition, next_offset FROM experiment_offsets WHERE topic = $1", {topic});
    if (!rows) {
        return fail(rows.error().wrap("reading experiment_offsets"));
    }
    std::map<int, std::int64_t> out;
    for (const auto& r : *rows) {
        auto p = parse_int(r[0].value_or(""));
        auto o = parse_int(r[1].value_or(""));
        if (!p || !o) {
            return fail(error_code::internal, "experiment_offsets: a value is not a number");
        }
        out[static_cast<int>(*p)] = *o;
    }
    return out;
}

result<void> commit_user_days(connection& c, const experiments::user_days& totals,
                              const std::string& topic, const std::map<int, offset_range>& ranges)
{
    if (auto r = c.execute("BEGIN"); !r) {
        return fail(r.error());
    }
    const auto& rows = totals.rows();
    auto it = rows.begin();
    while (it != rows.end()) {
        std::string sql =
            "INSERT INTO experiment_user_days (experiment, arm, user_id, day, device, geo, "
            "impressions, clicks, conversions, revenue, spend) VALUES ";
        std::vector<std::string> params;
        for (std::size_t n = 0; n < rows_per_insert && it != rows.end(); ++n, ++it) {
            const auto& [k, v] = *it;
            const auto base = params.size();
            sql += fmt::format("{}(${},${},${},${}::date,${},${},${}::bigint,${}::bigint,"
                               "${}::bigint,${}::float8,${}::float8)",
                               n ? "," : "", base + 1, base + 2, base + 3, base + 4, base + 5,
                               base + 6, base + 7, base + 8, base + 9, base + 10, base + 11);
            for (auto s : {k.experiment, k.arm, k.user_id, k.day, v.device, v.geo}) {
                params.push_back(std::move(s));
            }
            for (double x : {v.value.impressions, v.value.clicks, v.value.conversions}) {
                params.push_back(fmt::format("{:.0f}", x));
            }
            params.push_back(number(v.value.revenue));
            params.push_back(number(v.spend));
        }
        sql += " ON CONFLICT (experiment, arm, user_id, day) DO UPDATE SET"
               " impressions = experiment_user_days.impressions + excluded.impressions,"
               " clicks = experiment_user_days.clicks + excluded.clicks,"
               " conversions = experiment_user_days.conversions + excluded.conversions,"
               " revenue = experiment_user_days.revenue + excluded.revenue,"
               " spend = experiment_user_days.spend + excluded.spend";
        if (auto r = c.query(sql, params); !r) {
            return rollback(c, r.error().wrap("writing experiment_user_days"));
        }
    }
    for (const auto& [partition, range] : ranges) {
        // Inserted when the partition is new; else moved only from where this batch began.
        auto r = c.query(
            "INSERT INTO experiment_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)"
            " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset"
            " WHERE experiment_offsets.next_offset = $4 RETURNING partition",
            {topic, std::to_string(partition), std::to_string(range.next),
             std::to_string(range.first)});
        if (!r) {
            return rollback(c, r.error().wrap("writing experiment_offsets"));
        }
        if (r->empty()) {
            return rollback(c, {error_code::failed_precondition,
                                fmt::format("{} partition {}: the stored offset is not {}, where "
                                            "this batch began",
                                            topic, partition, range.first)});
        }
    }
    if (auto r = c.execute("COMMIT"); !r) {
        return fail(r.error());
    }
    return {};
}

result<experiment_data> load_experiment_data(connection& c, const std::string& name, int pre_days)
{
    auto started = c.query("SELECT coalesce(started_at::date::text, '') FROM experiments "
                           "WHERE name = $1",
                           {name});
    if (!started) {
        return fail(started.error().wrap("reading experiments"));
    }
    if (started->empty()) {
        return fail(error_code::not_found, fmt::format("no experiment '{}'", name));
    }
    experiment_data out;
    out.started_at = (*started)[0][0].value_or("");
    // The experiment's rows, and each of its users' totals over the pre_days days before it
    // started (in or out of any experiment: the user's habits).
    auto rows = c.query(R"(
        WITH rows AS (
            SELECT user_id, arm, day, impressions, clicks, conversions, revenue, device, geo
            FROM experiment_user_days WHERE experiment = $1),
        pre AS (
            SELECT d.user_id, sum(d.impressions) AS i, sum(d.clicks) AS c,
                   sum(d.conversions) AS v, sum(d.revenue) AS r
            FROM experiment_user_days d
            WHERE $2::int > 0 AND $3 <> ''
              AND d.day >= $3::date - $2::int AND d.day < $3::date
              AND d.user_id IN (SELECT user_id FROM rows)
            GROUP BY d.user_id)
        SELECT rows.user_id, arm, day::text, impressions, clicks, conversions, revenue,
               coalesce(pre.i, 0), coalesce(pre.c, 0), coalesce(pre.v, 0), coalesce(pre.r, 0),
               device, geo
        FROM rows LEFT JOIN pre USING (user_id)
        ORDER BY rows.user_id, day)",
                        {name, std::to_string(pre_days), out.started_at});
    if (!rows) {
        return fail(rows.error().wrap("reading experiment_user_days"));
    }
    auto& d = out.data;
    d.has_pre = pre_days > 0 && !out.started_at.empty();
    std::unordered_map<std::string, std::uint32_t> users, arms, days;
    std::vector<std::string> device, geo;  // by user
    auto index = [](std::unordered_map<std::string, std::uint32_t>& m,
                    std::vector<std::string>& names, const std::string& key) {
        auto [it, fresh] = m.try_emplace(key, static_cast<std::uint32_t>(names.size()));
        if (fresh) {
            names.push_back(key);
        }
        return it->second;
    };
    auto num = [](const std::optional<std::string>& s) {
        return parse_double(s.value_or("0")).value_or(0.0);
    };
    for (const auto& r : *rows) {
        experiments::user_data::row row;
        const auto [user, fresh] =
            users.try_emplace(r[0].value_or(""), static_cast<std::uint32_t>(users.size()));
        row.user = user->second;
        if (fresh) {
            device.push_back(r[11].value_or(""));
            geo.push_back(r[12].value_or(""));
        }
        row.arm = index(arms, d.arms, r[1].value_or(""));
        row.day = index(days, d.days, r[2].value_or(""));
        row.value = {num(r[3]), num(r[4]), num(r[5]), num(r[6])};
        row.pre = {num(r[7]), num(r[8]), num(r[9]), num(r[10])};
        d.rows.push_back(row);
    }
    d.user_count = users.size();
    d.segments.emplace_back("device", std::move(device));
    d.segments.emplace_back("geo", std::move(geo));
    experiments::sort_labels(d);
    return out;
}

result<experiments::report> analyze_experiment(connection& c, const std::string& name,
                                               experiments::options o, int pre_days)
{
    auto data = load_experiment_data(c, name, pre_days);
    if (!data) {
        return fail(data.error());
    }
    return analyze_experiment(c, name, *data, std::move(o));
}

result<experiments::report> analyze_experiment(connection& c, const std::string& name,
                                               const experiment_data& data, experiments::options o)
{
    if (data.data.rows.empty()) {
        return fail(error_code::failed_precondition,
                    fmt::format("no data for experiment '{}' yet: it collects when adsx serve "
                                "assigns users and adsx experiment collect counts their events",
                                name));
    }
    auto all = list_experiments(c);
    if (!all) {
        return fail(all.error());
    }
    auto spec =
        std::find_if(all->begin(), all->end(), [&](const auto& e) { return e.spec.name == name; });
    if (spec == all->end()) {
        return fail(error_code::not_found, fmt::format("no experiment '{}'", name));
    }
    if (o.control.empty()) {
        o.control = spec->spec.arms.front();
    }
    if (o.weights.empty()) {
        for (const auto& arm : data.data.arms) {
            const auto& arms = spec->spec.arms;
            auto it = std::find(arms.begin(), arms.end(), arm);
            o.weights.push_back(
                it == arms.end() ? 0.0
                                 : spec->spec.weights[static_cast<std::size_t>(it - arms.begin())]);
        }
    }
    return experiments::analyze(data.data, o);
}

}  // namespace adsx::pg
