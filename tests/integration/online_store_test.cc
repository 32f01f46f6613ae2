// Proves redis::feature_store (the Redis online store) against the real Redis of the local stack
// (`adsx stack up` first): request logs are appended, read back and unlinked with their commits;
// campaigns are pruned whoever wrote them; and its key cache is sound: a user served from memory
// is written exactly as if it had been read again, an erasure announced on the user epoch is not
// undone, forget_owned() reads users again, a refused write leaves nothing remembered of itself,
// and shared keys are remembered only while no other worker commits. The tests work in Redis
// databases 7, 9 and 10, emptied first.
#include "test_config.h"
#include <gtest/gtest.h>

#include "adsx/config/config.h"
#include "adsx/features/read.h"
#include "adsx/features/user_state.h"
#include "adsx/redis/feature_store.h"

namespace adsx {
namespace {

constexpr std::int64_t t0 = 1'790'000'040'000;

using integration::load_config;

// One store (a worker) committing batches of one partition in order.
struct store
{
    std::optional<redis::feature_store> s;
    features::partition_state at;
    std::string partition;

    store(int db, std::size_t user_cache, bool empty_first = true, std::string p = "it:0")
      : partition(std::move(p))
    {
        const auto cfg = load_config();
        auto opened = redis::feature_store::open(
            cfg.redis.host, cfg.redis.port, {.user_cache = user_cache}, system_clock::instance());
        EXPECT_TRUE(opened) << opened.error().message;
        s.emplace(std::move(*opened));
        EXPECT_TRUE(s->conn().command({"SELECT", std::to_string(db)}));
        if (empty_first) {
            EXPECT_TRUE(s->conn().command({"FLUSHDB"}));
        }
    }

    // Commits events (type, time, campaign) of user `user`, pipelined like the stream.
    // `personalised`: whether their consent allows personalisation.
    void commit(std::string_view user,
                std::vector<std::tuple<events::event_type, std::int64_t, std::uint32_t>> evs,
                features::log_writes requests = {}, bool personalised = true)
    {
        features::batch_update b;
        features::partition_state next = at;
        for (auto [type, t, campaign] : evs) {
            events::event e;
            e.type = type;
            e.event_time_ms = t;
            e.user_id = user;
            e.ad_id = campaign * 10;
            e.campaign_id = campaign;
            e.geo = "US-CA";
            b.add(e, personalised);
            next.next_offset = std::max<std::int64_t>(next.next_offset, 0) + 1;
            next.max_event_time = std::max(next.max_event_time, t);
        }
        // As the engine does: a write refused at EXEC (a watched key changed) is committed
        // again, reading afresh.
        bool landed = false;
        for (int attempt = 0; attempt < 3 && !landed; ++attempt) {
            auto out = s->commit({{partition, at, next, requests}}, b, true);
            ASSERT_TRUE(out) << out.error().message;
            ASSERT_TRUE(out->applied);
            auto settled = s->settle();
            ASSERT_TRUE(settled) << settled.error().message;
            landed = *settled;
        }
        ASSERT_TRUE(landed);
        at = next;
    }

    // The key cache's running totals.
    std::size_t user_hits() const { return s->key_cache(features::key_kind::user).hits; }
    std::size_t user_misses() const { return s->key_cache(features::key_kind::user).misses; }
    std::size_t shared_hits() const { return s->key_cache(features::key_kind::shared).hits; }

    std::map<std::string, std::string> hash(const std::string& key)
    {
        auto h = s->conn().hgetall(key);
        EXPECT_TRUE(h) << h.error().message;
        return *h;
    }
};

using enum events::event_type;

// A user's counts in its minute tiles (whatever their minutes).
features::counts minute_counts(const std::map<std::string, std::string>& h)
{
    features::counts c;
    for (const auto& t : features::tiles_in(h, features::minute_blocks)) {
        c += t.c;
    }
    return c;
}

TEST(feature_store, request_logs_are_appended_read_back_and_unlinked_with_their_commits)
{
    store w(7, 0);
    features::request_log log;
    events::uuid a;
    a.bytes[3] = 1;
    log.stage(features::follow_kind::impression, t0, features::fingerprint(a));
    auto first = log.pending(t0);
    w.commit("k1:u1", {{impression, t0, 1}}, first);
    log.keep(first);
    events::uuid b;
    b.bytes[3] = 2;
    log.stage(features::follow_kind::impression, t0 + 1000, features::fingerprint(b));
    log.stage(features::follow_kind::click, t0 + 2000, features::fingerprint(a));
    auto second = log.pending(t0 + 2000);
    w.commit("k1:u1", {{impression, t0 + 1000, 1}, {click, t0 + 2000, 1}}, second);
    log.keep(second);

    const auto m = t0 / minute_ms;
    auto back = w.s->load_requests(w.partition, features::follow_kind::impression, m - 1, m + 1);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->size(), 3u);
    EXPECT_TRUE(back->at(0).empty());
    EXPECT_EQ(back->at(1).size(), 16u);  // two batches' fingerprints appended
    EXPECT_TRUE(back->at(2).empty());
    features::request_log read;
    read.load(features::follow_kind::impression, m, back->at(1));
    EXPECT_TRUE(
        read.follows(features::follow_kind::impression, t0 + 5000, features::fingerprint(a)));
    EXPECT_TRUE(
        read.follows(features::follow_kind::impression, t0 + 5000, features::fingerprint(b)));
    const auto key = redis::request_log_key(w.partition, features::follow_kind::impression, m);
    auto ttl = w.s->conn().command({"TTL", key});
    ASSERT_TRUE(ttl);
    EXPECT_GT(ttl->integer, 47 * 3600);  // the features' TTL

