#include "adsx/events/validate.h"

namespace adsx::events {

namespace {

bool valid_geo(std::string_view g) noexcept
{
    auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    auto alnum = [&](char c) { return upper(c) || (c >= '0' && c <= '9'); };
    if (g.size() < 2 || !upper(g[0]) || !upper(g[1])) {
        return false;
    }
    if (g.size() == 2) {
        return true;
    }
    if (g.size() < 4 || g.size() > 6 || g[2] != '-') {
        return false;
    }
    for (std::size_t i = 3; i < g.size(); ++i) {
        if (!alnum(g[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<problem> validate(const event& e, std::int64_t now_ms,
                                const validation_limits& limits)
{
    if (e.event_time_ms > now_ms + limits.max_future_ms) {
        return problem{reason::future_timestamp, "event_time"};
    }
    if (e.user_id.empty()) {
        return problem{reason::invalid_value, "user_id"};
    }
    if (!valid_geo(e.geo)) {
        return problem{reason::invalid_value, "geo"};
    }
    if (e.consent.empty()) {
        return problem{reason::invalid_value, "consent"};
    }
    if (e.type != event_type::conversion && e.revenue != 0) {
        return problem{reason::invalid_value, "revenue"};
    }
    return std::nullopt;
}

}  // namespace adsx::events
