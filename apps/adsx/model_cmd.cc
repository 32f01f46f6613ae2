// `adsx model list|show|score|bench`: the model registry ([models] dir, docs/models.md) and
// its scorers. score and bench read a model version directory and JSON-lines rows
// (src/adsx/ranking/rows.h); they are what the Python parity test and benchmark drive.
// Exit codes: 0 ok, 1 runtime failure (a model or rows file that does not load), 2 usage.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "app.h"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adsx/base/strings.h"
#include "adsx/models/describe.h"
#include "adsx/models/files.h"
#include "adsx/models/loader.h"
#include "adsx/models/registry.h"
#include "adsx/ranking/rows.h"

namespace adsx::app {

namespace {

struct model_options
{
    std::string registry;  // --registry; empty = [models] dir
    std::string name;
    std::int64_t version = 0;  // 0 = newest, or the arm's
    std::string arm;
    std::string model_dir;
    std::string rows_file;
    bool margin = false;
    std::string trees = "native";
    std::vector<std::size_t> sizes = {100, 500, 1000};
    int repeat = 200;
};

// A runtime failure: exit 1 whatever the code (a model that fails to load is no usage error).
int failure(const error& e)
{
    std::cerr << "adsx: " << e.message << "\n";
    return 1;
}

result<models::registry> open_registry(const context& ctx, const model_options& o)
{
    if (!o.registry.empty()) {
        return models::registry(o.registry);
    }
    auto cfg = ctx.load();
    if (!cfg) {
        return fail(cfg.error());
    }
    return models::registry(cfg->models.dir);
}

std::string arms_of(const std::map<std::string, std::int64_t>& arms, std::int64_t version)
{
    std::vector<std::string> out;
    for (const auto& [arm, v] : arms) {
        if (v == version) {
            out.push_back(arm);
        }
    }
    return out.empty() ? "-" : fmt::format("{}", fmt::join(out, ","));
}

int list(const models::registry& reg)
{
    auto names = reg.names();
    if (!names && names.error().code == error_code::not_found) {
        std::cout << "no models in " << reg.root().string() << "\n";
        return 0;
    }
    if (!names) {
        return failure(names.error());
    }
    std::cout << fmt::format("{:<16} {:>7} {:<8} {:<4} {:>8} {:>8}  {}\n", "NAME", "VERSION",
                             "FAMILY", "HEAD", "TEST_AUC", "LOG_LOSS", "ARMS");
    int status = 0;
    std::size_t versions = 0;
    for (const auto& name : *names) {
        auto arms = reg.arms(name);
        auto vs = arms ? reg.versions(name) : fail(arms.error());
        if (!vs) {
            status = failure(vs.error());
            continue;
        }
        for (auto v : *vs) {
            auto m = reg.read(name, v);
            if (!m) {
                status = failure(m.error());
                continue;
            }
            ++versions;
            std::cout << fmt::format("{:<16} {:>7} {:<8} {:<4} {:>8} {:>8.4f}  {}\n", name, v,
                                     ranking::name(m->family), m->head,
                                     models::metric_text(m->metrics.auc), m->metrics.log_loss,
                                     arms_of(*arms, v));
        }
    }
    std::cout << fmt::format("{} models, {} versions in {}\n", names->size(), versions,
                             reg.root().string());
    return status;
}

// VERSION if given, else the one --arm's pointer names, else the newest.
result<std::int64_t> pick_version(const models::registry& reg, const model_options& o)
{
    return o.version > 0   ? o.version
           : o.arm.empty() ? reg.newest(o.name)
                           : reg.current(o.name, o.arm);
}

int show(const models::registry& reg, const model_options& o)
{
    auto version = pick_version(reg, o);
    auto m = version ? reg.read(o.name, *version) : fail(version.error());
    auto arms = m ? reg.arms(o.name) : fail(m.error());
    if (!arms) {
        return failure(arms.error());
    }
    for (const auto& line : models::describe(*m)) {
        std::cout << line << "\n";
    }
    std::cout << "arms          " << arms_of(*arms, *version) << "\n";
    return 0;
}

// The model of --model and the rows of --rows.
struct loaded
{
    std::shared_ptr<const ranking::model> model;
    ranking::row_set rows;
};

result<loaded> load(const model_options& o)
{
    const auto engine = o.trees == "libxgboost" ? xgb::tree_engine::libxgboost
                        : o.trees == "walk"     ? xgb::tree_engine::native_walk
                                                : xgb::tree_engine::native;
    auto m = models::load_model(o.model_dir, engine);
    auto text = m ? models::read_text(o.rows_file) : fail(m.error());
    if (!text) {
        return fail(text.error());
    }
    auto rows = ranking::row_set::parse_jsonl(*text, (*m)->features());
    if (!rows) {
        return fail(rows.error().wrap(o.rows_file));
    }
    return loaded{std::move(*m), std::move(*rows)};
}

int score(const model_options& o)
{
    auto in = load(o);
    if (!in) {
        return failure(in.error());
    }
    constexpr std::size_t chunk = 4096;
    auto b = in->model->make_batch();
    std::vector<double> out;
    for (std::size_t first = 0; first < in->rows.size(); first += chunk) {
        const auto n = std::min(chunk, in->rows.size() - first);
        in->rows.fill(b, first, n);
        out.resize(n);
        auto r = o.margin ? in->model->margins(b, out) : in->model->score(b, out);
        if (!r) {
            return failure(r.error());
        }
        for (double p : out) {
            std::printf("%.17g\n", p);
        }
    }
    return std::fflush(stdout) == 0 ? 0 : 1;
}

// Median, 99th percentile (nearest rank) and mean of microsecond timings, as JSON members.
std::string timing_json(std::vector<double> us)
{
    std::sort(us.begin(), us.end());
    const std::size_t n = us.size();
    const double median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
    const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
    const double mean = std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(n);
    return fmt::format(R"("median_us": {:.3f}, "p99_us": {:.3f}, "mean_us": {:.3f})", median,
                       us[std::max<std::size_t>(rank, 1) - 1], mean);
}

int bench(const model_options& o)
{
    auto in = load(o);
    if (in && in->rows.size() == 0) {
        in = fail(error_code::invalid_argument, fmt::format("{}: no rows", o.rows_file));
    }
    if (!in) {
        return failure(in.error());
    }
    using clock = std::chrono::steady_clock;
    auto b = in->model->make_batch();
    std::vector<std::string> results;
    for (std::size_t n : o.sizes) {
        in->rows.fill(b, 0, n);
        std::vector<double> out(n);
        std::vector<double> us;
        const int warmup = std::max(3, o.repeat / 10);
        for (int k = 0; k < warmup + o.repeat; ++k) {
            const auto start = clock::now();
            auto r = in->model->score(b, out);
            const auto stop = clock::now();
            if (!r) {
                return failure(r.error());
            }
            if (k >= warmup) {
                us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
            }
        }
        results.push_back(fmt::format(R"({{"rows": {}, {}}})", n, timing_json(std::move(us))));
    }
    const auto& info = in->model->info();
    std::cout
        << fmt::format(
               R"({{"model": {}, "version": {}, "family": "{}", "trees": "{}", "engine": "{}", )"
               R"("repeat": {}, )"
               R"("results": [{}]}})",
               json_quote(info.name), info.version, ranking::name(info.family), o.trees,
               in->model->engine(), o.repeat, fmt::join(results, ", "))
        << "\n";
    return 0;
}

}  // namespace

void add_model_commands(CLI::App& root, context& ctx, action& run)
{
    static model_options o;
    auto* model = root.add_subcommand(
        "model", "Ranking models: the registry ([models] dir) and their scorers (docs/models.md)");
    model->require_subcommand(1);
    auto registry_flag = [](CLI::App* cmd) {
        cmd->add_option("--registry", o.registry,
                        "Registry directory (default: [models] dir of the configuration)");
    };

    auto* ls = model->add_subcommand(
        "list", "Every version of every model: family, head, test AUC and log loss, and the "
                "experiment arms whose current/ pointer names it");
    registry_flag(ls);
    ls->callback([&] {
        run = [&ctx] {
            auto reg = open_registry(ctx, o);
            return reg ? list(*reg) : report(reg.error());
        };
    });

    auto* sh = model->add_subcommand(
        "show", "One version's manifest: features, calibration, training data, test metrics, "
                "importances, arms");
    registry_flag(sh);
    sh->add_option("name", o.name, "Model name, e.g. ctr")->required();
    auto* version = sh->add_option("version", o.version, "Version (default: the newest)")
                        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 53));
    sh->add_option("--arm", o.arm, "The version the arm's current/ pointer names")
        ->excludes(version);
    sh->callback([&] {
        run = [&ctx] {
            auto reg = open_registry(ctx, o);
            return reg ? show(*reg, o) : report(reg.error());
        };
    });

    auto rows_flags = [](CLI::App* cmd) {
        cmd->add_option("--model", o.model_dir, "A model version directory (holding model.json)")
            ->required();
        cmd->add_option("--rows", o.rows_file,
                        "JSON lines, one object per row: feature name -> number, string or null; "
                        "absent features are missing, other members are ignored")
            ->required();
        cmd->add_option("--trees", o.trees,
                        "Who walks an XGBoost model's trees: native (in-house, checked bit-exact "
                        "against libxgboost at load; AVX-512 where the CPU has it and trees are "
                        "at most 4 deep), walk (native, its portable kernel only) or libxgboost "
                        "(its C API)")
            ->check(CLI::IsMember({"native", "walk", "libxgboost"}))
            ->capture_default_str();
    };
    auto* sc = model->add_subcommand(
        "score", "Print one probability per input row (%.17g), after correction and calibration; "
                 "exit 1 when the model or the rows do not load");
    rows_flags(sc);
    sc->add_flag("--margin", o.margin, "Print the raw margins instead of probabilities");
    sc->callback([&] { run = [] { return score(o); }; });

    auto* bn = model->add_subcommand(
        "bench", "Time scoring batches of each size (rows cycled from --rows) and print one JSON "
                 "object: median, p99 and mean microseconds per batch");
    rows_flags(bn);
    bn->add_option("--sizes", o.sizes, "Batch sizes, comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
        ->capture_default_str();
    bn->add_option("--repeat", o.repeat,
                   "Timed runs per size (after max(3, repeat/10) warm-up runs)")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    bn->callback([&] { run = [] { return bench(o); }; });
}

}  // namespace adsx::app
