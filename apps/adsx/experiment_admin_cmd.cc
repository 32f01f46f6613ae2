// `adsx experiment create|start|stop|list`: experiments as data in PostgreSQL (pg/experiments.h,
// migration 0005), which `adsx serve` assigns users by (experiments/assignment.h). Exit codes:
// 0 done; 1 the database is unreachable or refuses (an unknown experiment, a transition that is
// not draft -> running -> stopped, buckets shared with a running experiment of the layer, a
// name taken); 2 usage (bad flags, arms without weights or model arms).
#include <cmath>
#include <iostream>

#include "app.h"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adsx/base/strings.h"
#include "adsx/pg/experiments.h"
#include "adsx/pg/migrate.h"

namespace adsx::app {

namespace {

struct create_options
{
    std::string name;
    std::string arms;
    std::string weights;
    std::string model_arms;
    std::string reserve_scales;
    std::string layer = "default";
    std::string salt;
    std::string buckets = "0-9999";
    double holdout = 0;
};

result<experiments::experiment_spec> spec_of(const create_options& o)
{
    experiments::experiment_spec e{
        .name = o.name,
        .layer = o.layer,
        .salt = o.salt.empty() ? o.name : o.salt,
        .first = 0,
        .count = experiments::buckets,
        .holdout = static_cast<std::uint32_t>(std::lround(o.holdout * experiments::buckets)),
        .arms = split_trimmed(o.arms, ','),
        .weights = {},
        .model_arms = {},
        .reserve_scales = {}};
    if (e.arms.size() < 2) {
        return fail(error_code::invalid_argument,
                    "--arms needs at least two arms: 'control,treatment'");
    }
    e.model_arms = o.model_arms.empty() ? e.arms : split_trimmed(o.model_arms, ',');
    for (const auto& w : o.weights.empty() ? std::vector<std::string>(e.arms.size(), "1")
                                           : split_trimmed(o.weights, ',')) {
        const auto v = parse_double(w);
        if (!v || !(*v > 0)) {
            return fail(error_code::invalid_argument,
                        fmt::format("--weights: '{}' is not a positive number", w));
        }
        e.weights.push_back(*v);
    }
    for (const auto& x : o.reserve_scales.empty() ? std::vector<std::string>{}
                                                  : split_trimmed(o.reserve_scales, ',')) {
        const auto v = parse_double(x);
        if (!v || !(*v > 0)) {
            return fail(error_code::invalid_argument,
                        fmt::format("--reserve-scales: '{}' is not a positive number", x));
        }
        e.reserve_scales.push_back(*v);
    }
    const auto dash = o.buckets.find('-');
    const auto lo = parse_int(o.buckets.substr(0, dash));
    const auto hi = dash == std::string::npos ? lo : parse_int(o.buckets.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi >= experiments::buckets) {
        return fail(error_code::invalid_argument,
                    fmt::format("--buckets '{}': give FIRST-LAST within 0-9999", o.buckets));
    }
    e.first = static_cast<std::uint32_t>(*lo);
    e.count = static_cast<std::uint32_t>(*hi - *lo + 1);
    if (e.weights.size() != e.arms.size() || e.model_arms.size() != e.arms.size() ||
        (!e.reserve_scales.empty() && e.reserve_scales.size() != e.arms.size())) {
        return fail(error_code::invalid_argument, "--weights, --model-arms and --reserve-scales "
                                                  "need one value per arm, in --arms order");
    }
    return e;
}

// Opens the configured PostgreSQL, brings its schema up to date (as `adsx generate` does) and
// runs `body` on it; errors are reported with their exit code.
int with_db(const context& ctx, const std::function<result<void>(pg::connection&)>& body)
{
    return with_config(ctx, [&](const config::config& cfg) {
        auto conn = pg::connection::open(cfg.postgres);
        if (!conn) {
            return report(conn.error());
        }
        if (auto m = pg::migrate(*conn, migrations_dir(cfg)); !m) {
            return report(m.error());
        }
        if (auto r = body(*conn); !r) {
            return report(r.error());
        }
        return 0;
    });
}

void print(const std::vector<pg::experiment_row>& rows)
{
    if (rows.empty()) {
        std::cout << "no experiments (adsx experiment create --help)\n";
        return;
    }
    std::cout << fmt::format("{:<24} {:<8} {:<12} {:<10} {:>7}  {}\n", "NAME", "STATUS", "LAYER",
                             "BUCKETS", "HOLDOUT", "ARMS (weight -> model arm)");
    for (const auto& r : rows) {
        std::vector<std::string> arms;
        for (std::size_t i = 0; i < r.spec.arms.size(); ++i) {
            const double scale = i < r.spec.reserve_scales.size() ? r.spec.reserve_scales[i] : 1.0;
            arms.push_back(fmt::format("{} ({} -> {}{})", r.spec.arms[i], r.spec.weights[i],
                                       r.spec.model_arms[i],
                                       scale == 1.0 ? "" : fmt::format(", reserve x{}", scale)));
        }
        std::cout << fmt::format(
            "{:<24} {:<8} {:<12} {:<10} {:>6.1f}%  {}\n", r.spec.name, r.status, r.spec.layer,
            fmt::format("{}-{}", r.spec.first, r.spec.first + r.spec.count - 1),
            100.0 * r.spec.holdout / experiments::buckets, fmt::join(arms, ", "));
    }
}

}  // namespace

void add_experiment_admin_commands(CLI::App& cmd, context& ctx, action& run)
{
    static create_options o;
    auto* create = cmd.add_subcommand("create", "Define an experiment (a draft) in PostgreSQL");
    create->add_option("--name", o.name, "Its name: lowercase letters, digits, . _ -")->required();
    create->add_option("--arms", o.arms, "Its arms, control first: 'control,treatment'")
        ->required();
    create->add_option("--weights", o.weights, "Each arm's share: '1,1' (default: equal)");
    create->add_option("--model-arms", o.model_arms,
                       "The model registry pointer each arm serves, {model}/current/{this} "
                       "(default: the arm's own name)");
    create->add_option("--reserve-scales", o.reserve_scales,
                       "Each arm's multiplier of the placements' reserve eCPMs, a ranking "
                       "parameter to test: '1,1.5' (default: 1 for every arm)");
    create->add_option("--layer", o.layer, "Experiments of one layer never share a user")
        ->capture_default_str();
    create->add_option("--buckets", o.buckets, "Its range of the layer's 10,000 buckets")
        ->capture_default_str();
    create->add_option("--holdout", o.holdout, "Share of its users who get no arm")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 0.99));
    create->add_option("--salt", o.salt, "Assignment salt (default: the name)");
    create->callback([&] {
        run = [&ctx] {
            auto spec = spec_of(o);
            if (!spec) {
                return report(spec.error());
            }
            return with_db(ctx, [&](pg::connection& c) -> result<void> {
                if (auto r = pg::create_experiment(c, *spec); !r) {
                    return r;
                }
                std::cout << "created " << spec->name << " (draft): adsx experiment start --name "
                          << spec->name << "\n";
                return {};
            });
        };
    });
    static std::string name;
    for (const auto& [verb, status, what] :
         {std::tuple{"start", "running", "Start assigning users to a draft experiment"},
          std::tuple{"stop", "stopped", "Stop a running experiment (for good)"}}) {
        auto* sub = cmd.add_subcommand(verb, what);
        sub->add_option("--name", name, "The experiment")->required();
        sub->callback([&ctx, &run, verb = std::string(verb), status = std::string(status)] {
            run = [&ctx, verb, status] {
                return with_db(ctx, [&](pg::connection& c) -> result<void> {
                    if (auto r = pg::set_experiment_status(c, name, status); !r) {
                        return r;
                    }
                    std::cout << name << ": " << status << "\n";
                    return {};
                });
            };
        });
    }
    cmd.add_subcommand("list", "List experiments, their status, buckets and arms")->callback([&] {
        run = [&ctx] {
            return with_db(ctx, [](pg::connection& c) -> result<void> {
                auto rows = pg::list_experiments(c);
                if (!rows) {
                    return fail(rows.error());
                }
                print(*rows);
                return {};
            });
        };
    });
}

}  // namespace adsx::app
