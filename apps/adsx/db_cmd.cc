// `adsx db migrate`: bring the configured PostgreSQL's schema up to date (the catalog, the
// analytics tables the lake job writes, …). `adsx generate` does it too before writing the
// catalog; the PySpark jobs expect it done.
#include <iostream>

#include "app.h"

#include "adsx/pg/connection.h"
#include "adsx/pg/migrate.h"

namespace adsx::app {

void add_db_commands(CLI::App& root, context& ctx, action& run)
{
    auto* db = root.add_subcommand("db", "The PostgreSQL database (catalog, analytics)");
    db->require_subcommand(1);
    db->add_subcommand("migrate", "Apply the schema migrations not applied yet "
                                  "(deploy/postgres/migrations), each once, in order")
        ->callback([&] {
            run = [&ctx] {
                return with_config(ctx, [](const config::config& cfg) {
                    auto conn = pg::connection::open(cfg.postgres);
                    if (!conn) {
                        return report(conn.error());
                    }
                    auto applied = pg::migrate(*conn, migrations_dir(cfg));
                    if (!applied) {
                        return report(applied.error());
                    }
                    for (const auto& name : *applied) {
                        std::cout << "applied " << name << "\n";
                    }
                    if (applied->empty()) {
                        std::cout << "schema up to date\n";
                    }
                    return 0;
                });
            };
        });
}

}  // namespace adsx::app
