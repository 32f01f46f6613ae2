// `adsx serve`: the serving HTTP service. Wiring only: serving::service's routes (feature API,
// serving::rank_api) over Redis (redis::hash_reader), the catalog in PostgreSQL
// (pg::load_inventory, refreshed by serving::live_inventory), the running experiments
// (pg::running_experiments → experiments::assigner, read again with the catalog), the model
// registry (models::live_model per head and model arm) and Kafka (kafka::serve_log_producer), on
// http::server with metrics::serve_probe as its observer; experiment reports for the live page
// from PostgreSQL (pg::analyze_experiment).
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app.h"
#include <fmt/format.h>

#include "adsx/http/server.h"
#include "adsx/kafka/serve_log_producer.h"
#include "adsx/log/log.h"
#include "adsx/metrics/serve_probe.h"
#include "adsx/models/live_model.h"
#include "adsx/pg/experiment_results.h"
#include "adsx/pg/experiments.h"
#include "adsx/pg/inventory.h"
#include "adsx/redis/hash_reader.h"
#include "adsx/serving/live_experiments.h"
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

// A loader that reads through one PostgreSQL connection, opened again after a failure: the
// catalog's and the running experiments'.
template <class T>
std::function<result<T>()> over_postgres(const config::config& cfg,
                                         std::function<result<T>(pg::connection&)> read)
{
    auto conn = std::make_shared<std::optional<pg::connection>>();
    return [conn, &cfg, read = std::move(read)]() -> result<T> {
        if (!*conn) {
            auto opened = pg::connection::open(cfg.postgres);
            if (!opened) {
                return fail(opened.error());
            }
            conn->emplace(std::move(*opened));
        }
        auto got = read(**conn);
        if (!got) {
            conn->reset();
        }
        return got;
    };
}

// Every head's live model per model arm (the registry's {head}/current/{arm}): the configured
// arm's from the start, an experiment arm's from when its experiment is seen running; each
// reloaded when its pointer moves. get() is called by request threads, the rest by the main
// loop.
class live_models
{
public:
    explicit live_models(const config::config& cfg) : _dir(cfg.models.dir), _arm(cfg.serve.arm)
    {
        ensure({_arm});
    }
    // Adds the arms not held yet; whether it added any (their models load at the next reload).
    bool ensure(const std::vector<std::string>& arms)
    {
        std::lock_guard lock(_mutex);
        bool added = false;
        for (const auto& a : arms) {
            if (!_arms.contains(a)) {
                _arms.emplace(a, std::make_shared<heads>(_dir, a));
                added = true;
            }
        }
        return added;
    }
    void reload(const log::logger& log)
    {
        std::vector<std::shared_ptr<heads>> all;
        {
            std::lock_guard lock(_mutex);
            for (const auto& [_, h] : _arms) {
                all.push_back(h);
            }
        }
        for (const auto& h : all) {
            for (auto* m : {&h->ctr, &h->cvr}) {
                if (auto r = m->reload_if_changed(); !r) {
                    log.debug("model not loaded", {{"arm", h->arm}, {"reason", r.error().message}});
                } else if (*r) {
                    log.info("model loaded", {{"name", m->get()->info().name},
                                              {"version", m->get()->info().version},
                                              {"arm", h->arm}});
                }
            }
        }
    }
    std::shared_ptr<const ranking::model> get(std::string_view head, std::string_view arm) const
    {
        std::shared_ptr<heads> h;
        {
            std::lock_guard lock(_mutex);
            const auto it = _arms.find(arm);
            if (it == _arms.end()) {
                return nullptr;
            }
            h = it->second;
        }
        return head == "ctr" ? h->ctr.get() : head == "cvr" ? h->cvr.get() : nullptr;
    }
    std::shared_ptr<const ranking::model> get(std::string_view head) const
    {
        return get(head, _arm);
    }

private:
    struct heads
    {
        heads(const std::string& dir, std::string a)
          : arm(std::move(a)), ctr(models::registry(dir), "ctr", arm),
            cvr(models::registry(dir), "cvr", arm)
        {
        }
        std::string arm;
        models::live_model ctr, cvr;
    };
    std::string _dir;
    std::string _arm;
    mutable std::mutex _mutex;
    std::map<std::string, std::shared_ptr<heads>, std::less<>> _arms;
};

