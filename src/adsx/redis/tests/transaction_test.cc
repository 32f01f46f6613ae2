// Proves the feature store's commit protocol as encoded, without Redis: step 1 watches the
// partition offsets, the shared writes' counter and the user epoch and reads exactly what the
// batch merges into; step 2 is MULTI, per key its merged HSET, its EXPIRE only when due (a new
// key, asof entering a new hour, an hourly refresh of a remembered key), HDEL of campaigns a
// user left for 2 × ttl, the request logs' APPEND/EXPIRE/UNLINK, the offsets' HSET, INCR and
// EXEC, command by command; it goes out in parts as it grows; and a worker that remembers keys
// writes exactly what one that reads them every time writes (a fake Redis applies both).
#include <algorithm>
#include <set>
#include <tuple>

#include "fake_redis.h"
#include "resp.h"
#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/features/update.h"
#include "adsx/redis/keys.h"
#include "adsx/redis/transaction.h"

namespace adsx::redis {
namespace {

using testing::command;
using testing::commands_of;
using enum events::event_type;

constexpr std::int64_t t0 = 1'790'000'040'000;  // 14 minutes into an hour
constexpr std::int64_t ttl_s = 48 * 3600;
const std::string partition = "features:ad.events:0";
const std::string ttl = std::to_string(ttl_s);

// Parts as the connection would get them: copied when sent; refused from the n-th on.
class recording_sink final : public part_sink
{
public:
    std::vector<std::string> parts;
    std::size_t refuse_from = SIZE_MAX;
    int calls = 0;
    result<void> send(const resp_writer& w) override
    {
        ++calls;
        if (parts.size() >= refuse_from) {
            return fail(error_code::unavailable, "connection reset");
        }
        parts.push_back(w.str());
        return {};
    }
    [[nodiscard]] std::vector<command> commands() const
    {
        std::string all;
        for (const auto& p : parts) {
            all += p;
        }
        return commands_of(all);
    }
};

struct one
{
    events::event_type type;
    std::int64_t t;
    std::uint32_t campaign;
};

// A user's events (ad = campaign × 10, US-CA, desktop) as the engine combines them.
void add(features::batch_update& b, std::string_view user, const std::vector<one>& events)
{
    for (const auto& o : events) {
        events::event e;
        e.type = o.type;
        e.event_time_ms = o.t;
        e.user_id = user;
        e.ad_id = o.campaign * 10;
        e.campaign_id = o.campaign;
        e.geo = "US-CA";
        b.add(e, true);
    }
}

// One worker's commits of partition 0, through the encoder, against a fake Redis.
struct worker
{
    testing::fake_redis& redis;
    key_cache cache;
    manual_clock clock{t0};
    features::partition_state at;
    transaction_settings settings{.ttl_s = ttl_s};
    resp_writer out;
    std::string scratch;
    std::vector<command> last_read, last_write;

    worker(testing::fake_redis& r, std::size_t users) : redis(r), cache(users, ttl_s * second_ms) {}

