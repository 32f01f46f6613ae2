#pragma once
// Writes a simulated world's catalog (advertisers, campaigns, ads, targeting, budgets, flights)
// into PostgreSQL, replacing the previous one in a single transaction: readers see the old
// catalog or the new one, never a mix. Tables: deploy/postgres/migrations/0001_catalog.sql.
//
//   pg::write_catalog(conn, world, start_ms);   // ad_id = index + 1, as on the wire
#include <cstdint>
#include <optional>

#include "adsx/base/error.h"
#include "adsx/base/ids.h"
#include "adsx/pg/connection.h"
#include "adsx/simulate/world.h"

namespace adsx::pg {

struct catalog_counts
{
    std::size_t advertisers = 0, campaigns = 0, ads = 0;
};

[[nodiscard]] result<catalog_counts> write_catalog(connection& c, const simulate::world& w,
                                                   std::int64_t start_ms);

// Which world the loaded catalog was written from: rebuilding it with these parameters gives the
// same users, campaigns and ads (what `adsx simulate` draws its virtual users from).
struct catalog_world
{
    simulate::world_params params;
    std::int64_t start_ms = 0;  // midnight UTC of the world's first day
};
// not_found when no catalog is loaded, or one written before the world's size was recorded.
[[nodiscard]] result<catalog_world> load_catalog_world(connection& c);

// The newest day the daily job has written ad features for (features_ad.date), as its UTC
// midnight in ms; nullopt when it has written none.
[[nodiscard]] result<std::optional<std::int64_t>> newest_daily_features_ms(connection& c);

// The ad ids of the catalog (what `ads` holds now).
[[nodiscard]] result<std::vector<ad_id>> catalog_ad_ids(connection& c);
// The same, on a connection of its own (what `adsx stream` checks records against).
[[nodiscard]] result<std::vector<ad_id>> catalog_ad_ids(const config::postgres_config& cfg);

}  // namespace adsx::pg
