#pragma once
// Proof that a Kafka cluster works end to end: create (if needed) the topic
// `adsx.healthcheck`, produce a unique record with an idempotent acks=all producer, and read that
// very record back by its offset. Used by `adsx stack up` as the broker's readiness check (no
// sleeps) and by `adsx stack status`.
#include <chrono>
#include <cstdint>
#include <string>

#include "adsx/base/error.h"

namespace adsx::kafka {

inline constexpr const char* healthcheck_topic = "adsx.healthcheck";

struct round_trip_report
{
    std::int64_t offset = -1;
    std::chrono::microseconds elapsed{0};
};

[[nodiscard]] result<round_trip_report> round_trip(const std::string& bootstrap,
                                                   std::chrono::milliseconds timeout);

}  // namespace adsx::kafka
