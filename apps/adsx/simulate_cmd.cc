// `adsx simulate`: the closed loop. Wiring only: virtual users of the catalog's world
// (simulate::virtual_users) ask a running `adsx serve` for ads over HTTP keep-alive
// (http::connection), and the events the ground truth draws from what was served go to the
// events topic (kafka::producer, one per worker), where `adsx stream` picks them up.
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "app.h"
#include "collector_edge.h"
#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/experiments/stats.h"
#include "adsx/http/client.h"
#include "adsx/kafka/producer.h"
#include "adsx/log/log.h"
#include "adsx/pg/catalog.h"
#include "adsx/simulate/closed_loop.h"

namespace adsx::app {
namespace {

using steady = std::chrono::steady_clock;

struct simulate_options
{
    std::uint32_t users = 10'000;
    double duration_s = 60;
    double rps = 0;  // 0: as fast as the service answers
    int concurrency = 4;
    int slots = 3;
    double time_scale = 60;
    double drain_s = 10;
    std::uint64_t seed = 1;
    std::string url;  // default: serve.host:serve.port
    int timeout_ms = 2000;
    std::string json_path;
};

// The body of POST /rank_ads for one call (schemas/openapi.json, RankRequest).
std::string rank_body(const simulate::rank_call& c)
{
    return fmt::format(R"({{"user_id":"{}","consent":"{}","slots":{},"context":{{"device":"{}",)"
                       R"("geo":"{}","placement":"{}","slot":1,"time":{}}}}})",
                       c.who->user_id, c.who->consent, c.slots, events::name(c.device), c.geo,
                       simulate::placements[c.placement], c.time_ms);
}

// The parts of a RankResponse the loop acts on.
result<simulate::rank_answer> parse_answer(simdjson::dom::parser& parser, const std::string& body)
{
    simulate::rank_answer a;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc)) {
        return fail(error_code::internal, "the service's answer is not JSON");
    }
    std::string_view id;
    simdjson::dom::array ads;
    if (doc["request_id"].get(id) || doc["ranked_ads"].get(ads)) {
        return fail(error_code::internal, "the service's answer lacks request_id or ranked_ads");
    }
    auto uuid = events::parse_uuid(id);
    if (!uuid) {
        return fail(error_code::internal, fmt::format("request_id '{}' is not a UUID", id));
    }
    a.request_id = *uuid;
    if (auto exp = doc["experiment"]; exp.is_object()) {
        std::string_view name, arm;
        if (!exp["name"].get(name) && !exp["arm"].get(arm)) {
            a.experiment = name;
            a.arm = arm;
        }
    }
    for (auto ad : ads) {
        std::uint64_t ad_id = 0;
        std::int64_t slot = 1;
        double price = 0;
        if (ad["ad_id"].get(ad_id) || ad["slot"].get(slot) || ad["price"].get(price)) {
            return fail(error_code::internal, "a ranked ad lacks ad_id, slot or price");
        }
        a.ads.push_back({static_cast<std::uint32_t>(ad_id), static_cast<int>(slot), price});
    }
    return a;
}

struct producer_sink final : simulate::event_sink
{
    kafka::producer& producer;
    const std::string& topic;
    std::string failure;
    producer_sink(kafka::producer& p, const std::string& t) : producer(p), topic(t) {}
    void write(std::string_view key, std::string_view json) override
    {
        if (auto r = producer.send(topic, key, json); !r && failure.empty()) {
            failure = r.error().message;
        }
    }
};

struct worker_result
{
    std::map<std::string, simulate::arm_tally> tallies;
    simulate::undelivered lost;
    std::map<int, std::uint64_t> statuses;  // non-200 answers by status (0: no answer)
    std::string failure;                    // the first error the worker met
};

struct shared_state
{
    std::atomic<std::uint64_t> requests{0};
    std::atomic<bool> stop{false};
};

struct target
{
    std::string host;
    int port = 0;
};

result<target> parse_url(const std::string& url)
{
    std::string_view s = url;
    if (s.starts_with("http://")) {
        s.remove_prefix(7);
    }
    while (s.ends_with('/')) {
        s.remove_suffix(1);
    }
    auto colon = s.rfind(':');
    auto port = colon == std::string_view::npos ? std::nullopt : parse_int(s.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535) {
        return fail(error_code::invalid_argument,
                    fmt::format("--url {}: expected http://HOST:PORT", url));
    }
    return target{std::string(s.substr(0, colon)), static_cast<int>(*port)};
}

