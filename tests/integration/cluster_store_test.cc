// Proves redis::cluster_store (the online store on Redis Cluster) against the stack's three-node
// cluster, driven by the real stream engine over 4 partitions of generated events (impressions,
// clicks that follow them and some that do not, conversions, users without consent, late
// records), polled in interleaved batches as a consumer would deliver them:
//   - uninterrupted, every feature hash is what redis::feature_store writes on one server for
//     the same polls (a redis-server of the test's own), key for key and field for field;
//   - with the worker "killed" between two transactions of a commit, again and again (in the
//     shards' phase and in the logs'), each time a new store and engine taking over from what
//     Redis holds, the cluster ends in exactly the uninterrupted state: no record counted
//     twice or lost, offsets and watermarks where they belong;
//   - a worker that lost a partition to another (which claimed it) cannot land a batch of it.
#include <cstdlib>
#include <map>
#include <thread>

#include "test_config.h"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/events/codec.h"
#include "adsx/features/engine.h"
#include "adsx/redis/cluster_store.h"
#include "adsx/redis/feature_store.h"

namespace adsx {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t now = 1'790'000'000'000;
constexpr int partitions = 4;

// Each partition's records, in order (payloads kept alive here).
struct stream
{
    std::vector<std::vector<std::string>> payloads{partitions};
    std::vector<std::vector<std::string>> keys{partitions};

    stream()
    {
        std::uint64_t x = 42;
        auto next = [&x](std::uint64_t n) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            return (x >> 33) % n;
        };
        std::vector<std::string> users;
        for (int u = 0; u < 120; ++u) {
            users.push_back(fmt::format("k1:{:032x}", 0x5eed0000ULL + u));
        }
        std::uint8_t request = 0;
        for (int i = 0; i < 2400; ++i) {
            const auto u = next(users.size());
            const int p = static_cast<int>(u % partitions);
            events::event e;
            e.event_id.bytes[0] = static_cast<std::uint8_t>(i);
            e.event_id.bytes[1] = static_cast<std::uint8_t>(i >> 8);
            const auto kind = next(10);
            e.type = kind < 7   ? events::event_type::impression
                     : kind < 9 ? events::event_type::click
                                : events::event_type::conversion;
            // Mostly in order over 2 hours, some up to 10 min late (past the allowed lateness).
            e.event_time_ms = now - 2 * hour_ms + i * 3000 - (next(20) == 0 ? 10 * minute_ms : 0);
            e.user_id = users[u];
            e.ad_id = static_cast<std::uint32_t>(1 + next(60));
            e.campaign_id = e.ad_id / 10 + 1;
            e.advertiser_id = 1;
            // Follow-ups name a recent request of any kind: some find their impression or
            // click, some do not (orphans).
            if (e.type == events::event_type::impression) {
                ++request;
            }
            e.request_id.bytes[15] = static_cast<std::uint8_t>(
                request -
                (e.type == events::event_type::impression ? 0 : static_cast<int>(next(3))));
            e.request_id.bytes[14] = static_cast<std::uint8_t>(u);
            e.device = next(2) ? events::device_type::ios : events::device_type::desktop;
            e.geo = next(2) ? "US-CA" : "DE-BE";
            e.placement = "feed";
            e.consent = u % 7 == 0 ? "NO" : "YES";
            e.ip = "203.0.113.0";
            e.user_agent = "x";
            std::string s;
            events::encode(e, s);
            payloads[static_cast<std::size_t>(p)].push_back(std::move(s));
            keys[static_cast<std::size_t>(p)].push_back(users[u]);
        }
    }
};

class null_sink final : public features::dead_letter_sink
{
public:
    result<void> write(const std::vector<features::dead_letter>&) override { return {}; }
};

