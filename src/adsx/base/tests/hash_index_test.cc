// Proves hash_index: every position found through growth to 1,000 entries and absent names
// missed; colliding hashes, and hashes equal in their low 32 bits, told apart by the caller's
// equality test; clear forgets everything. And scan_or_index: below its threshold it scans and
// hashes nothing, from it it indexes with one hash per added element, and reindex after removals
// keeps positions right, indexing at the threshold and scanning again below it.
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "adsx/base/hash_index.h"

namespace adsx {
namespace {

// The index over a vector of names, as its callers use it.
struct names
{
    std::vector<std::string> items;
    hash_index index;
    std::function<std::size_t(const std::string&)> hash = std::hash<std::string>{};

    std::optional<std::uint32_t> find(const std::string& n) const
    {
        return index.find(hash(n), [&](std::uint32_t i) { return items[i] == n; });
    }
    void add(const std::string& n)
    {
        index.insert(hash(n), static_cast<std::uint32_t>(items.size()));
        items.push_back(n);
    }
};

TEST(hash_index, finds_every_position_through_growth)
{
    names n;
    EXPECT_FALSE(n.find("m0"));  // empty index
    for (int i = 0; i < 1000; ++i) {
        n.add("g:US-CA:m" + std::to_string(i));
    }
    EXPECT_EQ(n.index.size(), 1000u);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(n.find("g:US-CA:m" + std::to_string(i)), static_cast<std::uint32_t>(i));
    }
    EXPECT_FALSE(n.find("g:US-CA:m1000"));
}

TEST(hash_index, collisions_are_told_apart_by_the_callers_test)
{
    names n;
    n.hash = [](const std::string& s) { return s.size(); };  // "a", "b", "c" all collide
    for (const char* s : {"a", "b", "c", "dd"}) {
        n.add(s);
    }
    EXPECT_EQ(n.find("a"), 0u);
    EXPECT_EQ(n.find("b"), 1u);
    EXPECT_EQ(n.find("c"), 2u);
    EXPECT_EQ(n.find("dd"), 3u);
    EXPECT_FALSE(n.find("e"));
    EXPECT_FALSE(n.find("ee"));
}

TEST(hash_index, hashes_differing_only_above_32_bits_still_find_by_the_callers_test)
{
    names n;
    n.hash = [](const std::string& s) { return (std::size_t{s[0] == 'x'} << 40) | 7u; };
    n.add("x");
    n.add("y");
    EXPECT_EQ(n.find("x"), 0u);
    EXPECT_EQ(n.find("y"), 1u);
}

TEST(hash_index, clear_forgets_everything)
{
    names n;
    n.add("m1");
    n.index.clear();
    EXPECT_EQ(n.index.size(), 0u);
    EXPECT_FALSE(n.find("m1"));
    n.index.insert(n.hash("m1"), 0);
    EXPECT_EQ(n.find("m1"), 0u);
}

// A list through scan_or_index, counting the hashes it asks for (none while it scans).
struct short_list
{
    std::vector<std::string> items;
    scan_or_index<4> index;
    mutable int hashed = 0;

    std::size_t hash(const std::string& s) const
    {
        ++hashed;
        return std::hash<std::string>{}(s);
    }
    std::optional<std::uint32_t> find(const std::string& n) const
    {
        return index.find(
            items.size(), [&] { return hash(n); }, [&](std::uint32_t i) { return items[i] == n; });
    }
    void add(const std::string& n)
    {
        items.push_back(n);
        index.appended(items.size(), [&](std::uint32_t i) { return hash(items[i]); });
    }
};

TEST(scan_or_index, scans_below_its_threshold_and_indexes_from_it)
{
    short_list l;
    EXPECT_FALSE(l.find("a"));
    for (const char* s : {"a", "b", "c"}) {
        l.add(s);
    }
    EXPECT_FALSE(l.index.indexed());
    EXPECT_EQ(l.find("c"), 2u);
    EXPECT_FALSE(l.find("d"));
    EXPECT_EQ(l.hashed, 0);  // a scan hashes nothing

    l.add("d");  // the fourth: every element indexed
    EXPECT_TRUE(l.index.indexed());
    EXPECT_EQ(l.hashed, 4);
    for (int i = 0; i < 100; ++i) {
        l.add("e" + std::to_string(i));
    }
    EXPECT_EQ(l.hashed, 104);  // one hash per element added after
    EXPECT_EQ(l.find("a"), 0u);
    EXPECT_EQ(l.find("d"), 3u);
    EXPECT_EQ(l.find("e99"), 103u);
    EXPECT_FALSE(l.find("e100"));
}

TEST(scan_or_index, reindex_follows_removals_across_the_threshold)
{
    short_list l;
    for (const char* s : {"a", "b", "c", "d", "e"}) {
        l.add(s);
    }
    auto rehash = [&](std::uint32_t i) { return l.hash(l.items[i]); };
    l.items.erase(l.items.begin());  // "b".."e": positions moved
    l.index.reindex(l.items.size(), rehash);
    EXPECT_TRUE(l.index.indexed());
    EXPECT_EQ(l.find("e"), 3u);
    EXPECT_FALSE(l.find("a"));
    l.items.pop_back();  // three left: back to scanning
    l.index.reindex(l.items.size(), rehash);
    EXPECT_FALSE(l.index.indexed());
    EXPECT_EQ(l.find("d"), 2u);
    EXPECT_FALSE(l.find("e"));
}

}  // namespace
}  // namespace adsx
