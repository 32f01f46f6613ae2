#include "adsx/pg/connection.h"

#include <fstream>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "adsx/base/strings.h"
#include "adsx/log/log.h"

namespace adsx::pg {
namespace {

// Quotes a conninfo value: 'it''s' style per libpq's rules (backslash and quote escaped).
std::string quote(const std::string& v)
{
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

std::string first_line(const char* msg)
{
    std::string s = msg ? msg : "";
    return std::string(trim(s.substr(0, s.find('\n'))));
}

}  // namespace

result<std::string> conninfo(const config::postgres_config& cfg, const std::string& database,
                             int connect_timeout_s)
{
    auto info =
        fmt::format("host={} port={} dbname={} user={} connect_timeout={} "
                    "application_name=adsx",
                    quote(cfg.host), cfg.port, quote(database.empty() ? cfg.database : database),
                    quote(cfg.user), connect_timeout_s);
    if (!cfg.password_file.empty()) {
        std::ifstream in(cfg.password_file);
        std::string password;
        if (!in || !std::getline(in, password)) {
            return fail(error_code::invalid_argument,
                        fmt::format("postgres.password_file {} cannot be read",
                                    cfg.password_file.string()));
        }
        info += " password=" + quote(std::string(trim(password)));
    }
    return info;
}

void connection::conn_deleter::operator()(pg_conn* c) const noexcept
{
    PQfinish(c);
}

result<connection> connection::open(const std::string& info)
{
    std::unique_ptr<pg_conn, conn_deleter> c(PQconnectdb(info.c_str()));
    if (!c) {
        return fail(error_code::internal, "postgres: cannot allocate a connection");
    }
    if (PQstatus(c.get()) != CONNECTION_OK) {
        return fail(error_code::unavailable,
                    fmt::format("postgres {}:{}: {}", PQhost(c.get()) ? PQhost(c.get()) : "?",
                                PQport(c.get()) ? PQport(c.get()) : "?",
                                first_line(PQerrorMessage(c.get()))));
    }
    // Server notices ("relation already exists, skipping") go to the debug log, not stderr.
    PQsetNoticeProcessor(
        c.get(),
        [](void*, const char* msg) {
            static const auto log = adsx::log::get("postgres");
            log.debug(first_line(msg));
        },
        nullptr);
    return connection(std::move(c));
}

result<connection> connection::open(const config::postgres_config& cfg, const std::string& database,
                                    int connect_timeout_s)
{
    auto info = conninfo(cfg, database, connect_timeout_s);
    if (!info) {
        return fail(info.error());
    }
    return open(*info);
}

result<std::vector<connection::row>> connection::query(const std::string& sql,
                                                       const std::vector<std::string>& params)
{
    std::vector<const char*> values;
    for (const auto& p : params) {
        values.push_back(p.c_str());
    }
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(
        PQexecParams(_conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                     values.data(), nullptr, nullptr, 0),
        PQclear);
    auto status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return fail(statement_error());
    }
    std::vector<row> rows;
    for (int r = 0; r < PQntuples(res.get()); ++r) {
        row out;
        for (int c = 0; c < PQnfields(res.get()); ++c) {
            if (PQgetisnull(res.get(), r, c)) {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                             static_cast<size_t>(PQgetlength(res.get(), r, c))));
            }
        }
        rows.push_back(std::move(out));
    }
    return rows;
}

result<void> connection::execute(const std::string& sql)
{
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQexec(_conn.get(), sql.c_str()), PQclear);
    auto status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return fail(statement_error());
    }
    return {};
}

error connection::statement_error() const
{
    const auto code = PQstatus(_conn.get()) == CONNECTION_BAD ? error_code::unavailable
                                                              : error_code::failed_precondition;
    return {code, fmt::format("postgres: {}", first_line(PQerrorMessage(_conn.get())))};
}

result<std::string> connection::scalar(const std::string& sql,
                                       const std::vector<std::string>& params)
{
    auto rows = query(sql, params);
    if (!rows) {
        return fail(rows.error());
    }
    if (rows->empty() || rows->front().empty() || !rows->front().front()) {
        return fail(error_code::not_found, fmt::format("postgres: no value from: {}", sql));
    }
    return *rows->front().front();
}

}  // namespace adsx::pg
