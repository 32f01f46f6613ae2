#pragma once
// A Kafka consumer-group member (librdkafka, cooperative-sticky assignment) whose offsets the
// application keeps (the stream engine stores them in Redis, in the same atomic step as the
// features they cover) and says where each newly assigned partition starts through
// `on_assign`. The offsets committed to Kafka are only a report of where the member stands, for
// monitoring tools (kafka-consumer-groups, lag exporters): they are never read back.
//
//   consumer_group g(settings, [&](int p) { return store.load(p).next_offset; },
//                              [&](const std::vector<int>& lost) { drop_batches(lost); });
//   std::vector<kafka::message> batch;
//   g.poll_batch(batch, 5000, 100ms);   // views valid until the next poll_batch
//
// Not thread-safe; callbacks run inside poll_batch on the caller's thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::kafka {

struct message
{
    int partition;
    std::int64_t offset;
    std::string_view key;
    std::string_view value;
};

struct consumer_settings
{
    std::string bootstrap;
    std::string group;
    std::string topic;
    std::map<std::string, std::string> extra;
};

// Offset to start a newly assigned partition at; -1 = from the beginning.
using start_offset_fn = std::function<std::int64_t(int partition)>;
using revoke_fn = std::function<void(const std::vector<int>& partitions)>;

class consumer_group
{
public:
    [[nodiscard]] static result<std::unique_ptr<consumer_group>> open(const consumer_settings& s,
                                                                      start_offset_fn on_assign,
                                                                      revoke_fn on_revoke);
    consumer_group(const consumer_group&) = delete;
    consumer_group& operator=(const consumer_group&) = delete;
    consumer_group(consumer_group&&) = delete;
    consumer_group& operator=(consumer_group&&) = delete;
    ~consumer_group();

    // Up to `max` messages, waiting at most `timeout` for the first, then up to `linger` more
    // for others (0: only those already fetched). The previous batch's views become invalid.
    [[nodiscard]] result<void> poll_batch(std::vector<message>& out, std::size_t max,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds linger = {});
    // Moves a partition we own to `offset` (after a stale commit).
    [[nodiscard]] result<void> seek(int partition, std::int64_t offset);
    // Commits `next` (partition -> next offset to read) to the group's offsets, as a report for
    // monitoring tools; `wait` for the brokers' answer (else in the background, best effort).
    [[nodiscard]] result<void> report_offsets(const std::map<int, std::int64_t>& next, bool wait);
    // Partitions currently assigned to this member.
    [[nodiscard]] std::vector<int> assignment() const;
    // Messages behind the partition's high watermark, per assigned partition (from the last
    // fetch; no broker round trip).
    [[nodiscard]] std::map<int, std::int64_t> lag() const;
    // Errors librdkafka reported for this client so far (a broker unreachable, a connection
    // reset), each also logged at warning. librdkafka retries by itself: a connection again
    // after reconnect.backoff.ms, doubling up to reconnect.backoff.max.ms, each wait jittered.
    [[nodiscard]] std::uint64_t client_errors() const noexcept;
    // Low and high watermark of every partition of the topic, asked of the brokers.
    [[nodiscard]] result<std::map<int, std::pair<std::int64_t, std::int64_t>>> topic_watermarks(
        std::chrono::milliseconds timeout) const;
    // Leaves the group cleanly (revokes, then closes).
    void close();

private:
    struct impl;
    explicit consumer_group(std::unique_ptr<impl> i);
    std::unique_ptr<impl> _impl;
};

}  // namespace adsx::kafka
