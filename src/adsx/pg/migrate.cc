#include "adsx/pg/migrate.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::pg {

namespace fs = std::filesystem;

namespace {

constexpr const char* ledger = R"(CREATE TABLE IF NOT EXISTS adsx_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()))";

struct migration
{
    int version;
    std::string name;
    std::string sql;
    std::string checksum;
};

std::string fnv1a_hex(const std::string& s)
{
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h = (h ^ c) * 0x100000001b3ULL;
    }
    return fmt::format("{:016x}", h);
}

result<std::vector<migration>> read_dir(const fs::path& dir)
{
    std::vector<migration> out;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
        const auto name = f.path().filename().string();
        if (f.path().extension() != ".sql") {
            continue;
        }
        int version = 0;
        if (std::sscanf(name.c_str(), "%d_", &version) != 1 || version <= 0) {
            return fail(error_code::invalid_argument,
                        fmt::format("migration {} must be named NNNN_name.sql", name));
        }
        std::ifstream in(f.path());
        std::stringstream sql;
        sql << in.rdbuf();
        out.push_back({version, name, sql.str(), fnv1a_hex(sql.str())});
    }
    if (ec) {
        return fail(error_code::not_found,
                    fmt::format("migrations directory {}: {}", dir.string(), ec.message()));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    return out;
}

result<std::map<int, std::string>> applied_checksums(connection& c)
{
    auto rows = c.query("SELECT version, checksum FROM adsx_schema_migrations");
    if (!rows) {
        return fail(rows.error());
    }
    std::map<int, std::string> out;
    for (const auto& r : *rows) {
        auto version = parse_int(r[0].value_or(""));
        if (!version || *version < 0 || *version > std::numeric_limits<int>::max()) {
            return fail(error_code::internal,
                        "adsx_schema_migrations: version '" + r[0].value_or("NULL") + "'");
        }
        out[static_cast<int>(*version)] = r[1].value_or("");
    }
    return out;
}

result<void> apply(connection& c, const migration& m)
{
    if (auto r = c.execute("BEGIN; SELECT pg_advisory_xact_lock(7316001)"); !r) {
        return fail(r.error());
    }
    auto exists = c.query("SELECT 1 FROM adsx_schema_migrations WHERE version = $1",
                          {std::to_string(m.version)});
    if (exists && !exists->empty()) {  // another runner applied it meanwhile
        return c.execute("COMMIT");
    }
    auto body = exists ? c.execute(m.sql) : fail(exists.error());
    auto record = body ? c.query("INSERT INTO adsx_schema_migrations (version, name, checksum) "
                                 "VALUES ($1, $2, $3)",
                                 {std::to_string(m.version), m.name, m.checksum})
                       : fail(body.error());
    if (!record) {
        (void)c.execute("ROLLBACK");
        return fail(record.error().wrap("migration " + m.name));
    }
    return c.execute("COMMIT");
}

}  // namespace

result<std::vector<std::string>> migrate(connection& c, const fs::path& dir)
{
    auto files = read_dir(dir);
    if (!files) {
        return fail(files.error());
    }
    if (auto r = c.query(ledger); !r) {
        return fail(r.error());
    }
    auto done = applied_checksums(c);
    if (!done) {
        return fail(done.error());
    }
    std::vector<std::string> applied;
    for (const auto& m : *files) {
        if (auto it = done->find(m.version); it != done->end()) {
            if (it->second != m.checksum) {
                return fail(error_code::failed_precondition,
                            fmt::format("migration {} was changed after it was applied; add a "
                                        "new migration instead of editing it",
                                        m.name));
            }
            continue;
        }
        if (auto r = apply(c, m); !r) {
            return fail(r.error());
        }
        applied.push_back(m.name);
    }
    return applied;
}

}  // namespace adsx::pg
