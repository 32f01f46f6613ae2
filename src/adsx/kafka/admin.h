#pragma once
// Topic administration through the Kafka admin API (librdkafka).
//
//   kafka::topic_spec spec{"ad.events", 12, 1, {{"compression.type", "lz4"}}};
//   auto created = kafka::ensure_topic("127.0.0.1:9092", spec, std::chrono::seconds(10));
//   // *created is true when the topic was created now, false when it already existed.
#include <chrono>
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

// Creates the topic unless it exists. Returns whether it was created.
[[nodiscard]] result<bool> ensure_topic(const std::string& bootstrap, const topic_spec& spec,
                                        std::chrono::milliseconds timeout);

}  // namespace adsx::kafka
