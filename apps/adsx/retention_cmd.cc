// `adsx privacy retention`: lists (--dry-run, the default) or removes (--apply) the personal data
// older than [privacy] retention_days, store by store:
//   - the lake: user-feature partitions (features/user/date=D) with D before the cutoff,
//     rejected-record batches (raw records, user ids included) last written before it, and
//     training sets whose impressions all precede it (manifest.json's impression_dates). Event
//     partitions (events/event_date=D) past policy are listed and left to
//     `adsx_jobs.lake_erase --events-before D --apply`: the lake job's Spark file sink lists
//     every file it wrote in events/_spark_metadata, and Spark readers of events/ fail on a
//     listed file that is gone, so the partitions leave that log first (the Python side owns
//     it; docs/privacy.md);
//   - PostgreSQL: rows of every user table (pg::user_tables()) dated before it;
//   - Kafka and Redis expire by themselves ([kafka] retention_hours, [stream] ttl_hours): the
//     report checks that both are within the policy.
// Both modes compute the same list from the same cutoff (--as-of fixes the day), so --apply
// removes exactly what the dry run listed. Aggregates holding no personal data (ad and campaign
// features, per-minute analytics) are not this policy's business.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "app.h"
#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/pg/privacy.h"

namespace adsx::app {

namespace {

namespace fs = std::filesystem;

// The UTC midnight (ms) of a strict YYYY-MM-DD date.
std::optional<std::int64_t> parse_iso(const std::string& s)
{
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    char tail = 0;
    if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
        return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m},
                                          std::chrono::day{d}};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return to_ms(std::chrono::sys_days{ymd}.time_since_epoch());
}

struct lake_item
{
    fs::path path;
    std::string why;
    bool removable = true;
};

// The partition directories `{dir}/{key}=D` with D before `cutoff`.
void dated_partitions(const fs::path& dir, std::string_view key, const std::string& cutoff,
                      bool removable, std::vector<lake_item>& out)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const auto name = e.path().filename().string();
        if (e.is_directory() && name.starts_with(fmt::format("{}=", key)) &&
            name.substr(key.size() + 1) < cutoff) {
            out.push_back({e.path(), fmt::format("{} before {}", key, cutoff), removable});
        }
    }
}

