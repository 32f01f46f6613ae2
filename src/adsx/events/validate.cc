#include "adsx/events/validate.h"

namespace adsx::events {

namespace {

bool holds(record_rule r, const event& e, std::int64_t now_ms, const validation_limits& limits)
{
    switch (r) {
        case record_rule::future_timestamp:
            return e.event_time_ms <= now_ms + limits.max_future_ms;
        case record_rule::revenue_only_on_conversions:
            return e.type == event_type::conversion || e.revenue == 0;
    }
    return false;
}

}  // namespace

std::optional<problem> validate(const event& e, std::int64_t now_ms,
                                const validation_limits& limits, const contract& rules)
{
    for (const auto& check : rules.record_rules()) {
        if (!holds(check.rule, e, now_ms, limits)) {
            return problem{check.code, check.field};
        }
    }
    return std::nullopt;
}

}  // namespace adsx::events