    // Two hours on, the impressions' minute is left behind and unlinked; the click's hour stays.
    const auto later = t0 + 2 * hour_ms;
    w.commit("k1:u1", {{impression, later, 1}}, log.pending(later));
    auto gone = w.s->conn().command({"EXISTS", key});
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->integer, 0);
    auto clicks =
        w.s->load_requests(w.partition, features::follow_kind::click, t0 / hour_ms, t0 / hour_ms);
    ASSERT_TRUE(clicks);
    EXPECT_EQ(clicks->at(0).size(), 8u);
}

TEST(feature_store_user_cache, a_user_served_from_memory_is_written_as_if_read_again)
{
    store cached(9, 1000);
    store plain(10, 0);
    const std::vector<std::vector<std::tuple<events::event_type, std::int64_t, std::uint32_t>>>
        batches = {{{impression, t0, 1}, {impression, t0 + 1000, 2}},
                   {{click, t0 + 2000, 1}},
                   {{impression, t0 + 70 * minute_ms, 1}, {conversion, t0 + 71 * minute_ms, 2}},
                   {{impression, t0 + 30 * hour_ms, 3}}};
    for (const auto& b : batches) {
        cached.commit("k1:u1", b);
        plain.commit("k1:u1", b);
    }
    EXPECT_EQ(cached.user_hits(), batches.size() - 1);  // read once, then from memory
    EXPECT_EQ(cached.user_misses(), 1u);
    EXPECT_EQ(plain.user_hits(), 0u);
    const auto h = cached.hash("u:k1:u1");
    EXPECT_EQ(h, plain.hash("u:k1:u1"));
    ASSERT_TRUE(h.contains("own"));
    EXPECT_EQ(features::parse_user_own(h.at("own"))->last,
              (features::recency{t0 + 30 * hour_ms, t0 + 2000, t0 + 71 * minute_ms}));
    EXPECT_TRUE(h.contains("c1") && h.contains("c2") && h.contains("c3"));
}

TEST(feature_store_user_cache, an_erasure_announced_on_the_user_epoch_is_not_undone)
{
    store s(9, 1000);
    s.commit("k1:u1", {{impression, t0, 1}, {impression, t0 + 1000, 1}});
    // An erasure: the user's key goes, and the epoch says so.
    ASSERT_TRUE(s.s->conn().command({"DEL", "u:k1:u1"}));
    ASSERT_TRUE(s.s->conn().command({"INCR", std::string(redis::user_epoch_key)}));
    s.commit("k1:u1", {{impression, t0 + 2000, 1}});
    EXPECT_EQ(minute_counts(s.hash("u:k1:u1")).impressions, 1);  // only what came after it
    EXPECT_EQ(s.user_misses(), 2u);

    // Without the epoch the cache could not know: it would write the erased counts back. (What
    // the epoch is for; this part shows the first part of the test can fail.)
    ASSERT_TRUE(s.s->conn().command({"DEL", "u:k1:u1"}));
    s.commit("k1:u1", {{impression, t0 + 3000, 1}});
    EXPECT_EQ(minute_counts(s.hash("u:k1:u1")).impressions, 2);
}

