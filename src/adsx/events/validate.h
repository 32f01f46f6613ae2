#pragma once
// Stateless checks of a decoded event's values (the codec already checked presence and types).
// Stateful checks (ad in the catalog, click after its impression, lateness) belong to the
// stream engine, which reports them with the same `reason` codes.
#include <optional>

#include "adsx/events/codec.h"

namespace adsx::events {

struct validation_limits
{
    std::int64_t max_future_ms = 5 * 60 * 1000;  // event time may run this far ahead of `now`
};

[[nodiscard]] std::optional<problem> validate(const event& e, std::int64_t now_ms,
                                              const validation_limits& limits = {});

}  // namespace adsx::events
