// Proves the stream probe turns what the worker observes into the metrics `adsx stream` has
// always exposed: records applied and dead-lettered by reason, stale commits, batch and commit
// latencies, freshness against the acknowledgement time, lag per partition, and the key cache's
// running totals as counter increments per kind.
#include <string>

#include "exposition.h"
#include <gtest/gtest.h>

#include "adsx/metrics/exposer.h"
#include "adsx/metrics/stream_probe.h"

namespace adsx::metrics {
namespace {

using exposition::has;

TEST(stream_probe, counts_what_each_batch_reports)
{
    stream_probe probe(nullptr);
    features::batch_result b;
    b.applied = 3;
    b.dead_lettered = 2;
    b.by_reason[static_cast<std::size_t>(events::all_reasons[0])] = 2;
    b.stale = {4};
    b.event_times = {1'000, 1'500};
    probe.batch(b, 0.002, 2'000);
    probe.batch(features::batch_result{}, std::nullopt, 2'000);  // a settling: no batch time
    probe.commit(0.004);
    const auto text = render(probe.registry());
    EXPECT_TRUE(has(text, "adsx_stream_events_total 3")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_stale_commits_total 1")) << text;
    const auto reason = std::string(events::name(events::all_reasons[0]));
    EXPECT_TRUE(has(text, "adsx_stream_dead_letters_total{reason=\"" + reason + "\"} 2")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_batch_seconds_count 1")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_redis_commit_seconds_count 1")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_freshness_seconds_count 2")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_freshness_seconds_sum 1.5")) << text;  // 1 s + 0.5 s
}

TEST(stream_probe, progress_sets_lag_and_state_sizes_and_adds_the_key_cache_increments)
{
    stream_probe probe(nullptr);
    const std::map<int, std::int64_t> lag{{0, 42}, {3, 7}};
    features::stream_totals totals;
    probe.progress({lag, {10, 2, 2, 700}, {5, 1, 1, 90}, totals, 0, 900});
    probe.progress({lag, {15, 3, 1, 350}, {5, 4, 3, 270}, totals, 0, 640});
    const auto text = render(probe.registry());
    EXPECT_TRUE(has(text, "adsx_stream_consumer_lag{partition=\"0\"} 42")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_consumer_lag{partition=\"3\"} 7")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_total{kind=\"user\",result=\"hit\"} 15")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_total{kind=\"user\",result=\"miss\"} 3")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_total{kind=\"shared\",result=\"hit\"} 5")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_total{kind=\"shared\",result=\"miss\"} 4"))
        << text;
    // Gauges: the last values, not sums.
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_keys{kind=\"user\"} 1")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_keys{kind=\"shared\"} 3")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_key_cache_bytes{kind=\"user\"} 350")) << text;
    EXPECT_TRUE(has(text, "adsx_stream_request_log_bytes 640")) << text;
}

}  // namespace
}  // namespace adsx::metrics
