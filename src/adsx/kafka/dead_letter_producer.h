#pragma once
// The stream engine's dead letters (features::dead_letter_sink) to a Kafka topic: each write()
// returns once the brokers acknowledged every record (acks=all), so the engine commits the
// offsets they cover only after their dead letters are durable.
//
//   auto dlq = kafka::dead_letter_producer::open("127.0.0.1:9092", "ad.events.dlq");
//   features::engine e(store, **dlq, ad_known, personalised, clock, settings);
//
// Not thread-safe (one producer, delivery reports served on the caller's thread).
#include <memory>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/engine.h"
#include "adsx/kafka/producer.h"

namespace adsx::kafka {

class dead_letter_producer final : public features::dead_letter_sink
{
public:
    [[nodiscard]] static result<std::unique_ptr<dead_letter_producer>> open(
        const std::string& bootstrap, std::string topic);
    dead_letter_producer(const dead_letter_producer&) = delete;
    dead_letter_producer& operator=(const dead_letter_producer&) = delete;
    dead_letter_producer(dead_letter_producer&&) = delete;
    dead_letter_producer& operator=(dead_letter_producer&&) = delete;
    ~dead_letter_producer() override = default;

    // Sends the records, then waits (at most 30 s) until all are acknowledged.
    [[nodiscard]] result<void> write(const std::vector<features::dead_letter>& records) override;

private:
    dead_letter_producer(std::unique_ptr<producer> p, std::string topic)
      : _producer(std::move(p)), _topic(std::move(topic))
    {
    }

    std::unique_ptr<producer> _producer;
    std::string _topic;
};

}  // namespace adsx::kafka
