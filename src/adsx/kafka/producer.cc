#include "adsx/kafka/producer.h"

#include <unordered_map>

#include <fmt/format.h>

#include "adsx/kafka/handle.h"

namespace adsx::kafka {

using namespace detail;

namespace {

struct topic_deleter
{
    void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};

}  // namespace

struct producer::impl
{
    std::string bootstrap;
    std::chrono::milliseconds delivery_timeout{};
    handle_ptr rk;
    std::unordered_map<std::string, std::unique_ptr<rd_kafka_topic_t, topic_deleter>> topics;
    delivery_stats stats;
    std::string first_error;
    bool stop_after_failure = true;

    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque)
    {
        auto* self = static_cast<impl*>(opaque);
        if (m->err) {
            ++self->stats.failed;
            if (self->first_error.empty()) {
                self->first_error = fmt::format("delivery to {} failed: {}", self->bootstrap,
                                                rd_kafka_err2str(m->err));
            }
        } else {
            ++self->stats.acked;
            self->stats.acked_bytes += m->len + m->key_len;
        }
    }

    // Called from rd_kafka_poll() on the producing thread, like on_delivery.
    static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque)
    {
        auto* self = static_cast<impl*>(opaque);
        log_client_error(err, reason, ++self->stats.client_errors);
    }

    rd_kafka_topic_t* topic(std::string_view name)
    {
        auto it = topics.find(std::string(name));
        if (it != topics.end()) {
            return it->second.get();
        }
        auto* t = rd_kafka_topic_new(rk.get(), std::string(name).c_str(), nullptr);
        topics.emplace(std::string(name), t);
        return t;
    }
};

producer::producer(std::unique_ptr<impl> i) : _impl(std::move(i)) {}

producer::~producer()
{
    _impl->topics.clear();  // topic handles before the client handle
}

result<std::unique_ptr<producer>> producer::open(const producer_settings& s)
{
    auto i = std::make_unique<impl>();
    i->bootstrap = s.bootstrap;
    i->delivery_timeout = s.delivery_timeout;
    i->stop_after_failure = s.stop_after_failure;
    std::map<std::string, std::string> conf = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"compression.type", s.compression},
        {"linger.ms", std::to_string(s.linger_ms)},
        {"batch.size", std::to_string(s.batch_bytes)},
        {"queue.buffering.max.messages", std::to_string(s.queue_max_messages)},
        {"message.timeout.ms", std::to_string(s.delivery_timeout.count())},
        {"retry.backoff.ms", "200"},
        {"reconnect.backoff.max.ms", "5000"},
    };
    for (const auto& [k, v] : s.extra) {
        conf[k] = v;
    }
    auto rk = make_client(
        RD_KAFKA_PRODUCER, s.bootstrap, conf,
        [](rd_kafka_conf_t* c) {
            rd_kafka_conf_set_dr_msg_cb(c, &impl::on_delivery);
            rd_kafka_conf_set_error_cb(c, &impl::on_error);
        },
        i.get());
    if (!rk) {
        return fail(rk.error());
    }
    i->rk = std::move(*rk);
    return std::unique_ptr<producer>(new producer(std::move(i)));
}

result<void> producer::send(std::string_view topic, std::string_view key, std::string_view value)
{
    auto& i = *_impl;
    while (true) {
        if (i.stop_after_failure && i.stats.failed > 0) {
            return fail(error_code::unavailable, i.first_error);
        }
        int rc = rd_kafka_produce(i.topic(topic), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                  const_cast<char*>(value.data()), value.size(), key.data(),
                                  key.size(), nullptr);
        if (rc == 0) {
            ++i.stats.sent;
            return {};
        }
        auto err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return fail(error_code::unavailable, fmt::format("producing to {} on {}: {}", topic,
                                                             i.bootstrap, rd_kafka_err2str(err)));
        }
        rd_kafka_poll(i.rk.get(), 50);  // queue full: let deliveries drain it
    }
}

void producer::poll()
{
    rd_kafka_poll(_impl->rk.get(), 0);
}

result<void> producer::flush(std::chrono::milliseconds timeout)
{
    auto err = rd_kafka_flush(_impl->rk.get(), to_ms(timeout));
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        return fail(error_code::deadline_exceeded,
                    fmt::format("{} records still unacknowledged by {} after {} ms", in_queue(),
                                _impl->bootstrap, timeout.count()));
    }
    if (_impl->stats.failed > 0) {
        return fail(error_code::unavailable, _impl->first_error);
    }
    return {};
}

const delivery_stats& producer::stats() const noexcept
{
    return _impl->stats;
}

const std::string& producer::first_error() const noexcept
{
    return _impl->first_error;
}

std::uint64_t producer::in_queue() const noexcept
{
    return static_cast<std::uint64_t>(rd_kafka_outq_len(_impl->rk.get()));
}

}  // namespace adsx::kafka
