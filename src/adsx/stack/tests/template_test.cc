// Proves the stack's file helpers: render_template replaces every @NAME@ placeholder and refuses
// an unset one (naming it) or a missing template; kafka_cluster_id gives 22 URL-safe characters,
// never starting with a dash.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "adsx/stack/services.h"

namespace adsx::stack {
namespace {

namespace fs = std::filesystem;

TEST(render_template, replaces_every_placeholder_and_rejects_unset_ones)
{
    auto dir = fs::temp_directory_path() / ("adsx_tpl_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "in") << "a=@A@ b=@B@ again=@A@\n";
    ASSERT_TRUE(render_template(dir / "in", dir / "out", {{"A", "1"}, {"B", "two"}}));
    std::ifstream in(dir / "out");
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(s.str(), "a=1 b=two again=1\n");

    auto missing = render_template(dir / "in", dir / "out2", {{"A", "1"}});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("@B@"), std::string::npos);
    EXPECT_FALSE(render_template(dir / "nope", dir / "out3", {}));
    fs::remove_all(dir);
}

TEST(kafka_cluster_id, is_22_url_safe_chars_never_starting_with_a_dash)
{
    // A leading '-' made kafka-storage take the id for an option (1 stack start in 64 failed).
    for (int i = 0; i < 20'000; ++i) {
        const auto id = kafka_cluster_id();
        ASSERT_EQ(id.size(), 22u);
        ASSERT_NE(id.front(), '-') << id;
        ASSERT_EQ(id.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
    }
}

}  // namespace
}  // namespace adsx::stack
