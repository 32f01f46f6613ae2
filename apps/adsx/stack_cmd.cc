// `adsx stack up|down|status|dashboard`: wiring only; the logic is in src/adsx/stack.
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>

#include "app.h"
#include <fmt/format.h>

#include "adsx/stack/dashboard.h"
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

    auto* dash = stack->add_subcommand(
        "dashboard",
        "Write the Grafana dashboard's headline panels (deploy/grafana/adstreamx.json) "
        "as one HTML page, drawn from Prometheus's HTTP API: for users without Grafana");
    static std::string out = "status.html";
    static int minutes = 30;
    dash->add_option("--out", out, "The HTML file to write")->capture_default_str();
    dash->add_option("--minutes", minutes, "How far back the charts go")
        ->capture_default_str()
        ->check(CLI::Range(1, 7 * 24 * 60));
    dash->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [&](const config::config& cfg) {
                const auto file = cfg.stack.deploy_dir / "grafana" / "adstreamx.json";
                std::ifstream in(file);
                const std::string json((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
                auto panels = stack::parse_headline_panels(json);
                if (!in || !panels) {
                    std::cerr << "adsx: " << file.string() << ": "
                              << (in ? panels.error().message : "cannot read") << "\n";
                    return 1;
                }
                auto page = stack::dashboard_page(cfg.prometheus.host, cfg.prometheus.port, *panels,
                                                  std::chrono::minutes(minutes),
                                                  std::chrono::system_clock::now());
                if (!page) {
                    return report(page.error());
                }
                std::ofstream f(out, std::ios::binary | std::ios::trunc);
                f << *page;
                if (!f.flush()) {
                    std::cerr << "adsx: cannot write " << out << "\n";
                    return 1;
                }
                std::cout << fmt::format("wrote {} ({} panels from {}:{}, the last {} min)\n", out,
                                         panels->size(), cfg.prometheus.host, cfg.prometheus.port,
                                         minutes);
                return 0;
            });
        };
    });
}

}  // namespace adsx::app
