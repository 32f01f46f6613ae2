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

}  // namespace
}  // namespace adsx
