// `adsx privacy erase|verify|worker`: erasure of one user (GDPR Art. 17) from the stores that hold
// user data, and the scan that proves none is left. These cover Redis (their hash and any key
// naming them) and PostgreSQL (every table with a user id, pg::user_tables()). The Parquet lake
// (events, the offline store, training sets) is rewritten by the Spark job adsx_jobs.lake_erase,
// which stamps the ledger: both commands show where that stands. Kafka's records age out by
// retention behind the suppression list (docs/privacy.md), and both commands say so.
//
// `adsx privacy worker` does the same for each request read from kafka.privacy_topic
// (privacy/erasure_record.h), a batch of them sharing step 4's wait.
//
// Erasure, resumable at every step (pg/privacy.h's ledger):
//   1. the user goes on the suppression list and their ledger row is opened (or resumed);
//   2. their Redis keys are deleted, with the user epoch moved (redis/erasure.h);
//   3. their PostgreSQL rows are deleted, in one transaction;
//   4. after privacy.suppression_refresh_s + 1 s, when every stream worker and experiment
//      collector has reloaded the list and so writes nothing more of them, both are swept
//      again: what one applied between steps 1 and 4 from events still in flight goes too;
//   5. a scan of every store finds nothing: the request is verified and closed.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include "app.h"
#include <fmt/format.h>

#include "adsx/base/backoff.h"
#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/events/contract.h"
#include "adsx/kafka/admin.h"
#include "adsx/kafka/consumer.h"
#include "adsx/log/log.h"
#include "adsx/pg/migrate.h"
#include "adsx/pg/privacy.h"
#include "adsx/privacy/erasure_record.h"
#include "adsx/privacy/pseudonym.h"
#include "adsx/redis/erasure.h"

