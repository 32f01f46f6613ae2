// Proves that config::load_string types, overrides, resolves and validates every key as
// config.h promises: defaults, file values, ADSX_* overrides, path resolution against the root,
// and errors that name the key and where the bad value came from.
#include <cstdlib>

#include <gtest/gtest.h>

#include "adsx/config/config.h"

namespace adsx::config {
namespace {

const std::filesystem::path root = "/srv/adsx";

TEST(config, defaults_resolve_relative_paths_against_root)
{
    auto c = load_string("", root, {});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->kafka.bootstrap_servers, "127.0.0.1:9092");
    EXPECT_EQ(c->redis.port, 6379);
    EXPECT_EQ(c->stack.var_dir, "/srv/adsx/var");
    EXPECT_EQ(c->log_dir(), "/srv/adsx/var/log");
    EXPECT_EQ(c->models.dir, "/srv/adsx/var/models");
}

TEST(config, models_dir_is_a_path_key_with_an_override)
{
    auto c = load_string("[models]\ndir = 'models'\n", root, {});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->models.dir, "/srv/adsx/models");
    c = load_string("", root, {{"ADSX_MODELS__DIR", "/data/models"}});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->models.dir, "/data/models");
    EXPECT_FALSE(load_string("[models]\ndir = ''\n", root, {}));
}

TEST(config, file_values_are_typed)
{
    auto c =
        load_string("[redis]\nport = 7000\nmanaged = false\n[log]\nlevel = 'debug'\n", root, {});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->redis.port, 7000);
    EXPECT_FALSE(c->redis.managed);
    EXPECT_EQ(c->log.level, "debug");
}

TEST(config, environment_overrides_file)
{
    auto c = load_string("[redis]\nport = 7000\n", root,
                         {{"ADSX_REDIS__PORT", "7001"},
                          {"ADSX_KAFKA__BOOTSTRAP_SERVERS", "k1:9092,k2:9092"},
                          {"ADSX_POSTGRES__MANAGED", "false"}});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->redis.port, 7001);
    EXPECT_EQ(c->kafka.bootstrap_servers, "k1:9092,k2:9092");
    EXPECT_FALSE(c->postgres.managed);
}

TEST(config, wrong_type_names_the_key)
{
    auto c = load_string("[redis]\nport = 'six'\n", root, {});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, error_code::invalid_argument);
    EXPECT_NE(c.error().message.find("redis.port"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("expected an integer"), std::string::npos);
}

TEST(config, out_of_range_env_value_names_the_variable)
{
    auto c = load_string("", root, {{"ADSX_REDIS__PORT", "70000"}});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("ADSX_REDIS__PORT"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("out of range"), std::string::npos);
}

TEST(config, validator_rejects_bad_bootstrap_servers_and_says_how_to_fix)
{
    auto c = load_string("", root, {{"ADSX_KAFKA__BOOTSTRAP_SERVERS", "localhost"}});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("kafka.bootstrap_servers"), std::string::npos)
        << c.error().message;
    EXPECT_NE(c.error().message.find("not host:port"), std::string::npos);
    EXPECT_NE(c.error().message.find("ADSX_KAFKA__BOOTSTRAP_SERVERS"), std::string::npos);
}

TEST(config, validator_rejects_unknown_log_level)
{
    auto c = load_string("[log]\nlevel = 'loud'\n", root, {});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("must be one of trace|debug|info|warn|error"),
              std::string::npos)
        << c.error().message;
}

TEST(config, unknown_keys_and_variables_are_errors_not_silently_ignored)
{
    auto k = load_string("[redis]\nprot = 1\n", root, {});
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message.find("unknown key redis.prot"), std::string::npos);

    auto e = load_string("", root, {{"ADSX_REDIS__PROT", "1"}});
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("ADSX_REDIS__PROT"), std::string::npos);
}

TEST(config, syntax_error_reports_line)
{
    auto c = load_string("[redis]\nport = = 3\n", root, {});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("line 2"), std::string::npos) << c.error().message;
}

TEST(config, booleans_accept_common_spellings_from_env_only)
{
    auto c = load_string("", root, {{"ADSX_REDIS__MANAGED", "no"}});
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->redis.managed);
    auto bad = load_string("[redis]\nmanaged = 'no'\n", root, {});
    ASSERT_FALSE(bad);
}

TEST(config, bad_duration_is_rejected)
{
    auto c = load_string("", root, {{"ADSX_PROMETHEUS__SCRAPE_INTERVAL", "fast"}});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("prometheus.scrape_interval"), std::string::npos);
}

TEST(config, describe_lists_every_key_with_its_variable)
{
    auto c = load_string("", root, {});
    ASSERT_TRUE(c);
    auto lines = describe(*c);
    ASSERT_FALSE(lines.empty());
    bool found = false;
    for (const auto& l : lines) {
        found |= l.find("redis.port = 6379") != std::string::npos &&
                 l.find("ADSX_REDIS__PORT") != std::string::npos;
    }
    EXPECT_TRUE(found);
}

TEST(config, events_max_future_s_defaults_to_five_minutes)
{
    auto c = load_string("", root, {});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->events.max_future_s, 300);
    c = load_string("[events]\nmax_future_s = 0\n", root, {});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->events.max_future_s, 0);
    EXPECT_FALSE(load_string("", root, {{"ADSX_EVENTS__MAX_FUTURE_S", "86401"}}));
}

TEST(config, a_bad_file_value_is_an_error_even_when_the_environment_overrides_it)
{
    auto c = load_string("[log]\nlevel = 'loud'\n", root, {{"ADSX_LOG__LEVEL", "debug"}});
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("config: log.level = \"loud\""), std::string::npos)
        << c.error().message;
}

TEST(config, urls_stay_as_they_are_and_relative_paths_are_normalised)
{
    auto c = load_string("[lake]\ndir = 's3a://b/lake'\n[spark]\ncheckpoint_dir = './x/../y/'\n"
                         "[models]\ndir = '/abs//models'\n",
                         root, {});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->lake.dir, "s3a://b/lake");
    EXPECT_EQ(c->spark.checkpoint_dir, "/srv/adsx/y/");
    EXPECT_EQ(c->models.dir, "/abs//models");
}

TEST(config, an_empty_cache_dir_means_the_user_cache)
{
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    std::string saved = xdg ? xdg : "";
    ::setenv("XDG_CACHE_HOME", "/xdg", 1);
    auto c = load_string("", root, {});
    ::setenv("XDG_CACHE_HOME", "", 1);
    auto home = load_string("", root, {});
    if (xdg) {
        ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
    } else {
        ::unsetenv("XDG_CACHE_HOME");
    }
    ASSERT_TRUE(c && home);
    EXPECT_EQ(c->stack.cache_dir, "/xdg/adstreamx");
    const char* h = std::getenv("HOME");
    EXPECT_EQ(home->stack.cache_dir,
              std::filesystem::path(h && *h ? h : "/root") / ".cache" / "adstreamx");
}

}  // namespace
}  // namespace adsx::config
