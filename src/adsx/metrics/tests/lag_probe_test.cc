// Proves `adsx lag --serve` exposes a group's lag under kafka_exporter's names, per partition,
// the latest poll's values, and no committed offset for a partition the group never committed.
#include <string>
#include <vector>

#include "exposition.h"
#include <gtest/gtest.h>

#include "adsx/metrics/lag_probe.h"

namespace adsx::metrics {
namespace {

using exposition::has;

TEST(lag_probe, exposes_each_partitions_lag_offsets_and_watermark_under_kafka_exporter_names)
{
    lag_probe probe(nullptr);
    std::vector<partition_offsets> first{{.partition = 0, .committed = 10, .high = 12, .lag = 2},
                                         {.partition = 1, .committed = -1, .high = 5, .lag = 5}};
    probe.report("features", "ad.events", first);
    std::vector<partition_offsets> later{{.partition = 0, .committed = 12, .high = 40, .lag = 28}};
    probe.report("features", "ad.events", later);
    probe.failed();
    const auto text = render(probe.registry());
    const std::string p0 = R"({consumergroup="features",partition="0",topic="ad.events"})";
    const std::string p1 = R"({consumergroup="features",partition="1",topic="ad.events"})";
    EXPECT_TRUE(has(text, "kafka_consumergroup_lag" + p0 + " 28")) << text;
    EXPECT_TRUE(has(text, "kafka_consumergroup_lag" + p1 + " 5")) << text;
    EXPECT_TRUE(has(text, "kafka_consumergroup_current_offset" + p0 + " 12")) << text;
    EXPECT_EQ(text.find("kafka_consumergroup_current_offset" + p1), std::string::npos) << text;
    EXPECT_TRUE(
        has(text, R"(kafka_topic_partition_current_offset{partition="0",topic="ad.events"} 40)"))
        << text;
    EXPECT_TRUE(has(text, R"(adsx_lag_polls_total{outcome="ok"} 2)")) << text;
    EXPECT_TRUE(has(text, R"(adsx_lag_polls_total{outcome="failed"} 1)")) << text;
}

}  // namespace
}  // namespace adsx::metrics