    // Step 1 and 2 of one commit (again while the cache asks); whether EXEC applied.
    bool commit(const features::batch_update& b, features::log_writes requests = {})
    {
        features::partition_state next{at.next_offset + 1, std::max(at.max_event_time, t0)};
        std::vector<features::partition_commit> parts{{partition, at, next, std::move(requests)}};
        std::vector<reply> read;
        for (bool fresh = false; !fresh;) {
            cache.begin(clock.now_ms());
            encode_read(out, parts, b, cache, scratch);
            last_read = commands_of(out.str());
            read = redis.read(last_read);
            fresh = !cache.enabled() || [&] {
                auto v = versions_read(read, parts.size());
                return cache.holds(std::move(v.user_epoch), v.shared_writes);
            }();
        }
        EXPECT_TRUE(stale_partitions(parts, read).empty());
        recording_sink sink;
        auto sent = encode_write(out, sink, parts, b, read, cache, settings);
        EXPECT_TRUE(sent);
        last_write = sink.commands();
        EXPECT_EQ(*sent, last_write.size());
        const auto replies = redis.transaction(last_write);
        if (replies.back().type == reply::kind::nil) {
            cache.refused();
            return false;
        }
        cache.applied(shared_writes_after(replies.back()));
        at = next;
        return true;
    }
};

std::vector<std::string> keys_of(const std::vector<command>& commands, std::string_view name)
{
    std::vector<std::string> out;
    for (const auto& c : commands) {
        if (c[0] == name) {
            out.push_back(c[1]);
        }
    }
    return out;
}

TEST(transaction, step_one_watches_the_offsets_and_counters_and_reads_what_the_batch_merges)
{
    testing::fake_redis redis;
    worker w(redis, 0);
    features::batch_update b;
    add(b, "k1:u1", {{impression, t0, 1}});
    ASSERT_TRUE(w.commit(b));
    const std::map<std::string, command> by_field = {
        {"a:10", {"HMGET", "a:10", "m14", "d:desktop:m14", "g:US-CA:m14", "asof"}},
        {"c:1", {"HMGET", "c:1", "m14", "h24", "asof"}}};
    std::vector<command> expected = {
        {"WATCH", "off:" + partition, "adsx:stream:shared-writes", "adsx:stream:user-epoch"},
        {"HMGET", "off:" + partition, "next", "wm"}};
    for (const auto& [name, u] : b.shared_keys()) {
        expected.push_back(by_field.at(name));
    }
    expected.push_back({"HGETALL", "u:k1:u1"});
    EXPECT_EQ(w.last_read, expected);

    // With a key cache: the epoch and the counter are read too (after the offsets).
    worker cached(redis, 10);
    features::batch_update other;
    add(other, "k1:u2", {{impression, t0, 1}});
    cached.at = w.at;
    ASSERT_TRUE(cached.commit(other));
    ASSERT_GE(cached.last_read.size(), 3u);
    EXPECT_EQ(cached.last_read[2],
              (command{"MGET", "adsx:stream:user-epoch", "adsx:stream:shared-writes"}));
}

TEST(transaction, step_two_is_one_transaction_of_merged_writes_logs_offsets_and_the_counter)
{
    testing::fake_redis redis;
    worker w(redis, 0);
    features::batch_update b;
    add(b, "k1:u1", {{impression, t0, 1}});
    features::log_writes logs;
    logs.appends.push_back({features::follow_kind::impression, t0 / minute_ms, "12345678"});
    logs.deletes.push_back({features::follow_kind::impression, t0 / minute_ms - 70, ""});
    ASSERT_TRUE(w.commit(b, logs));

    // The user's packed fields, as features/user_state.h merges them into an empty hash.
    features::user_own own;
    features::add_event(own, impression, t0);
    std::vector<features::block_add> blocks;
    features::add_event(blocks, features::minute_blocks, impression, t0);
    features::add_event(blocks, features::hour_blocks, impression, t0);
    features::user_campaign c1;
    features::add_event(c1, 10, impression, t0);
    command user{"HSET", "u:k1:u1"};
    for (const auto& add : blocks) {
        user.insert(user.end(), {add.field, *features::merge_block(std::nullopt, add)});
    }
    user.insert(user.end(),
                {"c1", features::format_user_campaign(c1), "own", features::format_user_own(own)});

    const std::string tile = "29833334:1:0:0", hour = "497222:1:0:0", at = std::to_string(t0);
    const std::map<std::string, command> shared = {
        {"a:10",
         {"HSET", "a:10", "m14", tile, "d:desktop:m14", tile, "g:US-CA:m14", tile, "asof", at}},
        {"c:1", {"HSET", "c:1", "m14", tile, "h24", hour, "asof", at}}};
    std::vector<command> expected{{"MULTI"}};
    for (const auto& [name, u] : b.shared_keys()) {
        expected.push_back(shared.at(name));
        expected.push_back({"EXPIRE", name, ttl});  // new keys
    }
    const auto log_key = "rq:" + partition + ":i:" + std::to_string(t0 / minute_ms);
    expected.insert(expected.end(),
                    {user,
                     {"EXPIRE", "u:k1:u1", ttl},
                     {"APPEND", log_key, "12345678"},
                     {"EXPIRE", log_key, ttl},
                     {"UNLINK", "rq:" + partition + ":i:" + std::to_string(t0 / minute_ms - 70)},
                     {"HSET", "off:" + partition, "next", "0", "wm", at},
                     {"INCR", "adsx:stream:shared-writes"},
                     {"EXEC"}});
    EXPECT_EQ(w.last_write, expected);
}

TEST(transaction, a_key_gets_its_expire_when_new_or_when_asof_enters_a_new_hour)
{
    testing::fake_redis redis;
    worker w(redis, 0);
    redis.hashes["a:10"]["asof"] = std::to_string(t0 - 1000);           // this hour
    redis.hashes["c:1"]["asof"] = std::to_string(t0 - 20 * minute_ms);  // the hour before
    features::batch_update b;
    add(b, "k1:u1", {{impression, t0, 1}});
    ASSERT_TRUE(w.commit(b));
    const auto expired = keys_of(w.last_write, "EXPIRE");
    EXPECT_EQ(std::set<std::string>(expired.begin(), expired.end()),
              (std::set<std::string>{"c:1", "u:k1:u1"}));  // the user is new
    EXPECT_EQ(expired.size(), 2u);
}

TEST(transaction, campaigns_a_user_left_for_twice_the_ttl_are_deleted_from_the_hash)
{
    testing::fake_redis redis;
    worker w(redis, 0);
    const std::int64_t ttl_ms = ttl_s * second_ms;
    for (auto [campaign, newest] :
         {std::pair{8u, t0 - 2 * ttl_ms + 1}, {9u, t0 - 2 * ttl_ms - 1}}) {
        features::user_campaign old;
        features::add_event(old, campaign * 10, impression, newest);
        redis.hashes["u:k1:u1"][features::campaign_field(campaign)] =
            features::format_user_campaign(old);
    }
    features::batch_update b;
    add(b, "k1:u1", {{impression, t0, 1}});
    ASSERT_TRUE(w.commit(b));
    std::vector<command> hdel;
    for (const auto& c : w.last_write) {
        if (c[0] == "HDEL") {
            hdel.push_back(c);
        }
    }
    EXPECT_EQ(hdel, (std::vector<command>{{"HDEL", "u:k1:u1", "c9"}}));  // c8: 1 ms short
    EXPECT_TRUE(redis.hashes["u:k1:u1"].contains("c8"));
    EXPECT_FALSE(redis.hashes["u:k1:u1"].contains("c9"));
}

TEST(transaction, goes_out_in_parts_as_it_grows_and_a_failed_part_stops_the_sending)
{
    testing::fake_redis redis;
    worker w(redis, 0);
    features::batch_update b;
    add(b, "k1:u1", {{impression, t0, 1}});
    add(b, "k1:u2", {{impression, t0, 2}});
    std::vector<features::partition_commit> parts{{partition, {}, {0, t0}, {}}};
    w.cache.begin(t0);
    encode_read(w.out, parts, b, w.cache, w.scratch);
    const auto read = redis.read(commands_of(w.out.str()));

    recording_sink whole;
    ASSERT_TRUE(encode_write(w.out, whole, parts, b, read, w.cache, {.ttl_s = ttl_s}));
    ASSERT_EQ(whole.parts.size(), 1u);  // 256 KB parts: one for a small batch

    w.cache.begin(t0);
    encode_read(w.out, parts, b, w.cache, w.scratch);
    recording_sink small;
    auto sent =
        encode_write(w.out, small, parts, b, read, w.cache, {.ttl_s = ttl_s, .part_bytes = 1});
    ASSERT_TRUE(sent);
    EXPECT_EQ(small.parts.size(), 7u);  // after each of the 6 keys, then the rest
    EXPECT_EQ(small.commands(), whole.commands());
    EXPECT_EQ(*sent, whole.commands().size());

    w.cache.begin(t0);
    encode_read(w.out, parts, b, w.cache, w.scratch);
    recording_sink broken;
    broken.refuse_from = 1;
    auto failed =
        encode_write(w.out, broken, parts, b, read, w.cache, {.ttl_s = ttl_s, .part_bytes = 1});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message, "connection reset");
    EXPECT_EQ(broken.calls, 2);  // the first part, the one refused, nothing after
}

TEST(transaction, the_offsets_read_name_stale_partitions_and_exec_the_counter)
{
    std::vector<features::partition_commit> parts{
        {"p0", {4, 0}, {}, {}}, {"p1", {-1, 0}, {}, {}}, {"p2", {7, 0}, {}, {}}};
    using testing::array;
    using testing::bulk;
    using testing::nil;
    const std::vector<reply> read{bulk("OK"), array({bulk("4"), bulk("1")}), array({nil(), nil()}),
                                  array({bulk("9"), bulk("1")}), array({bulk("3"), bulk("12")})};
    EXPECT_EQ(stale_partitions(parts, read), std::vector<std::size_t>{2});
    const auto v = versions_read(read, parts.size());
    EXPECT_EQ(v.user_epoch, "3");
    EXPECT_EQ(v.shared_writes, 12);
    reply exec = array({bulk("OK"), reply{reply::kind::integer, {}, 13, {}}});
    EXPECT_EQ(shared_writes_after(exec), 13);
    EXPECT_EQ(shared_writes_after(array({})), std::nullopt);
}

// The key cache's point: a worker that remembers what it wrote leaves Redis exactly as one that
// reads every key again, while reading ever less.
TEST(transaction, remembered_keys_are_written_as_if_read_again_and_read_less_and_less)
{
    testing::fake_redis cached_redis, plain_redis;
    worker cached(cached_redis, 1000), plain(plain_redis, 0);
    std::vector<std::size_t> reads;
    for (int i = 0; i < 4; ++i) {
        features::batch_update b;
        add(b, "k1:u1", {{impression, t0 + i * 1000, 1}, {click, t0 + i * 1000 + 1, 2}});
        cached.clock.set(t0 + i * minute_ms);
        ASSERT_TRUE(cached.commit(b));
        ASSERT_TRUE(plain.commit(b));
        reads.push_back(cached.last_read.size());
    }
    // WATCH, offsets, MGET, then: 4 shared keys and the user by field or whole; then 4 shared
    // keys (HMGET: the counter was not yet known to hold still); then 4 shared keys whole (to
    // be remembered); then nothing.
    EXPECT_EQ(reads, (std::vector<std::size_t>{8, 7, 7, 3}));
    EXPECT_EQ(cached_redis.hashes, plain_redis.hashes);
    const auto users = cached.cache.counts(features::key_kind::user);
    const auto shared = cached.cache.counts(features::key_kind::shared);
    EXPECT_EQ(std::tuple(users.hits, users.misses, users.keys), std::tuple(3u, 1u, 1u));
    EXPECT_EQ(std::tuple(shared.hits, shared.misses, shared.keys), std::tuple(4u, 4u, 4u));
}

TEST(transaction, a_remembered_key_gets_its_expire_at_least_hourly)
{
    testing::fake_redis redis;
    worker w(redis, 1000);
    auto commit_at = [&](std::int64_t wall, std::int64_t t) {
        w.clock.set(wall);
        features::batch_update b;
        add(b, "k1:u1", {{impression, t, 1}});
        EXPECT_TRUE(w.commit(b));
        const auto expired = keys_of(w.last_write, "EXPIRE");
        return std::count(expired.begin(), expired.end(), "u:k1:u1");
    };
    EXPECT_EQ(commit_at(t0, t0), 1);                          // new
    EXPECT_EQ(commit_at(t0 + 30 * minute_ms, t0 + 1000), 0);  // same event hour, set 30 min ago
    EXPECT_EQ(commit_at(t0 + hour_ms, t0 + 2000), 1);         // set an hour ago: refreshed
    EXPECT_EQ(commit_at(t0 + hour_ms + minute_ms, t0 + 3000), 0);
}

TEST(transaction, a_refused_exec_leaves_nothing_remembered_of_itself)
{
    testing::fake_redis cached_redis, plain_redis;
    worker cached(cached_redis, 1000), plain(plain_redis, 0);
    for (int i = 0; i < 3; ++i) {
        features::batch_update b;
        add(b, "k1:u1", {{impression, t0 + i * 1000, 1}});
        ASSERT_TRUE(cached.commit(b));
        ASSERT_TRUE(plain.commit(b));
    }
    features::batch_update b;
    add(b, "k1:u1", {{click, t0 + 5000, 1}});
    cached_redis.touch("off:" + partition);  // another client writes the watched offset
    EXPECT_FALSE(cached.commit(b));          // the entries it updated are past their life
    ASSERT_TRUE(cached.commit(b));           // read whole again: counted once
    ASSERT_TRUE(plain.commit(b));
    EXPECT_EQ(cached_redis.hashes, plain_redis.hashes);
    EXPECT_EQ(keys_of(cached.last_read, "HGETALL").size(), 3u);  // the user, a:10 and c:1
}

}  // namespace
}  // namespace adsx::redis
