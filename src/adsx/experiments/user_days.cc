#include "adsx/experiments/user_days.h"

#include <ctime>

namespace adsx::experiments {

std::string utc_date(std::int64_t ms)
{
    auto t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

void user_days::add(const events::event& e)
{
    auto [it, fresh] =
        _rows.try_emplace(user_day_key{std::string(e.experiment), std::string(e.arm),
                                       std::string(e.user_id), utc_date(e.event_time_ms)});
    auto& v = it->second;
    if (fresh) {
        v.device = events::name(e.device);
        v.geo = e.geo;
    }
    switch (e.type) {
        case events::event_type::impression:
            v.value.impressions += 1;
            break;
        case events::event_type::click:
            v.value.clicks += 1;
            break;
        case events::event_type::conversion:
            v.value.conversions += 1;
            v.value.revenue += e.revenue;
            break;
    }
    v.spend += e.price;
}

}  // namespace adsx::experiments
