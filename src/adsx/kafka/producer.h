#pragma once
// An idempotent Kafka producer (librdkafka): acks=all, enable.idempotence, compression and
// batching from settings, delivery reports counted. Not thread-safe: one producer per thread
// (delivery callbacks run inside send/poll/flush on the caller's thread).
//
//   auto p = kafka::producer::open({.bootstrap = "127.0.0.1:9092"});
//   p->send("ad.events", key, json);        // blocks while the local queue is full
//   p->flush(std::chrono::seconds(30));
//   p->stats().acked;                       // records the brokers acknowledged
//
// A delivery that fails (broker down past delivery_timeout, topic missing) is counted, never
// dropped silently; `first_error()` says why and names the brokers.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "adsx/base/error.h"

namespace adsx::kafka {

struct producer_settings
{
    std::string bootstrap;
    std::string compression = "lz4";  // none|gzip|snappy|lz4|zstd
    int linger_ms = 10;
    int batch_bytes = 1 << 20;
    int queue_max_messages = 100'000;                     // bounds memory: ~100k records in flight
    std::chrono::milliseconds delivery_timeout{120'000};  // librdkafka retries until this
    std::map<std::string, std::string> extra;             // any other librdkafka property
    // true: send() fails once any delivery failed (the generator stops producing into a cluster
    // that is gone); false: failed deliveries are only counted (the serve log must not go silent
    // for good after one lost record).
    bool stop_after_failure = true;
};

struct delivery_stats
{
    std::uint64_t sent = 0;    // handed to librdkafka
    std::uint64_t acked = 0;   // acknowledged by the brokers (acks=all)
    std::uint64_t failed = 0;  // permanently failed deliveries
    std::uint64_t acked_bytes = 0;
    std::uint64_t client_errors = 0;  // broker-level errors (down, unreachable): logged, retried
};

class producer
{
public:
    [[nodiscard]] static result<std::unique_ptr<producer>> open(const producer_settings& s);
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    producer(producer&&) = delete;
    producer& operator=(producer&&) = delete;
    ~producer();

    // Enqueues one record. While the local queue is full it serves delivery reports and waits;
    // it fails when a delivery has already failed permanently and `stop_after_failure` is set
    // (stop producing: the cluster is gone), or on an error of librdkafka's queue.
    [[nodiscard]] result<void> send(std::string_view topic, std::string_view key,
                                    std::string_view value);
    // Serves pending delivery reports without blocking.
    void poll();
    // Waits until every record is acknowledged or failed, at most `timeout`.
    [[nodiscard]] result<void> flush(std::chrono::milliseconds timeout);

    [[nodiscard]] const delivery_stats& stats() const noexcept;
    [[nodiscard]] const std::string& first_error() const noexcept;
    [[nodiscard]] std::uint64_t in_queue() const noexcept;

private:
    struct impl;
    explicit producer(std::unique_ptr<impl> i);
    std::unique_ptr<impl> _impl;
};

}  // namespace adsx::kafka
