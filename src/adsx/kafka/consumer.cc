#include "adsx/kafka/consumer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "adsx/kafka/handle.h"
#include "adsx/log/log.h"

namespace adsx::kafka {

using namespace detail;

struct consumer_group::impl
{
    consumer_settings settings;
    start_offset_fn on_assign;
    revoke_fn on_revoke;
    handle_ptr rk;
    std::vector<message_ptr> held;  // keeps the current batch's payloads alive
    bool closed = false;
    bool joined = false;                   // an assignment came (possibly empty): see close()
    std::atomic<std::uint64_t> errors{0};  // client_errors(); counted on librdkafka's threads

    static std::vector<int> partitions(const rd_kafka_topic_partition_list_t* l)
    {
        std::vector<int> out;
        for (int i = 0; i < l->cnt; ++i) {
            out.push_back(l->elems[i].partition);
        }
        return out;
    }

    void rebalance(rd_kafka_t* h, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* l)
    {
        static const auto log = adsx::log::get("kafka");
        const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(h), "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            joined = true;
            for (int i = 0; i < l->cnt; ++i) {
                auto next = on_assign(l->elems[i].partition);
                l->elems[i].offset = next < 0 ? RD_KAFKA_OFFSET_BEGINNING : next;
            }
            log.info("partitions assigned", {{"count", l->cnt}});
            if (cooperative) {
                if (auto* e = rd_kafka_incremental_assign(h, l)) {
                    log.error("incremental assign failed", {{"error", rd_kafka_error_string(e)}});
                    rd_kafka_error_destroy(e);
                }
            } else {
                rd_kafka_assign(h, l);
            }
            return;
        }
        on_revoke(partitions(l));
        log.info("partitions revoked", {{"count", l->cnt}});
        if (cooperative) {
            if (auto* e = rd_kafka_incremental_unassign(h, l)) {
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(h, nullptr);
        }
    }

    static void rebalance_cb(rd_kafka_t* h, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* l, void* opaque)
    {
        static_cast<impl*>(opaque)->rebalance(h, err, l);
    }

    static void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque)
    {
        auto* self = static_cast<impl*>(opaque);
        log_client_error(err, reason, self->errors.fetch_add(1, std::memory_order_relaxed) + 1);
    }
};

consumer_group::consumer_group(std::unique_ptr<impl> i) : _impl(std::move(i)) {}

consumer_group::~consumer_group()
{
    close();
}

result<std::unique_ptr<consumer_group>> consumer_group::open(const consumer_settings& s,
                                                             start_offset_fn on_assign,
                                                             revoke_fn on_revoke)
{
    auto i = std::make_unique<impl>();
    i->settings = s;
    i->on_assign = std::move(on_assign);
    i->on_revoke = std::move(on_revoke);
    std::map<std::string, std::string> conf = {
        {"group.id", s.group},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
        {"fetch.min.bytes", "65536"},
        {"fetch.wait.max.ms", "50"},
        {"queued.max.messages.kbytes", "65536"},
        // The bytes limit alone bounds the fetched-ahead records: a count limit would bind first
        // for small records (100k by default, ~55 MB of ours).
        {"queued.min.messages", "10000000"},
    };
    for (const auto& [k, v] : s.extra) {
        conf[k] = v;
    }
    auto rk = make_client(
        RD_KAFKA_CONSUMER, s.bootstrap, conf,
        [](rd_kafka_conf_t* c) {
            rd_kafka_conf_set_rebalance_cb(c, &impl::rebalance_cb);
            rd_kafka_conf_set_error_cb(c, &impl::error_cb);
        },
        i.get());
    if (!rk) {
        return fail(rk.error());
    }
    i->rk = std::move(*rk);
    rd_kafka_poll_set_consumer(i->rk.get());
    auto* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, s.topic.c_str(), RD_KAFKA_PARTITION_UA);
    auto err = rd_kafka_subscribe(i->rk.get(), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        return fail(error_code::unavailable,
                    fmt::format("subscribing to {}: {}", s.topic, rd_kafka_err2str(err)));
    }
    return std::unique_ptr<consumer_group>(new consumer_group(std::move(i)));
}

