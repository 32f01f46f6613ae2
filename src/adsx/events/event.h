#pragma once
// The ad event: one impression, click or conversion, as it travels on `ad.events`.
// Contract: schemas/ad_event.schema.json (contract.h reads it; so does the lake job).
//
//   adsx::events::event e;
//   e.type = event_type::click;  e.user_id = pseudonym;  ...
//   std::string json;  adsx::events::encode(e, json);
//
// Strings are views: an event does not own its text. The generator points them at its world's
// tables and per-event buffers; the decoder points them into the parser's buffers. Whoever fills
// an event keeps that storage alive while the event is used.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace adsx::events {

inline constexpr int schema_version = 1;

enum class event_type : std::uint8_t
{
    impression,
    click,
    conversion
};
enum class device_type : std::uint8_t
{
    ios,
    android,
    desktop,
    ctv
};

inline constexpr int device_count = 4;
inline constexpr int event_type_count = 3;

// Every name, in the enums' order.
[[nodiscard]] const std::array<std::string_view, event_type_count>& event_type_names() noexcept;
[[nodiscard]] const std::array<std::string_view, device_count>& device_names() noexcept;
[[nodiscard]] std::string_view name(event_type t) noexcept;
[[nodiscard]] std::string_view name(device_type d) noexcept;
[[nodiscard]] std::optional<event_type> parse_event_type(std::string_view s) noexcept;
[[nodiscard]] std::optional<device_type> parse_device(std::string_view s) noexcept;

// A 128-bit id printed as a lowercase RFC 4122 UUID (the generator makes version-4 ids from its
// seeded random stream, so runs are reproducible).
struct uuid
{
    std::array<std::uint8_t, 16> bytes{};
    friend bool operator==(const uuid&, const uuid&) = default;
};
inline constexpr std::size_t uuid_text_size = 36;
void format_uuid(const uuid& id, char* out) noexcept;  // writes 36 chars
[[nodiscard]] std::optional<uuid> parse_uuid(std::string_view s) noexcept;
// The pattern of exactly the texts parse_uuid accepts: the decoder lets parse_uuid alone decide a
// member whose only rule is this pattern (the contract's event_id and request_id).
inline constexpr std::string_view uuid_pattern =
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

struct event
{
    uuid event_id;
    event_type type = event_type::impression;
    std::int64_t event_time_ms = 0;
    std::string_view user_id;  // pseudonym, never a raw id
    std::uint32_t ad_id = 0;
    std::uint32_t campaign_id = 0;
    std::uint32_t advertiser_id = 0;
    uuid request_id;
    device_type device = device_type::desktop;
    std::string_view geo;  // "US-CA"
    std::string_view placement;
    int slot = 1;
    double bid = 0;
    double price = 0;
    double revenue = 0;
    std::string_view experiment;  // empty = not in an experiment (null on the wire)
    std::string_view arm;
    std::string_view consent;  // TCF v2 TC string
    std::string_view ip;       // truncated
    std::string_view user_agent;
};

}  // namespace adsx::events
