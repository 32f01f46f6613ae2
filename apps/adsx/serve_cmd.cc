// `adsx serve`: the serving HTTP service. Wiring only: serving::service's routes over Redis
// (redis::hash_reader), on http::server, with metrics::serve_probe as its observer.
#include <csignal>
#include <iostream>
#include <thread>

#include "app.h"
#include <fmt/format.h>

#include "adsx/http/server.h"
#include "adsx/log/log.h"
#include "adsx/metrics/serve_probe.h"
#include "adsx/redis/hash_reader.h"
#include "adsx/serving/service.h"

namespace adsx::app {
namespace {

volatile std::sig_atomic_t stop_signal = 0;

http::server_settings server_settings_of(const config::serve_config& s)
{
    return {.host = s.host,
            .port = s.port,
            .io_threads = s.io_threads,
            .workers = s.workers,
            .max_header_bytes = static_cast<std::size_t>(s.max_header_kb) * 1024,
            .max_body_bytes = static_cast<std::size_t>(s.max_body_kb) * 1024,
            .read_timeout = std::chrono::milliseconds(s.read_timeout_ms),
            .max_queue = static_cast<std::size_t>(s.max_queue),
            .queue_timeout = std::chrono::milliseconds(s.queue_timeout_ms)};
}

int run_serve(const config::config& cfg)
{
    auto log = log::get("serve");
    redis::hash_reader reader(cfg.redis.host, cfg.redis.port,
                              std::chrono::milliseconds(cfg.serve.redis_timeout_ms));
    metrics::serve_probe probe(start_metrics(cfg, "serve"));
    serving::service svc({.reader = reader,
                          .clock = system_clock::instance(),
                          .ready = {{"redis", [&reader] { return reader.ping(); }}},
                          .metrics = [&probe] { return probe.text(); }});
    auto srv = http::server::start(
        server_settings_of(cfg.serve), [&svc](const http::request& q) { return svc.handle(q); },
        &probe, [&svc](const http::request& q) { return svc.route_of(q); });
    if (!srv) {
        return report(srv.error());
    }
    std::signal(SIGINT, [](int) { stop_signal = 1; });
    std::signal(SIGTERM, [](int) { stop_signal = 1; });
    const auto url = fmt::format("http://{}:{}", cfg.serve.host, (*srv)->port());
    log.info("serving", {{"url", url}, {"workers", cfg.serve.workers}});
    std::cout << "serving on " << url << " (API docs: " << url << "/docs)" << std::endl;
    while (!stop_signal) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    log.info("stopping: draining requests in progress", {{"drain_s", cfg.serve.drain_s}});
    const bool drained = (*srv)->stop(std::chrono::seconds(cfg.serve.drain_s));
    log.info("stopped", {{"drained", drained}});
    return 0;
}

}  // namespace

void add_serve_command(CLI::App& root, context& ctx, action& run)
{
    auto* cmd = root.add_subcommand(
        "serve", "Serving HTTP service: GET /features/ad/{id} and /features/user/{id} from the "
                 "online store, /healthz, /readyz, /metrics, /openapi.json and /docs, on "
                 "[serve] host:port. Stops on SIGINT/SIGTERM after draining requests in "
                 "progress ([serve] drain_s).");
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_serve(cfg); });
        };
    });
}

}  // namespace adsx::app