namespace adsx::app {

result<std::string> pseudonym_of(const config::config& cfg, const std::string& id)
{
    const auto& c = events::contract::ad_event();
    if (!c.properties()[*c.index_of("user_id")].broken(id)) {
        return id;
    }
    auto p = privacy::pseudonymizer::from_key_file(cfg.privacy.hmac_key_file, cfg.privacy.key_id);
    if (!p) {
        return fail(p.error());
    }
    return p->pseudonymize(id);
}

namespace {

// `verify`'s exit when nothing was found but the lake's rewrite or Kafka's retention is still
// to come (or not proven): what is left is named, and when it goes.
constexpr int exit_pending = 3;

struct stores
{
    std::string user;  // the pseudonym ("" for the worker, which serves many)
    pg::connection pg;
    redis::erasure redis;
    std::string bootstrap;            // Kafka
    std::vector<std::string> topics;  // the raw topics that carry user ids (event_topics)
};

// Connections to the stores that may hold a user.
result<stores> open_stores(const config::config& cfg)
{
    auto p = pg::connection::open(cfg.postgres);
    if (!p) {
        return fail(p.error());
    }
    auto r = redis::erasure::open(cfg.redis, std::chrono::seconds(5));
    if (!r) {
        return fail(r.error());
    }
    std::vector<std::string> topics;
    for (const auto& t : event_topics(cfg)) {
        topics.push_back(t.name);
    }
    return stores{{}, std::move(*p), std::move(*r), cfg.kafka.bootstrap_servers, std::move(topics)};
}

// The user named by `id` and connections to the stores that may hold them.
result<stores> connect(const config::config& cfg, const std::string& id)
{
    auto user = pseudonym_of(cfg, id);
    if (!user) {
        return fail(user.error());
    }
    auto s = open_stores(cfg);
    if (s) {
        s->user = std::move(*user);
    }
    return s;
}

// Where a trace of the user is left, one line per key or table.
result<std::vector<std::string>> traces(stores& s, const std::string& user)
{
    std::vector<std::string> found;
    auto keys = s.redis.user_keys(user);
    if (!keys) {
        return fail(keys.error());
    }
    for (const auto& k : *keys) {
        found.push_back(fmt::format("redis     key {}", k));
    }
    auto rows = pg::user_traces(s.pg, user);
    if (!rows) {
        return fail(rows.error());
    }
    for (const auto& [table, n] : *rows) {
        found.push_back(fmt::format("postgres  table {}: {} row(s)", table, n));
    }
    return found;
}

// The stores erasure cannot empty at once, and whether each is clear yet.
struct later_stores
{
    std::vector<std::string> lines;
    bool pending = false;
};

// The lake's part, from the ledger (adsx_jobs.lake_erase rewrites and scans it, in Spark).
void lake_part(stores& s, const std::string& user, later_stores& out)
{
    auto l = pg::lake_state(s.pg, user);
    if (!l || !l->requested || l->pending) {
        out.pending = true;
    }
    if (!l) {
        out.lines.push_back(fmt::format("lake      unknown ({})", l.error().message));
    } else if (l->pending) {
        out.lines.push_back("lake      not rewritten yet: run `.venv/bin/python -m "
                            "adsx_jobs.lake_erase` after the lake job's catch-up");
    } else if (l->requested) {
        out.lines.push_back(fmt::format(
            "lake      rewritten and scanned clean at {} by adsx_jobs.lake_erase", l->last));
    } else {
        out.lines.push_back("lake      not proven: no erasure request (`adsx_jobs.lake_erase "
                            "--verify --user` scans it)");
    }
}

// Kafka's part: has retention moved every partition's oldest record past the erasure's horizon
// (pg::kafka_horizon)? If not, by when it will: records go once they are older than retention.ms
// and their segment is closed (segment.ms at most).
void kafka_part(stores& s, const std::string& user, later_stores& out)
{
    auto h = pg::kafka_horizon_of(s.pg, user);
    if (!h || h->offsets.empty()) {
        out.pending = true;
        out.lines.push_back(
            fmt::format("kafka     not proven: {}",
                        h ? "no erasure has recorded a horizon" : h.error().message));
        return;
    }
    for (const auto& [topic, horizon] : h->offsets) {
        auto marks = kafka::topic_watermarks(s.bootstrap, topic, std::chrono::seconds(5));
        if (!marks) {
            out.pending = true;
            out.lines.push_back(
                fmt::format("kafka     {}: unknown ({})", topic, marks.error().message));
            continue;
        }
        int holding = 0;
        for (const auto& [p, end] : horizon) {
            auto it = marks->find(p);
            holding += it != marks->end() && it->second.first < end ? 1 : 0;
        }
        if (holding == 0) {
            out.lines.push_back(fmt::format(
                "kafka     {}: clear (retention removed every record from before the erasure)",
                topic));
            continue;
        }
        out.pending = true;
        std::int64_t keep_ms = 0;
        if (auto d = kafka::describe_topic(s.bootstrap, topic, std::chrono::seconds(5)); d) {
            for (const char* k : {"retention.ms", "segment.ms"}) {
                keep_ms += d->configs.contains(k) ? std::stoll(d->configs.at(k)) : 0;
            }
        }
        out.lines.push_back(fmt::format(
            "kafka     {}: {} partition(s) still hold records from before the erasure, gone by {} "
            "at the latest (retention.ms + segment.ms); every consumer skips the user meanwhile",
            topic, holding, utc_minute(h->at_ms + keep_ms)));
    }
}

later_stores later_parts(stores& s, const std::string& user)
{
    later_stores out;
    lake_part(s, user, out);
    kafka_part(s, user, out);
    return out;
}

// Prints what the scan found, then the lake's and Kafka's state. 1 when a trace was found.
int print_traces(const std::vector<std::string>& found, const std::string& user,
                 const later_stores& later)
{
    for (const auto& line : found) {
        std::cout << line << "\n";
    }
    if (found.empty()) {
        std::string tables;
        for (const auto& t : pg::user_tables()) {
            tables += fmt::format("{}{}", tables.empty() ? "" : ", ", t.name);
        }
        std::cout << fmt::format("no trace of {} in redis (keys naming them), postgres ({})\n",
                                 user, tables);
    }
    for (const auto& line : later.lines) {
        std::cout << line << "\n";
    }
    if (!found.empty()) {
        std::cerr << fmt::format("adsx: {} trace(s) of {} left\n", found.size(), user);
        return 1;
    }
    return 0;
}

int verify(const config::config& cfg, const std::string& id)
{
    auto s = connect(cfg, id);
    if (!s) {
        return report(s.error());
    }
    auto found = traces(*s, s->user);
    if (!found) {
        return report(found.error());
    }
    const auto later = later_parts(*s, s->user);
    const int code = print_traces(*found, s->user, later);
    return code == 0 && later.pending ? exit_pending : code;
}

// Steps 2 and 3 of request `id` (above): the first sweep of Redis and PostgreSQL, each store's
// outcome in the ledger.
result<void> first_sweep(stores& s, const std::string& user, std::int64_t id, std::ostream& out)
{
    auto keys = s.redis.erase_user(user);
    if (!keys) {
        return fail(keys.error());
    }
    out << fmt::format("redis     {} key(s) of {} deleted\n", *keys, user);
    if (auto r = pg::record_store(s.pg, id, "redis", fmt::format(R"({{"keys":{}}})", *keys)); !r) {
        return r;
    }
    auto rows = pg::erase_user_rows(s.pg, user);
    if (!rows) {
        return fail(rows.error());
    }
    std::string rows_json;
    for (const auto& [table, n] : *rows) {
        out << fmt::format("postgres  {}: {} row(s) deleted\n", table, n);
        rows_json += fmt::format("{}{}:{}", rows_json.empty() ? "" : ",", json_quote(table), n);
    }
    return pg::record_store(s.pg, id, "postgres", "{" + rows_json + "}");
}

// Step 4's horizon in Kafka (pg::kafka_horizon): the end offset of every partition of the raw
// topics, now that no producer (the generator's edge, serving) writes the user any more.
result<void> record_kafka_horizon(stores& s, std::int64_t id)
{
    std::string topics;
    for (const auto& topic : s.topics) {
        auto marks = kafka::topic_watermarks(s.bootstrap, topic, std::chrono::seconds(5));
        if (!marks) {
            return fail(marks.error());
        }
        std::string ends;
        for (const auto& [p, range] : *marks) {
            ends += fmt::format(R"({}"{}":{})", ends.empty() ? "" : ",", p, range.second);
        }
        topics += fmt::format("{}{}:{{{}}}", topics.empty() ? "" : ",", json_quote(topic), ends);
    }
    return pg::record_store(s.pg, id, "kafka",
                            fmt::format(R"({{"at_ms":{},"horizon":{{{}}}}})", wall_ms(), topics));
}

// Steps 4 and 5, once every consumer has reloaded the suppression list: the second sweep, then
// the scan; the request is completed, and verified when nothing is left. The traces left.
result<std::vector<std::string>> second_sweep(stores& s, const std::string& user, std::int64_t id,
                                              std::ostream& out)
{
    auto keys = s.redis.erase_user(user);
    if (!keys) {
        return fail(keys.error());
    }
    auto rows = pg::erase_user_rows(s.pg, user);
    if (!rows) {
        return fail(rows.error());
    }
    std::int64_t rows_left = 0;
    for (const auto& [table, n] : *rows) {
        rows_left += n;
    }
    out << fmt::format("second sweep of {}: {} key(s), {} row(s) deleted\n", user, *keys,
                       rows_left);
    if (auto r = pg::record_store(s.pg, id, "second_sweep",
                                  fmt::format(R"({{"redis":{},"postgres":{}}})", *keys, rows_left));
        !r) {
        return fail(r.error());
    }
    if (auto r = record_kafka_horizon(s, id); !r) {
        return fail(r.error());
    }
    if (auto r = pg::mark_completed(s.pg, id); !r) {
        return fail(r.error());
    }
    auto found = traces(s, user);
    if (found && found->empty()) {
        if (auto r = pg::mark_verified(s.pg, id); !r) {
            return fail(r.error());
        }
    }
    return found;
}

// Waits as long as a consumer of the events may still write a user just put on the
// suppression list (step 4), saying so.
void wait_for_consumers(const config::config& cfg)
{
    const auto wait = std::chrono::seconds(cfg.privacy.suppression_refresh_s + 1);
    std::cout << fmt::format("waiting {} s for stream workers and collectors to reload the "
                             "suppression list\n",
                             wait.count())
              << std::flush;
    std::this_thread::sleep_for(wait);
}

int erase(const config::config& cfg, const std::string& id)
{
    auto s = connect(cfg, id);
    if (!s) {
        return report(s.error());
    }
    const std::string& user = s->user;
    auto req = pg::open_erasure(s->pg, user, "cli");
    if (!req) {
        return report(req.error());
    }
    std::cout << fmt::format("erasing {} (request {}{}); on the suppression list\n", user, req->id,
                             req->resumed ? ", resumed" : "");
    if (auto r = first_sweep(*s, user, req->id, std::cout); !r) {
        return report(r.error());
    }
    wait_for_consumers(cfg);
    auto found = second_sweep(*s, user, req->id, std::cout);
    return found ? print_traces(*found, user, later_parts(*s, user)) : report(found.error());
}

volatile std::sig_atomic_t stop_worker = 0;

// One request read from the topic, opened in the ledger.
struct queued
{
    std::string user;
    std::int64_t id;
};

struct worker_tally
{
    std::uint64_t verified = 0;
    std::uint64_t refused = 0;  // records naming no user
};

// One poll's requests, as the worker below does them.
result<void> erase_batch(const config::config& cfg, stores& s,
                         const std::vector<kafka::message>& batch, worker_tally& t,
                         const log::logger& log)
{
    std::vector<queued> open;
    for (const auto& m : batch) {
        auto rec = privacy::decode_erasure_record(m.value);
        auto user = rec ? pseudonym_of(cfg, rec->user_id) : fail(rec.error());
        if (!user) {
            // Nothing to erase without a user: said where the record is, never dropped
            // silently (its bytes stay in the topic for whoever fixes the producer).
            ++t.refused;
            log.error("erasure record refused", {{"partition", m.partition},
                                                 {"offset", m.offset},
                                                 {"reason", user.error().message}});
            continue;
        }
        const auto key = rec->request_id.empty() ? fmt::format("{}/{}/{}", cfg.kafka.privacy_topic,
                                                               m.partition, m.offset)
                                                 : rec->request_id;
        auto req = pg::open_erasure(s.pg, *user, rec->source, key);
        if (!req) {
            return fail(req.error());
        }
        if (req->done || std::any_of(open.begin(), open.end(),
                                     [&](const queued& q) { return q.id == req->id; })) {
            continue;  // done, or already in this batch (a client's retry queues it again)
        }
        std::cout << fmt::format("erasing {} (request {}{})\n", *user, req->id,
                                 req->resumed ? ", resumed" : "");
        if (auto r = first_sweep(s, *user, req->id, std::cout); !r) {
            return r;
        }
        open.push_back({*user, req->id});
    }
    if (!open.empty()) {
        wait_for_consumers(cfg);
    }
    for (const auto& q : open) {
        auto found = second_sweep(s, q.user, q.id, std::cout);
        if (!found) {
            return fail(found.error());
        }
        if (!found->empty()) {
            // Left open: the next request for the user (or a restart) resumes it.
            log.error("erasure not verified: traces left",
                      {{"request", q.id}, {"traces", found->size()}});
            continue;
        }
        log.info("erasure verified", {{"request", q.id}});
        ++t.verified;
    }
    return {};
}

// erase_batch until it succeeds: a store that failed (Redis or PostgreSQL down, or a command
// past its timeout on a loaded machine) is given new connections after a backoff with jitter,
// and the batch is done again, which the ledger makes harmless. Tallies count the attempt that
// succeeded. A worker run --until-idle (a batch job) gives up after `bounded_attempts`; a
// service retries until stopped.
result<void> erase_with_retries(const config::config& cfg, stores& s,
                                const std::vector<kafka::message>& batch, worker_tally& tally,
                                const log::logger& log, int bounded_attempts)
{
    backoff retry(std::chrono::milliseconds(500), std::chrono::seconds(16), std::random_device{}());
    while (true) {
        worker_tally attempt = tally;
        auto r = erase_batch(cfg, s, batch, attempt, log);
        if (r) {
            tally = attempt;
            return r;
        }
        if (stop_worker || (bounded_attempts > 0 && retry.failures() + 1 >= bounded_attempts)) {
            return r;
        }
        const auto wait = retry.next();
        log.warn("erasure batch failed: retrying on new connections",
                 {{"reason", r.error().message},
                  {"failures", retry.failures()},
                  {"retry_in_ms", static_cast<std::int64_t>(wait.count())}});
        for (auto until = std::chrono::steady_clock::now() + wait;
             !stop_worker && std::chrono::steady_clock::now() < until;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (auto fresh = open_stores(cfg)) {
            s = std::move(*fresh);  // else the next attempt fails on the old ones and waits longer
        }
    }
}

// The worker: the requests of each poll are opened (suppressed at once) and swept together,
// then, after one reload wait for all of them, swept again and verified; only then is the
// topic position stored. A crash anywhere repeats the batch, which the ledger makes harmless:
// a request found done is skipped, an open one resumed.
int run_worker(const config::config& cfg, double until_idle_s)
{
    auto log = log::get("privacy");
    auto s = open_stores(cfg);
    if (!s) {
        return report(s.error());
    }
    if (auto m = pg::migrate(s->pg, migrations_dir(cfg)); !m) {
        return report(m.error());
    }
    if (auto r = ensure_event_topics(cfg, std::chrono::seconds(15)); !r) {
        return report(r.error());
    }
    const auto& topic = cfg.kafka.privacy_topic;
    auto stored = pg::worker_offsets(s->pg, topic);
    if (!stored) {
        return report(stored.error());
    }
    std::map<int, std::int64_t> position = *stored;
    auto group = consumer_from(cfg, "privacy", topic, position);
    if (!group) {
        return report(group.error());
    }
    std::signal(SIGINT, [](int) { stop_worker = 1; });
    std::signal(SIGTERM, [](int) { stop_worker = 1; });
    std::cout << fmt::format("privacy worker: erasure requests from {}\n", topic) << std::flush;
    std::vector<kafka::message> batch;
    worker_tally tally;
    auto last_data = std::chrono::steady_clock::now();
    while (!stop_worker) {
        if (auto r = (*group)->poll_batch(batch, 100, std::chrono::milliseconds(500),
                                          std::chrono::milliseconds(100));
            !r) {
            return report(r.error());
        }
        if (batch.empty()) {
            if (until_idle_s > 0 && std::chrono::steady_clock::now() - last_data >=
                                        std::chrono::duration<double>(until_idle_s)) {
                auto all = caught_up(**group, position);
                if (!all) {
                    return report(all.error());
                }
                if (*all) {
                    break;
                }
            }
            continue;
        }
        last_data = std::chrono::steady_clock::now();
        if (auto r = erase_with_retries(cfg, *s, batch, tally, log, until_idle_s > 0 ? 6 : 0); !r) {
            return report(r.error());
        }
        std::map<int, std::int64_t> next;
        for (const auto& m : batch) {
            next[m.partition] = m.offset + 1;
        }
        if (auto r = pg::store_worker_offsets(s->pg, topic, next); !r) {
            return report(r.error());
        }
        for (const auto& [p, o] : next) {
            position[p] = o;
        }
        (void)(*group)->report_offsets(next, false);
        std::cout << std::flush;
    }
    (*group)->close();
    std::cout << fmt::format("privacy worker stopped: {} erasure(s) verified, {} record(s) "
                             "refused\n",
                             tally.verified, tally.refused);
    return 0;
}

}  // namespace

void add_privacy_commands(CLI::App& root, context& ctx, action& run)
{
    static std::string user;
    auto* privacy =
        root.add_subcommand("privacy", "Privacy operations on stored data: erasure and its proof");
    privacy->require_subcommand(1);
    auto* erase_cmd = privacy->add_subcommand(
        "erase",
        "Erase a user (GDPR Art. 17) from Redis and PostgreSQL, put them on the suppression "
        "list the stream engine consults (a replay cannot bring them back), record each step "
        "in the audit ledger (privacy_requests; a request cut short is resumed by the next "
        "erase) with Kafka's horizon (the end of every raw topic once nothing more of the user "
        "is written), then verify. Exits 0 once Redis and PostgreSQL are verified, 1 if a trace "
        "is left; says what the lake's rewrite (adsx_jobs.lake_erase) and Kafka's retention "
        "still have to remove.");
    auto* verify_cmd = privacy->add_subcommand(
        "verify",
        "Prove a user gone from every store: Redis and PostgreSQL scanned, the lake's rewrite "
        "from the ledger (adsx_jobs.lake_erase scans it), Kafka from its partitions' oldest "
        "offsets against the erasure's horizon. Exit 0 when all are clear; 1 naming each key and "
        "table that holds a trace; 3 when none is found but the lake's rewrite or Kafka's "
        "retention is still to come (saying by when) or not proven");
    for (auto* cmd : {erase_cmd, verify_cmd}) {
        cmd->add_option("--user", user,
                        "The user: a raw id (pseudonymised with the configured "
                        "key) or a pseudonym (k1:<32 hex>)")
            ->required()
            ->check(CLI::Validator(
                [](const std::string& v) {
                    return v.empty() ? std::string("must not be empty") : std::string();
                },
                "NONEMPTY"));
    }
    static double until_idle_s = 0;
    auto* worker_cmd = privacy->add_subcommand(
        "worker", "Process erasure requests from kafka.privacy_topic (records "
                  "{\"request_id\", \"user_id\", \"source\"}, as POST /admin/privacy/erasures "
                  "queues them): each is erased as `erase` does, recorded in the ledger and "
                  "verified; idempotent by request_id, so a restart after a crash resumes, and a "
                  "batch a store failed is done again on new connections after a backoff. Runs "
                  "until stopped (SIGINT/SIGTERM).");
    worker_cmd
        ->add_option("--until-idle", until_idle_s,
                     "Exit once every request is done and none came for this many seconds")
        ->check(CLI::Range(0.1, 86'400.0));
    worker_cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const auto& cfg) { return run_worker(cfg, until_idle_s); });
        };
    });
    add_retention_command(*privacy, ctx, run);
    erase_cmd->callback([&] {
        run = [&ctx] { return with_config(ctx, [](const auto& cfg) { return erase(cfg, user); }); };
    });
    verify_cmd->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const auto& cfg) { return verify(cfg, user); });
        };
    });
}

}  // namespace adsx::app
