// `adsx experiment collect`: the events topic into per-user-day totals by experiment arm in
// PostgreSQL (experiments::user_days → pg::commit_user_days), the unit every experiment
// statistic starts from. Wiring only. A member of consumer group `<stream.group>-experiments`
// that keeps its offsets in PostgreSQL, moved in the same transaction as the totals they cover
// (compare-and-set: a stale member's commit is refused), so a replay, a restart or a SIGKILL
// never counts an event twice. Records the event contract rejects are skipped, as adsx stream
// dead-letters them; so are events of erased users (the suppression list, pg/privacy.h), so
// that a replay cannot bring them back.
#include <csignal>
#include <iostream>

#include "app.h"
#include <fmt/format.h>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"
#include "adsx/events/validate.h"
#include "adsx/kafka/consumer.h"
#include "adsx/log/log.h"
#include "adsx/pg/experiment_results.h"
#include "adsx/pg/migrate.h"
#include "adsx/pg/privacy.h"
#include "adsx/privacy/suppression.h"

namespace adsx::app {
namespace {

volatile std::sig_atomic_t stop_collect = 0;

using steady = std::chrono::steady_clock;

struct collect_tally
{
    std::uint64_t records = 0;
    std::uint64_t counted = 0;
    std::uint64_t skipped = 0;  // not events by the contract
    std::uint64_t erased = 0;   // events of users on the suppression list
    std::uint64_t batches = 0;
    std::uint64_t stale = 0;  // commits refused: offsets reloaded
};

int run_collect(const config::config& cfg, double until_idle_s)
{
    auto log = log::get("experiment");
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return report(conn.error());
    }
    if (auto m = pg::migrate(*conn, migrations_dir(cfg)); !m) {
        return report(m.error());
    }
    privacy::suppression_list erased;
    auto erased_feed = pg::suppression_feed::start(
        cfg.postgres, erased, std::chrono::seconds(cfg.privacy.suppression_refresh_s));
    if (!erased_feed) {
        return report(erased_feed.error());
    }
    const auto& topic = cfg.kafka.events_topic;
    auto stored = pg::load_collect_offsets(*conn, topic);
    if (!stored) {
        return report(stored.error());
    }
    std::map<int, std::int64_t> position = *stored;  // where each partition's next batch begins
    auto group = consumer_from(cfg, cfg.stream.group + "-experiments", topic, position);
    if (!group) {
        return report(group.error());
    }
    std::signal(SIGINT, [](int) { stop_collect = 1; });
    std::signal(SIGTERM, [](int) { stop_collect = 1; });
    events::decoder decoder;
    const events::validation_limits limits{.max_future_ms = cfg.events.max_future_s * 1000LL};
    experiments::user_days totals;
    std::vector<kafka::message> batch;
    collect_tally t;
    const auto started = steady::now();
    auto last_data = steady::now();
    system_clock clock;
    while (!stop_collect) {
        if (auto r = (*group)->poll_batch(batch, 20'000, std::chrono::milliseconds(500),
                                          std::chrono::milliseconds(200));
            !r) {
            return report(r.error());
        }
        if (batch.empty()) {
            if (until_idle_s > 0 &&
                steady::now() - last_data >= std::chrono::duration<double>(until_idle_s)) {
                auto stored_now = pg::load_collect_offsets(*conn, topic);
                if (!stored_now) {
                    return report(stored_now.error());
                }
                // Where any member commits: the whole group has counted the topic.
                auto done = caught_up(**group, *stored_now);
                if (!done) {
                    return report(done.error());
                }
                if (*done) {
                    break;
                }
            }
            continue;
        }
        last_data = steady::now();
        std::map<int, pg::offset_range> ranges;
        const auto now = clock.now_ms();
        for (const auto& m : batch) {
            auto [it, fresh] = ranges.try_emplace(m.partition);
            if (fresh) {
                auto pos = position.find(m.partition);
                it->second.first = pos == position.end() ? -1 : pos->second;
            }
            it->second.next = m.offset + 1;
            ++t.records;
            events::event e;
            if (decoder.decode(m.value, e) || events::validate(e, now, limits)) {
                ++t.skipped;
                continue;
            }
            if (erased.contains(e.user_id)) {
                ++t.erased;
                continue;
            }
            totals.add(e);
            ++t.counted;
        }
        auto committed = pg::commit_user_days(*conn, totals, topic, ranges);
        totals.clear();
        if (!committed && committed.error().code == error_code::failed_precondition) {
            // Another member moved on, or we resumed from a stale place: start again from what
            // PostgreSQL holds, which is exactly what has been counted.
            ++t.stale;
            log.warn("offsets moved under this collector; resuming from PostgreSQL's",
                     {{"reason", committed.error().message}});
            auto again = pg::load_collect_offsets(*conn, topic);
            if (!again) {
                return report(again.error());
            }
            position = *again;
            for (int p : (*group)->assignment()) {
                if (auto it = position.find(p); it != position.end()) {
                    (void)(*group)->seek(p, it->second);
                }
            }
            continue;
        }
        if (!committed) {
            return report(committed.error());
        }
        for (const auto& [p, r] : ranges) {
            position[p] = r.next;
        }
        ++t.batches;
    }
    (*group)->close();
    const double secs = std::chrono::duration<double>(steady::now() - started).count();
    std::cout << fmt::format("collected {} records: {} counted, {} skipped (not events by the "
                             "contract), {} of erased users, in {} commits to "
                             "experiment_user_days in {:.1f} s\n",
                             t.records, t.counted, t.skipped, t.erased, t.batches, secs);
    return 0;
}

}  // namespace

void add_experiment_collect_command(CLI::App& experiment, context& ctx, action& run)
{
    static double until_idle_s = 0;
    auto* cmd = experiment.add_subcommand(
        "collect",
        "Count the events topic into per-user, per-day totals by experiment arm in PostgreSQL "
        "(experiment_user_days: what experiment report reads), exactly once: offsets are kept "
        "in PostgreSQL in the same transaction. Runs until stopped (SIGINT/SIGTERM).");
    cmd->add_option("--until-idle", until_idle_s,
                    "Exit once caught up and idle this many seconds (default: run until stopped)")
        ->check(CLI::Range(0.1, 86'400.0));
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(
                ctx, [](const config::config& cfg) { return run_collect(cfg, until_idle_s); });
        };
    });
}

}  // namespace adsx::app
