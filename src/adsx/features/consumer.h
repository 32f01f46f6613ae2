#pragma once
// Where the stream worker's records come from (a port): a member of a consumer group that does
// not keep offsets itself (the store keeps them, with the features they cover), so it asks a
// partition_listener where each newly assigned partition starts and tells it which were taken;
// it only reports the store's offsets to the group, for monitoring tools.
// kafka::stream_consumer implements it on a Kafka consumer group; tests use a fake.
//
//   consumer.listen(&worker);                     // before the first poll
//   consumer.poll_batch(batch, 5000, 200ms, 5ms); // views valid until the next poll_batch
//
// Not thread-safe; the listener is called inside poll_batch() and close(), on the caller's
// thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/engine.h"

namespace adsx::features {

class partition_listener
{
public:
    virtual ~partition_listener() = default;
    // A partition newly assigned to this member: the offset to start it at (-1: from the
    // beginning). Cannot fail (it runs inside the consumer): a listener keeps its error.
    virtual std::int64_t assigned(int partition) = 0;
    // Partitions taken away, before another member may start them.
    virtual void revoked(const std::vector<int>& partitions) = 0;
};

// Low and high watermark of each partition of a topic.
using watermark_map = std::map<int, std::pair<std::int64_t, std::int64_t>>;

class consumer
{
public:
    virtual ~consumer() = default;
    // Who hears of assignments and revocations (null: nobody). Set before the first poll:
    // partitions assigned with nobody listening start from the beginning.
    virtual void listen(partition_listener* l) = 0;
    // Up to `max` records, waiting at most `timeout` for the first, then up to `linger` more
    // for others. The previous batch's views become invalid.
    [[nodiscard]] virtual result<void> poll_batch(std::vector<raw_message>& out, std::size_t max,
                                                  std::chrono::milliseconds timeout,
                                                  std::chrono::milliseconds linger) = 0;
    // Moves a partition this member owns to `offset` (after a stale commit).
    [[nodiscard]] virtual result<void> seek(int partition, std::int64_t offset) = 0;
    // Tells the group's committed offsets where this member stands (partition -> next offset),
    // for monitoring tools; never read back: partitions resume from the store's offsets. Best
    // effort; `wait` for the answer (when stopping).
    virtual void report_offsets(const std::map<int, std::int64_t>& next, bool wait) = 0;
    // Records behind the high watermark, per assigned partition (no round trip).
    [[nodiscard]] virtual std::map<int, std::int64_t> lag() const = 0;
    // Errors the client reported so far while it retries by itself (a broker unreachable).
    [[nodiscard]] virtual std::uint64_t client_errors() const { return 0; }
    // Every partition of the topic, asked of the brokers.
    [[nodiscard]] virtual result<watermark_map> topic_watermarks(
        std::chrono::milliseconds timeout) const = 0;
    // Leaves the group cleanly (revokes, then closes); idempotent.
    virtual void close() = 0;
};

}  // namespace adsx::features
