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

}  // namespace adsx::kafka::detail