TEST(feature_store_user_cache, a_withdrawn_consent_deletes_the_user_and_is_not_undone)
{
    for (std::size_t cache : {std::size_t{1000}, std::size_t{0}}) {
        store s(9, cache);
        s.commit("k1:u1", {{impression, t0, 1}, {impression, t0 + 1000, 1}});
        s.commit("k1:u2", {{impression, t0, 1}});
        ASSERT_EQ(minute_counts(s.hash("u:k1:u1")).impressions, 2);
        // An event whose consent no longer allows personalisation: the user's key goes; the ad
        // still counts it; another user is untouched.
        s.commit("k1:u1", {{impression, t0 + 2000, 1}}, {}, false);
        EXPECT_TRUE(s.hash("u:k1:u1").empty()) << "cache " << cache;
        EXPECT_EQ(s.hash("a:10").at(std::string(store_layout::fields_asof)),
                  std::to_string(t0 + 2000));
        EXPECT_EQ(minute_counts(s.hash("u:k1:u2")).impressions, 1);
        // Consent given again: the user starts afresh (the cache does not bring the old
        // counts back).
        s.commit("k1:u1", {{impression, t0 + 3000, 1}});
        EXPECT_EQ(minute_counts(s.hash("u:k1:u1")).impressions, 1) << "cache " << cache;
    }
}

TEST(feature_store, a_user_erased_between_a_commits_read_and_write_is_not_written_back)
{
    for (std::size_t cache : {0, 1000}) {
        std::optional<redis::connection> other;
        bool erase = false;
        store s(9, cache);
        s.s->between_read_and_write([&] {
            if (std::exchange(erase, false)) {  // an erasure from another client
                ASSERT_TRUE(other->command({"DEL", "u:k1:u1"}));
                ASSERT_TRUE(other->command({"INCR", std::string(redis::user_epoch_key)}));
            }
        });
        const auto cfg = load_config();
        other.emplace(
            *redis::connection::open(cfg.redis.host, cfg.redis.port, std::chrono::seconds(5)));
        ASSERT_TRUE(other->command({"SELECT", "9"}));
        s.commit("k1:u1", {{impression, t0, 1}, {impression, t0 + 1000, 1}});
        erase = true;
        s.commit("k1:u1", {{impression, t0 + 2000, 1}});
        EXPECT_EQ(minute_counts(s.hash("u:k1:u1")).impressions, 1)
            << "cache " << cache;  // after the erasure
    }
}

// Remembered entries are updated in place by the write; when its EXEC is refused (here: another
// client touches the watched offset, leaving its value), the retry must read them again rather
// than count the refused write twice. Users and shared keys, against a store without a cache.
TEST(feature_store_user_cache, a_refused_write_leaves_nothing_remembered_of_itself)
{
    store s(9, 1000);
    store ref(10, 0);
    const auto cfg = load_config();
    auto other = redis::connection::open(cfg.redis.host, cfg.redis.port, std::chrono::seconds(5));
    ASSERT_TRUE(other);
    ASSERT_TRUE(other->command({"SELECT", "9"}));
    bool touch = false;
    s.s->between_read_and_write([&] {
        if (std::exchange(touch, false)) {
            auto next = other->command({"HGET", redis::offset_key("it:0"), "next"});
            ASSERT_TRUE(next);
            ASSERT_TRUE(other->command({"HSET", redis::offset_key("it:0"), "next", next->str}));
        }
    });
    for (int i = 0; i < 4; ++i) {  // the fourth finds the ad and campaign in memory
        s.commit("k1:u1", {{impression, t0 + i * 1000, 1}});
        ref.commit("k1:u1", {{impression, t0 + i * 1000, 1}});
    }
    const auto hits = std::pair{s.user_hits(), s.shared_hits()};
    EXPECT_EQ(hits, std::pair(std::size_t{3}, std::size_t{2}));
    touch = true;
    s.commit("k1:u1", {{click, t0 + 5000, 1}});  // refused once, then read whole again
    ref.commit("k1:u1", {{click, t0 + 5000, 1}});
    EXPECT_EQ(s.user_misses(), 2u);
    for (const auto* key : {"u:k1:u1", "a:10", "c:1"}) {
        EXPECT_EQ(s.hash(key), ref.hash(key)) << key;
    }
    EXPECT_EQ(minute_counts(s.hash("u:k1:u1")), (features::counts{4, 1, 0}));
    s.commit("k1:u1", {{impression, t0 + 6000, 1}});  // and remembered again after it
    EXPECT_EQ(s.user_hits(), 5u);                     // 3, the refused attempt, this one
}

TEST(feature_store_user_cache, forgetting_owned_keys_reads_users_again)
{
    store s(9, 1000);
    s.commit("k1:u1", {{impression, t0, 1}});
    // Meanwhile another worker owned the partition and wrote the user.
    features::user_own theirs;
    features::add_event(theirs, click, t0 + 500);
    std::vector<features::block_add> blocks;
    features::add_event(blocks, features::minute_blocks, click, t0 + 500);
    ASSERT_TRUE(s.s->conn().command({"HSET", "u:k1:u1", "own", features::format_user_own(theirs),
                                     blocks.at(0).field,
                                     *features::merge_block(std::nullopt, blocks.at(0))}));
    s.s->forget_owned();
    s.commit("k1:u1", {{impression, t0 + 1000, 1}});
    const auto own = features::parse_user_own(s.hash("u:k1:u1").at("own"));
    ASSERT_TRUE(own);
    EXPECT_EQ(own->last, (features::recency{t0 + 1000, t0 + 500, 0}));  // theirs kept, not ours
    EXPECT_EQ(minute_counts(s.hash("u:k1:u1")), (features::counts{1, 1, 0}));
}