void run_worker(const simulate::world& w, const simulate::loop_params& p,
                std::vector<simulate::member> members, int index, const simulate_options& o,
                const target& t, const config::config& cfg, shared_state& shared,
                worker_result& out)
{
    simulate::virtual_users vu(w, p, std::move(members), static_cast<std::uint64_t>(index));
    kafka::producer_settings ps;
    ps.bootstrap = cfg.kafka.bootstrap_servers;
    ps.compression = cfg.kafka.compression;
    ps.linger_ms = 5;
    auto producer = kafka::producer::open(ps);
    if (!producer) {
        out.failure = producer.error().message;
        return;
    }
    producer_sink sink(**producer, cfg.kafka.events_topic);
    http::connection conn(t.host, t.port, std::chrono::milliseconds(o.timeout_ms));
    simdjson::dom::parser parser;
    const auto start = steady::now();
    const auto end = start + std::chrono::duration_cast<steady::duration>(
                                 std::chrono::duration<double>(o.duration_s));
    const auto gap = o.rps > 0 ? std::chrono::duration_cast<steady::duration>(
                                     std::chrono::duration<double>(o.concurrency / o.rps))
                               : steady::duration::zero();
    auto due = start + gap * index / o.concurrency;
    while (!shared.stop && sink.failure.empty()) {
        if (o.rps > 0) {
            std::this_thread::sleep_until(due);
            due += gap;
        }
        if (steady::now() >= end) {
            break;
        }
        const auto now = wall_ms();
        auto call = vu.next(now);
        const auto sent = steady::now();
        auto reply = conn.post("/rank_ads", rank_body(call));
        const double ms = std::chrono::duration<double, std::milli>(steady::now() - sent).count();
        std::optional<simulate::rank_answer> answer;
        if (!reply) {
            ++out.statuses[0];
            if (out.failure.empty()) {
                out.failure = reply.error().message;
            }
        } else if (reply->status != 200) {
            ++out.statuses[reply->status];
        } else if (auto a = parse_answer(parser, reply->body); a) {
            answer = std::move(*a);
        } else {
            out.failure = a.error().message;
            break;
        }
        vu.answered(call, answer ? &*answer : nullptr, ms, now, sink);
        vu.flush(wall_ms(), sink);
        (*producer)->poll();
        shared.requests.fetch_add(1, std::memory_order_relaxed);
    }
    // The drain: clicks and conversions still due get up to drain_s to come.
    const auto drain_end = steady::now() + std::chrono::duration_cast<steady::duration>(
                                               std::chrono::duration<double>(o.drain_s));
    while (vu.pending() > 0 && steady::now() < drain_end && !shared.stop) {
        vu.flush(wall_ms(), sink);
        (*producer)->poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    out.lost = vu.abandon();
    out.tallies = vu.tallies();
    if (auto f = (*producer)->flush(std::chrono::seconds(30)); !f && sink.failure.empty()) {
        sink.failure = f.error().message;
    }
    if ((*producer)->stats().failed > 0 && sink.failure.empty()) {
        sink.failure = (*producer)->first_error();
    }
    if (!sink.failure.empty()) {
        out.failure = "events topic: " + sink.failure;
    }
}

double percentile(std::vector<double> v, double q)
{
    return v.empty() ? 0.0 : experiments::percentile(v, q);
}

std::string ratio(double num, double den)
{
    return den > 0 ? fmt::format("{:.4f}", num / den) : "-";
}

void print_summary(const std::map<std::string, simulate::arm_tally>& tallies,
                   const simulate::arm_tally& all, const simulate::undelivered& lost,
                   double seconds)
{
    std::cout << fmt::format(
        "simulated {:.1f} s: {} requests ({:.0f}/s), {} without an answer, fill rate {:.1f} %\n",
        seconds, all.requests, static_cast<double>(all.requests) / seconds, all.errors,
        all.slots_asked
            ? 100.0 * static_cast<double>(all.impressions) / static_cast<double>(all.slots_asked)
            : 0.0);
    std::cout << fmt::format(
        "{:<36} {:>8} {:>9} {:>7} {:>7} {:>8} {:>5} {:>10} {:>9} {:>6} {:>6}\n", "ARM", "REQUESTS",
        "IMPR", "CLICKS", "CTR", "TRUE_CTR", "CONV", "REVENUE", "SPEND", "P50_MS", "P99_MS");
    auto row = [](const std::string& name, const simulate::arm_tally& t) {
        const auto n = static_cast<double>(t.impressions);
        std::cout << fmt::format(
            "{:<36} {:>8} {:>9} {:>7} {:>7} {:>8} {:>5} {:>10.2f} {:>9.2f} {:>6.2f} {:>6.2f}\n",
            name, t.requests, t.impressions, t.clicks, ratio(static_cast<double>(t.clicks), n),
            ratio(t.true_ctr, n), t.conversions, t.revenue, t.spend, percentile(t.latency_ms, 50),
            percentile(t.latency_ms, 99));
    };
    for (const auto& [name, t] : tallies) {
        row(name, t);
    }
    if (tallies.size() > 1) {
        row("all", all);
    }
    const auto n = static_cast<double>(all.impressions);
    std::cout << fmt::format(
        "on the same requests, true CTR of the ads served {}, of an oracle ranking (highest true "
        "pCTR) {}, of a random pick {}\n",
        ratio(all.true_ctr, n), ratio(all.oracle_ctr, n), ratio(all.random_ctr, n));
    std::cout << fmt::format(
        "events sent: {} impressions, {} clicks, {} conversions; still due when the loop ended "
        "(not sent): {} clicks, {} conversions\n",
        all.impressions, all.clicks, all.conversions, lost.clicks, lost.conversions);
}

void write_json(const std::string& path, const std::map<std::string, simulate::arm_tally>& tallies,
                const simulate::arm_tally& all, const simulate::undelivered& lost, double seconds)
{
    auto arm = [](const simulate::arm_tally& t) {
        const auto n = static_cast<double>(t.impressions);
        return fmt::format(
            R"({{"requests":{},"errors":{},"slots_asked":{},"impressions":{},"clicks":{},)"
            R"("conversions":{},"revenue":{:.2f},"spend":{:.6f},"ctr":{},"true_ctr":{},)"
            R"("oracle_ctr":{},"random_ctr":{},"latency_ms":{{"p50":{:.3f},"p99":{:.3f}}}}})",
            t.requests, t.errors, t.slots_asked, t.impressions, t.clicks, t.conversions, t.revenue,
            t.spend, n > 0 ? static_cast<double>(t.clicks) / n : 0.0, n > 0 ? t.true_ctr / n : 0.0,
            n > 0 ? t.oracle_ctr / n : 0.0, n > 0 ? t.random_ctr / n : 0.0,
            percentile(t.latency_ms, 50), percentile(t.latency_ms, 99));
    };
    std::string arms;
    for (const auto& [name, t] : tallies) {
        arms += fmt::format("{}\"{}\":{}", arms.empty() ? "" : ",", name, arm(t));
    }
    std::ofstream f(path);
    f << fmt::format(R"({{"seconds":{:.3f},"arms":{{{}}},"all":{},"undelivered":)"
                     R"({{"clicks":{},"conversions":{}}}}})",
                     seconds, arms, arm(all), lost.clicks, lost.conversions)
      << "\n";
}

int run_simulate(const config::config& cfg, const simulate_options& o)
{
    auto where = parse_url(
        o.url.empty() ? fmt::format("http://{}:{}", cfg.serve.host, cfg.serve.port) : o.url);
    if (!where) {
        std::cerr << "adsx: " << where.error().message << "\n";
        return 2;
    }
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return report(conn.error());
    }
    auto source = pg::load_catalog_world(*conn);
    if (!source) {
        return report(source.error());
    }
    const auto w = simulate::world::build(source->params);
    if (auto ids = pg::catalog_ad_ids(*conn); !ids || ids->size() != w.ads.size()) {
        return report({error_code::failed_precondition,
                       "the catalog in PostgreSQL is not the world catalog_source names (run "
                       "adsx generate again)"});
    }
    auto pseudo =
        privacy::pseudonymizer::from_key_file(cfg.privacy.hmac_key_file, cfg.privacy.key_id);
    if (!pseudo) {
        return report(pseudo.error().wrap("privacy.hmac_key_file"));
    }
    auto edge = collector_edge::create(w, std::move(*pseudo),
                                       static_cast<std::uint64_t>(source->start_ms / 100));
    if (!edge) {
        return report(edge.error());
    }
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(15)); !r) {
        return report(r.error());
    }
    // The virtual users, dealt to workers by position (a user's events come from one producer,
    // in order).
    const auto chosen = simulate::choose_users(w, o.users, o.seed);
    const auto workers = static_cast<std::size_t>(
        std::min<std::size_t>(static_cast<std::size_t>(o.concurrency), chosen.size()));
    std::vector<std::vector<simulate::member>> shares(workers);
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        const auto u = chosen[i];
        shares[i % workers].push_back(
            {u, std::string(edge->user_id(u)),
             std::string(edge->consent(w.users[u].personalisation_consent)),
             std::string(edge->ip(u))});
    }
    const simulate::loop_params params{.seed = o.seed,
                                       .slots = o.slots,
                                       .time_scale = o.time_scale,
                                       .world_start_ms = source->start_ms};
    std::cerr << fmt::format("simulate: {} virtual users on {} connections to http://{}:{} for "
                             "{:.0f} s{}\n",
                             chosen.size(), workers, where->host, where->port, o.duration_s,
                             o.rps > 0 ? fmt::format(" at {:.0f} requests/s", o.rps) : "");
    shared_state shared;
    std::vector<worker_result> results(workers);
    std::vector<std::thread> threads;
    const auto started = steady::now();
    for (std::size_t i = 0; i < workers; ++i) {
        threads.emplace_back([&, i] {
            run_worker(w, params, std::move(shares[i]), static_cast<int>(i), o, *where, cfg, shared,
                       results[i]);
        });
    }
    auto log = log::get("simulate");
    auto last = started;
    std::uint64_t last_requests = 0;
    while (steady::now() - started < std::chrono::duration<double>(o.duration_s)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        if (steady::now() - last >= std::chrono::seconds(5)) {
            const auto n = shared.requests.load();
            const double secs = std::chrono::duration<double>(steady::now() - last).count();
            log.info("progress",
                     {{"elapsed_s", std::chrono::duration<double>(steady::now() - started).count()},
                      {"duration_s", o.duration_s},
                      {"requests", n},
                      {"requests_per_s", static_cast<double>(n - last_requests) / secs}});
            last = steady::now();
            last_requests = n;
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    const double seconds =
        std::min(std::chrono::duration<double>(steady::now() - started).count(), o.duration_s);
    std::map<std::string, simulate::arm_tally> tallies;
    simulate::arm_tally all;
    simulate::undelivered lost;
    std::string failure;
    std::map<int, std::uint64_t> statuses;
    for (const auto& r : results) {
        for (const auto& [name, t] : r.tallies) {
            tallies[name].merge(t);
            all.merge(t);
        }
        lost.clicks += r.lost.clicks;
        lost.conversions += r.lost.conversions;
        for (auto [s, n] : r.statuses) {
            statuses[s] += n;
        }
        if (failure.empty()) {
            failure = r.failure;
        }
    }
    print_summary(tallies, all, lost, seconds);
    if (!statuses.empty()) {
        std::cout << "requests without an answer, by status (0 = no reply):";
        for (auto [s, n] : statuses) {
            std::cout << fmt::format(" {}={}", s, n);
        }
        std::cout << "\n";
    }
    if (!o.json_path.empty()) {
        write_json(o.json_path, tallies, all, lost, seconds);
    }
    if (all.requests > 0 && all.errors * 10 > all.requests) {
        std::cerr << fmt::format("adsx: {} of {} requests got no answer: {}\n", all.errors,
                                 all.requests, failure.empty() ? "see the statuses" : failure);
        return 1;
    }
    if (failure.starts_with("events topic") || all.requests == 0) {
        std::cerr << "adsx: " << (failure.empty() ? "no request was made" : failure) << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

void add_simulate_command(CLI::App& root, context& ctx, action& run)
{
    static simulate_options o;
    auto* cmd = root.add_subcommand(
        "simulate",
        "The closed loop: virtual users of the catalog's world ask a running adsx serve for ads "
        "(POST /rank_ads); the ground truth draws clicks and conversions from the ads served and "
        "they go to the events topic with the request id and experiment arm, for adsx stream. "
        "Prints per arm: requests, CTR, the true CTR of what was served, revenue, spend, "
        "latency; and the CTR an oracle and a random ranking would have had. Exits 1 when more "
        "than 10 % of requests got no answer or events could not be sent.");
    cmd->add_option("--users", o.users, "Virtual users, drawn from the world by activity")
        ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{50'000'000}))
        ->capture_default_str();
    cmd->add_option("--duration", o.duration_s, "Seconds of traffic")
        ->check(CLI::Range(0.1, 86'400.0))
        ->capture_default_str();
    cmd->add_option("--rps", o.rps, "Requests per second, paced (default: as fast as answered)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--concurrency", o.concurrency, "Connections (one worker thread each)")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd->add_option("--slots", o.slots, "Ads asked for per request")
        ->check(CLI::Range(1, 20))
        ->capture_default_str();
    cmd->add_option("--time-scale", o.time_scale,
                    "Clicks and conversions arrive this many times sooner than the ground "
                    "truth's delays (1 = real time; a conversion then takes ~90 min)")
        ->check(CLI::Range(1.0, 100'000.0))
        ->capture_default_str();
    cmd->add_option("--drain", o.drain_s,
                    "Seconds after the traffic stops to wait for clicks and conversions still due")
        ->check(CLI::Range(0.0, 3'600.0))
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Random seed (users, contexts, outcomes)")
        ->capture_default_str();
    cmd->add_option("--url", o.url, "The service (default: http://serve.host:serve.port)");
    cmd->add_option("--timeout-ms", o.timeout_ms, "Deadline of one request")
        ->check(CLI::Range(10, 60'000))
        ->capture_default_str();
    cmd->add_option("--json", o.json_path, "Also write the summary as JSON to this file");
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_simulate(cfg, o); });
        };
    });
}

}  // namespace adsx::app
