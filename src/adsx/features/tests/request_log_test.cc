#include <gtest/gtest.h>

#include "adsx/features/request_log.h"

namespace adsx::features {
namespace {

constexpr std::int64_t minute = 60'000;
constexpr std::int64_t hour = 3'600'000;
constexpr std::int64_t t0 = 1'790'000'000'000 / hour * hour;  // an hour's start

events::uuid id(int n)
{
    events::uuid u;
    u.bytes[0] = static_cast<std::uint8_t>(n);
    u.bytes[15] = static_cast<std::uint8_t>(n >> 8);
    return u;
}

TEST(request_log, fingerprints_spread_ids_that_differ_in_one_byte)
{
    EXPECT_NE(fingerprint(id(1)), fingerprint(id(2)));
    EXPECT_NE(fingerprint(id(1)), fingerprint(id(256)));
    EXPECT_EQ(fingerprint(id(7)), fingerprint(id(7)));
    EXPECT_NE(fingerprint(id(0)), 0u);
}

TEST(request_log, a_staged_id_is_found_within_its_window_until_dropped)
{
    request_log log;
    log.stage(follow_kind::impression, t0 + 30'000, fingerprint(id(1)));
    EXPECT_TRUE(log.follows(follow_kind::impression, t0 + 40'000, fingerprint(id(1))));
    EXPECT_FALSE(log.follows(follow_kind::impression, t0 + 40'000, fingerprint(id(2))));
    EXPECT_FALSE(log.follows(follow_kind::click, t0 + 40'000, fingerprint(id(1))));
    // Rounded out to minutes: 1 h 59 s later still finds its minute, 1 h 1 min later does not.
    EXPECT_TRUE(log.follows(follow_kind::impression, t0 + hour + 59'000, fingerprint(id(1))));
    EXPECT_FALSE(log.follows(follow_kind::impression, t0 + hour + minute, fingerprint(id(1))));
    log.drop_staged();
    EXPECT_FALSE(log.follows(follow_kind::impression, t0 + 40'000, fingerprint(id(1))));
}

TEST(request_log, kept_ids_are_found_across_many_runs_and_buckets)
{
    request_log log;
    for (int batch = 0; batch < 50; ++batch) {
        for (int i = 0; i < 20; ++i) {
            const int n = batch * 20 + i;
            log.stage(follow_kind::impression, t0 + n * 1000, fingerprint(id(n)));
        }
        log.keep(log.pending(t0 + batch * 20'000));
    }
    EXPECT_EQ(log.size(), 1000u);
    // Its memory: at least 8 bytes an id, and not much past that (slack, the buckets' nodes).
    EXPECT_GE(log.bytes(), 1000 * sizeof(std::uint64_t));
    EXPECT_LE(log.bytes(), 3 * 1000 * sizeof(std::uint64_t));
    for (int n = 0; n < 1000; ++n) {
        EXPECT_TRUE(log.follows(follow_kind::impression, t0 + 1'000'000, fingerprint(id(n)))) << n;
    }
    EXPECT_FALSE(log.follows(follow_kind::impression, t0 + 1'000'000, fingerprint(id(1000))));
}

TEST(request_log, pending_writes_load_back_into_an_equal_log)
{
    request_log a;
    a.stage(follow_kind::impression, t0 + 1000, fingerprint(id(1)));
    a.stage(follow_kind::impression, t0 + 2 * minute, fingerprint(id(2)));
    a.stage(follow_kind::click, t0 + 3 * minute, fingerprint(id(1)));
    const auto w = a.pending(t0 + 3 * minute);
    ASSERT_EQ(w.appends.size(), 3u);  // two impression minutes, one click hour
    EXPECT_TRUE(w.deletes.empty());
    request_log b;
    for (const auto& x : w.appends) {
        EXPECT_EQ(x.bytes.size() % 8, 0u);
        b.load(x.kind, x.bucket, x.bytes);
    }
    EXPECT_TRUE(b.follows(follow_kind::impression, t0 + 5 * minute, fingerprint(id(1))));
    EXPECT_TRUE(b.follows(follow_kind::impression, t0 + 5 * minute, fingerprint(id(2))));
    EXPECT_TRUE(b.follows(follow_kind::click, t0 + 5 * minute, fingerprint(id(1))));
    EXPECT_FALSE(b.follows(follow_kind::click, t0 + 5 * minute, fingerprint(id(2))));
}

TEST(request_log, the_watermark_retires_buckets_older_than_window_and_lateness)
{
    request_log log({.click_ms = hour, .conversion_ms = 24 * hour, .lateness_ms = 5 * minute});
    log.stage(follow_kind::impression, t0, fingerprint(id(1)));
    log.stage(follow_kind::click, t0, fingerprint(id(1)));
    log.keep(log.pending(t0));
    const auto [first, last] = log.kept(follow_kind::impression, t0 + hour + 5 * minute);
    EXPECT_EQ(first, t0 / minute);
    EXPECT_EQ(last, (t0 + hour + 5 * minute) / minute);
    EXPECT_TRUE(log.pending(t0 + hour + 5 * minute).deletes.empty());
    const auto w = log.pending(t0 + hour + 6 * minute);
    ASSERT_EQ(w.deletes.size(), 1u);
    EXPECT_EQ(w.deletes[0].kind, follow_kind::impression);
    EXPECT_EQ(w.deletes[0].bucket, t0 / minute);
    const auto before = log.bytes();
    log.keep(log.pending(t0 + hour + 6 * minute));
    EXPECT_EQ(log.size(), 1u);       // the click stays for a day
    EXPECT_LT(log.bytes(), before);  // the retired bucket's memory went with it
    EXPECT_TRUE(log.follows(follow_kind::click, t0 + 20 * hour, fingerprint(id(1))));
}

}  // namespace
}  // namespace adsx::features