// Experiment reports for the live page: analysed from PostgreSQL on one connection (requests
// take turns), each kept 5 s so that open pages refreshing every 5 s cost one analysis each.
class report_source
{
public:
    explicit report_source(const config::config& cfg) : _cfg(cfg) {}

    result<experiments::report> get(const std::string& name)
    {
        std::lock_guard lock(_mutex);
        const auto now = std::chrono::steady_clock::now();
        if (auto it = _cache.find(name);
            it != _cache.end() && now - it->second.first < std::chrono::seconds(5)) {
            return it->second.second;
        }
        if (!_conn) {
            auto opened = pg::connection::open(_cfg.postgres);
            if (!opened) {
                return fail(opened.error());
            }
            _conn.emplace(std::move(*opened));
        }
        auto r = pg::analyze_experiment(*_conn, name, {}, 7);
        if (!r && r.error().code == error_code::unavailable) {
            _conn.reset();  // opened again next time
        }
        if (!r) {
            return fail(r.error());
        }
        if (_cache.size() > 64) {
            _cache.clear();
        }
        _cache[name] = {now, *r};
        return r;
    }

private:
    const config::config& _cfg;
    std::mutex _mutex;
    std::optional<pg::connection> _conn;
    std::map<std::string, std::pair<std::chrono::steady_clock::time_point, experiments::report>>
        _cache;
};

std::vector<serving::readiness_check> readiness(redis::hash_reader& reader,
                                                const serving::live_inventory& inventory,
                                                const live_models& models)
{
    return {{"redis", [&reader] { return reader.ping(); }},
            {"catalog",
             [&inventory]() -> result<void> {
                 if (!inventory.get()) {
                     return fail(error_code::unavailable,
                                 inventory.last_error().value_or("not loaded"));
                 }
                 return {};
             }},
            {"models", [&models]() -> result<void> {
                 if (!models.get("ctr")) {
                     return fail(error_code::unavailable,
                                 "no ctr model for this arm (serving the base rate)");
                 }
                 return {};
             }}};
}

