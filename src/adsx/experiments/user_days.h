#pragma once
// Per-user, per-day totals of ad events, by experiment arm: what `adsx experiment collect` keeps
// in PostgreSQL (experiment_user_days) and every experiment statistic starts from. Events
// outside any experiment are kept too (experiment and arm ""): before an experiment starts they
// are its users' pre-period, the covariate CUPED adjusts by.
//
//   experiments::user_days totals;
//   for (auto& e : decoded) totals.add(e);
//   for (const auto& [key, v] : totals.rows()) write(key.experiment, key.user_id, v.clicks…);
//   totals.clear();
#include <cstdint>
#include <map>
#include <string>

#include "adsx/events/event.h"
#include "adsx/experiments/analysis.h"

namespace adsx::experiments {

struct user_day_key
{
    std::string experiment;
    std::string arm;
    std::string user_id;
    std::string day;  // YYYY-MM-DD of the event time, UTC
    auto operator<=>(const user_day_key&) const = default;
};

struct user_day_value
{
    counters value;
    double spend = 0;    // Σ price: what advertisers were charged
    std::string device;  // of the first event of the row
    std::string geo;
};

class user_days
{
public:
    void add(const events::event& e);
    [[nodiscard]] const std::map<user_day_key, user_day_value>& rows() const noexcept
    {
        return _rows;
    }
    [[nodiscard]] std::size_t size() const noexcept { return _rows.size(); }
    void clear() noexcept { _rows.clear(); }

private:
    std::map<user_day_key, user_day_value> _rows;
};

}  // namespace adsx::experiments
