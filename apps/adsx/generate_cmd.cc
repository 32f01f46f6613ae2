// `adsx generate`: simulated ad traffic into Kafka. Wiring only: the world and the generator are
// src/adsx/simulate, privacy at the edge is collector_edge (pseudonyms, truncated IPs) and the
// erasure suppression list (an erased user's events are not sent), the producer is src/adsx/kafka.
#include <chrono>
#include <ctime>
#include <iostream>
#include <numeric>
#include <thread>

#include "app.h"
#include "collector_edge.h"
#include "generate_probe.h"
#include <fmt/format.h>

#include "adsx/base/time.h"
#include "adsx/kafka/producer.h"
#include "adsx/log/progress.h"
#include "adsx/pg/catalog.h"
#include "adsx/pg/migrate.h"
#include "adsx/pg/privacy.h"
#include "adsx/simulate/generator.h"

namespace adsx::app {

namespace {

using clock = std::chrono::steady_clock;

struct generate_options
{
    std::uint64_t events = 2'000'000;
    int days = 7;
    double rate = 0;  // events/s; 0 = as fast as possible
    std::uint64_t seed = 1;
    double malformed_rate = 0;
    std::string start;  // YYYY-MM-DD (UTC); default: D days before today
    std::uint32_t users = 200'000;
    std::uint32_t advertisers = 40;  // × 4 campaigns × 3 ads each
    int delivery_timeout_s = 120;
    bool dry_run = false;
    std::vector<std::string> producer_properties;  // librdkafka key=value overrides
};

result<std::int64_t> start_ms(const generate_options& o)
{
    if (o.start.empty()) {
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        return o.rate > 0 ? now : midnight_utc_ms(now) - o.days * day_ms;
    }
    std::tm tm{};
    if (!strptime(o.start.c_str(), "%Y-%m-%d", &tm)) {
        return fail(error_code::invalid_argument,
                    fmt::format("--start {}: expected YYYY-MM-DD", o.start));
    }
    return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

struct tally
{
    std::uint64_t bytes = 0;
    std::uint64_t erased = 0;  // records of users on the suppression list: not sent
    std::array<std::uint64_t, simulate::fault_count> by_kind{};
};

// In --rate mode the timeline runs with the wall clock: wait until the record's event time
// comes (on the system clock, which event times are read from, so that a record is sent when
// its event time is now, not after the start-up's delay).
void pace(const simulate::record& r)
{
    const std::chrono::system_clock::time_point due{std::chrono::milliseconds(r.ev.event_time_ms)};
    if (due > std::chrono::system_clock::now()) {
        std::this_thread::sleep_until(due);
    }
}

int print_summary(const generate_options& o, const kafka::producer& p, const tally& t, double secs,
                  const std::string& topic, const std::string& failure)
{
    const auto& s = p.stats();
    // Sent records of the malformed kinds (not `events - valid`: records of erased users, and
    // those after a failure, were never sent at all).
    const std::uint64_t malformed =
        std::accumulate(t.by_kind.begin() + 1, t.by_kind.end(), std::uint64_t{0});
    const std::uint64_t due = o.events - t.erased;
    std::cout << fmt::format("generated {} events ({} valid, {} malformed) in {:.1f} s\n", s.sent,
                             s.sent - std::min(s.sent, malformed), malformed, secs);
    if (malformed > 0) {
        std::cout << "  malformed:";
        for (int k = 1; k < simulate::fault_count; ++k) {
            std::cout << fmt::format(" {}={}", simulate::name(static_cast<simulate::fault>(k)),
                                     t.by_kind[static_cast<std::size_t>(k)]);
        }
        std::cout << "\n";
    }
    if (t.erased > 0) {
        std::cout << fmt::format("  {} record(s) of erased users not sent (suppression list)\n",
                                 t.erased);
    }
    std::cout << fmt::format("produced {} / acknowledged {} / failed {} to {}\n", s.sent, s.acked,
                             s.failed, topic);
    std::cout << fmt::format("{:.0f} events/s, {:.1f} MB/s (uncompressed JSON)\n",
                             static_cast<double>(s.acked) / secs,
                             static_cast<double>(t.bytes) / secs / 1e6);
    if (s.acked == due && failure.empty()) {
        return 0;
    }
    std::cerr << fmt::format("adsx: {} of {} events not delivered: {}\n", due - s.acked, due,
                             failure.empty() ? p.first_error() : failure);
    return 1;
}

// The world's catalog into PostgreSQL (schema migrated first): serving and the stream engine
// read inventory from there.
result<pg::catalog_counts> publish_catalog(const config::config& cfg, const simulate::world& w,
                                           std::int64_t start)
{
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return fail(conn.error());
    }
    if (auto m = pg::migrate(*conn, migrations_dir(cfg)); !m) {
        return fail(m.error());
    }
    return pg::write_catalog(*conn, w, start);
}

int run_generate(const config::config& cfg, const generate_options& o)
{
    auto start = start_ms(o);
    if (!start) {
        return report(start.error());
    }
    auto pseudo =
        privacy::pseudonymizer::from_key_file(cfg.privacy.hmac_key_file, cfg.privacy.key_id);
    if (!pseudo) {
        return report(pseudo.error().wrap("privacy.hmac_key_file"));
    }
    const auto w = simulate::world::build(
        {.seed = o.seed, .users = o.users, .advertisers = o.advertisers, .days = o.days});
    auto edge =
        collector_edge::create(w, std::move(*pseudo), static_cast<std::uint64_t>(*start / 100));
    if (!edge) {
        return report(edge.error());
    }
    auto catalog = publish_catalog(cfg, w, *start);
    if (!catalog) {
        return report(catalog.error().wrap("catalog"));
    }
    std::cout << fmt::format("catalog: {} advertisers, {} campaigns, {} ads in {}\n",
                             catalog->advertisers, catalog->campaigns, catalog->ads,
                             cfg.postgres.database);
    // The collector's edge drops the events of erased users: nothing of them reaches Kafka.
    privacy::suppression_list erased;
    auto erased_feed = pg::suppression_feed::start(
        cfg.postgres, erased, std::chrono::seconds(cfg.privacy.suppression_refresh_s));
    if (!erased_feed) {
        return report(erased_feed.error());
    }
    const auto& k = cfg.kafka;
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(std::min(15, o.delivery_timeout_s)));
        !r) {
        std::cerr << fmt::format("adsx: 0 of {} events delivered\n", o.events);
        return report(r.error());
    }
    kafka::producer_settings settings;
    settings.bootstrap = k.bootstrap_servers;
    settings.compression = k.compression;
    settings.delivery_timeout = std::chrono::seconds(o.delivery_timeout_s);
    for (const auto& kv : o.producer_properties) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            return report(
                {error_code::invalid_argument, fmt::format("-X {}: expected key=value", kv)});
        }
        settings.extra[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto producer = kafka::producer::open(settings);
    if (!producer) {
        return report(producer.error());
    }
    const double span_days =
        o.rate > 0 ? static_cast<double>(o.events) / o.rate / 86'400.0 : o.days;
    if (o.rate > 0) {
        // A live timeline starts now, after the set-up above (it took about 0.2 s: events
        // stamped before it would all be late by that much).
        start = start_ms(o);
    }
    simulate::generator gen(w, *edge,
                            {.seed = o.seed,
                             .events = o.events,
                             .start_ms = *start,
                             .span_ms = static_cast<std::int64_t>(span_days * day_ms),
                             .malformed_rate = o.malformed_rate});
    generate_probe probe(cfg);
    log::progress bar("generate", o.events);
    simulate::record rec;
    std::string json;
    tally t;
    std::string failure;
    const auto started = clock::now();
    while (gen.next(rec)) {
        // A malformed record is a mutated copy of the last valid one, which was due already;
        // its own time may be the mutation (30 days ahead, a future_timestamp fault).
        if (o.rate > 0 && rec.kind == simulate::fault::none) {
            pace(rec);
        }
        if (erased.contains(rec.ev.user_id)) {
            ++t.erased;
            continue;
        }
        json.clear();
        gen.encode(rec, json);
        if (o.dry_run) {
            // measure the generator alone: nothing is sent
        } else if (auto r = (*producer)->send(k.events_topic, rec.ev.user_id, json); !r) {
            failure = r.error().message;
            break;
        }
        t.bytes += json.size();
        ++t.by_kind[static_cast<std::size_t>(rec.kind)];
        bar.update(gen.emitted());
        if ((gen.emitted() & 0xffff) == 0) {
            probe.observe((*producer)->stats(), t.by_kind);
        }
    }
    auto flushed = (*producer)->flush(std::chrono::seconds(o.delivery_timeout_s + 10));
    if (!flushed && failure.empty()) {
        failure = flushed.error().message;
    }
    bar.finish((*producer)->stats().acked);
    probe.observe((*producer)->stats(), t.by_kind);
    const double secs = std::chrono::duration<double>(clock::now() - started).count();
    return print_summary(o, **producer, t, secs, k.events_topic, failure);
}

}  // namespace

