// Proves the suppression list: it answers for the snapshot last given, by string_view without
// copies; a replacement drops who is no longer listed; lookups stay right while another thread
// replaces the list.
#include <thread>

#include <gtest/gtest.h>

#include "adsx/privacy/suppression.h"

namespace adsx::privacy {
namespace {

TEST(suppression_list, answers_for_the_last_snapshot)
{
    suppression_list s;
    EXPECT_FALSE(s.contains("k1:00"));
    s.replace({"k1:00", "k1:01"});
    EXPECT_EQ(s.size(), 2u);
    EXPECT_TRUE(s.contains("k1:00"));
    EXPECT_FALSE(s.contains("k1:02"));
    s.replace({"k1:02"});
    EXPECT_FALSE(s.contains("k1:00"));
    EXPECT_TRUE(s.contains(std::string_view("k1:02xyz", 5)));
    s.replace({});
    EXPECT_EQ(s.size(), 0u);
    EXPECT_FALSE(s.contains("k1:02"));
}

TEST(suppression_list, lookups_hold_while_another_thread_replaces)
{
    suppression_list s;
    s.replace({"always", "a"});
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int i = 0; i < 2'000; ++i) {
            s.replace(i % 2 ? std::vector<std::string>{"always", "a"}
                            : std::vector<std::string>{"always", "b"});
        }
        done = true;
    });
    int misses = 0;
    while (!done) {
        misses += !s.contains("always");
        misses += s.contains("never");
    }
    writer.join();
    EXPECT_EQ(misses, 0);
}

}  // namespace
}  // namespace adsx::privacy
