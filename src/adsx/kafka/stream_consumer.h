#pragma once
// The stream worker's consumer port (features::consumer) on a Kafka consumer group: a member of
// the group that never commits offsets to Kafka (the feature store keeps them), asking the
// worker where each newly assigned partition starts.
//
//   auto c = kafka::stream_consumer::open({.bootstrap = "127.0.0.1:9092", .group = "features",
//                                          .topic = "ad.events"});
//   features::stream_worker w(**c, engine, store, observer, clock, settings);
//
// Not thread-safe (as consumer_group); the listener is called inside poll_batch() and close().
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/consumer.h"
#include "adsx/kafka/consumer.h"

namespace adsx::kafka {

struct stream_consumer_settings
{
    std::string bootstrap;
    std::string group;
    std::string topic;
    std::chrono::seconds session_timeout{10};  // a silent member's partitions move on after this
    // Records fetched ahead of the worker, at most (queued.max.messages.kbytes): see open().
    std::int64_t prefetch_kbytes = 128 * 1024;
};

class stream_consumer final : public features::consumer
{
public:
    [[nodiscard]] static result<std::unique_ptr<stream_consumer>> open(
        const stream_consumer_settings& s);
    stream_consumer(const stream_consumer&) = delete;
    stream_consumer& operator=(const stream_consumer&) = delete;
    stream_consumer(stream_consumer&&) = delete;
    stream_consumer& operator=(stream_consumer&&) = delete;
    ~stream_consumer() override = default;

    void listen(features::partition_listener* l) override { _listener = l; }
    [[nodiscard]] result<void> poll_batch(std::vector<features::raw_message>& out, std::size_t max,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds linger) override;
    [[nodiscard]] result<void> seek(int partition, std::int64_t offset) override
    {
        return _group->seek(partition, offset);
    }
    void report_offsets(const std::map<int, std::int64_t>& next, bool wait) override;
    [[nodiscard]] std::map<int, std::int64_t> lag() const override { return _group->lag(); }
    [[nodiscard]] std::uint64_t client_errors() const override { return _group->client_errors(); }
    [[nodiscard]] result<features::watermark_map> topic_watermarks(
        std::chrono::milliseconds timeout) const override
    {
        return _group->topic_watermarks(timeout);
    }
    void close() override { _group->close(); }

private:
    stream_consumer() = default;

    features::partition_listener* _listener = nullptr;
    std::vector<message> _polled;  // the views of the last poll
    // Last, so destroyed first: closing it may still call the listener.
    std::unique_ptr<consumer_group> _group;
};

}  // namespace adsx::kafka
