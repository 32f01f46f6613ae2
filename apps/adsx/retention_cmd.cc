// `adsx privacy retention`: lists (--dry-run, the default) or removes (--apply) the personal data
// older than [privacy] retention_days, store by store:
//   - the lake: user-feature partitions (features/user/date=D) with D before the cutoff,
//     rejected-record batches (raw records, user ids included) last written before it, and
//     training sets whose impressions all precede it (manifest.json's impression_dates). Event
//     partitions (events/event_date=D) past policy are listed but not removed yet: the lake
//     job's Spark file sink lists every file it wrote in events/_spark_metadata, and Spark
//     readers of events/ fail on a listed file that is gone (tried: FileNotFound while merging
//     footers, spark.sql.files.ignoreMissingFiles or not); removing them needs the sink's log
//     rewritten with them, which is the lake erasure job's work (docs/privacy.md);
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
    const auto today = as_of.empty() ? midnight_utc_ms(wall_ms()) : *parse_iso(as_of);
    const int days = cfg.privacy.retention_days;
    const auto cutoff_ms = today - days * day_ms;
    const auto cutoff = utc_date(cutoff_ms);
    std::cout << fmt::format("retention as of {}: personal data dated before {} "
                             "(privacy.retention_days = {})\n",
                             utc_date(today), cutoff, days);
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return report(conn.error());
    }
    auto rows = apply ? pg::delete_rows_before(*conn, cutoff) : pg::rows_before(*conn, cutoff);
    if (!rows) {
        return report(rows.error());
    }
    std::size_t items = 0;
    for (const auto& [table, n] : *rows) {
        std::cout << fmt::format("postgres  {}: {} row(s) {}\n", table, n,
                                 apply ? "deleted" : "past policy");
        items += n > 0 ? 1 : 0;
    }
    if (cfg.lake.dir.string().find("://") != std::string::npos) {
        std::cout << fmt::format("lake      {}: not a local folder, not covered\n",
                                 cfg.lake.dir.string());
    } else {
        for (const auto& item : lake_past_policy(cfg.lake.dir, cutoff, cutoff_ms)) {
            if (!item.removable) {
                std::cout << fmt::format("lake      {} ({}): kept, not removable yet (the lake "
                                         "job's file-sink log lists it)\n",
                                         item.path.string(), item.why);
                continue;
            }
            std::error_code ec;
            if (apply) {
                fs::remove_all(item.path, ec);
                if (ec) {
                    return report(
                        {error_code::unavailable,
                         fmt::format("removing {}: {}", item.path.string(), ec.message())});
                }
            }
            std::cout << fmt::format("lake      {} ({}){}\n", item.path.string(), item.why,
                                     apply ? ": removed" : "");
            ++items;
        }
    }
    const std::int64_t kafka_h = cfg.kafka.retention_hours;
    const std::int64_t redis_h = cfg.stream.ttl_hours;
    for (const auto& [store, hours, key] : {std::tuple{"kafka", kafka_h, "kafka.retention_hours"},
                                            std::tuple{"redis", redis_h, "stream.ttl_hours"}}) {
        std::cout << fmt::format("{:<9} expires after {} h ({}): {}\n", store, hours, key,
                                 hours <= std::int64_t{days} * 24 ? "within policy"
                                                                  : "LONGER than the policy");
    }
    if (apply) {
        std::cout << fmt::format("{} item(s) past policy removed\n", items);
    } else {
        std::cout << fmt::format("dry run: {} item(s) past policy; --apply removes them\n", items);
    }
    return 0;
}

}  // namespace

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
