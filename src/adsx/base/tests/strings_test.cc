// Proves the string helpers: json_quote escapes quotes, backslashes and control characters at
// every offset and passes other bytes (DEL, UTF-8) through; append_hex writes two lowercase
// digits per byte; parse_int trims spaces and rejects trailing garbage, empty input and overflow;
// split keeps empty fields. And error::wrap prefixes context and keeps the code, whose exit code
// is 1 for unavailable and 2 for invalid_argument.
#include <gtest/gtest.h>

#include "adsx/base/error.h"
#include "adsx/base/strings.h"

namespace adsx {
namespace {

TEST(strings, json_quote_escapes_control_and_quote_characters)
{
    EXPECT_EQ(json_quote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
}

TEST(strings, json_escaping_finds_specials_at_every_offset_of_long_strings)
{
    for (char special : {'"', '\\', '\n', '\x1f'}) {
        for (std::size_t pos = 0; pos < 20; ++pos) {
            std::string in(20, 'a');
            in[pos] = special;
            auto quoted = json_quote(in);
            EXPECT_EQ(quoted.size(), in.size() + 2 + (special == '\x1f' ? 5 : 1)) << pos;
        }
    }
    EXPECT_EQ(json_quote("0123456789abcdef\x7f\xc3\xa9"), "\"0123456789abcdef\x7f\xc3\xa9\"");
}

TEST(strings, append_hex_writes_two_lowercase_digits_per_byte)
{
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    std::string out = "x";
    append_hex(out, bytes, sizeof bytes);
    EXPECT_EQ(out, "x000fa5ff");
}

TEST(strings, append_ints_joins_values_past_its_buffer_and_extremes)
{
    std::string out = "x=";
    const std::int64_t few[] = {17, -2, 0};
    append_ints(out, few, ':');
    EXPECT_EQ(out, "x=17:-2:0");
    std::vector<std::int64_t> many;  // more than one stack buffer's worth, the widest values
    std::string expected;
    for (int i = 0; i < 20; ++i) {
        many.push_back(i % 2 ? INT64_MIN : INT64_MAX - i);
        expected += (i ? "," : "") + std::to_string(many.back());
    }
    out.clear();
    append_ints(out, many, ',');
    EXPECT_EQ(out, expected);
    out.clear();
    append_ints(out, {}, ',');
    EXPECT_EQ(out, "");
}

TEST(strings, parse_int_rejects_trailing_garbage_and_empty)
{
    EXPECT_EQ(parse_int(" 42 "), 42);
    EXPECT_EQ(parse_int("-7"), -7);
    EXPECT_FALSE(parse_int("42x"));
    EXPECT_FALSE(parse_int(""));
    EXPECT_FALSE(parse_int("9999999999999999999999"));
}

TEST(strings, split_keeps_empty_fields)
{
    auto parts = split("a,,b", ',');
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[1], "");
    EXPECT_EQ(parts[2], "b");
}

TEST(strings, split_into_reuses_and_clears_the_vector)
{
    std::vector<std::string_view> out = {"stale"};
    split("x,y", ',', out);
    EXPECT_EQ(out, (std::vector<std::string_view>{"x", "y"}));
    split("z", ',', out);
    EXPECT_EQ(out, (std::vector<std::string_view>{"z"}));
}

TEST(strings, split_trimmed_owns_trimmed_parts)
{
    const auto parts = split_trimmed(std::string(" a, b ,c"), ',');  // the temporary may go
    EXPECT_EQ(parts, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(split_trimmed("", ','), (std::vector<std::string>{""}));
}

TEST(error, wrap_prefixes_context_and_keeps_code)
{
    error e{error_code::unavailable, "connection refused"};
    auto w = e.wrap("redis 127.0.0.1:6379");
    EXPECT_EQ(w.code, error_code::unavailable);
    EXPECT_EQ(w.message, "redis 127.0.0.1:6379: connection refused");
    EXPECT_EQ(exit_code(w), 1);
    EXPECT_EQ(exit_code(error{error_code::invalid_argument, "x"}), 2);
}

TEST(strings, json_for_script_cannot_close_its_script_element)
{
    EXPECT_EQ(json_for_script(R"({"a":"</script><b>","n":1})"),
              R"({"a":"\u003c/script>\u003cb>","n":1})");
    EXPECT_EQ(json_for_script("[]"), "[]");
}

}  // namespace
}  // namespace adsx
