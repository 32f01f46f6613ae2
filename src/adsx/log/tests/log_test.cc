// Proves the JSON log lines: render escapes the message, writes fields with their JSON types and
// omits an empty field set; a file logger writes one line per record with time, level, component,
// message and fields, and drops records below its level; init refuses an unknown level.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "adsx/log/log.h"

namespace adsx::log {
namespace {

TEST(log, render_escapes_message_and_types_fields)
{
    auto s = render("say \"hi\"", {{"n", 3}, {"ratio", 0.5}, {"ok", true}, {"who", "kafka"}});
    EXPECT_EQ(s, R"("message":"say \"hi\"","fields":{"n":3,"ratio":0.5,"ok":true,"who":"kafka"})");
}

TEST(log, render_omits_empty_fields)
{
    EXPECT_EQ(render("x", {}), R"("message":"x")");
}

TEST(log, lines_in_file_are_json_with_standard_keys)
{
    auto path = std::filesystem::temp_directory_path() / "adsx_log_test.jsonl";
    std::filesystem::remove(path);
    ASSERT_TRUE(init("info", path.string()));
    auto l = get("unit");
    l.debug("hidden");
    l.info("shown", {{"k", 1}});
    spdlog::get("unit")->flush();
    std::ifstream in(path);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line.rfind(R"({"time":")", 0), 0u) << line;
    EXPECT_NE(line.find(R"("level":"info","component":"unit","message":"shown","fields":{"k":1}})"),
              std::string::npos)
        << line;
    EXPECT_FALSE(std::getline(in, line)) << "debug line leaked: " << line;
    EXPECT_FALSE(init("loud"));
}

}  // namespace
}  // namespace adsx::log
