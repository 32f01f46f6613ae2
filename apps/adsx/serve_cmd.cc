// `adsx serve`: the serving HTTP service. Wiring only: serving::service's routes (feature API,
// serving::rank_api) over Redis (redis::hash_reader), the catalog in PostgreSQL
// (pg::load_inventory, refreshed by serving::live_inventory), the running experiments
// (pg::running_experiments → experiments::assigner, read again with the catalog), the erasure
// suppression list (pg::suppression_feed), the model
// registry (models::live_model per head and model arm) and Kafka (kafka::serve_log_producer), on
// http::server with metrics::serve_probe as its observer; experiment reports for the live page
// from PostgreSQL (pg::analyze_experiment); the operators' /admin routes (serving::admin_api)
// over PostgreSQL, the privacy requests topic and retention.
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app.h"
#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/http/server.h"
#include "adsx/kafka/producer.h"
#include "adsx/kafka/serve_log_producer.h"
#include "adsx/log/log.h"
#include "adsx/metrics/serve_probe.h"
#include "adsx/models/live_model.h"
#include "adsx/pg/catalog.h"
#include "adsx/pg/experiment_results.h"
#include "adsx/pg/experiments.h"
#include "adsx/pg/inventory.h"
#include "adsx/pg/privacy.h"
#include "adsx/privacy/erasure_record.h"
#include "adsx/redis/client.h"
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

// One PostgreSQL connection shared by the threads that use it (they take turns), opened at
// first use and again after a failure.
class pg_session
{
public:
    explicit pg_session(const config::config& cfg) : _cfg(cfg) {}

    template <class F>
    auto run(F body) -> decltype(body(std::declval<pg::connection&>()))
    {
        std::lock_guard lock(_mutex);
        if (!_conn) {
            auto opened = pg::connection::open(_cfg.postgres);
            if (!opened) {
                return fail(opened.error());
            }
            _conn.emplace(std::move(*opened));
        }
        auto r = body(*_conn);
        if (!r && !answers(r.error().code)) {
            _conn.reset();  // whatever broke, the next use starts on a fresh connection
        }
        return r;
    }

private:
    // Errors that are the database's answer (no such row, a refused change), not a broken
    // connection.
    static bool answers(error_code c)
    {
        return c == error_code::not_found || c == error_code::invalid_argument ||
               c == error_code::failed_precondition || c == error_code::already_exists;
    }

    const config::config& _cfg;
    std::mutex _mutex;
    std::optional<pg::connection> _conn;
};

