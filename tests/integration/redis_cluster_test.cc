// Proves redis::cluster (redis/cluster.h) against a real three-node Redis Cluster: the stack's own
// ([redis] mode = "cluster", started by the CTest fixture redis_cluster). Our slots are the
// server's (CLUSTER KEYSLOT), every key lands on the master that owns its slot, a pipeline over
// all three masters answers in order, an error reply fails the call naming the node, and the
// client follows the cluster when a slot moves: ASK while the slot migrates (the key already
// moved is read on the target, the others on the source) and MOVED once it has moved. The slot
// goes back to its first owner at the end.
#include <set>

#include "test_config.h"
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/redis/cluster.h"

namespace adsx::redis {
namespace {

using namespace std::chrono_literals;

struct redis_cluster : ::testing::Test
{
    config::config cfg = integration::load_config();
    std::vector<node_address> nodes;
    std::optional<cluster> c;

    void SetUp() override
    {
        ASSERT_EQ(cfg.redis.mode, "cluster") << "run with ADSX_REDIS__MODE=cluster";
        for (int i = 0; i < 3; ++i) {
            nodes.push_back({cfg.redis.host, cfg.redis.port + i});
        }
        auto opened = cluster::open({nodes.front()}, 5s);
        ASSERT_TRUE(opened) << opened.error().message;
        c.emplace(std::move(*opened));
        ASSERT_TRUE(c->table().complete());
        ASSERT_EQ(c->table().masters.size(), 3u);
    }

    connection direct(const node_address& a)
    {
        auto conn = connection::open(a.host, a.port, 5s);
        EXPECT_TRUE(conn) << conn.error().message;
        return std::move(*conn);
    }

    const node_address& owner_of(std::string_view key) const
    {
        return c->table().masters[c->table().owner[hash_slot(key)]];
    }
};

TEST_F(redis_cluster, our_slots_are_the_servers)
{
    auto seed = direct(nodes.front());
    for (int i = 0; i < 500; ++i) {
        const auto key =
            i % 5 == 0 ? fmt::format("u:{{tag{}}}:x", i) : fmt::format("a:{}", i * 7919);
        auto slot = seed.command({"CLUSTER", "KEYSLOT", key});
        ASSERT_TRUE(slot) << slot.error().message;
        EXPECT_EQ(hash_slot(key), slot->integer) << key;
    }
}

TEST_F(redis_cluster, a_pipeline_spans_every_master_and_answers_in_order)
{
    std::vector<std::vector<std::string>> writes, reads;
    for (int i = 0; i < 300; ++i) {
        const auto key = fmt::format("it:cluster:{}", i);
        writes.push_back({"SET", key, std::to_string(i * i), "EX", "600"});
        reads.push_back({"GET", key});
    }
    std::vector<reply> r;
    ASSERT_TRUE(c->pipeline(writes, r));
    ASSERT_TRUE(c->pipeline(reads, r));
    ASSERT_EQ(r.size(), reads.size());
    std::set<std::string> used;
    for (int i = 0; i < 300; ++i) {
        EXPECT_EQ(r[static_cast<std::size_t>(i)].str, std::to_string(i * i));
        // On the master that owns the slot, which answers without a redirect.
        const auto key = reads[static_cast<std::size_t>(i)][1];
        const auto& owner = owner_of(key);
        used.insert(owner.str());
        if (i % 30 == 0) {
            auto on_owner = direct(owner).command({"GET", key});
            ASSERT_TRUE(on_owner) << on_owner.error().message;
            EXPECT_EQ(on_owner->str, std::to_string(i * i));
        }
    }
    EXPECT_EQ(used.size(), 3u);
}

TEST_F(redis_cluster, an_error_reply_fails_the_call_naming_the_node)
{
    ASSERT_TRUE(c->command({"SET", "it:cluster:string", "v"}));
    std::vector<reply> r;
    auto bad = c->pipeline({{"GET", "it:cluster:0"}, {"HGETALL", "it:cluster:string"}}, r);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("WRONGTYPE"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find(owner_of("it:cluster:string").str()), std::string::npos)
        << bad.error().message;
    // The connections stay usable: every reply of the failed call was read.
    EXPECT_TRUE(c->command({"GET", "it:cluster:string"}));
}

// Moves `slot` from `from` to `to` as redis-cli --cluster reshard does; `keys` are migrated
// first, and `finish` false leaves the slot half-way (migrating/importing).
void move_slot(std::uint16_t slot, const node_address& from, const node_address& to,
               const std::vector<std::string>& keys, bool finish)
{
    auto src = connection::open(from.host, from.port, 5s);
    auto dst = connection::open(to.host, to.port, 5s);
    ASSERT_TRUE(src && dst);
    auto src_id = src->command({"CLUSTER", "MYID"});
    auto dst_id = dst->command({"CLUSTER", "MYID"});
    ASSERT_TRUE(src_id && dst_id);
    const auto s = std::to_string(slot);
    ASSERT_TRUE(dst->command({"CLUSTER", "SETSLOT", s, "IMPORTING", src_id->str}));
    ASSERT_TRUE(src->command({"CLUSTER", "SETSLOT", s, "MIGRATING", dst_id->str}));
    for (const auto& k : keys) {
        auto m =
            src->command({"MIGRATE", to.host, std::to_string(to.port), k, "0", "5000", "REPLACE"});
        ASSERT_TRUE(m) << m.error().message;
    }
    if (finish) {
        ASSERT_TRUE(dst->command({"CLUSTER", "SETSLOT", s, "NODE", dst_id->str}));
        ASSERT_TRUE(src->command({"CLUSTER", "SETSLOT", s, "NODE", dst_id->str}));
    }
}

TEST_F(redis_cluster, follows_ask_while_a_slot_migrates_and_moved_once_it_has)
{
    // Two keys of one slot (a hash tag), and a master that does not own it.
    const std::string moved_key = "it:{migrating}:1";
    const std::string staying_key = "it:{migrating}:2";
    const auto slot = hash_slot(moved_key);
    const auto from = owner_of(moved_key);
    node_address to;
    for (const auto& m : c->table().masters) {
        if (!(m == from)) {
            to = m;
        }
    }
    ASSERT_TRUE(c->command({"SET", moved_key, "one"}));
    ASSERT_TRUE(c->command({"SET", staying_key, "two"}));

    move_slot(slot, from, to, {moved_key}, false);
    // The table still says `from`, which answers ASK for the key it no longer has.
    std::vector<reply> r;
    ASSERT_TRUE(c->pipeline({{"GET", moved_key}, {"GET", staying_key}}, r));
    EXPECT_EQ(r[0].str, "one");
    EXPECT_EQ(r[1].str, "two");
    EXPECT_TRUE(owner_of(moved_key) == from);  // ASK leaves the table as it is

    move_slot(slot, from, to, {staying_key}, true);
    // Now `from` answers MOVED: the client reads the table again and finds `to`.
    auto v = c->command({"GET", staying_key});
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->str, "two");
    EXPECT_TRUE(owner_of(staying_key) == to);

    // The slot goes home (the cluster is the stack's, shared with the next test).
    move_slot(slot, to, from, {moved_key, staying_key}, true);
    ASSERT_TRUE(c->refresh());
    EXPECT_TRUE(owner_of(moved_key) == from);
    auto back = c->command({"GET", moved_key});
    ASSERT_TRUE(back);
    EXPECT_EQ(back->str, "one");
}

}  // namespace
}  // namespace adsx::redis
