// Proves the event contract read from schemas/ad_event.schema.json: the built-in schema parses
// and binds to the decoder; a schema saying more than the code implements is refused; ECMA '$'
// and code-point lengths; and the verdict's order on records that break several rules (the
// order the lake job's Spark rules follow, python/adsx_jobs/events.py).
#include <string>

#include <gtest/gtest.h>

#include "adsx/events/codec.h"
#include "adsx/events/contract.h"
#include "adsx/events/validate.h"

namespace adsx::events {
namespace {

const std::string valid =
    R"({"schema_version":1,"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e",)"
    R"("event_type":"impression","event_time":1733400000000,)"
    R"("user_id":"k1:0123456789abcdef0123456789abcdef","ad_id":17,"campaign_id":3,)"
    R"("advertiser_id":2,"request_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","device":"ios",)"
    R"("geo":"US-CA","placement":"feed","slot":1,"bid":2.5,"price":0.0021,"revenue":0,)"
    R"("experiment":null,"arm":null,"consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",)"
    R"("ip":"203.0.113.0","user_agent":"Safari/iOS"})";

std::string with(std::string s, const std::string& from, const std::string& to)
{
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
}

// The verdict: decode, then the record rules at a fixed clock.
std::string verdict(const std::string& record)
{
    decoder d;
    event e;
    auto p = d.decode(record, e);
    if (!p) {
        p = validate(e, 1'733'400'000'000, {.max_future_ms = 5 * minute_ms});
    }
    return p ? std::string(name(p->code)) + ":" + std::string(p->field) : "valid";
}

TEST(contract, the_built_in_schema_parses_and_binds)
{
    const auto& c = contract::ad_event();
    ASSERT_EQ(c.properties().size(), 21u);
    EXPECT_EQ(c.properties().front().name, "schema_version");
    const auto& bid = c.properties()[c.index_of("bid").value()];
    EXPECT_EQ(bid.reason_of(keyword::minimum), reason::negative_amount);
    EXPECT_EQ(bid.reason_of(keyword::maximum), reason::invalid_value);
    EXPECT_EQ(c.properties()[c.index_of("event_type").value()].reason_of(keyword::one_of),
              reason::unknown_event_type);
    EXPECT_TRUE(c.properties()[c.index_of("arm").value()].nullable);
    EXPECT_EQ(c.max_depth(), 8);
    ASSERT_EQ(c.record_rules().size(), 2u);
    EXPECT_EQ(c.record_rules()[0].rule, record_rule::future_timestamp);
    EXPECT_TRUE(binds(c));
}

TEST(contract, refuses_what_it_does_not_implement)
{
    auto schema = [](const std::string& property) {
        return R"({"type":"object","additionalProperties":false,"x-adsx-max-depth":4,)"
               R"("x-adsx-record-rules":[],"required":["a"],"properties":{"a":)" +
               property + "}}";
    };
    EXPECT_TRUE(contract::parse(schema(R"({"type":"integer","minimum":1})")));
    for (const auto* p :
         {R"({"type":"integer","multipleOf":2})", R"({"type":"boolean"})",
          R"({"type":"string","pattern":"("})", R"({"type":"string","x-adsx-reason":"nope"})",
          R"({"type":"string","x-adsx-reason":{"pattern":"nope"}})",
          R"({"type":"string","x-adsx-reason":{"vibes":"late"}})",
          R"({"type":["string","integer"]})"}) {
        auto c = contract::parse(schema(p));
        ASSERT_FALSE(c) << p;
        EXPECT_NE(c.error().message.find("ad_event.schema.json"), std::string::npos);
    }
    EXPECT_FALSE(
        contract::parse(R"({"type":"object","additionalProperties":true,"x-adsx-max-depth":4,)"
                        R"("x-adsx-record-rules":[],"required":[],"properties":{}})"));
    EXPECT_FALSE(
        contract::parse(R"({"type":"object","additionalProperties":false,"x-adsx-max-depth":4,)"
                        R"("x-adsx-record-rules":[{"rule":"vibes","field":"a","reason":"late"}],)"
                        R"("required":[],"properties":{}})"));
    // A contract the event's members cannot hold does not bind.
    EXPECT_FALSE(binds(*contract::parse(schema(R"({"type":"integer"})"))));
}

TEST(contract, patterns_end_at_the_end_and_lengths_count_code_points)
{
    auto p = pattern::compile("^[A-Z]{2}$");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->matches("US"));
    EXPECT_FALSE(p->matches("US\n"));  // ECMA-262: '$' only at the end
    EXPECT_FALSE(p->matches("xUS"));
    EXPECT_FALSE(pattern::compile("[a-"));
    // Single-class patterns (matched from a byte table) mean what PCRE2 would.
    auto text = pattern::compile("^[^\\x00-\\x1f\\x7f]*$");
    ASSERT_TRUE(text);
    EXPECT_TRUE(text->matches("feed"));
    EXPECT_TRUE(text->matches(""));
    EXPECT_TRUE(text->matches("\xc3\xa9t\xc3\xa9"));  // été
    EXPECT_FALSE(text->matches("a\tb"));
    EXPECT_FALSE(text->matches(std::string("a\0b", 3)));
    EXPECT_FALSE(text->matches("\x7f"));
    auto ip = pattern::compile("^[0-9A-Fa-f.:]*$");
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip->matches("2001:DB8::"));
    EXPECT_FALSE(ip->matches("203.0.113.0; drop"));
    auto some = pattern::compile("^[a\\-]+$");
    ASSERT_TRUE(some);
    EXPECT_TRUE(some->matches("-a-"));
    EXPECT_FALSE(some->matches(""));
    EXPECT_FALSE(some->matches("b"));
    // Sequences of runs (matched from tables) agree with what PCRE2 would say.
    auto user = pattern::compile("^[a-z0-9]{1,8}:[0-9a-f]{32}$");
    ASSERT_TRUE(user);
    EXPECT_TRUE(user->matches("k1:0123456789abcdef0123456789abcdef"));
    EXPECT_FALSE(user->matches("k1:0123456789abcdef0123456789abcde"));
    EXPECT_FALSE(user->matches("k1:0123456789abcdef0123456789abcdef0"));
    EXPECT_FALSE(user->matches("toolongid:0123456789abcdef0123456789abcdef"));
    EXPECT_FALSE(user->matches(":0123456789abcdef0123456789abcdef"));
    auto uuid = pattern::compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    ASSERT_TRUE(uuid);
    EXPECT_TRUE(uuid->matches("0f8fad5b-d9cb-469f-a165-70867728950e"));
    EXPECT_FALSE(uuid->matches("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    EXPECT_FALSE(uuid->matches("0f8fad5b-d9cb-469f-a165-70867728950"));
    // A shape the tables cannot decide greedily goes to PCRE2, which backtracks.
    auto back = pattern::compile("^[a-z]*[0-9]*[a-z]$");
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->matches("ab"));
    auto dot = pattern::compile("^a\\.b$");
    ASSERT_TRUE(dot);
    EXPECT_TRUE(dot->matches("a.b"));
    EXPECT_FALSE(dot->matches("axb"));
    EXPECT_EQ(code_points("feed"), 4u);
    EXPECT_EQ(code_points("\xc3\xa9\xc3\xa9"), 2u);  // éé
    EXPECT_EQ(code_points("\xf0\x9f\x98\x80"), 1u);  // one emoji, 4 bytes
}

// The decoder lets parse_uuid decide a member whose only rule is uuid_pattern: both must accept
// exactly the same texts. Every byte value at every position of a valid UUID, and every length.
TEST(contract, parse_uuid_accepts_exactly_what_uuid_pattern_matches)
{
    auto p = pattern::compile(uuid_pattern);
    ASSERT_TRUE(p);
    const std::string valid_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    ASSERT_TRUE(p->matches(valid_id));
    int checked = 0;
    for (std::size_t at = 0; at < valid_id.size(); ++at) {
        for (int b = 0; b < 256; ++b) {
            auto text = valid_id;
            text[at] = static_cast<char>(b);
            ASSERT_EQ(p->matches(text), parse_uuid(text).has_value()) << at << " " << b;
            ++checked;
        }
    }
    for (std::size_t n = 0; n <= valid_id.size() + 2; ++n) {
        const auto text = (valid_id + "ab").substr(0, n);
        EXPECT_EQ(p->matches(text), parse_uuid(text).has_value()) << n;
    }
    EXPECT_EQ(checked, 36 * 256);
}

TEST(contract, verdicts_of_single_faults)
{
    EXPECT_EQ(verdict(valid), "valid");
    EXPECT_EQ(verdict(with(valid, "k1:0123456789abcdef0123456789abcdef", "K1:NOT-HEX")),
              "invalid_value:user_id");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"" + std::string(100, 'x') + "\"")),
              "invalid_value:placement");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"" + std::string(64, 'x') + "\"")), "valid");
    EXPECT_EQ(verdict(with(valid, "\"Safari/iOS\"", "\"" + std::string(200, 'y') + "\"")),
              "invalid_value:user_agent");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "5")), "wrong_type:placement");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"5\"")), "valid");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "{\"a\":[1]}")), "wrong_type:placement");
    EXPECT_EQ(verdict(with(valid, "\"experiment\":null", "\"experiment\":5")),
              "wrong_type:experiment");
    EXPECT_EQ(verdict(with(valid, "\"geo\":\"US-CA\"", "\"geo\":null")), "wrong_type:geo");
    EXPECT_EQ(verdict(with(valid, "\"geo\":\"US-CA\"", "\"geo\":\"US\\n\"")), "invalid_value:geo");
    EXPECT_EQ(verdict(with(valid, "\"slot\":1", "\"slot\":1.0")), "wrong_type:slot");
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":18446744073709551615")),
              "wrong_type:ad_id");
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":4294967296")), "invalid_value:ad_id");
    // Ids are the catalog's PostgreSQL integer keys.
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":2147483647")), "valid");
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":2147483648")), "invalid_value:ad_id");
    EXPECT_EQ(verdict(with(valid, "\"revenue\":0", "\"revenue\":3")), "invalid_value:revenue");
    // An amount's own reason is for its minimum only: a huge one is another fault.
    EXPECT_EQ(verdict(with(valid, "\"bid\":2.5", "\"bid\":-2.5")), "negative_amount:bid");
    EXPECT_EQ(verdict(with(valid, "\"bid\":2.5", "\"bid\":9.2e18")), "invalid_value:bid");
    // Free text holds no control characters (they would reach PostgreSQL, logs and keys).
    EXPECT_EQ(verdict(with(valid, "\"experiment\":null", "\"experiment\":\"a\\u0000b\"")),
              "invalid_value:experiment");
    EXPECT_EQ(verdict(with(valid, "\"Safari/iOS\"", "\"Safari\\tiOS\"")),
              "invalid_value:user_agent");
    EXPECT_EQ(verdict(with(valid, "\"203.0.113.0\"", "\"203.0.113.0; drop\"")), "invalid_value:ip");
    EXPECT_EQ(verdict(with(valid, "1733400000000", "1733400900000")),
              "future_timestamp:event_time");
}

