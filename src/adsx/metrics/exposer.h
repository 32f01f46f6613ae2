#pragma once
// The /metrics endpoint every long-running adsx command exposes, on prometheus-cpp.
//
//   auto srv = adsx::metrics::exposer::start("127.0.0.1", 9464, "stream");
//   auto& events = prometheus::BuildCounter().Name("adsx_stream_events_total")
//                      .Help("Events processed").Register(srv->registry()).Add({});
//   srv->register_with(cfg.prometheus_targets_dir());   // the local Prometheus finds it
//
// `start` tries `port`, then the next ports up to `port + 31` (several adsx processes on one
// machine each get their own); port 0 asks the kernel for any free port. `register_with` writes
// a Prometheus file_sd target file naming this endpoint and removes it again on destruction, so
// the local Prometheus scrapes exactly the adsx processes that are running.
//
// Thread-safety: metric updates are thread-safe (prometheus-cpp); the exposer serves scrapes on
// its own threads. Lifetime: metrics registered in registry() must not outlive the exposer.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "adsx/base/error.h"

namespace prometheus {
class Counter;
class Registry;
class Exposer;
}  // namespace prometheus

namespace adsx::metrics {

class exposer
{
public:
    [[nodiscard]] static result<std::unique_ptr<exposer>> start(const std::string& host, int port,
                                                                std::string component);
    exposer(const exposer&) = delete;
    exposer& operator=(const exposer&) = delete;
    exposer(exposer&&) = delete;
    exposer& operator=(exposer&&) = delete;
    ~exposer();

    [[nodiscard]] prometheus::Registry& registry() { return *_registry; }
    [[nodiscard]] int port() const noexcept { return _port; }
    [[nodiscard]] const std::string& host() const noexcept { return _host; }
    [[nodiscard]] std::string address() const;  // "host:port"

    // Writes <dir>/<component>-<pid>.json (Prometheus file_sd); removed by the destructor.
    [[nodiscard]] result<void> register_with(const std::filesystem::path& dir);

private:
    exposer(std::string host, int port, std::string component,
            std::unique_ptr<prometheus::Exposer> impl);

    std::string _host;
    int _port;
    std::string _component;
    std::shared_ptr<prometheus::Registry> _registry;
    std::unique_ptr<prometheus::Exposer> _impl;
    std::filesystem::path _target_file;
};

// A probe's registry: its exposer's when it has one (served), else one of its own (counted,
// served nowhere: metrics are an aid, not a reason to refuse to work). Owns the exposer.
class probe_registry
{
public:
    explicit probe_registry(std::unique_ptr<exposer> e);
    [[nodiscard]] prometheus::Registry& get() noexcept { return *_registry; }

private:
    std::unique_ptr<exposer> _exposer;
    std::shared_ptr<prometheus::Registry> _own;
    prometheus::Registry* _registry = nullptr;
};

// Removes target files (<component>-<pid>.json) of processes that died without cleaning up
// (SIGKILL, a crash), so the local Prometheus stops scraping endpoints that are gone.
void sweep_dead_targets(const std::filesystem::path& dir);

// Renders a registry in the Prometheus text exposition format (what /metrics serves).
[[nodiscard]] std::string render(prometheus::Registry& registry);

// Keeps a counter equal to a running total the app reads (which only grows): adds what the
// total gained since `seen`, then remembers it.
void catch_up(prometheus::Counter& counter, std::uint64_t& seen, std::uint64_t total);

}  // namespace adsx::metrics
