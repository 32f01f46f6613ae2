// Proves the stream engine's per-batch rules against an in-memory store with Redis's
// compare-and-set semantics: valid records advance offset and watermark, each bad one is
// dead-lettered with its reason before the commit, orphans and late events are judged by the
// request log and the watermark, a partition another worker moved on is dropped and re-seeked,
// and a pipelined write is reported when it lands and committed again when refused.
#include <optional>
#include <set>
#include <tuple>

#include "fakes.h"
#include <gtest/gtest.h>

#include "adsx/features/engine.h"

namespace adsx::features {
namespace {

constexpr std::int64_t now = test_now;
using fixture = engine_fixture;

std::string reason_of(const dead_letter& d)
{
    auto p = d.value.find("\"reason\":\"") + 10;
    return d.value.substr(p, d.value.find('"', p) - p);
}

TEST(engine, applies_valid_events_and_advances_offset_and_watermark)
{
    fixture f;
    ASSERT_EQ(*f.e.assign(0), -1);
    auto r = f.e.process(
        f.batch(0, 0, {f.json("impression", now - 5000, 1), f.json("click", now - 4000, 1)}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->applied, 2u);
    EXPECT_EQ(r->dead_lettered, 0u);
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 2);
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].max_event_time, now - 4000);
    EXPECT_EQ(f.store.minute_totals["a:7"], (counts{1, 1, 0}));
}

TEST(engine, each_bad_record_goes_to_the_dlq_with_its_reason_and_source)
{
    fixture f;
    (void)f.e.assign(3);
    auto r = f.e.process(
        f.batch(3, 10,
                {"{trunc", f.json("impression", now + hour_ms, 1),
                 f.json("impression", now - 1000, 2, 500), f.json("click", now - 900, 77)}));
    ASSERT_TRUE(r);
    ASSERT_EQ(f.sink.written.size(), 4u);
    EXPECT_EQ(reason_of(f.sink.written[0]), "malformed_json");
    EXPECT_EQ(reason_of(f.sink.written[1]), "future_timestamp");
    EXPECT_EQ(reason_of(f.sink.written[2]), "unknown_ad");
    EXPECT_EQ(reason_of(f.sink.written[3]), "orphan_event");
    EXPECT_NE(f.sink.written[0].value.find("\"partition\":3,\"offset\":10"), std::string::npos);
    EXPECT_NE(f.sink.written[0].value.find("\"payload\":\"{trunc\""), std::string::npos);
    EXPECT_EQ(r->applied + r->dead_lettered, 4u);
    EXPECT_EQ(f.store.offsets["features:ad.events:3"].next_offset, 14);  // all 4 consumed
}

TEST(engine, the_injected_clock_decides_what_is_in_the_future_and_stamps_dead_letters)
{
    fixture f;
    (void)f.e.assign(0);
    // 10 min ahead of the clock: beyond the 5 min allowed, dead-lettered with the clock's time.
    auto r = f.e.process(f.batch(0, 0, {f.json("impression", now + 10 * minute_ms, 1)}));
    ASSERT_TRUE(r);
    ASSERT_EQ(f.sink.written.size(), 1u);
    EXPECT_EQ(reason_of(f.sink.written[0]), "future_timestamp");
    EXPECT_NE(f.sink.written[0].value.find("\"detected_at\":" + std::to_string(now)),
              std::string::npos);
    // The same record once the clock has moved on is on time.
    f.clock.advance(6 * minute_ms);
    r = f.e.process(f.batch(0, 1, {f.json("impression", now + 10 * minute_ms, 2)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 1u);
}

TEST(engine, a_record_not_keyed_by_its_user_is_dead_lettered_as_wrong_key)
{
    fixture f;
    (void)f.e.assign(0);
    auto r = f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 1)}, "someone-else"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 0u);
    ASSERT_EQ(f.sink.written.size(), 1u);
    EXPECT_EQ(reason_of(f.sink.written[0]), "wrong_key");
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 1);
}

