#include "adsx/pg/experiments.h"

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::pg {

namespace {

constexpr const char* select_experiments = R"sql(
SELECT e.name, e.layer, e.salt, e.first_bucket, e.bucket_count, e.holdout_buckets, e.status,
       to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(e.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(e.stopped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       string_agg(a.arm, ',' ORDER BY a.position),
       string_agg(a.weight::text, ',' ORDER BY a.position),
       string_agg(a.model_arm, ',' ORDER BY a.position),
       string_agg(a.reserve_scale::text, ',' ORDER BY a.position)
FROM experiments e JOIN experiment_arms a ON a.experiment = e.name
)sql";

result<experiment_row> row_of(const connection::row& r)
{
    experiment_row out;
    auto& e = out.spec;
    e.name = r[0].value_or("");
    e.layer = r[1].value_or("");
    e.salt = r[2].value_or("");
    const auto first = parse_int(r[3].value_or(""));
    const auto count = parse_int(r[4].value_or(""));
    const auto holdout = parse_int(r[5].value_or(""));
    if (!first || !count || !holdout) {
        return fail(error_code::internal, fmt::format("experiment {}: unreadable buckets", e.name));
    }
    e.first = static_cast<std::uint32_t>(*first);
    e.count = static_cast<std::uint32_t>(*count);
    e.holdout = static_cast<std::uint32_t>(*holdout);
    out.status = r[6].value_or("");
    out.created_at = r[7].value_or("");
    out.started_at = r[8].value_or("");
    out.stopped_at = r[9].value_or("");
    e.arms = split_trimmed(r[10].value_or(""), ',');
    for (const auto& w : split_trimmed(r[11].value_or(""), ',')) {
        e.weights.push_back(parse_double(w).value_or(0));
    }
    e.model_arms = split_trimmed(r[12].value_or(""), ',');
    for (const auto& x : split_trimmed(r[13].value_or(""), ',')) {
        e.reserve_scales.push_back(parse_double(x).value_or(1));
    }
    return out;
}

result<std::vector<experiment_row>> select(connection& c, const std::string& where,
                                           const std::vector<std::string>& params)
{
    auto rows = c.query(
        std::string(select_experiments) + where + " GROUP BY e.name ORDER BY e.name", params);
    if (!rows) {
        return fail(rows.error().wrap("reading experiments"));
    }
    std::vector<experiment_row> out;
    for (const auto& r : *rows) {
        auto x = row_of(r);
        if (!x) {
            return fail(x.error());
        }
        out.push_back(std::move(*x));
    }
    return out;
}

result<void> start(connection& c, const std::string& name)
{
    auto running = select(c, " WHERE e.status = 'running' OR e.name = $1", {name});
    if (!running) {
        return fail(running.error());
    }
    std::vector<experiments::experiment_spec> specs;
    for (auto& r : *running) {
        specs.push_back(std::move(r.spec));
    }
    if (auto why = experiments::conflict(specs)) {
        return fail(error_code::failed_precondition,
                    fmt::format("cannot start {}: {}", name, *why));
    }
    auto done = c.query("UPDATE experiments SET status = 'running', started_at = now() "
                        "WHERE name = $1",
                        {name});
    return done ? result<void>{} : fail(done.error());
}

}  // namespace

result<void> create_experiment(connection& c, const experiments::experiment_spec& e)
{
    if (auto why = experiments::conflict({e})) {
        return fail(error_code::invalid_argument, *why);
    }
    return transaction(c, [&]() -> result<void> {
        auto taken = c.query("SELECT 1 FROM experiments WHERE name = $1", {e.name});
        if (!taken) {
            return fail(taken.error());
        }
        if (!taken->empty()) {
            return fail(error_code::already_exists,
                        fmt::format("experiment {} exists (names are never reused: its data "
                                    "stays its own)",
                                    e.name));
        }
        auto made = c.query("INSERT INTO experiments (name, layer, salt, first_bucket, "
                            "bucket_count, holdout_buckets) VALUES ($1, $2, $3, $4, $5, $6)",
                            {e.name, e.layer, e.salt, std::to_string(e.first),
                             std::to_string(e.count), std::to_string(e.holdout)});
        if (!made) {
            return fail(made.error().wrap("creating experiment " + e.name));
        }
        for (std::size_t i = 0; i < e.arms.size(); ++i) {
            const double scale = i < e.reserve_scales.size() ? e.reserve_scales[i] : 1.0;
            auto arm =
                c.query("INSERT INTO experiment_arms (experiment, position, arm, weight, "
                        "model_arm, reserve_scale) VALUES ($1, $2, $3, $4, $5, $6)",
                        {e.name, std::to_string(i), e.arms[i], fmt::format("{}", e.weights[i]),
                         e.model_arms[i], fmt::format("{}", scale)});
            if (!arm) {
                return fail(arm.error().wrap(fmt::format("arm {} of {}", e.arms[i], e.name)));
            }
        }
        return {};
    });
}

result<void> set_experiment_status(connection& c, const std::string& name,
                                   const std::string& status)
{
    return transaction(c, [&]() -> result<void> {
        if (auto lock = c.execute("LOCK TABLE experiments IN SHARE ROW EXCLUSIVE MODE"); !lock) {
            return lock;
        }
        auto now = c.query("SELECT status FROM experiments WHERE name = $1", {name});
        if (!now) {
            return fail(now.error());
        }
        if (now->empty()) {
            return fail(error_code::not_found, fmt::format("no experiment named {}", name));
        }
        const auto current = (*now)[0][0].value_or("");
        if (status == "running" && current == "draft") {
            return start(c, name);
        }
        if (status == "stopped" && current == "running") {
            auto done = c.query("UPDATE experiments SET status = 'stopped', stopped_at = now() "
                                "WHERE name = $1",
                                {name});
            return done ? result<void>{} : fail(done.error());
        }
        return fail(error_code::failed_precondition,
                    fmt::format("experiment {} is {}: it cannot become {} (draft -> running -> "
                                "stopped)",
                                name, current, status));
    });
}

result<std::vector<experiment_row>> list_experiments(connection& c)
{
    return select(c, "", {});
}

result<std::vector<experiments::experiment_spec>> running_experiments(connection& c)
{
    auto rows = select(c, " WHERE e.status = 'running'", {});
    if (!rows) {
        return fail(rows.error());
    }
    std::vector<experiments::experiment_spec> out;
    for (auto& r : *rows) {
        out.push_back(std::move(r.spec));
    }
    return out;
}

}  // namespace adsx::pg