// A worker: an engine over `store` that polls `s` like a consumer (up to 50 records of each
// partition per poll, interleaved) from where each partition stands, until all is applied
// (returns "") or a commit fails (returns its error).
std::string run_worker(features::stream_store& store, const stream& s, const clock& clock)
{
    null_sink dlq;
    features::engine e(
        store, dlq, [](ad_id ad) { return ad.value < 100; },
        [](std::string_view, std::string_view consent) { return consent == "YES"; }, clock,
        {.topic = "t", .group = "it"});
    std::vector<std::int64_t> cursor(partitions);
    auto seek = [&](int p) {
        auto next = e.assign(p);
        EXPECT_TRUE(next) << next.error().message;
        cursor[static_cast<std::size_t>(p)] = next && *next >= 0 ? *next : 0;
    };
    for (int p = 0; p < partitions; ++p) {
        seek(p);
    }
    for (;;) {
        std::vector<features::raw_message> poll;
        for (std::size_t i = 0; i < 50; ++i) {
            for (int p = 0; p < partitions; ++p) {
                const auto at = static_cast<std::size_t>(cursor[static_cast<std::size_t>(p)]) + i;
                if (at < s.payloads[static_cast<std::size_t>(p)].size()) {
                    poll.push_back({p, static_cast<std::int64_t>(at),
                                    s.keys[static_cast<std::size_t>(p)][at],
                                    s.payloads[static_cast<std::size_t>(p)][at]});
                }
            }
        }
        if (poll.empty()) {
            auto flushed = e.flush();  // the write in flight (one server's store) lands
            return flushed ? "" : flushed.error().message;
        }
        for (const auto& m : poll) {
            cursor[static_cast<std::size_t>(m.partition)] =
                std::max(cursor[static_cast<std::size_t>(m.partition)], m.offset + 1);
        }
        auto r = e.process(poll);
        if (!r) {
            return r.error().message;
        }
        for (int p : r->stale) {
            seek(p);
        }
    }
}

// Every entity hash (u:, a:, c:), its hash tag removed, with all its fields.
using snapshot = std::map<std::string, std::map<std::string, std::string>>;

void add_keys(redis::connection& c, snapshot& out)
{
    std::string cursor = "0";
    do {
        auto r = c.command({"SCAN", cursor, "COUNT", "1000"});
        ASSERT_TRUE(r) << r.error().message;
        cursor = r->elements[0].str;
        for (const auto& k : r->elements[1].elements) {
            std::string name = k.str;
            if (name.starts_with('{')) {
                name = name.substr(name.find('}') + 1);
            }
            if (!(name.starts_with("u:") || name.starts_with("a:") || name.starts_with("c:"))) {
                continue;
            }
            auto h = c.hgetall(k.str);
            ASSERT_TRUE(h) << h.error().message;
            out[name] = std::map<std::string, std::string>(h->begin(), h->end());
        }
    } while (cursor != "0");
}

struct cluster_stack
{
    config::config cfg = integration::load_config();
    std::vector<redis::node_address> seeds{{cfg.redis.host, cfg.redis.port}};

    void flush()
    {
        auto c = redis::cluster::open(seeds, 5s);
        ASSERT_TRUE(c);
        auto masters = c->masters();
        ASSERT_TRUE(masters);
        for (auto* m : *masters) {
            ASSERT_TRUE(m->command({"FLUSHALL"}));
        }
    }
    snapshot keys()
    {
        snapshot out;
        auto c = redis::cluster::open(seeds, 5s);
        EXPECT_TRUE(c);
        auto masters = c->masters();
        EXPECT_TRUE(masters);
        for (auto* m : *masters) {
            add_keys(*m, out);
        }
        return out;
    }
    redis::cluster_store store()
    {
        auto s = redis::cluster_store::open(seeds, 48h);
        EXPECT_TRUE(s) << s.error().message;
        return std::move(*s);
    }
    // Where partition p stands, as a worker taking it would find it.
    features::partition_state state(int p)
    {
        auto s = store();
        auto st = s.load(fmt::format("it:t:{}", p));
        EXPECT_TRUE(st) << st.error().message;
        return *st;
    }
};

// A redis-server of the test's own (one server), for feature_store's reference run.
struct single_redis
{
    int port;
    explicit single_redis(int p) : port(p)
    {
        const auto dir = fmt::format("/tmp/adsx-it-single-{}", port);
        EXPECT_EQ(
            std::system(fmt::format("mkdir -p {0} && redis-server --port {1} --bind 127.0.0.1 "
                                    "--save '' --appendonly no --daemonize yes --dir {0} "
                                    "--logfile {0}/log",
                                    dir, port)
                            .c_str()),
            0);
        for (int i = 0; i < 50; ++i) {
            if (redis::connection::open("127.0.0.1", port, 1s)) {
                break;
            }
            std::this_thread::sleep_for(100ms);
        }
    }
    ~single_redis()
    {
        EXPECT_EQ(
            std::system(fmt::format("redis-cli -p {} shutdown nosave >/dev/null", port).c_str()),
            0);
    }
};

