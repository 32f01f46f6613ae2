#include "adsx/kafka/dead_letter_producer.h"

#include <chrono>

namespace adsx::kafka {

result<std::unique_ptr<dead_letter_producer>> dead_letter_producer::open(
    const std::string& bootstrap, std::string topic)
{
    producer_settings s;
    s.bootstrap = bootstrap;
    s.linger_ms = 5;
    auto p = producer::open(s);
    if (!p) {
        return fail(p.error());
    }
    return std::unique_ptr<dead_letter_producer>(
        new dead_letter_producer(std::move(*p), std::move(topic)));
}

result<void> dead_letter_producer::write(const std::vector<features::dead_letter>& records)
{
    for (const auto& r : records) {
        if (auto ok = _producer->send(_topic, r.key, r.value); !ok) {
            return ok;
        }
    }
    return _producer->flush(std::chrono::seconds(30));
}

}  // namespace adsx::kafka
