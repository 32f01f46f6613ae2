#pragma once
// JSON codec of the ad event. `encode` appends compact JSON with a fixed field order (so equal
// events give equal bytes); `decoder` parses with simdjson (DOM) and reports why a record is
// not an event by the contract (contract.h), as a `reason` the dead-letter topic carries.
//
//   std::string out;  encode(e, out);
//   decoder d;  auto r = d.decode(bytes);   // result: event (views into d's buffers) or problem
#include <memory>
#include <string>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/events/contract.h"
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

// Whether a decoder can fill an event from records of contract `c`: its properties are the
// event's members in the encoder's order, with types and ranges the members hold.
[[nodiscard]] result<void> binds(const contract& c);

// Decodes and checks a record against the event contract (contract.h): malformed JSON, then
// each property in the contract's order (missing, wrong type, value), then unknown members.
// The record-level rules (future timestamps, …) are validate()'s (validate.h).
// Reusable, not thread-safe (one per consumer thread). The views in a decoded event stay valid
// until the next decode call on the same decoder.
class decoder
{
public:
    decoder();  // the built-in contract (schemas/ad_event.schema.json)
    // `c` must outlive the decoder and bind (binds()).
    explicit decoder(const contract& c);
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