result<void> consumer_group::poll_batch(std::vector<message>& out, std::size_t max,
                                        std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds linger)
{
    using clock = std::chrono::steady_clock;
    out.clear();
    _impl->held.clear();
    auto wait = timeout;
    std::optional<clock::time_point> until;  // the linger's end, from the first message
    while (out.size() < max) {
        message_ptr m(rd_kafka_consumer_poll(_impl->rk.get(), to_ms(wait)));
        if (!until) {
            until = clock::now() + linger;
        }
        // After the first: what is ready (no wait, and no clock read while records keep
        // coming), then what comes until the linger ends.
        wait = std::chrono::milliseconds(0);
        if (!m) {
            wait = std::max(
                std::chrono::duration_cast<std::chrono::milliseconds>(*until - clock::now()),
                std::chrono::milliseconds(0));
            if (out.empty() || wait.count() == 0) {
                break;
            }
            continue;
        }
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                continue;
            }
            return fail(error_code::unavailable,
                        fmt::format("consuming {}: {}", _impl->settings.topic,
                                    rd_kafka_message_errstr(m.get())));
        }
        out.push_back({m->partition, m->offset,
                       std::string_view(static_cast<const char*>(m->key), m->key_len),
                       std::string_view(static_cast<const char*>(m->payload), m->len)});
        _impl->held.push_back(std::move(m));
    }
    return {};
}

result<void> consumer_group::seek(int partition, std::int64_t offset)
{
    auto* l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, _impl->settings.topic.c_str(), partition)->offset =
        offset < 0 ? RD_KAFKA_OFFSET_BEGINNING : offset;
    auto* e = rd_kafka_seek_partitions(_impl->rk.get(), l, 5000);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        auto msg = fmt::format("seek partition {}: {}", partition, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return fail(error_code::unavailable, msg);
    }
    return {};
}

result<void> consumer_group::report_offsets(const std::map<int, std::int64_t>& next, bool wait)
{
    if (next.empty()) {
        return {};
    }
    auto* l = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
    for (const auto& [partition, offset] : next) {
        rd_kafka_topic_partition_list_add(l, _impl->settings.topic.c_str(), partition)->offset =
            offset;
    }
    const auto e = rd_kafka_commit(_impl->rk.get(), l, wait ? 0 : 1);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return fail(error_code::unavailable,
                    fmt::format("committing offsets for monitoring: {}", rd_kafka_err2str(e)));
    }
    return {};
}

std::vector<int> consumer_group::assignment() const
{
    rd_kafka_topic_partition_list_t* l = nullptr;
    std::vector<int> out;
    if (rd_kafka_assignment(_impl->rk.get(), &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        out = impl::partitions(l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    return out;
}

std::map<int, std::int64_t> consumer_group::lag() const
{
    std::map<int, std::int64_t> out;
    rd_kafka_topic_partition_list_t* l = nullptr;
    if (rd_kafka_assignment(_impl->rk.get(), &l) != RD_KAFKA_RESP_ERR_NO_ERROR || !l) {
        return out;
    }
    rd_kafka_position(_impl->rk.get(), l);
    for (int i = 0; i < l->cnt; ++i) {
        std::int64_t lo = 0, hi = 0;
        const auto& p = l->elems[i];
        if (rd_kafka_get_watermark_offsets(_impl->rk.get(), p.topic, p.partition, &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            p.offset >= 0) {
            out[p.partition] = std::max<std::int64_t>(0, hi - p.offset);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return out;
}

result<std::map<int, std::pair<std::int64_t, std::int64_t>>> consumer_group::topic_watermarks(
    std::chrono::milliseconds timeout) const
{
    return watermarks(_impl->rk.get(), _impl->settings.topic, timeout);
}

void consumer_group::close()
{
    if (_impl && !_impl->closed) {
        _impl->closed = true;
        _impl->held.clear();
        rd_kafka_consumer_close(_impl->rk.get());
        if (!_impl->joined) {
            // librdkafka before 2.3.0 (Debian 12 has 2.0.2) aborts destroying a
            // cooperative-sticky consumer that never got an assignment: the assignor's state
            // is still null and its destructor asserts (librdkafka issue #4312). Such a
            // consumer owns nothing and has left the group; its handle is left to the
            // process's exit instead.
            (void)_impl->rk.release();
        }
    }
}

std::uint64_t consumer_group::client_errors() const noexcept
{
    return _impl->errors.load(std::memory_order_relaxed);
}

}  // namespace adsx::kafka
