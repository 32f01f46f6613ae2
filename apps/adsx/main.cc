// adsx: the AdStreamX command line. One binary, one subcommand per part of the system; each
// subcommand's wiring lives in its own <name>_cmd.cc. Exit codes: 0 success, 1 runtime failure,
// 2 usage error (bad flags, bad config).
#include <exception>
#include <iostream>

#include "app.h"
#include <unistd.h>

#include "adsx/version.h"

namespace {

std::filesystem::path exe_dir()
{
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : p.parent_path();
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App root{"AdStreamX: real-time advertising data and ML platform", "adsx"};
    root.require_subcommand(1);
    root.set_help_all_flag("--help-all", "Print help for every subcommand");
    adsx::app::context ctx;
    ctx.exe_dir = exe_dir();
    root.add_option("-c,--config", ctx.config_path,
                    "Config file (default: $ADSX_CONFIG, else config/adsx.toml found upwards "
                    "from the working directory)");
    root.add_option("--log-level", ctx.log_level, "Override log.level")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

    adsx::app::action run;
    root.add_subcommand("version", "Print the adsx version")->callback([&] {
        run = [] {
            std::cout << "adsx " << ADSX_VERSION << "\n";
            return 0;
        };
    });
    adsx::app::add_stack_commands(root, ctx, run);
    adsx::app::add_config_commands(root, ctx, run);
    adsx::app::add_generate_command(root, ctx, run);
    adsx::app::add_stream_command(root, ctx, run);
    adsx::app::add_lag_command(root, ctx, run);
    adsx::app::add_features_command(root, ctx, run);
    adsx::app::add_events_commands(root, ctx, run);
    adsx::app::add_db_commands(root, ctx, run);
    adsx::app::add_model_commands(root, ctx, run);
    adsx::app::add_serve_command(root, ctx, run);
    adsx::app::add_experiment_commands(root, ctx, run);
    adsx::app::add_simulate_command(root, ctx, run);
    adsx::app::add_privacy_commands(root, ctx, run);

    try {
        root.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return root.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return root.exit(e);
    } catch (const CLI::ParseError& e) {
        // CLI11 reports "A subcommand is required" before it looks at a misspelt one: name it.
        auto* deepest = &root;
        while (!deepest->get_subcommands().empty()) {
            deepest = deepest->get_subcommands().front();
        }
        if (auto extra = deepest->remaining(); !extra.empty()) {
            std::cerr << "adsx: unknown command or argument '" << extra.front() << "' for '"
                      << deepest->get_name() << "'\n";
        }
        root.exit(e);
        return 2;  // CLI11 uses 105/106/...; our contract is 2 for every usage error
    }
    try {
        return run ? run() : 2;
    } catch (const std::exception& e) {
        std::cerr << "adsx: unexpected failure: " << e.what() << "\n";
        return 1;
    }
}
