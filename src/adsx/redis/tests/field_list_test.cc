// Proves the Redis field list: set, find and erase on a small list; agreement with a std::map
// through 20,000 random sets and erases across the size where the index starts; add taking a
// reply's fields; positions read before adds still right for assignment, scanned and indexed;
// bytes() following the strings' buffers through sets and erases.
#include <map>
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "adsx/redis/field_list.h"

namespace adsx::redis {
namespace {

// A field's value, or null when absent; and a field set whether present or not: the read and
// the write the online store does, through positions.
const std::string* find(const field_list& f, std::string_view name)
{
    const auto at = f.position(name);
    return at ? &f.value(*at) : nullptr;
}

void set(field_list& f, std::string_view name, std::string_view value)
{
    f.set_at(f.position(name), name, value);
}

TEST(field_list, set_find_and_erase_on_a_small_list)
{
    field_list f;
    EXPECT_EQ(find(f, "own"), nullptr);
    set(f, "own", "1:2:3");
    set(f, "mb5", "x");
    set(f, "own", "4:5:6");
    ASSERT_NE(find(f, "own"), nullptr);
    EXPECT_EQ(*find(f, "own"), "4:5:6");
    EXPECT_EQ(f.size(), 2u);
    EXPECT_TRUE(f.erase("own"));
    EXPECT_FALSE(f.erase("own"));
    EXPECT_EQ(find(f, "own"), nullptr);
    EXPECT_EQ(*find(f, "mb5"), "x");
}

// Random sets and erases across the size where the index starts, against a std::map.
TEST(field_list, agrees_with_a_map_through_growth_and_erasure)
{
    std::mt19937 rng(7);
    field_list f;
    std::map<std::string, std::string> want;
    for (int step = 0; step < 20'000; ++step) {
        const auto name = "g:" + std::to_string(rng() % 60) + ":m" + std::to_string(rng() % 5);
        if (rng() % 8 == 0) {
            EXPECT_EQ(f.erase(name), want.erase(name) == 1) << step;
        } else {
            const auto value = std::to_string(step);
            set(f, name, value);
            want[name] = value;
        }
        if (step % 97 == 0) {
            ASSERT_EQ(f.size(), want.size()) << step;
            for (const auto& [n, v] : want) {
                ASSERT_NE(find(f, n), nullptr) << n;
                ASSERT_EQ(*find(f, n), v) << n;
            }
            std::map<std::string, std::string> listed(f.begin(), f.end());
            ASSERT_EQ(listed, want) << step;
        }
    }
    EXPECT_GT(want.size(), 200u);  // the index was in use
}

TEST(field_list, add_takes_the_fields_of_a_reply)
{
    field_list f;
    for (int i = 0; i < 40; ++i) {
        f.add("m" + std::to_string(i), std::to_string(i * i));
    }
    EXPECT_EQ(*find(f, "m39"), "1521");
    EXPECT_EQ(*find(f, "m0"), "0");
    EXPECT_EQ(find(f, "m40"), nullptr);
}

// The online store reads a key's fields, adds new ones, then assigns at the positions it read.
TEST(field_list, positions_stay_valid_through_adds)
{
    for (int n : {3, 40}) {  // scanned and indexed
        field_list f;
        for (int i = 0; i < n; ++i) {
            f.add("m" + std::to_string(i), "old");
        }
        const auto first = f.position("m0");
        const auto last = f.position("m" + std::to_string(n - 1));
        ASSERT_TRUE(first && last);
        for (int i = n; i < n + 30; ++i) {
            f.set_at(std::nullopt, "m" + std::to_string(i), "added");
        }
        f.set_at(first, "m0", "new");
        f.set_at(last, "m" + std::to_string(n - 1), "new");
        EXPECT_EQ(*find(f, "m0"), "new") << n;
        EXPECT_EQ(*find(f, "m" + std::to_string(n - 1)), "new") << n;
        EXPECT_EQ(*find(f, "m" + std::to_string(n + 29)), "added") << n;
        EXPECT_EQ(f.size(), static_cast<std::size_t>(n + 30)) << n;
    }
}

// The strings' own buffers: short ones are stored inline (none), long ones on the heap.
std::size_t heap(const std::string& s)
{
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}

TEST(field_list, bytes_follow_the_strings_held)
{
    field_list f;
    set(f, "own", "1:2:3");  // short strings: stored inline, no buffer of their own
    set(f, "c7", "4:5");
    set(f, "asof", "6");
    const auto slots_only = f.bytes();
    const std::string long_value(300, 'x');
    set(f, "own", long_value);  // in place: the list's slots stay as they were
    EXPECT_EQ(f.bytes(), slots_only + heap(long_value));
    set(f, "own", "short");  // assign keeps the buffer
    EXPECT_EQ(f.bytes(), slots_only + heap(long_value));
    EXPECT_TRUE(f.erase("c7"));  // erasing keeps the slots
    EXPECT_EQ(f.bytes(), slots_only + heap(long_value));
    EXPECT_TRUE(f.erase("own"));
    EXPECT_EQ(f.bytes(), slots_only);
    EXPECT_GE(slots_only, 3 * sizeof(field_list::field));
}

}  // namespace
}  // namespace adsx::redis
