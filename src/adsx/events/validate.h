#pragma once
// The event contract's record-level rules (schemas/ad_event.schema.json, x-adsx-record-rules:
// rules over several members or the processing clock), checked in the contract's order after
// the decoder's per-property checks. Stateful checks (ad in the catalog, click after its
// impression, lateness) belong to the stream engine, which reports them with the same `reason`
// codes.
#include <optional>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"

namespace adsx::events {

// The rules' settings, from the configuration ([events]); no defaults of their own.
struct validation_limits
{
    std::int64_t max_future_ms;  // event time may run this far ahead of `now`
};

[[nodiscard]] std::optional<problem> validate(const event& e, std::int64_t now_ms,
                                              const validation_limits& limits,
                                              const contract& rules = contract::ad_event());

}  // namespace adsx::events
