#pragma once
// JSON codec of the ad event. `encode` appends compact JSON with a fixed field order (so equal
// events give equal bytes); `decoder` parses with simdjson On-Demand and reports why a record is
// not an event, as a `reason` the dead-letter topic carries.
//
//   std::string out;  encode(e, out);
//   decoder d;  auto r = d.decode(bytes);   // result: event (views into d's buffers) or problem
#include <memory>
#include <string>
#include <string_view>

#include "adsx/events/event.h"
#include "adsx/events/reasons.h"

namespace adsx::events {

void encode(const event& e, std::string& out);

// Why a record failed: the reason code and the field involved ("" when none).
struct problem
{
    reason code;
    std::string_view field;
};

// Reusable, not thread-safe (one per consumer thread). The views in a decoded event stay valid
// until the next decode call on the same decoder.
class decoder
{
public:
    decoder();
    ~decoder();
    decoder(const decoder&) = delete;
    decoder& operator=(const decoder&) = delete;
    decoder(decoder&&) noexcept;
    decoder& operator=(decoder&&) noexcept;

    // Decodes one JSON record into `out`. On failure `out` is partially filled.
    [[nodiscard]] std::optional<problem> decode(std::string_view json, event& out);

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

}  // namespace adsx::events
