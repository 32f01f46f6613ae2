// `adsx config show|check`: the effective configuration after file and environment overrides;
// `adsx config schema --json`: every key's type, default and validation (needs no config file).
#include <iostream>

#include "app.h"

namespace adsx::app {

void add_config_commands(CLI::App& root, context& ctx, action& run)
{
    auto* cfg_cmd = root.add_subcommand("config", "Inspect the configuration");
    cfg_cmd->require_subcommand(1);
    cfg_cmd
        ->add_subcommand("show", "Print every key with its effective value, description and "
                                 "overriding environment variable")
        ->callback([&] {
            run = [&ctx] {
                return with_config(ctx, [&](const config::config& cfg) {
                    std::cout << "# root = " << cfg.root.string() << "\n";
                    for (const auto& line : config::describe(cfg)) {
                        std::cout << line << "\n";
                    }
                    return 0;
                });
            };
        });
    cfg_cmd
        ->add_subcommand("check", "Validate the configuration; exit 2 with the reason if invalid")
        ->callback([&] {
            run = [&ctx] {
                return with_config(ctx, [](const config::config&) {
                    std::cout << "config ok\n";
                    return 0;
                });
            };
        });
    auto* schema = cfg_cmd->add_subcommand(
        "schema", "Print every key's type, compiled default, description, variable and "
                  "validation, as config/adsx.schema.json holds them (make config-schema)");
    static bool json = false;  // required: JSON is the one format
    schema->add_flag("--json", json, "As JSON")->required();
    schema->callback([&] {
        run = [] {
            std::cout << config::schema_json();
            return 0;
        };
    });
}

}  // namespace adsx::app
