#pragma once
// Serving's view of the catalog, read from PostgreSQL in one transaction (a consistent
// snapshot): campaigns with targeting, flights, budgets and caps, their ads, and each campaign's
// spend today (since midnight UTC) and in total from analytics_minute.
//
//   auto inv = pg::load_inventory(conn, clock.now_ms());   // result<serving::inventory>
#include <cstdint>

#include "adsx/base/error.h"
#include "adsx/pg/connection.h"
#include "adsx/serving/inventory.h"

namespace adsx::pg {

[[nodiscard]] result<serving::inventory> load_inventory(connection& c, std::int64_t now_ms);

}  // namespace adsx::pg
