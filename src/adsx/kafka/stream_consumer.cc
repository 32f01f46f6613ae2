#include "adsx/kafka/stream_consumer.h"

#include <string>

#include "adsx/log/log.h"

namespace adsx::kafka {

result<std::unique_ptr<stream_consumer>> stream_consumer::open(const stream_consumer_settings& s)
{
    std::unique_ptr<stream_consumer> c(new stream_consumer());
    auto* self = c.get();
    auto group = consumer_group::open(
        {s.bootstrap,
         s.group,
         s.topic,
         {{"session.timeout.ms", std::to_string(s.session_timeout.count() * 1000)},
          {"heartbeat.interval.ms", "1000"},
          // Once the records fetched ahead reach this, librdkafka (2.0, Debian 12's) stops
          // fetching and looks again only at its next once-a-second check: a buffer that the
          // worker drains faster than that leaves it idle until then (a 64 MB one cost a backlog
          // ~25% of its time). So it holds about a second of the worker's fastest rate; a live
          // worker, keeping up, holds little of it.
          {"queued.max.messages.kbytes", std::to_string(s.prefetch_kbytes)}}},
        [self](int p) -> std::int64_t {
            return self->_listener ? self->_listener->assigned(p) : -1;
        },
        [self](const std::vector<int>& lost) {
            if (self->_listener) {
                self->_listener->revoked(lost);
            }
        });
    if (!group) {
        return fail(group.error());
    }
    c->_group = std::move(*group);
    return c;
}

result<void> stream_consumer::poll_batch(std::vector<features::raw_message>& out, std::size_t max,
                                         std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds linger)
{
    out.clear();
    if (auto ok = _group->poll_batch(_polled, max, timeout, linger); !ok) {
        return ok;
    }
    for (const auto& m : _polled) {
        out.push_back({m.partition, m.offset, m.key, m.value});
    }
    return {};
}

void stream_consumer::report_offsets(const std::map<int, std::int64_t>& next, bool wait)
{
    if (auto ok = _group->report_offsets(next, wait); !ok) {
        static const auto log = adsx::log::get("kafka");
        log.warn("offsets not reported to the group", {{"error", ok.error().message}});
    }
}

}  // namespace adsx::kafka