TEST(engine, a_batch_over_many_partitions_is_one_commit_and_a_lost_one_is_dropped)
{
    fixture f;
    for (int p : {0, 1, 2}) {
        (void)f.e.assign(p);
    }
    f.store.offsets["features:ad.events:1"].next_offset = 7;  // another worker moved p1 on
    const int forgotten = f.store.forgotten;
    std::vector<raw_message> all;
    for (int p : {0, 1, 2}) {
        auto b = f.batch(p, 0, {f.json("impression", now - 5000, 10 + p)});
        all.insert(all.end(), b.begin(), b.end());
    }
    auto r = f.e.process(all);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stale, std::vector<int>{1});
    EXPECT_EQ(r->applied, 2u);
    ASSERT_EQ(f.store.commits.size(), 1u);
    EXPECT_EQ(f.store.commits[0], (std::pair<std::size_t, std::size_t>{2, 2}));
    EXPECT_EQ(f.store.minute_totals["a:7"].impressions, 2);  // p1's record not counted
    EXPECT_EQ(f.store.offsets["features:ad.events:1"].next_offset, 7);
    EXPECT_GT(f.store.forgotten, forgotten);  // p1's users were written by another worker
}

TEST(engine, a_half_applied_batch_is_replayed_alone_then_the_rest_of_the_poll_is_built)
{
    fixture f;
    // Partition 0 stands at 2 with a batch up to offset 4 applied by some of the store's
    // transactions only (a crash between them); partition 1 is fresh.
    f.store.offsets["features:ad.events:0"] = {2, now - 9000, 4};
    for (int p : {0, 1}) {
        (void)f.e.assign(p);
    }
    std::vector<raw_message> poll;
    for (int p : {1, 0}) {  // the other partition first: the replay is not the poll's order
        std::vector<std::string> records;
        for (int i = 0; i < 5; ++i) {
            records.push_back(f.json("impression", now - 5000 + i, 20 + p * 10 + i));
        }
        records.push_back("{bad");  // a dead letter in each partition, written once
        auto b = f.batch(p, p == 0 ? 2 : 0, records);
        poll.insert(poll.end(), b.begin(), b.end());
    }
    auto r = f.e.process(poll);
    ASSERT_TRUE(r) << r.error().message;
    // First offsets 2..4 of partition 0 alone, then the rest of the poll: nothing re-seeked.
    ASSERT_EQ(f.store.commits.size(), 2u);
    EXPECT_EQ(f.store.commits[0], (std::pair<std::size_t, std::size_t>{1, 3}));
    EXPECT_EQ(f.store.commits[1], (std::pair<std::size_t, std::size_t>{2, 7}));
    EXPECT_TRUE(r->stale.empty());
    EXPECT_EQ(r->applied, 10u);
    EXPECT_EQ(r->dead_lettered, 2u);
    EXPECT_EQ(f.sink.written.size(), 2u);
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 8);
    EXPECT_EQ(f.store.offsets["features:ad.events:1"].next_offset, 6);
    EXPECT_EQ(f.store.minute_totals["a:7"].impressions, 10);
}

TEST(engine, click_finds_its_impression_committed_in_an_earlier_batch)
{
    fixture f;
    (void)f.e.assign(0);
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 9)})));
    auto r = f.e.process(f.batch(0, 1, {f.json("click", now - 4000, 9)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 1u);
    EXPECT_TRUE(f.sink.written.empty());
}

TEST(engine, a_click_counts_within_the_click_window_rounded_out_to_minutes)
{
    fixture f;
    (void)f.e.assign(0);
    const std::int64_t t0 = (now - 3 * hour_ms) / minute_ms * minute_ms;  // a minute's start
    auto r = f.e.process(
        f.batch(0, 0,
                {f.json("impression", t0 + 59'000, 1), f.json("impression", t0 + 59'000, 2),
                 // 60 min 59 s after: its window's first minute is t0's
                 f.json("click", t0 + hour_ms + 58'000, 1),
                 // 61 min after: its window starts a minute later
                 f.json("click", t0 + hour_ms + minute_ms, 2)}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->applied, 3u);
    ASSERT_EQ(f.sink.written.size(), 1u);
    EXPECT_EQ(reason_of(f.sink.written[0]), "orphan_event");
    EXPECT_NE(f.sink.written[0].value.find("\"offset\":3"), std::string::npos);
}

TEST(engine, a_conversion_counts_only_after_a_click_of_its_request_within_its_window)
{
    fixture f;
    (void)f.e.assign(0);
    const std::int64_t t0 = now - 30 * hour_ms;
    auto r = f.e.process(f.batch(0, 0,
                                 {f.json("impression", t0, 1), f.json("impression", t0, 2),
                                  f.json("impression", t0, 3), f.json("click", t0 + 1000, 1),
                                  f.json("click", t0 + 1000, 3),
                                  f.json("conversion", t0 + hour_ms, 1),     // its click: fine
                                  f.json("conversion", t0 + hour_ms, 2)}));  // never clicked
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->applied, 6u);
    // 26 h after its click: outside the 24 h window (the impression's buckets are gone by now).
    auto late = f.e.process(f.batch(0, 7, {f.json("conversion", t0 + 26 * hour_ms, 3)}));
    ASSERT_TRUE(late);
    EXPECT_EQ(late->applied, 0u);
    ASSERT_EQ(f.sink.written.size(), 2u);
    for (const auto& d : f.sink.written) {
        EXPECT_EQ(reason_of(d), "orphan_event");
    }
}

TEST(engine, a_worker_taking_a_partition_over_reads_its_request_log_back)
{
    fixture f;
    (void)f.e.assign(0);
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 9)})));
    ASSERT_EQ(f.store.logs.size(), 1u);  // the impression's minute
    engine other{f.store,
                 f.sink,
                 [](ad_id) { return true; },
                 [](std::string_view, std::string_view) { return true; },
                 f.clock,
                 engine_settings{}};
    const int reads = f.store.log_reads;
    ASSERT_EQ(*other.assign(0), 1);
    EXPECT_EQ(f.store.log_reads, reads + 2);  // impressions and clicks
    auto r = other.process(f.batch(0, 1, {f.json("click", now - 4000, 9)}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->applied, 1u);
    EXPECT_TRUE(f.sink.written.empty());
}

