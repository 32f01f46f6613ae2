#pragma once
// A PostgreSQL connection (libpq), RAII. Text-protocol queries with parameters.
//
//   auto c = adsx::pg::connection::open(adsx::pg::conninfo(cfg.postgres));
//   auto v = c->scalar("SHOW server_version");
//
// Not thread-safe: one connection per thread.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/config/config.h"

struct pg_conn;

namespace adsx::pg {

// libpq connection string for `cfg`, optionally for another database than cfg.database
// (the stack connects to `postgres` to create the project database).
[[nodiscard]] result<std::string> conninfo(const config::postgres_config& cfg,
                                           const std::string& database = {},
                                           int connect_timeout_s = 5);

class connection
{
public:
    [[nodiscard]] static result<connection> open(const std::string& conninfo);
    // Connects as configured (to `database` instead of cfg.database when given).
    [[nodiscard]] static result<connection> open(const config::postgres_config& cfg,
                                                 const std::string& database = {},
                                                 int connect_timeout_s = 5);
    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() = default;

    // Runs a statement; returns the rows of its result as text (NULL = nullopt). A statement
    // the database refused fails with failed_precondition; a connection that broke (the
    // server stopped or restarted) with unavailable: open a new one.
    using row = std::vector<std::optional<std::string>>;
    [[nodiscard]] result<std::vector<row>> query(const std::string& sql,
                                                 const std::vector<std::string>& params = {});
    // Runs a script of one or more statements without parameters (simple query protocol:
    // migrations, BEGIN/COMMIT).
    [[nodiscard]] result<void> execute(const std::string& sql);
    // The first column of the first row; not_found if there is none.
    [[nodiscard]] result<std::string> scalar(const std::string& sql,
                                             const std::vector<std::string>& params = {});

private:
    struct conn_deleter
    {
        void operator()(pg_conn* c) const noexcept;
    };
    explicit connection(std::unique_ptr<pg_conn, conn_deleter> c) : _conn(std::move(c)) {}
    // The error of the statement that just failed (see query).
    [[nodiscard]] error statement_error() const;
    std::unique_ptr<pg_conn, conn_deleter> _conn;
};

// Runs `body` (returning result<void>) between BEGIN and COMMIT; ROLLBACK when it fails.
template <class F>
[[nodiscard]] result<void> transaction(connection& c, F&& body)
{
    if (auto r = c.execute("BEGIN"); !r) {
        return r;
    }
    auto r = body();
    if (!r) {
        (void)c.execute("ROLLBACK");
        return r;
    }
    return c.execute("COMMIT");
}

}  // namespace adsx::pg
