#include "adsx/kafka/admin.h"

#include <memory>

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

namespace {

struct resource_deleter
{
    void operator()(rd_kafka_ConfigResource_t* r) const noexcept
    {
        rd_kafka_ConfigResource_destroy(r);
    }
};

result<int> partition_count(rd_kafka_t* rk, const std::string& name,
                            std::chrono::milliseconds timeout)
{
    const rd_kafka_metadata_t* md = nullptr;
    std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> topic(
        rd_kafka_topic_new(rk, name.c_str(), nullptr), rd_kafka_topic_destroy);
    auto err = rd_kafka_metadata(rk, 0, topic.get(), &md, to_ms(timeout));
    if (err) {
        return fail(error_code::unavailable,
                    fmt::format("metadata of {}: {}", name, rd_kafka_err2str(err)));
    }
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(
        md, rd_kafka_metadata_destroy);
    if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return fail(error_code::not_found, fmt::format("topic {} does not exist", name));
    }
    if (md->topics[0].err) {
        return fail(error_code::unavailable,
                    fmt::format("metadata of {}: {}", name, rd_kafka_err2str(md->topics[0].err)));
    }
    return md->topics[0].partition_cnt;
}

result<std::map<std::string, std::string>> topic_configs(rd_kafka_t* rk, const std::string& name,
                                                         std::chrono::milliseconds timeout)
{
    std::unique_ptr<rd_kafka_ConfigResource_t, resource_deleter> res(
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
    rd_kafka_ConfigResource_t* resources[] = {res.get()};
    queue_ptr queue(rd_kafka_queue_new(rk));
    options_ptr opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
    char errstr[256];
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), to_ms(timeout), errstr, sizeof errstr);
    rd_kafka_DescribeConfigs(rk, resources, 1, opts.get(), queue.get());
    event_ptr ev(rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 1000));
    if (!ev || rd_kafka_event_error(ev.get())) {
        return fail(error_code::unavailable,
                    fmt::format("describing configs of {}: {}", name,
                                ev ? rd_kafka_event_error_string(ev.get()) : "no answer"));
    }
    size_t n = 0;
    const auto** out = rd_kafka_DescribeConfigs_result_resources(
        rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
    std::map<std::string, std::string> configs;
    for (size_t r = 0; r < n; ++r) {
        size_t count = 0;
        const auto** entries = rd_kafka_ConfigResource_configs(out[r], &count);
        for (size_t i = 0; i < count; ++i) {
            const char* v = rd_kafka_ConfigEntry_value(entries[i]);
            configs[rd_kafka_ConfigEntry_name(entries[i])] = v ? v : "";
        }
    }
    return configs;
}

}  // namespace

result<topic_description> describe_topic(const std::string& bootstrap, const std::string& name,
                                         std::chrono::milliseconds timeout)
{
    auto rk = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
    if (!rk) {
        return fail(rk.error());
    }
    auto partitions = partition_count(rk->get(), name, timeout);
    if (!partitions) {
        return fail(partitions.error());
    }
    auto configs = topic_configs(rk->get(), name, timeout);
    if (!configs) {
        return fail(configs.error());
    }
    return topic_description{*partitions, std::move(*configs)};
}

result<watermark_map> topic_watermarks(const std::string& bootstrap, const std::string& name,
                                       std::chrono::milliseconds timeout)
{
    auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap, {});
    if (!rk) {
        return fail(rk.error());
    }
    return watermarks(rk->get(), name, timeout);
}

result<group_lag_map> group_lag(const std::string& bootstrap, const std::string& group,
                                const std::string& topic, std::chrono::milliseconds timeout)
{
    auto rk = make_client(RD_KAFKA_CONSUMER, bootstrap,
                          {{"group.id", group}, {"enable.auto.commit", "false"}});
    if (!rk) {
        return fail(rk.error());
    }
    auto marks = watermarks(rk->get(), topic, timeout);
    if (!marks) {
        return fail(marks.error());
    }
    group_lag_map out;
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>
        list(rd_kafka_topic_partition_list_new(static_cast<int>(marks->size())),
             rd_kafka_topic_partition_list_destroy);
    for (const auto& [p, lo_hi] : *marks) {
        out[p] = {.committed = -1, .low = lo_hi.first, .high = lo_hi.second};
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    }
    if (out.empty()) {
        return out;
    }
    if (auto err = rd_kafka_committed(rk->get(), list.get(), to_ms(timeout))) {
        return fail(error_code::unavailable, fmt::format("offsets of group {} on {}: {}", group,
                                                         topic, rd_kafka_err2str(err)));
    }
    for (int i = 0; i < list->cnt; ++i) {
        const auto& tp = list->elems[i];
        if (tp.err) {
            return fail(error_code::unavailable,
                        fmt::format("offset of group {} on {}/{}: {}", group, topic, tp.partition,
                                    rd_kafka_err2str(tp.err)));
        }
        out[tp.partition].committed = tp.offset >= 0 ? tp.offset : -1;
    }
    return out;
}

result<bool> ensure_topic_matches(const std::string& bootstrap, const topic_spec& spec,
                                  std::chrono::milliseconds timeout)
{
    auto created = ensure_topic(bootstrap, spec, timeout);
    if (!created || *created) {
        return created;
    }
    auto d = describe_topic(bootstrap, spec.name, timeout);
    if (!d) {
        return fail(d.error());
    }
    std::string diffs;
    if (d->partitions != spec.partitions) {
        diffs += fmt::format("\n  partitions: topic has {}, configuration wants {}", d->partitions,
                             spec.partitions);
    }
    for (const auto& [k, want] : spec.configs) {
        auto it = d->configs.find(k);
        auto have = it == d->configs.end() ? std::string("(unset)") : it->second;
        if (have != want) {
            diffs += fmt::format("\n  {}: topic has {}, configuration wants {}", k, have, want);
        }
    }
    if (!diffs.empty()) {
        return fail(error_code::failed_precondition,
                    fmt::format("topic {} on {} exists with other settings:{}\nchange the "
                                "configuration to match, or delete the topic to recreate it",
                                spec.name, bootstrap, diffs));
    }
    return false;
}

}  // namespace adsx::kafka
