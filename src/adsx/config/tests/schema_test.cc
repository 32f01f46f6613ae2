// Proves that `adsx config schema --json` (config::schema_json) is valid JSON that lists every key
// `adsx config show` lists, in the same order, with the right type, default, variable, path
// rules and validation; and that the rules it states are the ones the loader enforces: each
// stated bound, list entry, pattern and format accepts and rejects what it says.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "adsx/config/config.h"

namespace adsx::config {
namespace {

namespace dom = simdjson::dom;

const std::filesystem::path root = "/srv/adsx";

class schema : public ::testing::Test
{
protected:
    void SetUp() override
    {
        _text = simdjson::padded_string(schema_json());
        _doc = _parser.parse(_text).value();
        dom::array keys = _doc["keys"].get_array().value();
        for (dom::object k : keys) {
            auto id = std::string(k["section"].get_string().value()) + "." +
                      std::string(k["key"].get_string().value());
            _order.push_back(id);
            _keys.emplace(id, k);
        }
    }

    dom::object key(const std::string& id) const { return _keys.at(id); }

    static std::string str(dom::object o, const char* member)
    {
        return std::string(o[member].get_string().value());
    }

    simdjson::padded_string _text;
    dom::parser _parser;
    dom::element _doc;
    std::vector<std::string> _order;
    std::map<std::string, dom::object> _keys;
};

// The strings of a JSON array.
std::vector<std::string> strings(simdjson::simdjson_result<dom::element> list)
{
    dom::array items = list.get_array().value();
    std::vector<std::string> out;
    for (auto s : items) {
        out.emplace_back(s.get_string().value());
    }
    return out;
}

// Whether the loader accepts `text` for the key's variable (on top of an empty file).
bool accepts(dom::object k, const std::string& text)
{
    return load_string("", root, {{std::string(k["env"].get_string().value()), text}}).has_value();
}

TEST_F(schema, lists_every_key_of_config_show_in_order)
{
    auto c = load_string("", root, {});
    ASSERT_TRUE(c) << c.error().message;
    auto lines = describe(*c);
    ASSERT_EQ(_order.size(), lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_EQ(lines[i].rfind(_order[i] + " = ", 0), 0u) << lines[i];
        EXPECT_NE(lines[i].find("[" + env_var(_order[i]) + "]"), std::string::npos);
    }
}

TEST_F(schema, integer_key_has_type_default_variable_and_range)
{
    auto port = key("redis.port");
    EXPECT_EQ(str(port, "type"), "integer");
    EXPECT_EQ(port["default"].get_int64().value(), 6379);
    EXPECT_EQ(str(port, "env"), "ADSX_REDIS__PORT");
    EXPECT_EQ(str(port, "description"), "Redis port");
    EXPECT_EQ(port["validate"]["min"].get_int64().value(), 1);
    EXPECT_EQ(port["validate"]["max"].get_int64().value(), 65535);
    EXPECT_EQ(port["path"].error(), simdjson::NO_SUCH_FIELD);
}

TEST_F(schema, events_max_future_s_is_declared)
{
    auto k = key("events.max_future_s");
    EXPECT_EQ(str(k, "type"), "integer");
    EXPECT_EQ(k["default"].get_int64().value(), 300);
    EXPECT_EQ(k["validate"]["min"].get_int64().value(), 0);
    EXPECT_EQ(k["validate"]["max"].get_int64().value(), 86400);
    EXPECT_NE(str(k, "description").find("future_timestamp"), std::string::npos);
}

TEST_F(schema, booleans_and_their_environment_spellings)
{
    EXPECT_EQ(str(key("kafka.managed"), "type"), "boolean");
    EXPECT_TRUE(key("kafka.managed")["default"].get_bool().value());
    EXPECT_EQ(strings(_doc["env"]["boolean_true"]), (std::vector<std::string>{"true", "1", "yes"}));
    EXPECT_EQ(strings(_doc["env"]["boolean_false"]),
              (std::vector<std::string>{"false", "0", "no"}));
}

TEST_F(schema, paths_are_typed_with_their_resolution_rules)
{
    EXPECT_EQ(str(key("stack.var_dir"), "type"), "path");
    EXPECT_EQ(str(key("stack.var_dir"), "default"), "var");
    EXPECT_FALSE(key("stack.var_dir")["path"]["keep_urls"].get_bool().value());
    EXPECT_TRUE(key("lake.dir")["path"]["keep_urls"].get_bool().value());
    EXPECT_EQ(str(key("stack.cache_dir"), "default"), "");
    EXPECT_TRUE(key("stack.cache_dir")["path"]["user_cache_when_empty"].get_bool().value());
    for (const char* p : {"stack.deploy_dir", "postgres.password_file", "postgres.bin_dir",
                          "privacy.hmac_key_file", "spark.checkpoint_dir", "models.dir"}) {
        EXPECT_EQ(str(key(p), "type"), "path") << p;
    }
    EXPECT_EQ(str(key("spark.master"), "type"), "string");
}

TEST_F(schema, string_rules_are_data)
{
    EXPECT_EQ(strings(key("kafka.compression")["validate"]["one_of"]),
              (std::vector<std::string>{"lz4", "zstd", "snappy", "gzip", "none"}));
    EXPECT_EQ(str(key("privacy.key_id")["validate"], "pattern"), "^[a-z0-9]{1,8}$");
    EXPECT_EQ(str(key("kafka.bootstrap_servers")["validate"], "format"), "host_port_list");
    EXPECT_EQ(str(key("prometheus.scrape_interval")["validate"], "format"), "duration");
    EXPECT_EQ(str(key("kafka.heap")["validate"], "format"), "non_empty");
    for (const char* f : {"non_empty", "host_port_list", "duration"}) {
        EXPECT_FALSE(str(_doc["formats"].get_object().value(), f).empty()) << f;
    }
}

TEST_F(schema, every_default_passes_its_own_rule)
{
    for (const auto& id : _order) {
        auto k = key(id);
        auto d = k["default"];
        std::string text = d.is_string() ? std::string(d.get_string().value())
                           : d.is_bool() ? (d.get_bool().value() ? "true" : "false")
                                         : std::to_string(d.get_int64().value());
        EXPECT_TRUE(accepts(k, text)) << id << " = " << text;
    }
}

TEST_F(schema, stated_bounds_and_lists_are_the_enforced_ones)
{
    for (const auto& id : _order) {
        auto v = key(id)["validate"];
        if (auto lo = v["min"].get_int64(); !lo.error()) {
            EXPECT_TRUE(accepts(key(id), std::to_string(lo.value()))) << id;
            EXPECT_FALSE(accepts(key(id), std::to_string(lo.value() - 1))) << id;
        }
        if (auto hi = v["max"].get_int64(); !hi.error()) {
            EXPECT_TRUE(accepts(key(id), std::to_string(hi.value()))) << id;
            EXPECT_FALSE(accepts(key(id), std::to_string(hi.value() + 1))) << id;
        }
        if (!v["one_of"].error()) {
            for (const auto& s : strings(v["one_of"])) {
                EXPECT_TRUE(accepts(key(id), s)) << id << " = " << s;
            }
            EXPECT_FALSE(accepts(key(id), "not-listed")) << id;
        }
    }
}

TEST_F(schema, stated_patterns_and_formats_reject_what_they_exclude)
{
    const std::map<std::string, std::vector<std::string>> rejected = {
        {"non_empty", {"", " \t"}},
        {"host_port_list", {"", "localhost", ":9092", "h:0", "h:65536", "a:1,b"}},
        {"duration", {"", "fast", "0s", "2", "2d", "-1s"}},
    };
    for (const auto& id : _order) {
        auto v = key(id)["validate"];
        if (auto f = v["format"].get_string(); !f.error()) {
            for (const auto& bad : rejected.at(std::string(f.value()))) {
                EXPECT_FALSE(accepts(key(id), bad)) << id << " = '" << bad << "'";
            }
        }
        if (auto p = v["pattern"].get_string(); !p.error()) {
            EXPECT_FALSE(accepts(key(id), "")) << id;
            EXPECT_FALSE(accepts(key(id), "UPPER")) << id;
        }
    }
}

}  // namespace
}  // namespace adsx::config
