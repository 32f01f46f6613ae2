#pragma once
// RAII for librdkafka's C handles. Internal to the kafka module: nothing outside src/adsx/kafka
// includes librdkafka.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>

#include "adsx/base/error.h"

namespace adsx::kafka::detail {

struct handle_deleter
{
    void operator()(rd_kafka_t* rk) const noexcept { rd_kafka_destroy(rk); }
};
struct queue_deleter
{
    void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
struct event_deleter
{
    void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
struct options_deleter
{
    void operator()(rd_kafka_AdminOptions_t* o) const noexcept { rd_kafka_AdminOptions_destroy(o); }
};
struct new_topic_deleter
{
    void operator()(rd_kafka_NewTopic_t* t) const noexcept { rd_kafka_NewTopic_destroy(t); }
};
struct message_deleter
{
    void operator()(rd_kafka_message_t* m) const noexcept { rd_kafka_message_destroy(m); }
};

using handle_ptr = std::unique_ptr<rd_kafka_t, handle_deleter>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, queue_deleter>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, event_deleter>;
using options_ptr = std::unique_ptr<rd_kafka_AdminOptions_t, options_deleter>;
using new_topic_ptr = std::unique_ptr<rd_kafka_NewTopic_t, new_topic_deleter>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, message_deleter>;

// Creates a client of `type` with `settings` (librdkafka property names) on top of the defaults
// every AdStreamX client shares (bootstrap servers, librdkafka logs routed to our JSON log at
// debug level). `opaque` is handed to callbacks set in `setup`.
using conf_setup = void (*)(rd_kafka_conf_t*);
[[nodiscard]] result<handle_ptr> make_client(rd_kafka_type_t type, const std::string& bootstrap,
                                             const std::map<std::string, std::string>& settings,
                                             conf_setup setup = nullptr, void* opaque = nullptr);

// Logs an error librdkafka reports for the client as a whole (a broker down, a connection
// refused, all brokers unreachable) as a warning: such errors are not fatal, librdkafka reconnects
// with its own jittered exponential backoff (reconnect.backoff.ms up to .max.ms). `errors` is the
// client's count so far, this one included. For the clients' error_cb.
void log_client_error(int err, const char* reason, std::uint64_t errors);

// Low and high watermark of every partition of `topic`, asked of the brokers through `rk`.
[[nodiscard]] result<std::map<int, std::pair<std::int64_t, std::int64_t>>> watermarks(
    rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout);

[[nodiscard]] inline int to_ms(std::chrono::milliseconds d) noexcept
{
    return static_cast<int>(d.count());
}

}  // namespace adsx::kafka::detail
