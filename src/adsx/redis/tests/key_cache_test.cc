// Proves the key cache's rules on their own (the transaction tests show them end to end):
// users are bounded by two generations, a new user epoch drops them all, shared keys are
// trusted only while this worker's INCR is the last one, an entry is used only while its key
// surely lives, nothing is remembered of a write until it applied, and hits and misses are
// counted by kind of key.
#include "resp.h"
#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/redis/key_cache.h"

namespace adsx::redis {
namespace {

using features::key_kind;
using testing::array;
using testing::bulk;

constexpr std::int64_t now = 1'790'000'040'000;
constexpr std::int64_t ttl_ms = 48 * hour_ms;

struct outcome
{
    std::vector<std::string> read;  // the keys step 1 had to read whole
    bool held = true;               // what it relied on held
};

// One commit of `keys` (kind, name) at `at`, the counter at `counter` before it (applied: this
// commit's INCR makes counter + 1).
outcome commit(key_cache& c, std::int64_t at,
               const std::vector<std::pair<key_kind, std::string>>& keys, std::int64_t counter,
               std::optional<std::string> epoch = std::nullopt, bool applied = true)
{
    outcome o;
    c.begin(at);
    // As transaction.h does: shared keys go through the cache only while it serves them.
    const auto cached = [&](key_kind kind) {
        return kind == key_kind::user || c.shared_from_memory();
    };
    for (const auto& [kind, key] : keys) {
        if (cached(kind) && !c.remembered(kind, key)) {
            o.read.push_back(key);
        }
    }
    o.held = c.holds(std::move(epoch), counter);
    if (!o.held) {
        return o;
    }
    c.begin_write(true);
    for (const auto& [kind, key] : keys) {
        if (!cached(kind)) {
            continue;  // written by field
        }
        auto* e = c.next_remembered(kind);
        if (!e) {
            e = &c.remember(kind, key,
                            array({bulk("c3"), bulk("1:0:0|"), bulk("b.ctr"), bulk("x")}));
            EXPECT_EQ(e->fields.size(), 1u);  // the daily job's b. fields are not the stream's
            c.ttl_set(*e);
        } else if (c.ttl_due(*e)) {
            c.ttl_set(*e);
        }
    }
    if (applied) {
        c.applied(counter + 1);
    } else {
        c.refused();
    }
    return o;
}

std::vector<std::pair<key_kind, std::string>> users(std::initializer_list<const char*> names)
{
    std::vector<std::pair<key_kind, std::string>> out;
    for (const auto* n : names) {
        out.emplace_back(key_kind::user, n);
    }
    return out;
}

using names = std::vector<std::string>;

TEST(key_cache, users_are_remembered_once_written_in_two_generations)
{
    key_cache c(4, ttl_ms);  // generations of 2
    EXPECT_EQ(commit(c, now, users({"u:1", "u:2"}), 0).read, (names{"u:1", "u:2"}));
    EXPECT_EQ(commit(c, now, users({"u:1", "u:2"}), 1).read, names{});
    EXPECT_EQ(commit(c, now, users({"u:3", "u:4"}), 2).read, (names{"u:3", "u:4"}));  // 1, 2 old
    EXPECT_EQ(commit(c, now, users({"u:5", "u:1"}), 3).read, names{"u:5"});  // u:1 young again
    // u:2 aged out with its generation; u:1 came back before.
    EXPECT_EQ(commit(c, now, users({"u:1", "u:2", "u:6"}), 4).read, (names{"u:2", "u:6"}));
    const auto n = c.counts(key_kind::user);
    EXPECT_EQ(n.hits, 4u);
    EXPECT_EQ(n.misses, 7u);
    EXPECT_EQ(n.keys, 4u);  // held: full
    EXPECT_GT(n.bytes, 4 * (sizeof(std::string) + 4));
}

TEST(key_cache, the_bytes_held_are_estimated_from_a_sample_close_to_the_whole_count)
{
    // Users met earlier hold more fields (as a live stream's do): a sample of the entries the
    // map meets first would be all new users and undercount.
    key_cache::key_map m;
    for (int i = 0; i < 20'000; ++i) {
        auto& e = m["u:K1:" + std::to_string(i)];
        for (int f = 0; f < 1 + (20'000 - i) / 500; ++f) {
            e.fields.add("m" + std::to_string(f), std::string(static_cast<std::size_t>(f), 'x'));
        }
    }
    const auto whole = key_cache::bytes_of(m, m.size());
    const auto estimate = key_cache::bytes_of(m);
    EXPECT_NEAR(static_cast<double>(estimate) / static_cast<double>(whole), 1.0, 0.05);
    key_cache::key_map few(m.begin(), std::next(m.begin(), 100));
    EXPECT_EQ(key_cache::bytes_of(few), key_cache::bytes_of(few, few.size()));  // all counted
}

TEST(key_cache, a_new_user_epoch_drops_every_user_and_reads_again_what_relied_on_them)
{
    key_cache c(100, ttl_ms);
    (void)commit(c, now, users({"u:1"}), 0, "7");
    auto o = commit(c, now, users({"u:1"}), 1, "8");  // an erasure announced
    EXPECT_FALSE(o.held);
    EXPECT_EQ(commit(c, now, users({"u:1"}), 1, "8").read, names{"u:1"});
    // A commit that relied on no remembered user goes on.
    EXPECT_TRUE(commit(c, now, users({"u:2"}), 2, "9").held);
}

TEST(key_cache, shared_keys_are_trusted_only_while_no_other_commit_came_between)
{
    key_cache c(100, ttl_ms);
    const std::vector<std::pair<key_kind, std::string>> ad{{key_kind::shared, "a:1"}};
    (void)commit(c, now, ad, 0);  // the counter not ours yet: by field (not through the cache)
    EXPECT_FALSE(c.shared_from_memory());
    (void)commit(c, now, ad, 1);  // holds still at our INCR's 1: trusted from the next commit
    c.begin(now);
    EXPECT_TRUE(c.shared_from_memory());
    EXPECT_EQ(commit(c, now, ad, 2).read, names{"a:1"});  // read whole, to be remembered
    EXPECT_EQ(commit(c, now, ad, 3).read, names{});
    auto o = commit(c, now, ad, 9);  // another worker committed: dropped, read again
    EXPECT_FALSE(o.held);
    EXPECT_EQ(o.read, names{});
    c.begin(now);
    EXPECT_FALSE(c.shared_from_memory());
}

TEST(key_cache, an_entry_is_used_only_while_its_key_surely_lives)
{
    key_cache c(100, ttl_ms);
    (void)commit(c, now, users({"u:1"}), 0);
    // Its TTL was set at `now`; refreshed at least hourly, it lives until now + ttl.
    EXPECT_EQ(commit(c, now + ttl_ms - 2 * minute_ms, users({"u:1"}), 1).read, names{});
    c.begin(now + 2 * ttl_ms);
    EXPECT_FALSE(c.remembered(key_kind::user, "u:1"));  // a minute to spare is not left
}

TEST(key_cache, a_refused_write_remembers_nothing_and_forget_owned_drops_everything)
{
    key_cache c(100, ttl_ms);
    (void)commit(c, now, users({"u:1"}), 0);
    (void)commit(c, now, users({"u:1", "u:2"}), 1, std::nullopt, false);  // EXEC refused
    EXPECT_EQ(commit(c, now, users({"u:1", "u:2"}), 1).read, (names{"u:1", "u:2"}));
    c.forget_owned();
    EXPECT_EQ(commit(c, now, users({"u:1"}), 2).read, names{"u:1"});
}

TEST(key_cache, without_a_capacity_nothing_outlives_its_commit)
{
    key_cache c(0, ttl_ms);
    EXPECT_FALSE(c.enabled());
    (void)commit(c, now, users({"u:1"}), 0);
    EXPECT_EQ(commit(c, now, users({"u:1"}), 1).read, names{"u:1"});
}

}  // namespace
}  // namespace adsx::redis