TEST(engine, the_watermark_deletes_the_request_log_buckets_it_leaves_behind)
{
    fixture f;
    (void)f.e.assign(0);
    const std::int64_t t0 = now - 40 * hour_ms;
    ASSERT_TRUE(
        f.e.process(f.batch(0, 0, {f.json("impression", t0, 1), f.json("click", t0 + 1000, 1)})));
    EXPECT_EQ(f.store.logs.size(), 2u);  // an impression minute, a click hour
    // 2 h on (window 1 h + lateness 5 min): the impression's minute goes, the click's hour stays.
    ASSERT_TRUE(f.e.process(f.batch(0, 2, {f.json("impression", t0 + 2 * hour_ms, 2)})));
    EXPECT_EQ(f.store.logs.size(), 2u);
    EXPECT_FALSE(
        f.store.logs.contains({"features:ad.events:0", follow_kind::impression, t0 / minute_ms}));
    // 26 h on: the click's hour goes too.
    ASSERT_TRUE(f.e.process(f.batch(0, 3, {f.json("impression", t0 + 26 * hour_ms, 3)})));
    ASSERT_EQ(f.store.logs.size(), 1u);
    EXPECT_EQ(std::get<2>(f.store.logs.begin()->first), (t0 + 26 * hour_ms) / minute_ms);
}

TEST(engine, events_behind_the_watermark_beyond_lateness_are_late)
{
    fixture f;
    (void)f.e.assign(0);
    auto r = f.e.process(f.batch(0, 0,
                                 {f.json("impression", now - 1000, 1),
                                  f.json("impression", now - 1000 - 6 * minute_ms, 2),
                                  f.json("impression", now - 1000 - 4 * minute_ms, 3)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 2u);
    ASSERT_EQ(f.sink.written.size(), 1u);
    EXPECT_EQ(reason_of(f.sink.written[0]), "late");
}

TEST(engine, no_user_level_keys_for_users_without_consent)
{
    fixture f;
    (void)f.e.assign(0);
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 1000, 1, 7, "NO")})));
    EXPECT_EQ(f.store.minute_totals["a:7"].impressions, 1);
    EXPECT_TRUE(f.store.users.empty());
    ASSERT_TRUE(f.e.process(f.batch(0, 1, {f.json("impression", now - 900, 2, 7, "YES")})));
    EXPECT_EQ(f.store.users, std::set<std::string>{"u:" + std::string(user)});
}

TEST(engine, a_stale_commit_applies_nothing_and_names_the_partition)
{
    fixture f;
    (void)f.e.assign(0);
    f.store.offsets["features:ad.events:0"].next_offset = 50;  // another worker moved on
    auto r = f.e.process(f.batch(0, 0, {f.json("impression", now - 1000, 1)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stale, std::vector<int>{0});
    EXPECT_TRUE(f.store.commits.empty());
    // Reloaded: records below the stored offset are skipped from now on.
    auto again = f.e.process(f.batch(0, 0, {f.json("impression", now - 1000, 1)}));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->applied, 0u);
}

TEST(engine, a_failing_dlq_prevents_the_commit)
{
    fixture f;
    (void)f.e.assign(0);
    f.sink.broken = true;
    auto r = f.e.process(f.batch(0, 0, {"garbage", f.json("impression", now - 1000, 1)}));
    ASSERT_FALSE(r);
    EXPECT_TRUE(f.store.commits.empty());
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, -1);
}

