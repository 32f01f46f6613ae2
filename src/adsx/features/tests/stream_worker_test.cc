// Proves the stream worker's loop with fakes of its ports: each polled batch goes through the
// engine and is counted (applied, dead-lettered by reason) into the summary `adsx stream`
// prints; --until-idle stops only once every partition's stored offset reached the topic's end;
// a stale commit re-seeks its partition where the store has it; assignment and poll errors
// fail the run, and the consumer leaves the group on every return, after the last write landed;
// progress comes every two seconds, and the store's offsets are reported to the consumer group
// with it and when leaving; the timed store times commits, pipelined ones until they settle.
#include "fakes.h"
#include <gtest/gtest.h>

#include "adsx/features/stream_worker.h"
#include "adsx/features/timed_store.h"

namespace adsx::features {
namespace {

constexpr std::int64_t now = test_now;
const std::string p0 = "features:ad.events:0";

struct worker_fixture : engine_fixture
{
    fake_consumer consumer{clock};
    recording_observer observer;
    std::atomic<bool> stopping{false};
    stream_worker_settings settings{.batch_size = 100};

    result<stream_summary> run()
    {
        stream_worker w(consumer, e, store, observer, clock, settings);
        return w.run(stopping);
    }
    // The n-th poll is the last (as SIGTERM during it would make it).
    void stop_at_poll(int n)
    {
        consumer.on_poll = [this, n](int poll) { stopping = stopping || poll >= n; };
    }
    // One impression per poll, for `polls` polls.
    void impressions(int polls)
    {
        for (int i = 0; i < polls; ++i) {
            consumer.polls.push_back(batch(0, i, {json("impression", now - 5000, i + 1)}));
        }
    }
};

TEST(stream_worker, processes_each_polled_batch_and_ends_with_the_totals)
{
    worker_fixture f;
    f.consumer.polls.push_back(
        f.batch(0, 0, {f.json("impression", now - 5000, 1), f.json("click", now - 4000, 1)}));
    f.consumer.polls.push_back(
        f.batch(0, 2, {"garbage", f.json("impression", now - 3000, 2, 500)}));
    f.stop_at_poll(3);  // an empty one
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(f.consumer.started, (std::map<int, std::int64_t>{{0, -1}}));  // never consumed
    EXPECT_EQ(s->totals.applied, 2u);
    EXPECT_EQ(s->totals.dead_lettered, 2u);
    EXPECT_EQ(f.store.offsets[p0].next_offset, 4);
    EXPECT_EQ(f.sink.written.size(), 2u);
    // Two batches, the empty poll's settling, the last settling when stopping.
    ASSERT_EQ(f.observer.batches.size(), 4u);
    EXPECT_TRUE(f.observer.batch_seconds[0] && f.observer.batch_seconds[1]);
    EXPECT_FALSE(f.observer.batch_seconds[2] || f.observer.batch_seconds[3]);
    EXPECT_DOUBLE_EQ(s->busy_s, 0.001);  // first batch to the last that applied (1 ms a poll)
    EXPECT_EQ(format_summary(*s),
              "processed 4 records: 2 applied, 2 dead-lettered in 0.0 s (4000 records/s)\n"
              "  dead letters: malformed_json=1 unknown_ad=1\n");
    EXPECT_EQ(f.consumer.close_calls, 1);
    EXPECT_EQ(f.consumer.listener, nullptr);
}

TEST(stream_worker, a_summary_without_records_says_so)
{
    EXPECT_EQ(format_summary({}),
              "processed 0 records: 0 applied, 0 dead-lettered in 0.0 s (0 records/s)\n");
}

TEST(stream_worker, until_idle_stops_only_once_the_whole_group_has_caught_up)
{
    worker_fixture f;
    f.settings.until_idle = std::chrono::seconds(1);
    f.impressions(2);
    // Partition 1 is another member's, which has not caught up yet: nothing arriving here is
    // not enough.
    f.consumer.marks = {{0, {0, 2}}, {1, {0, 3}}};
    f.consumer.on_poll = [&](int poll) {
        if (poll == 12) {
            f.store.offsets["features:ad.events:1"] = {3, now};  // the other member caught up
        }
        ASSERT_LT(poll, 100) << "never stopped";
        f.stopping = poll >= 100;
    };
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_FALSE(f.stopping);
    EXPECT_EQ(s->totals.applied, 2u);
    // Idle for 1 s (five empty polls of 200 ms) after the records: not caught up; another
    // idle second: caught up.
    EXPECT_EQ(f.consumer.watermark_calls, 2);
    EXPECT_EQ(f.consumer.poll_calls, 12);
}

TEST(stream_worker, a_stale_commit_reseeks_the_partition_where_the_store_has_it)
{
    worker_fixture f;
    f.impressions(1);
    f.consumer.on_poll = [&](int poll) {
        f.store.offsets[p0].next_offset = 50;  // another member moved partition 0 on
        f.stopping = poll >= 1;
    };
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(f.consumer.seeks, (std::vector<std::pair<int, std::int64_t>>{{0, 50}}));
    EXPECT_EQ(f.observer.reseeks, std::vector<int>{0});
    EXPECT_EQ(s->totals.applied, 0u);
    EXPECT_TRUE(f.store.commits.empty());
}

TEST(stream_worker, an_error_reading_where_a_partition_starts_fails_the_run)
{
    worker_fixture f;
    f.store.load_error = error{error_code::unavailable, "redis down"};
    f.impressions(1);
    auto s = f.run();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, "reading partition offsets: redis down");
    EXPECT_EQ(s.error().code, error_code::unavailable);
    EXPECT_EQ(f.consumer.close_calls, 1);  // leaves the group all the same
    EXPECT_TRUE(f.store.commits.empty());
}

TEST(stream_worker, a_failing_poll_fails_the_run_and_the_consumer_still_leaves)
{
    worker_fixture f;
    f.consumer.poll_error = error{error_code::unavailable, "consuming ad.events: broker down"};
    auto s = f.run();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message, "consuming ad.events: broker down");
    EXPECT_EQ(f.consumer.close_calls, 1);
    EXPECT_EQ(f.consumer.listener, nullptr);
}