void add_generate_command(CLI::App& root, context& ctx, action& run)
{
    static generate_options o;
    auto* cmd = root.add_subcommand(
        "generate", "Simulate ad traffic (impression -> click -> conversion chains) into Kafka. "
                    "User ids are pseudonymised (keyed HMAC) and IPs truncated before anything is "
                    "sent. Exits 1 if any event was not acknowledged. Same --seed and --start "
                    "give byte-identical events.");
    cmd->add_option("--events", o.events, "Records to produce, malformed ones included")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000'000}))
        ->capture_default_str();
    cmd->add_option("--days", o.days, "Event-time span in days")
        ->check(CLI::Range(1, 365))
        ->capture_default_str();
    cmd->add_option("--rate", o.rate,
                    "Events per second, paced on the wall clock with event time = now "
                    "(default: as fast as possible, in event time over --days)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
    cmd->add_option("--malformed-rate", o.malformed_rate,
                    "Share of bad records mixed in (truncated JSON, wrong types, missing fields, "
                    "unknown event types, orphan clicks, negative revenue, future timestamps)")
        ->check(CLI::Range(0.0, 0.5))
        ->capture_default_str();
    cmd->add_option("--start", o.start,
                    "First day of event time, YYYY-MM-DD UTC (default: --days "
                    "days before today)");
    cmd->add_option("--users", o.users, "Simulated users")
        ->check(CLI::Range(std::uint32_t{100}, std::uint32_t{50'000'000}))
        ->capture_default_str();
    cmd->add_option("--advertisers", o.advertisers,
                    "Simulated advertisers, each with 4 campaigns of 3 ads (the catalog's size)")
        ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{100'000}))
        ->capture_default_str();
    cmd->add_option("--delivery-timeout", o.delivery_timeout_s,
                    "Seconds a record may wait for the brokers (librdkafka retries with backoff "
                    "meanwhile) before it counts as failed")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd->add_option("-X,--producer-property", o.producer_properties,
                    "librdkafka producer property key=value (repeatable), e.g. -X linger.ms=20");
    cmd->add_flag("--dry-run", o.dry_run,
                  "Generate and encode but send nothing (times the generator alone; exits 1 as "
                  "nothing was delivered)");
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_generate(cfg, o); });
        };
    });
}

}  // namespace adsx::app
