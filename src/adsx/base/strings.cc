#include "adsx/base/strings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace adsx {

namespace {

bool needs_escape(unsigned char c) noexcept
{
    return c < 0x20 || c == '"' || c == '\\';
}

void append_escape(std::string& out, unsigned char c)
{
    switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default: {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        }
    }
}

}  // namespace

void append_int(std::string& out, std::int64_t v)
{
    char buf[24];
    char* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    // The (pointer, size) overload: the (first, last) one goes through replace(), whose aliasing
    // checks cost more than the digits (half of the stream worker's ~2M calls per 100k records).
    out.append(buf, static_cast<std::size_t>(end - buf));
}

void append_ints(std::string& out, std::span<const std::int64_t> values, char sep)
{
    constexpr std::size_t per_value = 21;  // a sign, 19 digits, the separator
    char buf[8 * per_value];
    while (!values.empty()) {
        const auto n = std::min(values.size(), sizeof buf / per_value);
        char* end = buf;
        for (std::size_t i = 0; i < n; ++i) {
            if (i > 0) {
                *end++ = sep;
            }
            end = std::to_chars(end, buf + sizeof buf, values[i]).ptr;
        }
        out.append(buf, static_cast<std::size_t>(end - buf));
        values = values.subspan(n);
        if (!values.empty()) {
            out += sep;
        }
    }
}

void append_hex(std::string& out, const unsigned char* bytes, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 0x0f];
    }
}

// Whether any of 8 bytes needs escaping: a control character (< 0x20), '"' or '\\'
// (SWAR: the classic "has a byte less than n" and "has a zero byte" bit tricks).
bool word_needs_escape(std::uint64_t v) noexcept
{
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    auto has_zero = [&](std::uint64_t x) { return (x - ones) & ~x & highs; };
    auto below_0x20 = (v - ones * 0x20) & ~v & highs;
    return (below_0x20 | has_zero(v ^ (ones * '"')) | has_zero(v ^ (ones * '\\'))) != 0;
}

void append_json_escaped(std::string& out, std::string_view s)
{
    // Runs of plain characters are appended in one go, 8 bytes are checked at a time: this sits
    // on the generator's hot path, where nearly nothing needs escaping.
    std::size_t start = 0;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t v;
        std::memcpy(&v, s.data() + i, 8);
        if (word_needs_escape(v)) {
            break;
        }
    }
    for (; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (needs_escape(c)) {
            out.append(s.data() + start, i - start);
            append_escape(out, c);
            start = i + 1;
        }
    }
    out.append(s.data() + start, s.size() - start);
}

std::string json_quote(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    append_json_escaped(out, s);
    out += '"';
    return out;
}

std::string json_for_script(std::string_view json)
{
    std::string out;
    out.reserve(json.size());
    for (const char c : json) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> parts;
    split(s, sep, parts);
    return parts;
}

void split(std::string_view s, char sep, std::vector<std::string_view>& out)
{
    // A byte loop, not find(): the parts split here are short (CSV fields, list items), and a
    // memchr call per part cost more than the bytes it scanned.
    out.clear();
    const char* start = s.data();
    const char* const end = s.data() + s.size();
    for (const char* p = start; p != end; ++p) {
        if (*p == sep) {
            out.emplace_back(start, static_cast<std::size_t>(p - start));
            start = p + 1;
        }
    }
    out.emplace_back(start, static_cast<std::size_t>(end - start));
}

std::vector<std::string> split_trimmed(std::string_view s, char sep)
{
    std::vector<std::string> out;
    for (auto part : split(s, sep)) {
        out.emplace_back(trim(part));
    }
    return out;
}

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

std::string to_lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) noexcept
{
    s = trim(s);
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return v;
}

std::optional<double> parse_double(std::string_view s) noexcept
{
    s = trim(s);
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace adsx
