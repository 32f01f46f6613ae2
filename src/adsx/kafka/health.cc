#include "adsx/kafka/health.h"

#include <random>

#include <fmt/format.h>

#include "adsx/kafka/admin.h"
#include "adsx/kafka/handle.h"

namespace adsx::kafka {

using namespace detail;
using clock = std::chrono::steady_clock;

namespace {

struct delivery
{
    bool done = false;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::int64_t offset = -1;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque)
{
    auto* d = static_cast<delivery*>(opaque);
    d->done = true;
    d->err = m->err;
    d->offset = m->offset;
}

void with_delivery_cb(rd_kafka_conf_t* conf)
{
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
}

std::chrono::milliseconds left(clock::time_point deadline)
{
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    return std::max(d, std::chrono::milliseconds(1));
}

result<std::int64_t> produce_one(const std::string& bootstrap, const std::string& payload,
                                 clock::time_point deadline)
{
    delivery d;
    auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap,
                          {{"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"message.timeout.ms", std::to_string(left(deadline).count())}},
                          with_delivery_cb, &d);
    if (!rk) {
        return fail(rk.error());
    }
    rd_kafka_vu_t vus[4];
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = healthcheck_topic;
    vus[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[1].u.i32 = 0;
    vus[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[2].u.mem.ptr = const_cast<char*>(payload.data());
    vus[2].u.mem.size = payload.size();
    vus[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[3].u.i = RD_KAFKA_MSG_F_COPY;
    if (rd_kafka_error_t* e = rd_kafka_produceva(rk->get(), vus, 4)) {
        auto msg = fmt::format("produce: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return fail(error_code::unavailable, msg);
    }
    rd_kafka_flush(rk->get(), to_ms(left(deadline)));
    if (!d.done) {
        return fail(error_code::deadline_exceeded,
                    fmt::format("no delivery report from {} in time", bootstrap));
    }
    if (d.err) {
        return fail(error_code::unavailable,
                    fmt::format("produce to {}: {}", bootstrap, rd_kafka_err2str(d.err)));
    }
    return d.offset;
}

result<void> consume_at(const std::string& bootstrap, std::int64_t offset,
                        const std::string& payload, clock::time_point deadline)
{
    auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap,
                          {{"group.id", "adsx-healthcheck"}, {"enable.auto.commit", "false"}});
    if (!rk) {
        return fail(rk.error());
    }
    auto* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, healthcheck_topic, 0)->offset = offset;
    auto err = rd_kafka_assign(rk->get(), parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
        return fail(error_code::unavailable, fmt::format("assign: {}", rd_kafka_err2str(err)));
    }
    while (clock::now() < deadline) {
        message_ptr m(rd_kafka_consumer_poll(rk->get(), 200));
        if (!m) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            continue;
        }
        if (m->err) {
            return fail(error_code::unavailable,
                        fmt::format("consume: {}", rd_kafka_message_errstr(m.get())));
        }
        std::string got(static_cast<const char*>(m->payload), m->len);
        rd_kafka_consumer_close(rk->get());
        if (got != payload) {
            return fail(
                error_code::internal,
                fmt::format("read back '{}' at offset {}, expected '{}'", got, offset, payload));
        }
        return {};
    }
    rd_kafka_consumer_close(rk->get());
    return fail(error_code::deadline_exceeded,
                fmt::format("the record produced at offset {} was not read back in time", offset));
}

}  // namespace

result<round_trip_report> round_trip(const std::string& bootstrap,
                                     std::chrono::milliseconds timeout)
{
    const auto start = clock::now();
    const auto deadline = start + timeout;
    auto created = ensure_topic(bootstrap, {healthcheck_topic, 1, 1, {{"retention.ms", "3600000"}}},
                                left(deadline));
    if (!created) {
        return fail(created.error());
    }
    std::random_device rd;
    auto payload = fmt::format("adsx-healthcheck-{:016x}", (std::uint64_t(rd()) << 32) | rd());
    auto offset = produce_one(bootstrap, payload, deadline);
    if (!offset) {
        return fail(offset.error());
    }
    if (auto r = consume_at(bootstrap, *offset, payload, deadline); !r) {
        return fail(r.error());
    }
    return round_trip_report{
        *offset, std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start)};
}

}  // namespace adsx::kafka
