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

}  // namespace
}  // namespace adsx::stack
