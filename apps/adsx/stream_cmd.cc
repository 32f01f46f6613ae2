// `adsx stream`: the streaming feature engine. Wiring only: batch logic in
// src/adsx/features/engine, the store in src/adsx/redis, the consumer group in src/adsx/kafka.
#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>
#include <unordered_map>

#include "app.h"
#include "stream_probe.h"
#include <fmt/format.h>

#include "adsx/features/engine.h"
#include "adsx/kafka/consumer.h"
#include "adsx/kafka/producer.h"
#include "adsx/log/log.h"
#include "adsx/pg/catalog.h"
#include "adsx/privacy/tcf.h"
#include "adsx/redis/feature_store.h"

namespace adsx::app {

namespace {

using clock = std::chrono::steady_clock;
std::atomic<bool> stopping{false};

// The whole group has caught up: for every partition of the topic, the offset stored with the
// features (whoever owns the partition) has reached the broker's high watermark. Messages
// merely not arriving is not enough: after a crash, a dead member's partitions wait for the
// session timeout before anyone owns them.
bool group_caught_up(const kafka::consumer_group& c, features::stream_store& store,
                     const features::engine& e)
{
    auto marks = c.topic_watermarks(std::chrono::seconds(5));
    if (!marks || marks->empty()) {
        return false;
    }
    for (const auto& [p, lo_hi] : *marks) {
        auto st = store.load(e.partition_id(p));
        if (!st || std::max(st->next_offset, lo_hi.first) < lo_hi.second) {
            return false;
        }
    }
    return true;
}

std::int64_t wall_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct stream_options
{
    double until_idle_s = 0;  // 0 = run until stopped
};

// The store, timed: each commit's latency goes to the probe.
class timed_store final : public features::stream_store
{
public:
    timed_store(features::stream_store& inner, stream_probe& probe) : _inner(inner), _probe(probe)
    {
    }
    result<features::partition_state> load(const std::string& id) override
    {
        return _inner.load(id);
    }
    result<std::vector<std::string>> load_requests(const std::string& id, features::follow_kind k,
                                                   std::int64_t first, std::int64_t last) override
    {
        return _inner.load_requests(id, k, first, last);
    }
    // A pipelined commit's latency runs from its start to its settling.
    result<features::commit_outcome> commit(const std::vector<features::partition_commit>& parts,
                                            const features::batch_update& b,
                                            bool pipelined) override
    {
        const auto start = clock::now();
        auto r = _inner.commit(parts, b, pipelined);
        if (r && r->pending) {
            _sent = start;
        } else {
            _probe.commit(std::chrono::duration<double>(clock::now() - start).count());
        }
        return r;
    }
    void forget_owned() override { _inner.forget_owned(); }
    features::cache_counts key_cache(features::key_kind k) const override
    {
        return _inner.key_cache(k);
    }
    result<bool> settle() override
    {
        auto r = _inner.settle();
        if (_sent) {
            _probe.commit(std::chrono::duration<double>(clock::now() - *_sent).count());
            _sent.reset();
        }
        return r;
    }

private:
    features::stream_store& _inner;
    stream_probe& _probe;
    std::optional<clock::time_point> _sent;
};

// Dead letters to Kafka, acknowledged before write() returns.
class kafka_dlq final : public features::dead_letter_sink
{
public:
    kafka_dlq(kafka::producer& p, std::string topic) : _p(p), _topic(std::move(topic)) {}
    result<void> write(const std::vector<features::dead_letter>& records) override
    {
        for (const auto& r : records) {
            if (auto ok = _p.send(_topic, r.key, r.value); !ok) {
                return ok;
            }
        }
        return _p.flush(std::chrono::seconds(30));
    }

private:
    kafka::producer& _p;
    std::string _topic;
};

// Whether a TCF string allows personalisation; a handful of distinct strings, so cached.
class consent_cache
{
public:
    bool operator()(std::string_view s)
    {
        auto it = _known.find(std::string(s));
        if (it != _known.end()) {
            return it->second;
        }
        auto c = privacy::decode_tc_string(s);
        const bool allowed = c && privacy::allows_personalisation(*c);
        if (_known.size() < 10'000) {
            _known.emplace(std::string(s), allowed);
        }
        return allowed;
    }

private:
    std::unordered_map<std::string, bool> _known;
};

result<std::vector<bool>> load_catalog(const config::config& cfg)
{
    auto conn = pg::connection::open(cfg.postgres);
    auto ids = conn ? pg::catalog_ad_ids(*conn) : fail(conn.error());
    if (!ids) {
        return fail(ids.error());
    }
    std::vector<bool> known(ids->empty() ? 1 : ids->back() + 1, false);
    for (auto id : *ids) {
        known[id] = true;
    }
    return known;
}

int run_stream(const config::config& cfg, const stream_options& o)
{
    const auto log = log::get("stream");
    if (std::int64_t{cfg.stream.allowed_lateness_s} >= std::int64_t{cfg.stream.ttl_hours} * 3600) {
        // The user × campaign state's pruning relies on it (features/user_state.h).
        return report({error_code::invalid_argument,
                       "stream.allowed_lateness_s must be shorter than stream.ttl_hours"});
    }
    auto catalog = load_catalog(cfg);
    auto redis_store =
        redis::feature_store::open(cfg.redis.host, cfg.redis.port,
                                   {.ttl = std::chrono::hours(cfg.stream.ttl_hours),
                                    .user_cache = static_cast<std::size_t>(cfg.stream.user_cache)},
                                   system_clock::instance());
    kafka::producer_settings ps;
    ps.bootstrap = cfg.kafka.bootstrap_servers;
    ps.linger_ms = 5;
    auto dlq_producer = kafka::producer::open(ps);
    for (const auto* e :
         {catalog ? nullptr : &catalog.error(), redis_store ? nullptr : &redis_store.error(),
          dlq_producer ? nullptr : &dlq_producer.error()}) {
        if (e) {
            return report(*e);
        }
    }
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(15)); !r) {
        return report(r.error());
    }
    stream_probe probe(cfg);
    timed_store store(*redis_store, probe);
    kafka_dlq dlq(**dlq_producer, cfg.kafka.dlq_topic);
    consent_cache consent;
    const auto& known = *catalog;
    features::engine engine(
        store, dlq, [&](std::uint32_t ad) { return ad < known.size() && known[ad]; },
        [&](std::string_view s) { return consent(s); }, system_clock::instance(),
        {.topic = cfg.kafka.events_topic,
         .group = cfg.stream.group,
         .allowed_lateness_ms = std::int64_t{cfg.stream.allowed_lateness_s} * 1000,
         .max_future_ms = 5 * 60'000,
         .click_window_ms = std::int64_t{cfg.stream.click_window_s} * 1000,
         .conversion_window_ms = std::int64_t{cfg.stream.conversion_window_s} * 1000});
    std::string assign_error;
    auto consumer = kafka::consumer_group::open(
        {cfg.kafka.bootstrap_servers,
         cfg.stream.group,
         cfg.kafka.events_topic,
         {{"session.timeout.ms", std::to_string(cfg.stream.session_timeout_s * 1000)},
          {"heartbeat.interval.ms", "1000"},
          // Once the records fetched ahead reach this, librdkafka (2.0, Debian 12's) stops
          // fetching and looks again only at its next once-a-second check: a buffer that the
          // worker drains faster than that leaves it idle until then (a 64 MB one cost a backlog
          // ~25% of its time). So it holds about a second of the worker's fastest rate; a live
          // worker, keeping up, holds little of it.
          {"queued.max.messages.kbytes",
           std::to_string(std::int64_t{cfg.stream.prefetch_mb} * 1024)}}},
        [&](int p) -> std::int64_t {
            auto next = engine.assign(p);
            if (!next) {
                assign_error = next.error().message;
                return -1;
            }
            return *next;
        },
        [&](const std::vector<int>& lost) { engine.revoke(lost); });
    if (!consumer) {
        return report(consumer.error());
    }
    std::signal(SIGINT, [](int) { stopping = true; });
    std::signal(SIGTERM, [](int) { stopping = true; });

