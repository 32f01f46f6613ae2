#pragma once
// serving::serve_log on Kafka: each served decision is one record on the serves topic, keyed by
// the user. Serving must never wait for Kafka: a record that finds the local queue full (the
// brokers gone for a while) is dropped and counted instead of blocking a request, and a record
// whose delivery fails is counted (failed()) without stopping the records after it.
// Thread-safe.
//
//   auto log = kafka::serve_log_producer::open(bootstrap, "ad.serves");
//   rank_parts{…, .log = log->get(), …};
//   (*log)->dropped();   // records not sent
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "adsx/base/error.h"
#include "adsx/kafka/producer.h"
#include "adsx/serving/rank_api.h"

namespace adsx::kafka {

class serve_log_producer final : public serving::serve_log
{
public:
    [[nodiscard]] static result<std::unique_ptr<serve_log_producer>> open(
        const std::string& bootstrap, std::string topic);
    ~serve_log_producer() override;

    void write(std::string_view key, std::string_view json) override;
    [[nodiscard]] std::uint64_t dropped() const noexcept { return _dropped.load(); }
    [[nodiscard]] std::uint64_t failed() const;
    [[nodiscard]] std::string first_error() const;  // why the first failed delivery failed

private:
    serve_log_producer(std::unique_ptr<producer> p, std::string topic);

    std::unique_ptr<producer> _producer;
    std::string _topic;
    mutable std::mutex _mutex;  // guards _producer (librdkafka's callbacks run in its calls)
    std::atomic<std::uint64_t> _dropped{0};
};

}  // namespace adsx::kafka