std::vector<lake_item> lake_past_policy(const fs::path& lake, const std::string& cutoff,
                                        std::int64_t cutoff_ms)
{
    std::vector<lake_item> out;
    dated_partitions(lake / "events", "event_date", cutoff, false, out);
    dated_partitions(lake / "features" / "user", "date", cutoff, true, out);
    std::error_code ec;
    // The cutoff on the file clock (g++ 12 has no clock_cast): now there, less the time since.
    const auto cutoff_time =
        fs::file_time_type::clock::now() - std::chrono::duration_cast<fs::file_time_type::duration>(
                                               std::chrono::milliseconds(wall_ms() - cutoff_ms));
    for (const auto& e : fs::directory_iterator(lake / "rejected", ec)) {
        if (e.is_directory() && e.last_write_time() < cutoff_time) {
            out.push_back({e.path(), fmt::format("last written before {}", cutoff)});
        }
    }
    simdjson::dom::parser parser;
    for (const auto& e : fs::directory_iterator(lake / "training", ec)) {
        simdjson::dom::element doc;
        simdjson::dom::array dates;
        std::string_view last;
        if (parser.load((e.path() / "manifest.json").string()).get(doc) ||
            doc["impression_dates"].get_array().get(dates) || dates.size() != 2 ||
            dates.at(1).get_string().get(last)) {
            continue;  // not a training set of ours: not ours to remove
        }
        if (std::string(last) < cutoff) {
            out.push_back({e.path(), fmt::format("impressions up to {}", last)});
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
}

int run_retention(const config::config& cfg, const std::string& as_of, bool apply)
{
    auto done = apply_retention(cfg, as_of, apply);
    if (!done) {
        return report(done.error());
    }
    std::cout << fmt::format("retention as of {}: personal data dated before {} "
                             "(privacy.retention_days = {})\n",
                             done->as_of, done->cutoff, cfg.privacy.retention_days);
    for (const auto& i : done->items) {
        std::cout << fmt::format("{:<9} {}{}{}\n", i.store, i.item,
                                 i.why.empty() ? "" : " (" + i.why + ")",
                                 i.state.empty() ? "" : ": " + i.state);
    }
    if (apply) {
        std::cout << fmt::format("{} item(s) past policy removed\n", done->past_policy);
    } else {
        std::cout << fmt::format("dry run: {} item(s) past policy; --apply removes them\n",
                                 done->past_policy);
    }
    return 0;
}

}  // namespace

result<retention_report> apply_retention(const config::config& cfg, const std::string& as_of,
                                         bool apply)
{
    const auto day = as_of.empty() ? std::optional(midnight_utc_ms(wall_ms())) : parse_iso(as_of);
    if (!day) {
        return fail(error_code::invalid_argument, "as_of must be a date YYYY-MM-DD");
    }
    const int days = cfg.privacy.retention_days;
    const auto cutoff_ms = *day - days * day_ms;
    retention_report out;
    out.as_of = utc_date(*day);
    out.cutoff = utc_date(cutoff_ms);
    out.apply = apply;
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return fail(conn.error());
    }
    auto rows =
        apply ? pg::delete_rows_before(*conn, out.cutoff) : pg::rows_before(*conn, out.cutoff);
    if (!rows) {
        return fail(rows.error());
    }
    for (const auto& [table, n] : *rows) {
        out.items.push_back({"postgres", table, "",
                             fmt::format("{} row(s) {}", n, apply ? "deleted" : "past policy")});
        out.past_policy += n > 0 ? 1 : 0;
    }
    if (cfg.lake.dir.string().find("://") != std::string::npos) {
        out.items.push_back({"lake", cfg.lake.dir.string(), "", "not a local folder, not covered"});
    } else {
        for (const auto& item : lake_past_policy(cfg.lake.dir, out.cutoff, cutoff_ms)) {
            if (!item.removable) {
                out.items.push_back(
                    {"lake", item.path.string(), item.why,
                     fmt::format("kept here: `adsx_jobs.lake_erase --events-before {} --apply` "
                                 "removes it (the lake job's file-sink log lists it)",
                                 out.cutoff)});
                continue;
            }
            if (apply) {
                std::error_code ec;
                fs::remove_all(item.path, ec);
                if (ec) {
                    return fail(error_code::unavailable,
                                fmt::format("removing {}: {}", item.path.string(), ec.message()));
                }
            }
            out.items.push_back(
                {"lake", item.path.string(), item.why, apply ? "removed" : "past policy"});
            ++out.past_policy;
        }
    }
    const std::int64_t kafka_h = cfg.kafka.retention_hours;
    const std::int64_t redis_h = cfg.stream.ttl_hours;
    for (const auto& [store, hours, key] : {std::tuple{"kafka", kafka_h, "kafka.retention_hours"},
                                            std::tuple{"redis", redis_h, "stream.ttl_hours"}}) {
        out.items.push_back(
            {store, fmt::format("expires after {} h ({})", hours, key), "",
             hours <= std::int64_t{days} * 24 ? "within policy" : "LONGER than the policy"});
    }
    return out;
}

std::string to_json(const retention_report& r)
{
    std::string items;
    for (const auto& i : r.items) {
        items += fmt::format(R"({}{{"store":{},"item":{},"why":{},"state":{}}})",
                             items.empty() ? "" : ",", json_quote(i.store), json_quote(i.item),
                             json_quote(i.why), json_quote(i.state));
    }
    return fmt::format(R"({{"as_of":{},"cutoff":{},"apply":{},"past_policy":{},"items":[{}]}})",
                       json_quote(r.as_of), json_quote(r.cutoff), r.apply, r.past_policy, items);
}

void add_retention_command(CLI::App& privacy, context& ctx, action& run)
{
    static std::string as_of;
    static bool apply = false;
    static bool dry_run = false;
    auto* cmd = privacy.add_subcommand(
        "retention", "List (default, --dry-run) or remove (--apply) personal data older than "
                     "privacy.retention_days: lake partitions, rejected records and training "
                     "sets, PostgreSQL user rows; check Kafka's and Redis's expiry against it");
    auto* dry = cmd->add_flag("--dry-run", dry_run, "Only list what is past policy (the default)");
    cmd->add_flag("--apply", apply, "Remove what the dry run lists")->excludes(dry);
    cmd->add_option("--as-of", as_of,
                    "The day the policy is applied on, YYYY-MM-DD UTC "
                    "(default: today), so a dry run and an apply agree")
        ->check(CLI::Validator(
            [](const std::string& v) {
                return parse_iso(v) ? std::string() : std::string("expected YYYY-MM-DD");
            },
            "DATE"));
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx,
                               [](const auto& cfg) { return run_retention(cfg, as_of, apply); });
        };
    });
}

}  // namespace adsx::app