// A loader that reads through a PostgreSQL connection of its own: the catalog's and the
// running experiments'.
template <class T>
std::function<result<T>()> over_postgres(const config::config& cfg,
                                         std::function<result<T>(pg::connection&)> read)
{
    auto session = std::make_shared<pg_session>(cfg);
    return [session, read = std::move(read)] { return session->run(read); };
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
    // Model versions that could not be loaded so far, per head (every arm's).
    std::map<std::string, std::uint64_t> failures() const
    {
        std::lock_guard lock(_mutex);
        std::map<std::string, std::uint64_t> out{{"ctr", 0}, {"cvr", 0}};
        for (const auto& [_, h] : _arms) {
            out["ctr"] += h->ctr.failures();
            out["cvr"] += h->cvr.failures();
        }
        return out;
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

// What the alerts on serving's dependencies watch (deploy/prometheus/rules): the online store's
// memory, the daily job's newest day, and model versions that could not be loaded. Sampled
// every catalog refresh on connections of its own; a store that does not answer leaves its
// gauge as it was (its own probes and alerts report it down).
class health_sampler
{
public:
    explicit health_sampler(const config::config& cfg) : _cfg(cfg), _pg(cfg) {}

    metrics::serve_probe::dependencies sample(const live_models& models)
    {
        metrics::serve_probe::dependencies v;
        v.model_reload_failures = models.failures();
        if (!_redis) {
            auto c =
                redis::connection::open(_cfg.redis.host, _cfg.redis.port, std::chrono::seconds(1));
            if (c) {
                _redis.emplace(std::move(*c));
            }
        }
        if (_redis) {
            if (auto m = _redis->memory(); m) {
                v.redis_memory = {m->used_bytes, m->max_bytes};
            } else {
                _redis.reset();
            }
        }
        auto day = _pg.run([](pg::connection& c) { return pg::newest_daily_features_ms(c); });
        if (day) {
            v.daily_features_newest_day_s =
                day->has_value() ? static_cast<double>(**day) / 1000 : 0;
        }
        return v;
    }

private:
    const config::config& _cfg;
    pg_session _pg;
    std::optional<redis::connection> _redis;
};

// Experiment reports for the live page, each kept 5 s so that open pages refreshing every 5 s
// cost one analysis each.
class report_source
{
public:
    explicit report_source(pg_session& pg) : _pg(pg) {}

    result<experiments::report> get(const std::string& name)
    {
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(_mutex);
            if (auto it = _cache.find(name);
                it != _cache.end() && now - it->second.first < std::chrono::seconds(5)) {
                return it->second.second;
            }
        }
        auto r = _pg.run([&](pg::connection& c) { return pg::analyze_experiment(c, name, {}, 7); });
        if (!r) {
            return fail(r.error());
        }
        std::lock_guard lock(_mutex);
        if (_cache.size() > 64) {
            _cache.clear();
        }
        _cache[name] = {now, *r};
        return r;
    }

private:
    pg_session& _pg;
    std::mutex _mutex;
    std::map<std::string, std::pair<std::chrono::steady_clock::time_point, experiments::report>>
        _cache;
};

// What the /admin routes do (serving/admin_api.h): erasure requests opened in the ledger and
// queued on kafka.privacy_topic for `adsx privacy worker`, the ledger read back, retention
// (retention_cmd.cc) and experiment status.
class admin_ops
{
public:
    admin_ops(const config::config& cfg, pg_session& pg, std::unique_ptr<kafka::producer> out)
      : _cfg(cfg), _pg(pg), _out(std::move(out))
    {
    }

    serving::admin_actions actions()
    {
        return {.erase = [this](const std::string& user,
                                const std::string& key) { return erase(user, key); },
                .erasure =
                    [this](std::int64_t id) {
                        return _pg.run([id](pg::connection& c) { return pg::erasure_json(c, id); });
                    },
                .retention = [this](bool apply, const std::string& as_of) -> result<std::string> {
                    auto r = apply_retention(_cfg, as_of, apply);
                    return r ? result<std::string>(to_json(*r)) : fail(r.error());
                },
                .experiments = [this] { return _pg.run(experiments_json); },
                .set_experiment_status =
                    [this](const std::string& name, const std::string& status) {
                        return _pg.run([&](pg::connection& c) {
                            return pg::set_experiment_status(c, name, status);
                        });
                    }};
    }

private:
    result<std::string> erase(const std::string& id, const std::string& key)
    {
        auto user = pseudonym_of(_cfg, id);
        if (!user) {
            return fail(user.error());
        }
        return _pg.run([&](pg::connection& c) -> result<std::string> {
            // Suppressed from here on; the worker does the rest.
            auto req = pg::open_erasure(c, *user, "http", key);
            if (!req) {
                return fail(req.error());
            }
            if (!req->done) {
                std::lock_guard lock(_out_mutex);
                const auto failed = _out->stats().failed;
                const privacy::erasure_record rec{
                    .request_id = key, .user_id = *user, .source = "http"};
                if (auto r = _out->send(_cfg.kafka.privacy_topic, *user, encode(rec)); !r) {
                    return fail(r.error());
                }
                if (auto r = _out->flush(std::chrono::seconds(5));
                    !r || _out->stats().failed > failed) {
                    return fail(error_code::unavailable,
                                fmt::format("the request is recorded (request {}) but not queued "
                                            "for the privacy worker: {}; send it again",
                                            req->id, r ? _out->first_error() : r.error().message));
                }
            }
            return pg::erasure_json(c, req->id);
        });
    }

    static result<std::string> experiments_json(pg::connection& c)
    {
        auto rows = pg::list_experiments(c);
        if (!rows) {
            return fail(rows.error());
        }
        std::string out;
        for (const auto& r : *rows) {
            out += fmt::format(
                R"({}{{"name":{},"status":{},"layer":{},"created_at":{},"started_at":{},"stopped_at":{}}})",
                out.empty() ? "" : ",", json_quote(r.spec.name), json_quote(r.status),
                json_quote(r.spec.layer), json_quote(r.created_at), json_quote(r.started_at),
                json_quote(r.stopped_at));
        }
        return fmt::format(R"({{"experiments":[{}]}})", out);
    }

    const config::config& _cfg;
    pg_session& _pg;
    std::mutex _out_mutex;  // kafka::producer is not thread-safe
    std::unique_ptr<kafka::producer> _out;
};

// The admin routes, when a token is configured: nullptr without one in the dev profile (with
// a warning); outside it a missing, empty or placeholder token is an error.
struct admin_parts
{
    std::unique_ptr<admin_ops> ops;  // what the routes' actions call: outlives them
    std::unique_ptr<serving::admin_api> api;
};

// The admin routes and what they act on, when a token is configured: none without one in the
// dev profile (with a warning, and no privacy producer opened); outside it a missing, empty or
// placeholder token is an error.
result<admin_parts> admin_routes(const config::config& cfg, pg_session& pg, const log::logger& log)
{
    auto token = serving::load_admin_token(cfg.serve.admin_token_file, cfg.stack.profile == "dev");
    if (!token && token.error().code == error_code::not_found) {
        log.warn("no admin token: the /admin routes are off", {{"reason", token.error().message}});
        return admin_parts{};
    }
    if (!token) {
        return fail(token.error());
    }
    kafka::producer_settings out;
    out.bootstrap = cfg.kafka.bootstrap_servers;
    out.delivery_timeout = std::chrono::seconds(5);
    out.stop_after_failure = false;  // a request refused now may be sent again
    auto producer = kafka::producer::open(out);
    if (!producer) {
        return fail(producer.error());
    }
    admin_parts parts;
    parts.ops = std::make_unique<admin_ops>(cfg, pg, std::move(*producer));
    parts.api = std::make_unique<serving::admin_api>(*token, parts.ops->actions());
    return parts;
}

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
                              std::chrono::milliseconds(cfg.serve.redis_timeout_ms),
                              cfg.redis.mode == "cluster");
    serving::live_inventory inventory(
        over_postgres<serving::inventory>(
            cfg, [&clock](pg::connection& c) { return pg::load_inventory(c, clock.now_ms()); }),
        clock, std::chrono::milliseconds(cfg.serve.catalog_refresh_ms),
        [&log](const serving::refresh_outcome& o) {
            if (o.ok) {
                log.info("catalog read again", {{"failures", o.failures}});
            } else {
                log.warn("catalog not read: keeping the last, retrying with backoff",
                         {{"reason", o.error},
                          {"failures", o.failures},
                          {"retry_in_ms", static_cast<std::int64_t>(o.retry_in.count())}});
            }
        });
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
    privacy::suppression_list erased;
    auto erased_feed = pg::suppression_feed::start(
        cfg.postgres, erased, std::chrono::seconds(cfg.privacy.suppression_refresh_s));
    if (!erased_feed) {
        return report(erased_feed.error());
    }
    metrics::serve_probe probe(start_metrics(cfg, "serve"));
    const serving::rank_api rank(
        {.inventory = inventory,
         .reader = reader,
         .models = [&models](std::string_view head,
                             std::string_view arm) { return models.get(head, arm); },
         .assign = [&experiments](std::string_view user) { return experiments.assign(user); },
         .erased = [&erased](std::string_view user) { return erased.contains(user); },
         .log = serve_log->get(),
         .observer = &probe,
         .clock = clock},
        std::move(*settings));
    pg_session pg(cfg);
    report_source reports(pg);
    auto admin = admin_routes(cfg, pg, log);
    if (!admin) {
        return report(admin.error());
    }
    const serving::service svc(
        {.reader = reader,
         .clock = clock,
         .ready = readiness(reader, inventory, models),
         .metrics = [&probe] { return probe.text(); },
         .rank = &rank,
         .experiment = [&reports](const std::string& name) { return reports.get(name); },
         .admin = admin->api.get()});
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
    health_sampler health(cfg);
    while (!stop_signal) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        probe.sample({.catalog_age_s = inventory.age_s(),
                      .catalog_refresh_failures = inventory.failures_total(),
                      .serve_log_dropped = (*serve_log)->dropped()});
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
            probe.sample(health.sample(models));
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
                 "/features/user/{id}, /healthz, /readyz, /metrics, /openapi.json, /docs, and the "
                 "/admin routes behind the bearer token in serve.admin_token_file (erasure "
                 "requests, retention, experiment start/stop). "
                 "Stops on SIGINT/SIGTERM after draining requests in progress ([serve] drain_s).");
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_serve(cfg); });
        };
    });
}

}  // namespace adsx::app
