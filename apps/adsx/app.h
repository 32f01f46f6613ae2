#pragma once
// What every subcommand shares: the global flags, and the loaded configuration. Each subcommand
// lives in its own small composition root (<name>_cmd.cc) that registers itself on the CLI11 app
// and builds the objects it needs from `context::load()`.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/kafka/admin.h"
#include "adsx/metrics/exposer.h"

namespace adsx::app {

struct context
{
    std::string config_path;  // --config
    std::string log_level;    // --log-level (overrides log.level)
    std::filesystem::path exe_dir;

    // Loads and validates the configuration once and initialises logging.
    [[nodiscard]] result<config::config> load() const;
};

// A subcommand's body: returns the process exit code (0 ok, 1 runtime failure, 2 usage).
using action = std::function<int()>;

// Loads the configuration and runs `body` with it; a configuration error is reported (exit 2).
int with_config(const context& ctx, const std::function<int(const config::config&)>& body);

// The topics of the event pipeline (ad.events, its dead-letter topic, ad.serves) as configured.
[[nodiscard]] std::vector<kafka::topic_spec> event_topics(const config::config& cfg);
// Creates them if missing, or fails listing how existing ones differ.
[[nodiscard]] result<void> ensure_event_topics(const config::config& cfg,
                                               std::chrono::seconds timeout);

// The /metrics endpoint of a long-running command, registered with the local Prometheus when
// the stack manages one; nullptr (with a warning) when no port is free: metrics are an aid,
// not a reason to refuse to work.
[[nodiscard]] std::unique_ptr<metrics::exposer> start_metrics(const config::config& cfg,
                                                              const std::string& component);

// The project's PostgreSQL schema migrations (deploy/postgres/migrations).
[[nodiscard]] std::filesystem::path migrations_dir(const config::config& cfg);

// Prints an error for the user (stderr, one line, "adsx: ...") and returns its exit code.
int report(const error& e);

void add_stack_commands(CLI::App& root, context& ctx, action& run);
void add_config_commands(CLI::App& root, context& ctx, action& run);
void add_generate_command(CLI::App& root, context& ctx, action& run);
void add_stream_command(CLI::App& root, context& ctx, action& run);
void add_features_command(CLI::App& root, context& ctx, action& run);
void add_events_commands(CLI::App& root, context& ctx, action& run);
void add_db_commands(CLI::App& root, context& ctx, action& run);
void add_model_commands(CLI::App& root, context& ctx, action& run);
void add_serve_command(CLI::App& root, context& ctx, action& run);
void add_experiment_commands(CLI::App& root, context& ctx, action& run);
void add_simulate_command(CLI::App& root, context& ctx, action& run);
void add_privacy_commands(CLI::App& root, context& ctx, action& run);
// retention under `adsx privacy` (retention_cmd.cc).
void add_retention_command(CLI::App& privacy, context& ctx, action& run);
// create, start, stop, list under `adsx experiment` (experiment_admin_cmd.cc).
void add_experiment_admin_commands(CLI::App& experiment, context& ctx, action& run);
// collect under `adsx experiment` (experiment_collect_cmd.cc).
void add_experiment_collect_command(CLI::App& experiment, context& ctx, action& run);

}  // namespace adsx::app