TEST(feature_store, prunes_campaigns_it_finds_in_the_hash_not_only_those_it_wrote)
{
    // The campaign index is not stored: a worker that did not write the user derives it from
    // the campaign fields it reads, with or without remembering users.
    constexpr std::int64_t ttl_ms = 48 * hour_ms;
    for (std::size_t cache : {0, 1000}) {
        store first(9, 0);
        first.commit("k1:u1", {{impression, t0, 1}, {impression, t0 + 1000, 2}});
        store other(9, cache, false, "it:1");  // another partition's worker (after a rebalance)
        other.commit("k1:u1", {{impression, t0 + 2 * ttl_ms + 500, 3}});  // c1 left > 2 × ttl
        auto h = other.hash("u:k1:u1");
        EXPECT_FALSE(h.contains("c1")) << "cache " << cache;
        EXPECT_TRUE(h.contains("c2")) << "cache " << cache;  // 2 × ttl − 500 ms: stays
        EXPECT_TRUE(h.contains("c3")) << "cache " << cache;
        other.commit("k1:u1", {{impression, t0 + 2 * ttl_ms + 1500, 3}});  // now c2 too
        h = other.hash("u:k1:u1");
        EXPECT_FALSE(h.contains("c2")) << "cache " << cache;
        EXPECT_EQ(features::parse_user_own(h.at("own"))->last[0], t0 + 2 * ttl_ms + 1500);
    }
}

TEST(feature_store_key_cache, shared_keys_are_remembered_only_while_no_other_worker_commits)
{
    // Workers A (remembering) and B on one database; `ref` replays the same batches in the
    // same order without remembering anything. Ads and campaigns must come out the same.
    store a(9, 1000);
    store b(9, 0, false, "it:1");
    store ref(10, 0);
    auto both = [&](store& w, std::string_view user,
                    std::vector<std::tuple<events::event_type, std::int64_t, std::uint32_t>> evs) {
        w.commit(user, evs);
        ref.commit(user, evs);
    };
    for (int i = 0; i < 4; ++i) {  // alone: from the third commit on, ads are not read again
        both(a, "k1:u1", {{impression, t0 + i * 1000, 1}, {impression, t0 + i * 1000 + 1, 2}});
    }
    EXPECT_EQ(a.shared_hits(), 4u);                  // a:10, c:1, a:20, c:2 in the fourth commit
    both(b, "k1:u2", {{impression, t0 + 5000, 1}});  // another worker writes a:10 and c:1
    both(a, "k1:u1", {{click, t0 + 6000, 1}});       // finds the counter moved: reads again
    EXPECT_EQ(a.shared_hits(), 4u);
    both(a, "k1:u1", {{click, t0 + 7000, 2}});
    both(a, "k1:u1", {{impression, t0 + 8000, 1}, {impression, t0 + 8000, 2}});
    EXPECT_EQ(a.shared_hits(), 4u);  // read whole again (remembering from now on)
    both(a, "k1:u1", {{impression, t0 + 9000, 1}, {click, t0 + 9001, 2}});
    EXPECT_EQ(a.shared_hits(), 8u);
    // Another worker commits, then A's next commit has only keys it never saw: read whole,
    // nothing to read again, but remembered from a commit that was not alone. The next one
    // writes them read with HMGET; the one after must not trust what was remembered before.
    both(b, "k1:u2", {{impression, t0 + 10'000, 1}});
    both(a, "k1:u3", {{impression, t0 + 11'000, 3}});  // a new user too: nothing remembered
    both(a, "k1:u1", {{impression, t0 + 12'000, 3}});
    both(a, "k1:u1", {{impression, t0 + 13'000, 3}});
    both(a, "k1:u1", {{impression, t0 + 14'000, 3}});
    for (const auto* key : {"a:10", "c:1", "a:20", "c:2", "a:30", "c:3"}) {
        EXPECT_EQ(a.hash(key), ref.hash(key)) << key;
    }
    EXPECT_EQ(features::parse_tile(
                  a.hash("a:10").at(features::slot_prefix(
                      features::tile_of(t0, features::minute_tiles), features::minute_tiles)))
                  ->c,
              (features::counts{8, 1, 0}));  // B's impressions counted with A's
}

}  // namespace
}  // namespace adsx
