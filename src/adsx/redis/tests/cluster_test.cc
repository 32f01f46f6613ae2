// Proves Redis Cluster's routing rules as the cluster client applies them, without a server:
// hash slots (CRC16-XMODEM, hash tags), MOVED/ASK redirects parsed from error replies, and the
// slot table read from a CLUSTER SLOTS reply. The expected slots are redis-server 7's own
// answers to CLUSTER KEYSLOT; tests/integration/redis_cluster_test.cc checks the client against
// a real three-node cluster.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "adsx/redis/cluster.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {
namespace {

TEST(hash_slot, is_the_servers_crc16_of_the_key)
{
    EXPECT_EQ(hash_slot("123456789"), 0x31C3);  // the specification's CRC16 check value
    EXPECT_EQ(hash_slot("foo"), 12182);
    EXPECT_EQ(hash_slot("bar"), 5061);
    EXPECT_EQ(hash_slot(""), 0);
}

TEST(hash_slot, hashes_only_a_non_empty_tag_between_the_first_braces)
{
    EXPECT_EQ(hash_slot("{user1000}.following"), 3443);
    EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
    EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));  // the first tag only
    EXPECT_EQ(hash_slot("foo{}{bar}"), 8363);                 // empty tag: the whole key
    EXPECT_EQ(hash_slot("foo{{bar}}zap"), 4015);              // the tag is "{bar"
    EXPECT_EQ(hash_slot("foo{{bar}}zap"), hash_slot("{bar"));
    EXPECT_EQ(hash_slot("{}"), 15257);
    EXPECT_EQ(hash_slot("a{b"), 13340);  // no closing brace: the whole key
}

TEST(parse_redirect, reads_moved_and_ask)
{
    auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, redirect::kind::moved);
    EXPECT_EQ(m->slot, 3999);
    EXPECT_EQ(m->to, (node_address{"127.0.0.1", 6381}));
    auto a = parse_redirect("ASK 16383 ::1:7000");  // an IPv6 host: the port after the last ':'
    ASSERT_TRUE(a);
    EXPECT_EQ(a->type, redirect::kind::ask);
    EXPECT_EQ(a->slot, 16383);
    EXPECT_EQ(a->to, (node_address{"::1", 7000}));
}

TEST(parse_redirect, refuses_other_errors_and_malformed_redirects)
{
    for (std::string_view e :
         {"ERR unknown command", "CROSSSLOT Keys in request don't hash", "MOVED", "MOVED 3999",
          "MOVED x 127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381", "ASK 1 127.0.0.1:port",
          "MOVED -1 127.0.0.1:6381"}) {
        EXPECT_FALSE(parse_redirect(e)) << e;
    }
}

reply integer(std::int64_t v)
{
    reply r;
    r.type = reply::kind::integer;
    r.integer = v;
    return r;
}

reply string(std::string s)
{
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}

reply array(std::vector<reply> e)
{
    reply r;
    r.type = reply::kind::array;
    r.elements = std::move(e);
    return r;
}

reply range(std::int64_t first, std::int64_t last, std::string host, int port)
{
    return array({integer(first), integer(last),
                  array({string(std::move(host)), integer(port), string("node-id")}),
                  // a replica, which is not routed to
                  array({string("127.0.0.1"), integer(9999), string("replica-id")})});
}

TEST(slot_table, maps_each_slot_to_its_master)
{
    auto t = slot_table::parse(
        array({range(0, 5460, "127.0.0.1", 7000), range(5461, 10922, "127.0.0.1", 7001),
               range(10923, 12000, "127.0.0.1", 7002), range(12001, 16383, "127.0.0.1", 7000)}));
    ASSERT_TRUE(t) << t.error().message;
    ASSERT_EQ(t->masters.size(), 3u);  // 7000 once, though it owns two ranges
    EXPECT_TRUE(t->complete());
    EXPECT_EQ(t->masters[t->owner[0]].port, 7000);
    EXPECT_EQ(t->masters[t->owner[5461]].port, 7001);
    EXPECT_EQ(t->masters[t->owner[12000]].port, 7002);
    EXPECT_EQ(t->masters[t->owner[16383]].port, 7000);
}

TEST(slot_table, knows_which_slots_have_no_master)
{
    auto t = slot_table::parse(array({range(0, 100, "127.0.0.1", 7000)}));
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->complete());
    EXPECT_EQ(t->owner[101], slot_table::unassigned);
    auto empty = slot_table::parse(array({}));
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->complete());
}

TEST(slot_table, refuses_malformed_replies)
{
    EXPECT_FALSE(slot_table::parse(string("oops")));
    EXPECT_FALSE(slot_table::parse(array({array({integer(0), integer(10)})})));
    EXPECT_FALSE(slot_table::parse(array({range(10, 5, "127.0.0.1", 7000)})));
    EXPECT_FALSE(slot_table::parse(array({range(0, 16384, "127.0.0.1", 7000)})));
}

TEST(shards, each_tag_is_the_smallest_number_in_its_part_of_the_slots)
{
    std::set<std::uint16_t> slots;
    for (std::size_t s = 0; s < cluster_shards; ++s) {
        const auto& tag = shard_tag(s);
        ASSERT_TRUE(tag.starts_with('{') && tag.ends_with('}')) << tag;
        const auto number = tag.substr(1, tag.size() - 2);
        EXPECT_EQ(shard_of(number), s);
        EXPECT_EQ(hash_slot(tag + "anything"), hash_slot(number));
        for (int smaller = 0; smaller < std::stoi(number); ++smaller) {
            EXPECT_NE(shard_of(std::to_string(smaller)), s) << smaller << " is smaller";
        }
        slots.insert(hash_slot(tag));
    }
    EXPECT_EQ(slots.size(), cluster_shards);
    EXPECT_EQ(shard_tag(0), "{10}");  // schemas/online_store.json's rule, worked once by hand
}

TEST(shards, a_key_is_stored_under_the_tag_of_its_own_slots_part)
{
    EXPECT_EQ(in_shard("a:42"), shard_tag(shard_of("a:42")) + "a:42");
    EXPECT_EQ(shard_of("a:42"), std::size_t{hash_slot("a:42")} * cluster_shards / slot_count);
    EXPECT_EQ(hash_slot(in_shard("u:k1:00ff")), hash_slot(shard_tag(shard_of("u:k1:00ff"))));
    EXPECT_EQ(partition_tag("features:ad.events:3"), "{features:ad.events:3}");
}

}  // namespace
}  // namespace adsx::redis
