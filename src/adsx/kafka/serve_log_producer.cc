#include "adsx/kafka/serve_log_producer.h"

namespace adsx::kafka {

namespace {
constexpr int queue_max = 50'000;
}

result<std::unique_ptr<serve_log_producer>> serve_log_producer::open(const std::string& bootstrap,
                                                                     std::string topic)
{
    producer_settings s;
    s.bootstrap = bootstrap;
    s.linger_ms = 20;
    s.queue_max_messages = queue_max;
    s.stop_after_failure = false;  // a lost decision is counted (failed()); the next ones go on
    auto p = producer::open(s);
    if (!p) {
        return fail(p.error());
    }
    return std::unique_ptr<serve_log_producer>(
        new serve_log_producer(std::move(*p), std::move(topic)));
}

serve_log_producer::serve_log_producer(std::unique_ptr<producer> p, std::string topic)
  : _producer(std::move(p)), _topic(std::move(topic))
{
}

serve_log_producer::~serve_log_producer()
{
    std::lock_guard lock(_mutex);
    (void)_producer->flush(std::chrono::seconds(5));
}

void serve_log_producer::write(std::string_view key, std::string_view json)
{
    std::lock_guard lock(_mutex);
    _producer->poll();
    if (_producer->in_queue() >= static_cast<std::uint64_t>(queue_max) - 1 ||
        !_producer->send(_topic, key, json)) {
        ++_dropped;
    }
}

std::uint64_t serve_log_producer::failed() const
{
    std::lock_guard lock(_mutex);
    return _producer->stats().failed;
}

std::string serve_log_producer::first_error() const
{
    std::lock_guard lock(_mutex);
    return _producer->first_error();
}

}  // namespace adsx::kafka