TEST(contract, malformed_json_comes_first)
{
    EXPECT_EQ(verdict(valid + " x"), "malformed_json:");
    EXPECT_EQ(verdict(valid + "}"), "malformed_json:");
    EXPECT_EQ(verdict(valid + " \n"), "valid");
    // A member given twice, even when another rule is broken first.
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":\"x\"") + "X").substr(0, 14),
              "malformed_json");
    EXPECT_EQ(verdict(with(valid, "\"slot\":1", "\"slot\":1,\"slot\":2")), "malformed_json:slot");
    EXPECT_EQ(verdict(with(valid, "\"slot\":1", "\"slot\":1,\"x\":1,\"x\":2")), "malformed_json:x");
    // Too deep (8 levels at most), numbers out of range, a lone surrogate, invalid UTF-8.
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "[[[[[[[1]]]]]]]")), "wrong_type:placement");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "[[[[[[[[1]]]]]]]]")), "malformed_json:");
    EXPECT_EQ(verdict(with(valid, "\"ad_id\":17", "\"ad_id\":99999999999999999999")),
              "malformed_json:");
    EXPECT_EQ(verdict(with(valid, "\"bid\":2.5", "\"bid\":1e400")), "malformed_json:");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"\\ud800\"")), "malformed_json:");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"\\ud83d\\ude00\"")), "valid");
    EXPECT_EQ(verdict(with(valid, "\"feed\"", "\"fe\xff\"")), "malformed_json:");
}

