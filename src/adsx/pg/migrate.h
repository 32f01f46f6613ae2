#pragma once
// Versioned schema migrations: every `NNNN_name.sql` file of a directory, applied once, in
// order, each in its own transaction, recorded in `adsx_schema_migrations` with a checksum.
// An applied migration whose file has changed since is an error (edit by adding a new file,
// never by rewriting history). Safe to run concurrently: a transaction-level advisory lock
// serialises runners.
//
//   auto applied = pg::migrate(conn, "deploy/postgres/migrations");   // names applied now
#include <filesystem>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/pg/connection.h"

namespace adsx::pg {

[[nodiscard]] result<std::vector<std::string>> migrate(connection& c,
                                                       const std::filesystem::path& dir);

}  // namespace adsx::pg