TEST(engine, records_of_partitions_not_owned_are_ignored)
{
    fixture f;
    (void)f.e.assign(0);
    auto r = f.e.process(f.batch(5, 0, {f.json("impression", now - 1000, 1)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 0u);
    EXPECT_TRUE(f.store.commits.empty());
}

TEST(engine, pipelined_a_write_is_reported_when_it_lands_and_the_next_batch_is_built_meanwhile)
{
    fixture f;
    f.store.pipelined = true;
    (void)f.e.assign(0);
    auto r1 = f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 1)}));
    ASSERT_TRUE(r1) << r1.error().message;
    EXPECT_EQ(r1->applied, 0u);  // sent, not yet acknowledged
    EXPECT_TRUE(f.store.held);
    // The click's impression is in the write in flight: the request log has it since it was
    // sent.
    auto r2 = f.e.process(f.batch(0, 1, {f.json("click", now - 4000, 1)}));
    ASSERT_TRUE(r2) << r2.error().message;
    EXPECT_EQ(r2->applied, 1u);  // the impression
    EXPECT_TRUE(f.sink.written.empty());
    auto r3 = f.e.flush();
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->applied, 1u);  // the click
    EXPECT_EQ(r3->event_times, std::vector<std::int64_t>{now - 4000});
    EXPECT_EQ(f.store.minute_totals["a:7"], (counts{1, 1, 0}));
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 2);
    EXPECT_EQ(f.e.flush()->applied, 0u);
}

TEST(engine, pipelined_a_refused_write_is_committed_again_once)
{
    fixture f;
    f.store.pipelined = true;
    f.store.refuse = 1;  // another worker wrote a shared key between the read and EXEC
    (void)f.e.assign(0);
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 1)})));
    auto r = f.e.process(f.batch(0, 1, {f.json("impression", now - 4000, 2)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->applied, 1u);
    ASSERT_TRUE(f.e.flush());
    EXPECT_EQ(f.store.minute_totals["a:7"].impressions, 2);
    EXPECT_EQ(f.store.commits.size(), 2u);
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 2);
}

TEST(engine, assigning_or_revoking_settles_the_write_in_flight_then_forgets_owned_keys)
{
    fixture f;
    f.store.pipelined = true;
    (void)f.e.assign(0);
    const int forgotten = f.store.forgotten;
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 1)})));
    ASSERT_TRUE(f.store.held);
    f.e.revoke({0});  // the fake store checks that nothing is in flight when forgetting
    EXPECT_FALSE(f.store.held);
    EXPECT_EQ(f.store.forgotten, forgotten + 1);
    (void)f.e.assign(0);
    EXPECT_EQ(f.store.forgotten, forgotten + 2);
}

TEST(engine, pipelined_a_write_lost_with_its_partition_is_dropped_and_read_again)
{
    fixture f;
    f.store.pipelined = true;
    for (int p : {0, 1}) {
        (void)f.e.assign(p);
    }
    ASSERT_TRUE(f.e.process(f.batch(0, 0, {f.json("impression", now - 5000, 1)})));
    // Meanwhile p0 went to another worker, which moved it on: the write in flight is refused
    // and its retry finds p0 stale. Nothing of it applies; the next batch (p0 and p1) is
    // rebuilt without p0, which is reported for re-seeking.
    f.store.refuse = 1;
    f.store.offsets["features:ad.events:0"].next_offset = 5;
    std::vector<raw_message> next = f.batch(0, 1, {f.json("impression", now - 4000, 2)});
    auto p1 = f.batch(1, 0, {f.json("impression", now - 4000, 3)});
    next.insert(next.end(), p1.begin(), p1.end());
    const int forgotten = f.store.forgotten;
    auto r = f.e.process(next);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->applied, 0u);
    EXPECT_EQ(r->stale, std::vector<int>{0});
    EXPECT_GT(f.store.forgotten, forgotten);
    auto done = f.e.flush();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->applied, 1u);  // p1's
    EXPECT_EQ(f.store.minute_totals["a:7"].impressions, 1);
    EXPECT_EQ(f.store.offsets["features:ad.events:0"].next_offset, 5);  // untouched by us
    EXPECT_EQ(f.store.offsets["features:ad.events:1"].next_offset, 1);
    EXPECT_EQ(*f.e.assign(0), 5);  // where a re-seek starts
}

}  // namespace
}  // namespace adsx::features
