#pragma once
// Topic administration through the Kafka admin API (librdkafka).
//
//   kafka::topic_spec spec{"ad.events", 12, 1, {{"compression.type", "lz4"}}};
//   auto created = kafka::ensure_topic("127.0.0.1:9092", spec, std::chrono::seconds(10));
//   // *created is true when the topic was created now, false when it already existed.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "adsx/base/error.h"

namespace adsx::kafka {

struct topic_spec
{
    std::string name;
    int partitions = 1;
    int replication_factor = 1;
    std::map<std::string, std::string> configs;  // topic-level configs, e.g. retention.ms
};

struct topic_description
{
    int partitions = 0;
    std::map<std::string, std::string> configs;  // every topic config with its effective value
};

// The topic's partition count and configs; not_found when it does not exist.
[[nodiscard]] result<topic_description> describe_topic(const std::string& bootstrap,
                                                       const std::string& name,
                                                       std::chrono::milliseconds timeout);

// Creates the topic if missing; if it exists, checks its partition count and every config the
// spec names, and fails (failed_precondition) listing each difference. Returns whether it
// created the topic.
[[nodiscard]] result<bool> ensure_topic_matches(const std::string& bootstrap,
                                                const topic_spec& spec,
                                                std::chrono::milliseconds timeout);

// Low and high watermark of every partition of the topic (partition -> {low, high}): the oldest
// offset retention left and the next one to be written.
using watermark_map = std::map<int, std::pair<std::int64_t, std::int64_t>>;
[[nodiscard]] result<watermark_map> topic_watermarks(const std::string& bootstrap,
                                                     const std::string& name,
                                                     std::chrono::milliseconds timeout);

// Where consumer group `group` stands on `topic`, per partition, as `kafka-consumer-groups
// --describe` shows it: asked of the group's coordinator without joining the group, so it reads
// the same whether the group's members are working, stalled or gone.
struct partition_lag
{
    std::int64_t committed = -1;  // the group's committed offset; -1: none
    std::int64_t low = 0;         // watermarks
    std::int64_t high = 0;
    // Records the group has still to read: from its committed offset, or from the oldest record
    // kept when it has none or retention passed it (where a member starts: earliest).
    [[nodiscard]] std::int64_t lag() const noexcept
    {
        return high - (committed > low ? committed : low);
    }
};
using group_lag_map = std::map<int, partition_lag>;
[[nodiscard]] result<group_lag_map> group_lag(const std::string& bootstrap,
                                              const std::string& group, const std::string& topic,
                                              std::chrono::milliseconds timeout);

// Creates the topic unless it exists. Returns whether it was created.
[[nodiscard]] result<bool> ensure_topic(const std::string& bootstrap, const topic_spec& spec,
                                        std::chrono::milliseconds timeout);

}  // namespace adsx::kafka
