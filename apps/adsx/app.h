#pragma once
// What every subcommand shares: the global flags, and the loaded configuration. Each subcommand
// lives in its own small composition root (<name>_cmd.cc) that registers itself on the CLI11 app
// and builds the objects it needs from `context::load()`.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/kafka/admin.h"
#include "adsx/kafka/consumer.h"
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

// The topics of the event pipeline (ad.events, its dead-letter topic, ad.serves) and of erasure
// requests (privacy.requests), as configured.
[[nodiscard]] std::vector<kafka::topic_spec> event_topics(const config::config& cfg);
// Creates them if missing, or fails listing how existing ones differ.
[[nodiscard]] result<void> ensure_event_topics(const config::config& cfg,
                                               std::chrono::seconds timeout);

// A member of consumer group `group` on `topic` that starts each partition it is given at
// `position[p]` (the next offset to read, as the command stored it; absent: the beginning).
// `position` is read at each assignment: the caller keeps it current. A killed member's
// partitions move on after 10 s (librdkafka's default is 45 s).
[[nodiscard]] result<std::unique_ptr<kafka::consumer_group>> consumer_from(
    const config::config& cfg, const std::string& group, const std::string& topic,
    const std::map<int, std::int64_t>& position);
// Whether `next` (partition -> next offset to read, as a consumer stored it) has reached the high
// watermark of every non-empty partition of the group's topic (asked of the brokers).
[[nodiscard]] result<bool> caught_up(kafka::consumer_group& g,
                                     const std::map<int, std::int64_t>& next);
// The /metrics endpoint of a long-running command, registered with the local Prometheus when
// the stack manages one; nullptr (with a warning) when no port is free: metrics are an aid,
// not a reason to refuse to work.
[[nodiscard]] std::unique_ptr<metrics::exposer> start_metrics(const config::config& cfg,
                                                              const std::string& component);

// The project's PostgreSQL schema migrations (deploy/postgres/migrations).
[[nodiscard]] std::filesystem::path migrations_dir(const config::config& cfg);

// The pseudonym of a user named by `id`: the id itself when it is one (the event contract's
// user_id), else the raw id's under the configured key (privacy.hmac_key_file).
[[nodiscard]] result<std::string> pseudonym_of(const config::config& cfg, const std::string& id);
// Prints an error for the user (stderr, one line, "adsx: ...") and returns its exit code.
int report(const error& e);

void add_stack_commands(CLI::App& root, context& ctx, action& run);
void add_config_commands(CLI::App& root, context& ctx, action& run);
void add_generate_command(CLI::App& root, context& ctx, action& run);
void add_stream_command(CLI::App& root, context& ctx, action& run);
void add_lag_command(CLI::App& root, context& ctx, action& run);
void add_features_command(CLI::App& root, context& ctx, action& run);
void add_events_commands(CLI::App& root, context& ctx, action& run);
void add_db_commands(CLI::App& root, context& ctx, action& run);
void add_model_commands(CLI::App& root, context& ctx, action& run);
void add_serve_command(CLI::App& root, context& ctx, action& run);
void add_experiment_commands(CLI::App& root, context& ctx, action& run);
void add_simulate_command(CLI::App& root, context& ctx, action& run);
void add_privacy_commands(CLI::App& root, context& ctx, action& run);
// What is past the retention policy as of a day (YYYY-MM-DD, "" = today), store by store, and
// removed when `apply` (retention_cmd.cc): for `adsx privacy retention` and the admin route.
struct retention_item
{
    std::string store;  // postgres | lake | kafka | redis
    std::string item;   // a table, a lake folder, a store's expiry
    std::string why;    // why it is past policy ("" when it says itself)
    std::string state;  // "N row(s) past policy|deleted", past policy, removed, kept, …
};
struct retention_report
{
    std::string as_of;
    std::string cutoff;  // data dated before this day is past policy
    bool apply = false;
    std::size_t past_policy = 0;  // items past policy (removed when apply)
    std::vector<retention_item> items;
};
[[nodiscard]] result<retention_report> apply_retention(const config::config& cfg,
                                                       const std::string& as_of, bool apply);
[[nodiscard]] std::string to_json(const retention_report& r);
// retention under `adsx privacy` (retention_cmd.cc).
void add_retention_command(CLI::App& privacy, context& ctx, action& run);
// create, start, stop, list under `adsx experiment` (experiment_admin_cmd.cc).
void add_experiment_admin_commands(CLI::App& experiment, context& ctx, action& run);
// collect under `adsx experiment` (experiment_collect_cmd.cc).
void add_experiment_collect_command(CLI::App& experiment, context& ctx, action& run);

}  // namespace adsx::app
