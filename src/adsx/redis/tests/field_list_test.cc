#include <map>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "adsx/redis/field_list.h"

namespace adsx::redis {
namespace {

TEST(field_list, set_find_and_erase_on_a_small_list)
{
    field_list f;
    EXPECT_EQ(f.find("own"), nullptr);
    f.set("own", "1:2:3");
    f.set("mb5", "x");
    f.set("own", "4:5:6");
    ASSERT_NE(f.find("own"), nullptr);
    EXPECT_EQ(*f.find("own"), "4:5:6");
    EXPECT_EQ(f.size(), 2u);
    EXPECT_TRUE(f.erase("own"));
    EXPECT_FALSE(f.erase("own"));
    EXPECT_EQ(f.find("own"), nullptr);
    EXPECT_EQ(*f.find("mb5"), "x");
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
            f.set(name, value);
            want[name] = value;
        }
        if (step % 97 == 0) {
            ASSERT_EQ(f.size(), want.size()) << step;
            for (const auto& [n, v] : want) {
                ASSERT_NE(f.find(n), nullptr) << n;
                ASSERT_EQ(*f.find(n), v) << n;
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
    EXPECT_EQ(*f.find("m39"), "1521");
    EXPECT_EQ(*f.find("m0"), "0");
    EXPECT_EQ(f.find("m40"), nullptr);
}

}  // namespace
}  // namespace adsx::redis
