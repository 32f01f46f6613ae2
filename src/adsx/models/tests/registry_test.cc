// Proves the model registry and live_model: the registry lists names, versions, the newest and
// each arm's version, skipping versions still being written and temporary pointer files, and
// refuses a malformed pointer, an arm name that leaves the directory and a manifest in another
// version's directory. live_model swaps when its pointer moves while holders keep the old model,
// keeps its model when the new version is corrupt or missing, and loads one repaired in place.
#include "fixture.h"
#include <gtest/gtest.h>

#include "adsx/models/live_model.h"
#include "adsx/models/registry.h"

namespace adsx::models {
namespace {

using namespace testing;
namespace fs = std::filesystem;

manifest_options version(std::int64_t v, std::string name = "ctr")
{
    manifest_options o;
    o.name = std::move(name);
    o.version = v;
    return o;
}

TEST(registry, lists_names_versions_and_arms)
{
    temp_dir dir;
    write_version(dir.path(), version(1), lr_json(-1, 1));
    write_version(dir.path(), version(2), lr_json(-2, 1));
    write_version(dir.path(), version(1, "cvr"), lr_json(-3, 1));
    fs::create_directories(dir.path() / "ctr" / ".tmp-3");  // a version being written
    write_file(dir.path() / "ctr" / "3.partial" / "model.json", "{}");
    fs::create_directories(dir.path() / "empty");
    point(dir.path(), "ctr", "control", 1);
    point(dir.path(), "ctr", "treatment", 2);
    write_file(dir.path() / "ctr" / "current" / ".treatment.tmp", "1\n");

    registry reg(dir.path());
    EXPECT_EQ(reg.names().value(), (std::vector<std::string>{"ctr", "cvr"}));
    EXPECT_EQ(reg.versions("ctr").value(), (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(reg.newest("ctr").value(), 2);
    EXPECT_EQ(reg.newest("empty").error().code, error_code::not_found);
    auto arms = reg.arms("ctr").value();
    EXPECT_EQ(arms, (std::map<std::string, std::int64_t>{{"control", 1}, {"treatment", 2}}));
    EXPECT_TRUE(reg.arms("cvr").value().empty());
    EXPECT_EQ(reg.current("ctr", "treatment").value(), 2);
    EXPECT_EQ(reg.current("ctr", "nobody").error().code, error_code::not_found);
    EXPECT_EQ(reg.current("ctr", "../x").error().code, error_code::invalid_argument);
    EXPECT_EQ(registry(dir.path() / "none").names().error().code, error_code::not_found);
}

TEST(registry, refuses_a_bad_pointer_and_a_misplaced_manifest)
{
    temp_dir dir;
    write_version(dir.path(), version(1), lr_json(-1, 1));
    write_file(dir.path() / "ctr" / "current" / "control", "latest\n");
    registry reg(dir.path());
    auto bad = reg.current("ctr", "control");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("expected one line with a version number, found \"latest\""),
              std::string::npos);
    // Version 2's directory holding version 1's manifest.
    fs::copy(dir.path() / "ctr" / "1", dir.path() / "ctr" / "2", fs::copy_options::recursive);
    auto misplaced = reg.load("ctr", 2);
    ASSERT_FALSE(misplaced);
    EXPECT_NE(misplaced.error().message.find("names ctr version 1, but sits in ctr/2"),
              std::string::npos);
    EXPECT_TRUE(reg.load("ctr", 1));
}

double margin_of(const std::shared_ptr<const ranking::model>& m)
{
    auto b = m->make_batch();
    b.reset(1);
    std::vector<double> out(1);
    EXPECT_TRUE(m->margins(b, out));
    return out[0];  // the bias: x and device missing
}

TEST(live_model, swaps_when_the_pointer_moves_and_keeps_the_old_model_on_failure)
{
    temp_dir dir;
    write_version(dir.path(), version(1), lr_json(-1, 1));
    write_version(dir.path(), version(2), lr_json(-2, 1));
    live_model live(registry(dir.path()), "ctr", "control");
    EXPECT_EQ(live.get(), nullptr);
    auto none = live.reload_if_changed();
    ASSERT_FALSE(none);  // no pointer yet
    EXPECT_EQ(live.get(), nullptr);
    EXPECT_EQ(live.failures(), 0u);  // no model yet is not a failed load

    point(dir.path(), "ctr", "control", 1);
    EXPECT_EQ(live.reload_if_changed().value(), true);
    const auto first = live.get();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->info().version, 1);
    EXPECT_EQ(margin_of(first), -1.0);
    EXPECT_EQ(live.reload_if_changed().value(), false);
    EXPECT_EQ(live.get(), first);

    point(dir.path(), "ctr", "control", 2);
    EXPECT_EQ(live.reload_if_changed().value(), true);
    EXPECT_EQ(live.get()->info().version, 2);
    EXPECT_EQ(margin_of(live.get()), -2.0);
    EXPECT_EQ(margin_of(first), -1.0);  // a request holding the old model still has it

    // Version 3 is corrupt: refused, version 2 kept; asking again does not reload it.
    auto v3 = write_version(dir.path(), version(3), lr_json(-3, 1));
    write_file(v3 / "lr.json", "{}");
    point(dir.path(), "ctr", "control", 3);
    auto refused = live.reload_if_changed();
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("checksum mismatch"), std::string::npos);
    EXPECT_EQ(live.get()->info().version, 2);
    auto again = live.reload_if_changed();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message, refused.error().message);
    EXPECT_EQ(live.failures(), 1u);  // one version refused, however often it is asked

    // Repaired in place (its manifest rewritten, so its mtime moves): loaded.
    write_version(dir.path(), version(3), lr_json(-3, 1));
    fs::last_write_time(v3 / "model.json",
                        fs::last_write_time(v3 / "model.json") + std::chrono::seconds(1));
    EXPECT_EQ(live.reload_if_changed().value(), true);
    EXPECT_EQ(live.get()->info().version, 3);
    EXPECT_EQ(margin_of(live.get()), -3.0);
}

TEST(live_model, a_pointer_to_a_missing_version_keeps_the_model)
{
    temp_dir dir;
    write_version(dir.path(), version(1), lr_json(-1, 1));
    point(dir.path(), "ctr", "control", 1);
    live_model live(registry(dir.path()), "ctr", "control");
    ASSERT_TRUE(live.reload_if_changed());
    point(dir.path(), "ctr", "control", 9);
    auto r = live.reload_if_changed();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, error_code::not_found);
    EXPECT_EQ(live.get()->info().version, 1);
    ASSERT_FALSE(live.reload_if_changed());
    EXPECT_EQ(live.failures(), 1u);
}

}  // namespace
}  // namespace adsx::models
