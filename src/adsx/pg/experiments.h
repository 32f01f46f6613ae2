#pragma once
// Experiments in PostgreSQL (tables of migration 0005): create, start, stop, list, and the
// running ones as experiments::experiment_spec for adsx serve's assigner. Starting checks, in
// one transaction holding a lock on the table, that the experiment does not share buckets of
// its layer with a running one (experiments::conflict).
//
//   pg::create_experiment(conn, spec);
//   pg::set_experiment_status(conn, "exp-1", "running");
//   auto running = pg::running_experiments(conn);
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/experiments/assignment.h"
#include "adsx/pg/connection.h"

namespace adsx::pg {

struct experiment_row
{
    experiments::experiment_spec spec;
    std::string status;  // draft | running | stopped
    std::string created_at;
    std::string started_at;  // empty until started
    std::string stopped_at;
};

// Creates a draft; already_exists when the name is taken.
[[nodiscard]] result<void> create_experiment(connection& c, const experiments::experiment_spec& e);
// draft → running (refused when it would overlap a running experiment of its layer),
// running → stopped. A stopped experiment stays stopped: its users' data belongs to it.
[[nodiscard]] result<void> set_experiment_status(connection& c, const std::string& name,
                                                 const std::string& status);
[[nodiscard]] result<std::vector<experiment_row>> list_experiments(connection& c);
[[nodiscard]] result<std::vector<experiments::experiment_spec>> running_experiments(connection& c);

}  // namespace adsx::pg
