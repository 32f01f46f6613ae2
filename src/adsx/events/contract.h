#pragma once
// The event contract as data: the rules of schemas/ad_event.schema.json, read from the schema
// itself (embedded in the binary at build time), so that the C++ decoder and the lake job's
// Spark rules (python/adsx_jobs/events.py, built from the same file) apply one definition. The
// schema's description gives the order in which rules decide a record's verdict; decoder
// (codec.h) and validate (validate.h) follow it.
//
//   const auto& c = contract::ad_event();
//   for (const auto& p : c.properties()) { p.name; p.type; p.broken("US-CA"); }
//
// A schema that uses a keyword this code does not implement is refused (so the file can never
// say more than the validators check). Immutable; safe to share between threads.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/events/pattern.h"
#include "adsx/events/reasons.h"

namespace adsx::events {

enum class json_type : std::uint8_t
{
    string,
    integer,  // written without fraction or exponent, within int64
    number,
};

// The value keywords, in the order a value is checked against them: a value that breaks several
// gets the reason of the first.
enum class keyword : std::uint8_t
{
    const_value,
    one_of,  // enum
    minimum,
    maximum,
    min_length,
    max_length,
    pattern,
};
inline constexpr std::size_t keyword_count = 7;

// One property's rules: its JSON type and value keywords (absent ones hold nothing).
struct property_rules
{
    std::string name;
    json_type type = json_type::string;
    bool nullable = false;
    bool required = true;
    std::optional<std::int64_t> const_int;  // integers
    std::optional<std::int64_t> min_int, max_int;
    std::optional<double> min_number, max_number;       // numbers
    std::vector<std::string> one_of;                    // strings: enum
    std::optional<std::size_t> min_length, max_length;  // in Unicode code points
    std::optional<pattern> matches;
    // Each keyword's reason when it fails. x-adsx-reason: a reason name sets all of them, an
    // object {keyword: reason} the ones it names; the others are invalid_value.
    std::array<reason, keyword_count> reasons = filled(reason::invalid_value);

    // The reason of the first value keyword the value breaks, in `keyword` order; none when
    // it holds them all. For a value of the property's type (strings: valid UTF-8).
    [[nodiscard]] std::optional<reason> broken(std::int64_t v) const noexcept;
    [[nodiscard]] std::optional<reason> broken(double v) const noexcept;
    [[nodiscard]] std::optional<reason> broken(std::string_view s) const noexcept;
    [[nodiscard]] reason reason_of(keyword k) const noexcept
    {
        return reasons[static_cast<std::size_t>(k)];
    }

    static constexpr std::array<reason, keyword_count> filled(reason r) noexcept
    {
        std::array<reason, keyword_count> out{};
        out.fill(r);
        return out;
    }
};

// Rules over several members or the clock (x-adsx-record-rules), checked after the properties.
enum class record_rule : std::uint8_t
{
    future_timestamp,             // event_time at most max_future ahead of now
    revenue_only_on_conversions,  // revenue 0 unless the event is a conversion
};

struct record_check
{
    record_rule rule;
    std::string field;
    reason code;
};

class contract
{
public:
    // invalid_argument naming what is wrong: not JSON, a keyword or type not implemented, a
    // record rule not implemented, a pattern that does not compile.
    [[nodiscard]] static result<contract> parse(std::string_view schema_json);
    // The contract this binary was built with (schemas/ad_event.schema.json). Parsed once; a
    // schema this code cannot read is a build bug (the unit tests parse it): it aborts.
    [[nodiscard]] static const contract& ad_event();

    // In the schema's order: the order of the verdict's checks.
    [[nodiscard]] const std::vector<property_rules>& properties() const noexcept
    {
        return _properties;
    }
    [[nodiscard]] const std::vector<record_check>& record_rules() const noexcept
    {
        return _record_rules;
    }
    // Deepest nesting of objects and arrays a record may have (the root object is 1).
    [[nodiscard]] int max_depth() const noexcept { return _max_depth; }
    [[nodiscard]] std::optional<std::size_t> index_of(std::string_view property) const noexcept;

private:
    std::vector<property_rules> _properties;
    std::vector<record_check> _record_rules;
    int _max_depth = 0;
};

// The number of Unicode code points of valid UTF-8 text (JSON Schema's string length).
[[nodiscard]] std::size_t code_points(std::string_view utf8) noexcept;
[[nodiscard]] std::optional<reason> parse_reason(std::string_view name) noexcept;

}  // namespace adsx::events
