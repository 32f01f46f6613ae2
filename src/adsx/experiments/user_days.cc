#include "adsx/experiments/user_days.h"

#include "adsx/base/time.h"

namespace adsx::experiments {

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