// What one worker leaves on the emptied cluster after the whole stream, uninterrupted.
snapshot uninterrupted(cluster_stack& cl, const stream& s, const clock& clock)
{
    cl.flush();
    auto store = cl.store();
    EXPECT_EQ(run_worker(store, s, clock), "");
    return cl.keys();
}

TEST(cluster_store, writes_what_the_single_server_store_writes)
{
    cluster_stack cl;
    const stream s;
    manual_clock clock(now);
    const auto on_cluster = uninterrupted(cl, s, clock);

    single_redis one(cl.cfg.redis.port + 100);
    auto fs = redis::feature_store::open("127.0.0.1", one.port, {.ttl = 48h}, clock);
    ASSERT_TRUE(fs) << fs.error().message;
    ASSERT_TRUE(fs->conn().command({"FLUSHALL"}));
    ASSERT_EQ(run_worker(*fs, s, clock), "");
    snapshot on_one;
    add_keys(fs->conn(), on_one);

    ASSERT_GT(on_one.size(), 150u);  // users, ads and campaigns (169 keys, ~6k fields)
    EXPECT_EQ(on_cluster.size(), on_one.size());
    EXPECT_TRUE(on_cluster == on_one);
    for (int p = 0; p < partitions; ++p) {
        const auto st = cl.state(p);
        EXPECT_EQ(st.next_offset, static_cast<std::int64_t>(s.payloads[p].size()));
        EXPECT_EQ(st.replay_to, -1);
        auto one_st = fs->load(fmt::format("it:t:{}", p));
        ASSERT_TRUE(one_st);
        EXPECT_EQ(st.max_event_time, one_st->max_event_time);
    }
    // Every master holds some of it.
    auto c = redis::cluster::open(cl.seeds, 5s);
    ASSERT_TRUE(c);
    auto masters = c->masters();
    ASSERT_TRUE(masters);
    for (auto* m : *masters) {
        auto n = m->command({"DBSIZE"});
        ASSERT_TRUE(n);
        EXPECT_GT(n->integer, 20);
    }
}

TEST(cluster_store, a_worker_killed_between_transactions_resumes_to_the_same_state)
{
    cluster_stack cl;
    const stream s;
    manual_clock clock(now);
    const auto reference = uninterrupted(cl, s, clock);

    cl.flush();
    int crashes = 0, replays = 0;
    for (int stop_at = 5;; stop_at += 7) {
        auto store = cl.store();  // a new worker, with a claim of its own
        for (int p = 0; p < partitions; ++p) {
            replays += cl.state(p).replay_to >= 0;
        }
        int seen = 0;
        store.stop_before_write([&](const std::string&) { return ++seen == stop_at; });
        const auto failed = run_worker(store, s, clock);
        if (failed.empty()) {
            break;
        }
        ASSERT_EQ(seen, stop_at) << "a worker failed on its own: " << failed;
        ++crashes;
    }
    EXPECT_GE(crashes, 5);
    EXPECT_GT(replays, 0) << "no crash fell inside a commit's shards";
    EXPECT_TRUE(cl.keys() == reference);
    for (int p = 0; p < partitions; ++p) {
        EXPECT_EQ(cl.state(p).next_offset, static_cast<std::int64_t>(s.payloads[p].size()));
        EXPECT_EQ(cl.state(p).replay_to, -1);
    }
}

TEST(cluster_store, a_worker_that_lost_its_partition_cannot_land_a_batch_of_it)
{
    cluster_stack cl;
    const stream s;
    manual_clock clock(now);
    cl.flush();
    auto old_owner = cl.store();
    null_sink dlq;
    features::engine e(
        old_owner, dlq, [](ad_id ad) { return ad.value < 100; },
        [](std::string_view, std::string_view) { return true; }, clock,
        {.topic = "t", .group = "it"});
    ASSERT_TRUE(e.assign(0));
    // Another worker takes partition 0 (it claims every offsets hash of it).
    auto new_owner = cl.store();
    ASSERT_TRUE(new_owner.load("it:t:0"));
    std::vector<features::raw_message> poll;
    for (std::size_t i = 0; i < 20; ++i) {
        poll.push_back({0, static_cast<std::int64_t>(i), s.keys[0][i], s.payloads[0][i]});
    }
    auto r = e.process(poll);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stale, std::vector<int>{0});
    EXPECT_TRUE(cl.keys().empty()) << "nothing of the old owner's batch may land";
    EXPECT_EQ(cl.state(0).next_offset, -1);
}

}  // namespace
}  // namespace adsx