    std::vector<kafka::message> polled;
    std::vector<features::raw_message> batch;
    std::size_t applied = 0, dead = 0;
    std::array<std::size_t, events::all_reasons.size()> by_reason{};
    const auto started = clock::now();
    auto last_data = started;
    std::optional<clock::time_point> first_batch, last_batch;
    auto last_report = started;
    // What a process() or flush() reports: counts, metrics, partitions to read again.
    auto account = [&](const features::batch_result& r, std::optional<double> seconds) -> bool {
        probe.batch(r, seconds, wall_ms());
        for (int p : r.stale) {
            log.warn("stale commit, re-seeking", {{"partition", p}});
            auto next = engine.assign(p);
            if (!next || !(*consumer)->seek(p, *next)) {
                return false;
            }
        }
        applied += r.applied;
        dead += r.dead_lettered;
        for (std::size_t i = 0; i < by_reason.size(); ++i) {
            by_reason[i] += r.by_reason[i];
        }
        if (r.applied > 0 || seconds) {
            last_batch = clock::now();  // busy until the last write landed
        }
        return true;
    };
    log.info("started", {{"group", cfg.stream.group}, {"topic", cfg.kafka.events_topic}});
    while (!stopping) {
        if (auto r =
                (*consumer)->poll_batch(polled, static_cast<std::size_t>(cfg.stream.batch_size),
                                        std::chrono::milliseconds(200),
                                        std::chrono::milliseconds(cfg.stream.batch_linger_ms));
            !r) {
            return report(r.error());
        }
        if (!assign_error.empty()) {
            return report({error_code::unavailable, "reading partition offsets: " + assign_error});
        }
        const auto now = clock::now();
        if (polled.empty()) {
            // Nothing new: let the last batch's write land (and be counted) now.
            auto r = engine.flush();
            if (!r) {
                return report(r.error());
            }
            if (!account(*r, std::nullopt)) {
                return report({error_code::unavailable, "re-seeking a stale partition"});
            }
            if (o.until_idle_s > 0 &&
                std::chrono::duration<double>(now - last_data).count() >= o.until_idle_s) {
                if (group_caught_up(**consumer, store, engine)) {
                    break;
                }
                last_data = now;  // not yet: look again after another idle period
            }
            continue;
        }
        last_data = now;
        if (!first_batch) {
            first_batch = now;
        }
        batch.clear();
        for (const auto& m : polled) {
            batch.push_back({m.partition, m.offset, m.key, m.value});
        }
        auto r = engine.process(batch);
        if (!r) {
            return report(r.error());
        }
        if (!account(*r, std::chrono::duration<double>(clock::now() - now).count())) {
            return report({error_code::unavailable, "re-seeking a stale partition"});
        }
        if (now - last_report > std::chrono::seconds(2)) {
            last_report = now;
            probe.lag((*consumer)->lag());
            const auto users = store.key_cache(features::key_kind::user);
            const auto shared = store.key_cache(features::key_kind::shared);
            probe.key_cache({users.hits, users.misses, shared.hits, shared.misses});
            log.info("progress", {{"applied", applied}, {"dead_lettered", dead}});
        }
    }
    // Stopping: the last write lands before the consumer leaves the group.
    if (auto r = engine.flush(); !r || !account(*r, std::nullopt)) {
        return report(r ? error{error_code::unavailable, "re-seeking a stale partition"}
                        : r.error());
    }
    (*consumer)->close();
    // The rate over the time records were flowing (start-up and the final idle wait excluded).
    const double busy =
        first_batch ? std::chrono::duration<double>(*last_batch - *first_batch).count() : 0.0;
    std::cout << fmt::format("processed {} records: {} applied, {} dead-lettered in {:.1f} s "
                             "({:.0f} records/s)\n",
                             applied + dead, applied, dead, busy,
                             busy > 0 ? static_cast<double>(applied + dead) / busy : 0.0);
    if (dead > 0) {
        std::cout << "  dead letters:";
        for (std::size_t i = 0; i < by_reason.size(); ++i) {
            if (by_reason[i]) {
                std::cout << fmt::format(" {}={}", events::name(events::all_reasons[i]),
                                         by_reason[i]);
            }
        }
        std::cout << "\n";
    }
    return 0;
}

}  // namespace

void add_stream_command(CLI::App& root, context& ctx, action& run)
{
    static stream_options o;
    auto* cmd = root.add_subcommand(
        "stream", "Streaming feature engine: consume ad.events in consumer group stream.group, "
                  "keep windowed features in Redis (exactly-once: offsets advance atomically "
                  "with the updates), send invalid records to the dead-letter topic with a "
                  "reason. Run several to share the partitions. Stops on SIGINT/SIGTERM.");
    cmd->add_option("--until-idle", o.until_idle_s,
                    "Exit once idle this many seconds with the whole group caught up (every "
                    "partition's stored offset at the topic's end): catch up and stop")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) { return run_stream(cfg, o); });
        };
    });
}

}  // namespace adsx::app
