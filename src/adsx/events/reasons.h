#pragma once
// Why an event is not accepted: the `reason` field of a dead-letter record and the label of the
// stream engine's DLQ counter. Stable names: dashboards and tests match on them.
#include <array>
#include <cstdint>
#include <string_view>

namespace adsx::events {

enum class reason : std::uint8_t
{
    malformed_json,      // not parseable JSON (truncated, garbage)
    missing_field,       // a required field is absent
    wrong_type,          // a field has the wrong JSON type
    unknown_event_type,  // event_type not impression|click|conversion
    invalid_value,       // a value out of its domain (bad uuid, unknown device, slot 0, …)
    negative_amount,     // bid, price or revenue below zero
    future_timestamp,    // event time too far ahead of the processing clock
    wrong_key,           // the Kafka message key is not the event's user_id (DESIGN §4): per-user
                         // features rely on a user's events sharing one partition
    unknown_ad,          // ad not in the catalog
    orphan_event,        // click or conversion without a plausible impression
    late,                // behind the watermark by more than the allowed lateness
};

inline constexpr std::array<reason, 11> all_reasons = {
    reason::malformed_json,     reason::missing_field, reason::wrong_type,
    reason::unknown_event_type, reason::invalid_value, reason::negative_amount,
    reason::future_timestamp,   reason::wrong_key,     reason::unknown_ad,
    reason::orphan_event,       reason::late};

[[nodiscard]] std::string_view name(reason r) noexcept;

}  // namespace adsx::events
