#pragma once
// The four services of the local stack, described as data: where clients reach them, which
// ports a local instance binds, how to prepare its storage once, how to start it, and the probe
// that proves it works (a real round trip, never a sleep). `stack.cc` runs them.
//
// A service with managed = false is a remote one (a Kafka cluster, Redis Cluster, a remote
// Postgres): the stack never starts or stops it, it only probes it.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/stack/process.h"

namespace adsx::stack {

struct bound_port
{
    std::string host;
    int port;
    std::string config_key;  // what to change when the port is taken, e.g. "redis.port"
};

struct service
{
    std::string name;
    bool managed = true;
    std::string address;  // what clients connect to
    std::vector<bound_port> ports;
    int stop_signal = 15;  // SIGTERM
    // Idempotent one-time set-up of the local instance (storage format, initdb, config files).
    std::function<result<void>()> prepare;
    std::function<spawn_spec()> command;
    // Proves the service answers and works; returns its version.
    std::function<result<std::string>(std::chrono::milliseconds)> probe;
};

[[nodiscard]] std::vector<service> services(const config::config& cfg);

// A fresh KRaft cluster id for `kafka-storage format` (22 chars of URL-safe base64).
[[nodiscard]] std::string kafka_cluster_id();

// The Prometheus file_sd directory adsx processes register their /metrics endpoints in.
[[nodiscard]] std::filesystem::path prometheus_targets_dir(const config::config& cfg);

// Copies `src` to `dst` replacing every @KEY@ by its value; fails on a placeholder left unset.
[[nodiscard]] result<void> render_template(
    const std::filesystem::path& src, const std::filesystem::path& dst,
    const std::vector<std::pair<std::string, std::string>>& vars);

}  // namespace adsx::stack
