// `adsx stack up|down|status`: wiring only; the logic is in src/adsx/stack.
#include <chrono>
#include <iostream>

#include "app.h"
#include <fmt/format.h>

#include "adsx/stack/stack.h"

namespace adsx::app {

void add_stack_commands(CLI::App& root, context& ctx, action& run)
{
    auto* stack = root.add_subcommand(
        "stack", "Run the local stack: Kafka (KRaft), Redis, PostgreSQL, Prometheus");
    stack->require_subcommand(1);

    stack
        ->add_subcommand("up", "Start every managed service that is not running and wait until "
                               "each passes its health check (idempotent)")
        ->callback([&] {
            run = [&ctx] {
                return with_config(ctx, [&](const config::config& cfg) {
                    const auto start = std::chrono::steady_clock::now();
                    stack::stack s(cfg);
                    auto st = s.up(std::cout);
                    if (!st) {
                        return report(st.error());
                    }
                    std::cout << fmt::format(
                        "stack ready in {:.1f} s (logs in {})\n",
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count(),
                        cfg.log_dir().string());
                    return 0;
                });
            };
        });

    auto* down = stack->add_subcommand(
        "down", "Stop the services this stack started; data stays unless --purge");
    static bool purge = false;
    down->add_flag("--purge", purge, "Also delete var/ (all data, logs and pid files)");
    down->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [&](const config::config& cfg) {
                stack::stack s(cfg);
                if (auto r = s.down(purge, std::cout); !r) {
                    return report(r.error());
                }
                return 0;
            });
        };
    });

    stack
        ->add_subcommand("status", "Print each service's state, address, version and pid; exit "
                                   "1 unless all are healthy")
        ->callback([&] {
            run = [&ctx] {
                return with_config(ctx, [&](const config::config& cfg) {
                    stack::stack s(cfg);
                    auto rows = s.status();
                    std::cout << stack::format_table(rows);
                    for (const auto& r : rows) {
                        if (!r.healthy) {
                            return 1;
                        }
                    }
                    return 0;
                });
            };
        });
}

}  // namespace adsx::app