int run_serve(const config::config& cfg)
{
    auto log = log::get("serve");
    const auto& clock = system_clock::instance();
    redis::hash_reader reader(cfg.redis.host, cfg.redis.port,
                              std::chrono::milliseconds(cfg.serve.redis_timeout_ms));
    serving::live_inventory inventory(
        over_postgres<serving::inventory>(
            cfg, [&clock](pg::connection& c) { return pg::load_inventory(c, clock.now_ms()); }),
        clock, std::chrono::milliseconds(cfg.serve.catalog_refresh_ms));
    if (auto r = inventory.refresh(); !r) {
        log.warn("no catalog yet: /rank_ads answers 503 until it loads",
                 {{"reason", r.error().message}});
    }
    inventory.start();
    live_models models(cfg);
    serving::live_experiments experiments(over_postgres<std::vector<experiments::experiment_spec>>(
        cfg, [](pg::connection& c) { return pg::running_experiments(c); }));
    std::string experiments_error;  // logged when it changes, not at every refresh
    // Reads the running experiments; true when they bring a model arm not held yet.
    auto refresh_experiments = [&] {
        auto arms = experiments.refresh();
        if (!arms) {
            if (arms.error().message != experiments_error) {
                experiments_error = arms.error().message;
                log.warn("experiments not read: keeping the last", {{"reason", experiments_error}});
            }
            return false;
        }
        experiments_error.clear();
        return models.ensure(*arms);
    };
    refresh_experiments();
    models.reload(log);
    serving::rank_settings base;
    base.hash_cache_ms = cfg.serve.hash_cache_ms;
    base.arm = cfg.serve.arm;
    auto settings = serving::parse_reserves(cfg.serve.reserve_ecpm, std::move(base));
    if (!settings) {
        return report(settings.error());
    }
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(15)); !r) {
        log.warn("serve log topic not checked", {{"reason", r.error().message}});
    }
    auto serve_log =
        kafka::serve_log_producer::open(cfg.kafka.bootstrap_servers, cfg.kafka.serves_topic);
    if (!serve_log) {
        return report(serve_log.error());
    }
    metrics::serve_probe probe(start_metrics(cfg, "serve"));
    const serving::rank_api rank(
        {.inventory = inventory,
         .reader = reader,
         .models = [&models](std::string_view head,
                             std::string_view arm) { return models.get(head, arm); },
         .assign = [&experiments](std::string_view user) { return experiments.assign(user); },
         .log = serve_log->get(),
         .observer = &probe,
         .clock = clock},
        std::move(*settings));
    report_source reports(cfg);
    const serving::service svc(
        {.reader = reader,
         .clock = clock,
         .ready = readiness(reader, inventory, models),
         .metrics = [&probe] { return probe.text(); },
         .rank = &rank,
         .experiment = [&reports](const std::string& name) { return reports.get(name); }});
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
    auto next_reload = clock.monotonic_ns();
    auto next_experiments = clock.monotonic_ns() + cfg.serve.catalog_refresh_ms * ms_ns;
    auto next_hashes = clock.monotonic_ns();
    bool hashes_failing = false;  // logged when it starts, not at every refresh
    while (!stop_signal) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        probe.sample(inventory.age_s(), (*serve_log)->dropped());
        if (cfg.serve.hash_cache_ms > 0 && clock.monotonic_ns() >= next_hashes) {
            // What expires within the next 200 ms (or half a period, if shorter).
            auto r = rank.refresh_shared_hashes(std::min(200, cfg.serve.hash_cache_ms / 2));
            if (!r && !hashes_failing) {
                log.warn("ad and campaign hashes not refreshed ahead; requests read them",
                         {{"reason", r.error().message}});
            }
            hashes_failing = !r;
            next_hashes = clock.monotonic_ns() + std::min(50, cfg.serve.hash_cache_ms / 4) * ms_ns;
        }
        if (clock.monotonic_ns() >= next_experiments) {
            if (refresh_experiments()) {
                next_reload = clock.monotonic_ns();  // a new arm's models load at once
            }
            next_experiments = clock.monotonic_ns() + cfg.serve.catalog_refresh_ms * ms_ns;
        }
        if (clock.monotonic_ns() >= next_reload) {
            models.reload(log);
            next_reload = clock.monotonic_ns() + cfg.serve.model_reload_ms * ms_ns;
        }
    }
    log.info("stopping: draining requests in progress", {{"drain_s", cfg.serve.drain_s}});
    const bool drained = (*srv)->stop(std::chrono::seconds(cfg.serve.drain_s));
    inventory.stop();
    log.info("stopped", {{"drained", drained},
                         {"serve_log_dropped", (*serve_log)->dropped()},
                         {"serve_log_failed", (*serve_log)->failed()},
                         {"serve_log_error", (*serve_log)->first_error()}});
    return 0;
}

}  // namespace

void add_serve_command(CLI::App& root, context& ctx, action& run)
{
    auto* cmd = root.add_subcommand(
        "serve", "Serving HTTP service on [serve] host:port: POST /rank_ads (retrieval, "
                 "eligibility, features, scoring with the registry's live models, auction; "
                 "decisions logged on kafka.serves_topic), GET /features/ad/{id} and "
                 "/features/user/{id}, /healthz, /readyz, /metrics, /openapi.json and /docs. "
                 "Stops on SIGINT/SIGTERM after draining requests in progress ([serve] drain_s).");
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_serve(cfg); });
        };
    });
}

}  // namespace adsx::app