TEST(contract, the_first_property_in_the_contracts_order_decides)
{
    // ad_id (6th) and geo (11th) both wrong: ad_id's verdict, whatever the member order.
    auto two =
        with(with(valid, "\"ad_id\":17", "\"ad_id\":\"x\""), "\"geo\":\"US-CA\"", "\"geo\":5");
    EXPECT_EQ(verdict(two), "wrong_type:ad_id");
    // event_id missing (2nd) and ad_id wrong: missing_field:event_id.
    auto missing = with(with(valid, "\"event_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",", ""),
                        "\"ad_id\":17", "\"ad_id\":\"x\"");
    EXPECT_EQ(verdict(missing), "missing_field:event_id");
    // An unknown member and a missing one: missing_field first.
    auto unknown =
        with(with(valid, ",\"ip\":\"203.0.113.0\"", ""), "\"slot\":1", "\"slot\":1,\"z\":0");
    EXPECT_EQ(verdict(unknown), "missing_field:ip");
    // A property problem before the record rules.
    auto both =
        with(with(valid, "\"revenue\":0", "\"revenue\":3"), "\"geo\":\"US-CA\"", "\"geo\":\"x\"");
    EXPECT_EQ(verdict(both), "invalid_value:geo");
}

}  // namespace
}  // namespace adsx::events
