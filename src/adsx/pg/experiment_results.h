#pragma once
// Experiment results in PostgreSQL (tables of migration 0006): `adsx experiment collect` adds
// per-user-day totals (experiments/user_days.h) and moves its offsets in one transaction, so
// that a replay or a restart never counts an event twice; `adsx experiment report` and the live
// page read one experiment's users back, per day, with each user's pre-period totals (the days
// before the experiment started) for CUPED.
//
//   auto next = pg::load_collect_offsets(conn, "ad.events");     // partition → next offset
//   pg::commit_user_days(conn, totals, "ad.events", {{0, {1000, 1200}}, {3, {900, 977}}});
//   auto d = pg::load_experiment_data(conn, "exp-1", 7);         // result<experiment_data>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/experiments/analysis.h"
#include "adsx/experiments/user_days.h"
#include "adsx/pg/connection.h"
#include "adsx/pg/experiments.h"

namespace adsx::pg {

[[nodiscard]] result<std::map<int, std::int64_t>> load_collect_offsets(connection& c,
                                                                       const std::string& topic);

// The records of one partition a batch covers: [first, next).
struct offset_range
{
    std::int64_t first = 0;
    std::int64_t next = 0;
};

// Adds `totals` to experiment_user_days and moves each partition's offset from `first` to
// `next`, atomically. A partition whose stored offset is not `first` (another collector got
// there first, or this one resumed from a stale place) fails the whole commit with
// failed_precondition and changes nothing: reload the offsets and seek.
[[nodiscard]] result<void> commit_user_days(connection& c, const experiments::user_days& totals,
                                            const std::string& topic,
                                            const std::map<int, offset_range>& ranges);

struct experiment_data
{
    // One row per user and day; pre-period when pre_days > 0; segments "device" and "geo"
    // (of each user's first row).
    experiments::user_data data;
    std::string started_at;  // empty when the experiment never started
};

// not_found when there is no experiment `name`.
[[nodiscard]] result<experiment_data> load_experiment_data(connection& c, const std::string& name,
                                                           int pre_days);

// The analysis of experiment `name` on load_experiment_data(): its arm weights (arms without
// data yet left out) and, unless `o` names one, its first arm as the control, from its
// definition. not_found when there is no such experiment; failed_precondition when it has no
// data yet.
[[nodiscard]] result<experiments::report> analyze_experiment(connection& c, const std::string& name,
                                                             experiments::options o, int pre_days);
// The same on data already loaded (load_experiment_data) for experiment `name`.
[[nodiscard]] result<experiments::report> analyze_experiment(connection& c, const std::string& name,
                                                             const experiment_data& data,
                                                             experiments::options o);

}  // namespace adsx::pg
