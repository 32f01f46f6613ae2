#include "adsx/events/event.h"

#include <array>

#include "adsx/events/reasons.h"

namespace adsx::events {

namespace {
constexpr std::array<std::string_view, event_type_count> type_table = {"impression", "click",
                                                                       "conversion"};
constexpr std::array<std::string_view, device_count> device_table = {"ios", "android", "desktop",
                                                                     "ctv"};
constexpr std::array<std::string_view, all_reasons.size()> reason_names = {
    "malformed_json",     "missing_field", "wrong_type",
    "unknown_event_type", "invalid_value", "negative_amount",
    "future_timestamp",   "wrong_key",     "unknown_ad",
    "orphan_event",       "late"};
constexpr char hex[] = "0123456789abcdef";

constexpr int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}
}  // namespace

const std::array<std::string_view, event_type_count>& event_type_names() noexcept
{
    return type_table;
}

const std::array<std::string_view, device_count>& device_names() noexcept
{
    return device_table;
}

std::string_view name(event_type t) noexcept
{
    return type_table[static_cast<std::size_t>(t)];
}

std::string_view name(device_type d) noexcept
{
    return device_table[static_cast<std::size_t>(d)];
}

std::string_view name(reason r) noexcept
{
    return reason_names[static_cast<std::size_t>(r)];
}

std::optional<event_type> parse_event_type(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < type_table.size(); ++i) {
        if (type_table[i] == s) {
            return static_cast<event_type>(i);
        }
    }
    return std::nullopt;
}

std::optional<device_type> parse_device(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < device_table.size(); ++i) {
        if (device_table[i] == s) {
            return static_cast<device_type>(i);
        }
    }
    return std::nullopt;
}

void format_uuid(const uuid& id, char* out) noexcept
{
    int o = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[id.bytes[static_cast<std::size_t>(i)] >> 4];
        out[o++] = hex[id.bytes[static_cast<std::size_t>(i)] & 0xf];
    }
}

std::optional<uuid> parse_uuid(std::string_view s) noexcept
{
    // Lowercase hex digits' values, -1 for every other byte.
    static constexpr auto value = [] {
        std::array<std::int8_t, 256> v{};
        v.fill(-1);
        for (int c = 0; c < 256; ++c) {
            v[static_cast<std::size_t>(c)] =
                static_cast<std::int8_t>(hex_value(static_cast<char>(c)));
        }
        return v;
    }();
    // Where each byte's two digits start in "8-4-4-4-12".
    static constexpr std::array<std::uint8_t, 16> at{0,  2,  4,  6,  9,  11, 14, 16,
                                                     19, 21, 24, 26, 28, 30, 32, 34};
    if (s.size() != uuid_text_size || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') {
        return std::nullopt;
    }
    uuid id;
    int bad = 0;
#pragma GCC unroll 16  // at[] folds into constant offsets (callgrind: 297 -> 255 per UUID)
    for (std::size_t b = 0; b < at.size(); ++b) {
        const int hi = value[static_cast<unsigned char>(s[at[b]])];
        const int lo = value[static_cast<unsigned char>(s[at[b] + 1u])];
        bad |= hi | lo;  // -1 sets the sign bit
        id.bytes[b] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    if (bad < 0) {
        return std::nullopt;
    }
    return id;
}

}  // namespace adsx::events
