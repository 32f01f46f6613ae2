// Proves loading a model version: file_sha256 matches the FIPS 180-2 example and reports a
// missing file as not_found; a good LR version loads and gives the expected margins and
// downsampling-corrected probabilities; a checksum mismatch, artifact feature names unlike the
// manifest's, corrupt JSON in artifact or manifest and a missing artifact are refused, naming
// the file.
#include "fixture.h"
#include <gtest/gtest.h>

#include "adsx/models/files.h"
#include "adsx/models/loader.h"

namespace adsx::models {
namespace {

using namespace testing;

TEST(file_sha256, matches_the_fips_180_2_example)
{
    temp_dir dir;
    write_file(dir.path() / "abc", "abc");
    EXPECT_EQ(file_sha256(dir.path() / "abc").value(),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(file_sha256(dir.path() / "nope").error().code, error_code::not_found);
}

TEST(load_model, a_good_lr_version_scores)
{
    temp_dir dir;
    manifest_options o;
    o.negative_rate = 0.5;
    auto version = write_version(dir.path(), o, lr_json(-1.0, 2.0));
    auto m = load_model(version);
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ((*m)->info().name, "ctr");
    EXPECT_EQ((*m)->info().family, ranking::model_family::lr);
    auto b = (*m)->make_batch();
    b.reset(2);
    b.set_numeric(0, 0, 0.5);  // margin -1 + 2 * 0.5 + 0.25 (device=ios)
    b.set_categorical(0, 0, "ios");
    b.set_numeric(1, 0, 0.5);  // margin -1 + 2 * 0.5 (device=android weighs nothing)
    b.set_categorical(1, 0, "android");
    std::vector<double> margins(2);
    std::vector<double> p(2);
    ASSERT_TRUE((*m)->margins(b, margins));
    ASSERT_TRUE((*m)->score(b, p));
    EXPECT_EQ(margins[0], 0.25);
    EXPECT_EQ(margins[1], 0.0);
    EXPECT_DOUBLE_EQ(p[1], 0.5 / (0.5 + 0.5 / 0.5));  // sigmoid(0) corrected at w = 0.5
}

TEST(load_model, a_checksum_mismatch_is_refused)
{
    temp_dir dir;
    auto version = write_version(dir.path(), {}, lr_json(-1.0, 2.0));
    write_file(version / "lr.json", lr_json(-1.0, 3.0));  // edited after training
    auto m = load_model(version);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().message.rfind(
                  (version / "lr.json").string() + ": checksum mismatch: its SHA-256 is ", 0),
              0u)
        << m.error().message;
}

TEST(load_model, an_artifact_whose_names_differ_is_refused)
{
    temp_dir dir;
    auto version = write_version(dir.path(), {}, lr_json(-1.0, 2.0, "y"));
    auto m = load_model(version);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().message,
              (version / "lr.json").string() +
                  ": numeric[0]: name is \"y\"; the manifest's numeric feature 0 is \"x\" (same "
                  "names, same order)");
}

TEST(load_model, corrupt_json_is_refused_naming_the_file)
{
    temp_dir dir;
    auto version = write_version(dir.path(), {}, "{\"format\": \"adstreamx-lr/1\", ");
    auto bad_artifact = load_model(version);
    ASSERT_FALSE(bad_artifact);
    EXPECT_EQ(
        bad_artifact.error().message.rfind((version / "lr.json").string() + ": not valid JSON", 0),
        0u)
        << bad_artifact.error().message;

    write_file(version / "model.json", "{\"schema_version\": 1, \"name\": \"ctr\"");
    auto bad_manifest = load_model(version);
    ASSERT_FALSE(bad_manifest);
    EXPECT_EQ(bad_manifest.error().message.rfind(
                  (version / "model.json").string() + ": not valid JSON", 0),
              0u);
}

TEST(load_model, a_missing_artifact_is_refused)
{
    temp_dir dir;
    auto version = write_version(dir.path(), {}, "");
    auto m = load_model(version);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, error_code::not_found);
    EXPECT_EQ(m.error().message, (version / "lr.json").string() + " does not exist");
}

}  // namespace
}  // namespace adsx::models
