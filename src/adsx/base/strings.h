#pragma once
// Small string helpers shared by every module (no allocation unless the result needs it).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace adsx {

// Escapes a string for inclusion inside JSON double quotes (RFC 8259).
void append_json_escaped(std::string& out, std::string_view s);
[[nodiscard]] std::string json_quote(std::string_view s);
// JSON for a <script> element of an HTML page: "</" must not close the element early, so every
// '<' (which JSON holds only inside strings) becomes \u003c, which means the same.
[[nodiscard]] std::string json_for_script(std::string_view json);

// Appends the decimal digits of v (std::to_chars: no locale, no format string to parse).
void append_int(std::string& out, std::int64_t v);
// Appends the values joined by `sep` ("17:2:0:0"), formatted on the stack and appended once:
// the stream worker writes millions of such fields, and each append costs more than the digits.
void append_ints(std::string& out, std::span<const std::int64_t> values, char sep);

// Appends `n` bytes as lowercase hex (two digits per byte).
void append_hex(std::string& out, const unsigned char* bytes, std::size_t n);

[[nodiscard]] std::vector<std::string_view> split(std::string_view s, char sep);
// The same into `out` (cleared first), reusing its storage: for loops over many lines.
void split(std::string_view s, char sep, std::vector<std::string_view>& out);
// The parts as strings of their own, each trimmed: "a, b" -> {"a", "b"}.
[[nodiscard]] std::vector<std::string> split_trimmed(std::string_view s, char sep);
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;
[[nodiscard]] std::string to_lower(std::string_view s);
[[nodiscard]] std::optional<std::int64_t> parse_int(std::string_view s) noexcept;
[[nodiscard]] std::optional<double> parse_double(std::string_view s) noexcept;

}  // namespace adsx