TEST(stream_worker, stopping_lets_the_last_write_land_and_counts_it_before_leaving)
{
    worker_fixture f;
    f.store.pipelined = true;  // each write is in flight until the next call settles it
    f.impressions(2);
    f.stop_at_poll(2);
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->totals.applied, 2u);
    EXPECT_EQ(f.observer.batches.back().applied, 1u);  // the final settling's
    EXPECT_FALSE(f.observer.batch_seconds.back());
    EXPECT_EQ(f.store.offsets[p0].next_offset, 2);
}

TEST(stream_worker, progress_comes_every_two_seconds_with_lag_key_cache_and_totals)
{
    worker_fixture f;
    f.impressions(6);
    f.consumer.lags = {{0, 42}};
    f.store.user_cache = {3, 1};
    f.store.shared_cache = {5, 2};
    f.consumer.on_poll = [&](int poll) {
        f.clock.advance(700);  // polls 701 ms apart: progress after the 3rd and the 6th
        f.stopping = poll >= 6;
    };
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(f.observer.progress_calls.size(), 2u);
    const auto& first = f.observer.progress_calls[0];
    EXPECT_EQ(first.lag, (std::map<int, std::int64_t>{{0, 42}}));
    EXPECT_EQ(first.users, (cache_counts{3, 1}));
    EXPECT_EQ(first.shared, (cache_counts{5, 2}));
    EXPECT_EQ(first.applied, 3u);
    EXPECT_EQ(f.observer.progress_calls[1].applied, 6u);
    // With each progress report, and once more when leaving (waiting for the answer), the
    // store's offsets go to the group's committed offsets, where monitoring tools read the lag.
    EXPECT_EQ(f.consumer.lag_calls, 3);
    ASSERT_EQ(f.consumer.reports.size(), 3u);
    EXPECT_FALSE(f.consumer.reports[0].second || f.consumer.reports[1].second);
    EXPECT_LE(f.consumer.reports[0].first.at(0), f.consumer.reports[1].first.at(0));
    EXPECT_EQ(f.consumer.reports[2], (std::pair{std::map<int, std::int64_t>{{0, 6}}, true}));
}

TEST(stream_worker, offsets_reach_the_group_while_a_write_is_in_flight_as_applied_ones)
{
    // A pipelined store always has a write in flight while records keep coming, and cannot be
    // read then: the reports come from the engine, and name only what the store holds.
    worker_fixture f;
    f.store.pipelined = true;
    f.impressions(6);
    f.consumer.lags = {{0, 42}};
    f.consumer.on_poll = [&](int poll) {
        f.clock.advance(700);
        f.stopping = poll >= 6;
    };
    auto s = f.run();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(f.consumer.reports.size(), 3u);
    for (const auto& [next, wait] : {f.consumer.reports[0], f.consumer.reports[1]}) {
        ASSERT_TRUE(next.contains(0));
        EXPECT_LT(next.at(0), 6);  // the last record's batch was still in flight
        EXPECT_FALSE(wait);
    }
    EXPECT_EQ(f.consumer.reports[2], (std::pair{std::map<int, std::int64_t>{{0, 6}}, true}));
}

TEST(timed_store, times_each_commit_and_a_pipelined_one_until_it_settles)
{
    manual_clock clock(now);
    fake_store inner;
    recording_observer observer;
    timed_store store(inner, observer, clock);
    inner.on_commit = [&] { clock.advance(3); };
    inner.on_settle = [&] { clock.advance(5); };
    batch_update b;
    std::vector<partition_commit> first{{"p", {}, {0, 0}, {}}};
    ASSERT_TRUE(store.commit(first, b, false));
    EXPECT_EQ(observer.commits, std::vector<double>{0.003});

    inner.pipelined = true;
    std::vector<partition_commit> second{{"p", {0, 0}, {1, 0}, {}}};
    auto sent = store.commit(second, b, true);
    ASSERT_TRUE(sent && sent->pending);
    EXPECT_EQ(observer.commits.size(), 1u);  // not yet: in flight
    ASSERT_TRUE(store.settle());
    ASSERT_EQ(observer.commits.size(), 2u);
    EXPECT_DOUBLE_EQ(observer.commits[1], 0.008);  // from the commit's start to its settling
    EXPECT_EQ(store.key_cache(key_kind::user), inner.key_cache(key_kind::user));
}

TEST(observer_list, tells_every_observer)
{
    recording_observer a, b;
    observer_list both({&a, &b});
    both.commit(0.5);
    both.reseek(3);
    EXPECT_EQ(a.commits, b.commits);
    EXPECT_EQ(b.reseeks, std::vector<int>{3});
}

}  // namespace
}  // namespace adsx::features
