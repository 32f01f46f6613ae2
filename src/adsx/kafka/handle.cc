#include "adsx/kafka/handle.h"

#include <fmt/format.h>

#include "adsx/log/log.h"

namespace adsx::kafka::detail {
namespace {

void forward_log(const rd_kafka_t*, int level, const char* fac, const char* buf)
{
    static const auto log = adsx::log::get("librdkafka");
    // librdkafka levels follow syslog: 0..3 errors, 4 warning, 5.. notice/info/debug.
    // Connection failures while a broker starts are expected; keep them at debug.
    log.debug(buf, {{"facility", fac}, {"syslog_level", level}});
}

}  // namespace

void log_client_error(int err, const char* reason, std::uint64_t errors)
{
    static const auto log = adsx::log::get("kafka");
    log.warn("kafka client error: librdkafka retries with backoff",
             {{"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
              {"reason", reason},
              {"errors", errors}});
}

result<handle_ptr> make_client(rd_kafka_type_t type, const std::string& bootstrap,
                               const std::map<std::string, std::string>& settings, conf_setup setup,
                               void* opaque)
{
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& k, const std::string& v) -> result<void> {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            return fail(error_code::invalid_argument,
                        fmt::format("kafka setting {}={}: {}", k, v, errstr));
        }
        return {};
    };
    std::map<std::string, std::string> all = {{"bootstrap.servers", bootstrap},
                                              {"log.connection.close", "false"}};
    for (const auto& [k, v] : settings) {
        all[k] = v;
    }
    for (const auto& [k, v] : all) {
        if (auto r = set(k, v); !r) {
            rd_kafka_conf_destroy(conf);
            return fail(r.error());
        }
    }
    rd_kafka_conf_set_log_cb(conf, forward_log);
    if (setup) {
        setup(conf);
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return fail(error_code::invalid_argument, fmt::format("kafka client: {}", errstr));
    }
    return handle_ptr(rk);
}

result<std::map<int, std::pair<std::int64_t, std::int64_t>>> watermarks(
    rd_kafka_t* rk, const std::string& name, std::chrono::milliseconds timeout)
{
    const rd_kafka_metadata_t* md = nullptr;
    std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> topic(
        rd_kafka_topic_new(rk, name.c_str(), nullptr), rd_kafka_topic_destroy);
    if (auto err = rd_kafka_metadata(rk, 0, topic.get(), &md, to_ms(timeout))) {
        return fail(error_code::unavailable,
                    fmt::format("metadata of {}: {}", name, rd_kafka_err2str(err)));
    }
    std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> guard(
        md, rd_kafka_metadata_destroy);
    std::map<int, std::pair<std::int64_t, std::int64_t>> out;
    for (int i = 0; md->topic_cnt == 1 && i < md->topics[0].partition_cnt; ++i) {
        const int p = md->topics[0].partitions[i].id;
        std::int64_t lo = 0, hi = 0;
        if (auto err =
                rd_kafka_query_watermark_offsets(rk, name.c_str(), p, &lo, &hi, to_ms(timeout))) {
            return fail(error_code::unavailable,
                        fmt::format("watermarks of {}/{}: {}", name, p, rd_kafka_err2str(err)));
        }
        out[p] = {lo, hi};
    }
    return out;
}

}  // namespace adsx::kafka::detail
