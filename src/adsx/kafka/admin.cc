#include "adsx/kafka/admin.h"

#include <fmt/format.h>

#include "adsx/kafka/handle.h"

namespace adsx::kafka {

using namespace detail;

result<bool> ensure_topic(const std::string& bootstrap, const topic_spec& spec,
                          std::chrono::milliseconds timeout)
{
    auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
    if (!rk) {
        return fail(rk.error());
    }
    char errstr[512];
    new_topic_ptr topic(rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions,
                                              spec.replication_factor, errstr, sizeof errstr));
    if (!topic) {
        return fail(error_code::invalid_argument, fmt::format("topic {}: {}", spec.name, errstr));
    }
    for (const auto& [k, v] : spec.configs) {
        if (rd_kafka_NewTopic_set_config(topic.get(), k.c_str(), v.c_str()) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            return fail(error_code::invalid_argument,
                        fmt::format("topic {}: bad config {}={}", spec.name, k, v));
        }
    }
    options_ptr opts(rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), to_ms(timeout), errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(opts.get(), to_ms(timeout), errstr, sizeof errstr);
    queue_ptr queue(rd_kafka_queue_new(rk->get()));
    rd_kafka_NewTopic_t* topics[] = {topic.get()};
    rd_kafka_CreateTopics(rk->get(), topics, 1, opts.get(), queue.get());

    event_ptr ev(rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 1000));
    if (!ev) {
        return fail(error_code::deadline_exceeded,
                    fmt::format("creating topic {} on {}: no answer within {} ms", spec.name,
                                bootstrap, timeout.count()));
    }
    if (rd_kafka_event_error(ev.get())) {
        return fail(error_code::unavailable,
                    fmt::format("creating topic {} on {}: {}", spec.name, bootstrap,
                                rd_kafka_event_error_string(ev.get())));
    }
    const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
    size_t count = 0;
    const auto** results = rd_kafka_CreateTopics_result_topics(res, &count);
    if (count != 1) {
        return fail(error_code::internal, "CreateTopics returned no result");
    }
    auto err = rd_kafka_topic_result_error(results[0]);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        return false;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        auto code = err == RD_KAFKA_RESP_ERR__TIMED_OUT ? error_code::deadline_exceeded
                                                        : error_code::unavailable;
        return fail(code, fmt::format("creating topic {} on {}: {}", spec.name, bootstrap,
                                      rd_kafka_topic_result_error_string(results[0])));
    }
    return true;
}

}  // namespace adsx::kafka
