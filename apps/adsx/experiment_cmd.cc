// `adsx experiment analyze` (and the registration of `adsx experiment`, whose create, start,
// stop and list live in experiment_admin_cmd.cc): the experiment analysis (src/adsx/experiments)
// on per-user data exported from anywhere: a CSV with user, arm, metric columns and optional day
// and pre-period columns. Prints the report (Markdown or JSON) or writes report.json, report.md and
// a self-contained report.html to --out. Exit codes: 0 a report was made (whatever its verdict), 1
// the input cannot be read or parsed, 2 usage (bad flags, or options that do not fit the data such
// as an unknown control arm).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <utility>

#include "app.h"
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adsx/base/strings.h"
#include "adsx/experiments/analysis.h"
#include "adsx/experiments/report.h"
#include "adsx/pg/experiment_results.h"
#include "adsx/pg/migrate.h"

namespace adsx::app {

namespace {

struct analyze_options
{
    std::string input;
    std::string name;
    std::string weights;  // "1,1" in arm-name order, or "A=1,B=3"
    std::string correction = "holm";
    std::string format = "markdown";
    std::string out;
    experiments::options stats;
};

// A file's bytes mapped read-only, whole (MAP_POPULATE): reading a 40 MB CSV into a string
// cost a fifth of `analyze` in page faults, zeroing and the copy.
class mapped_file
{
public:
    static result<mapped_file> open(const std::string& path)
    {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st
        {};
        if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0) {
                ::close(fd);
            }
            return fail(error_code::not_found, fmt::format("cannot read {}", path));
        }
        mapped_file f;
        f._size = static_cast<std::size_t>(st.st_size);
        if (f._size > 0) {
            void* at = ::mmap(nullptr, f._size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
            if (at == MAP_FAILED) {
                ::close(fd);
                return fail(error_code::unavailable, fmt::format("cannot read {}", path));
            }
            f._data = static_cast<const char*>(at);
        }
        ::close(fd);
        return f;
    }
    mapped_file(mapped_file&& o) noexcept
      : _data(std::exchange(o._data, nullptr)), _size(std::exchange(o._size, 0))
    {
    }
    mapped_file& operator=(mapped_file&&) = delete;
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file()
    {
        if (_data != nullptr) {
            ::munmap(const_cast<char*>(_data), _size);
        }
    }
    [[nodiscard]] std::string_view text() const { return {_data == nullptr ? "" : _data, _size}; }

private:
    mapped_file() = default;
    const char* _data = nullptr;
    std::size_t _size = 0;
};

// The expected share of each arm, in the data's arm order.
result<std::vector<double>> parse_weights(std::string_view text,
                                          const std::vector<std::string>& arms)
{
    if (text.empty()) {
        return std::vector<double>{};
    }
    const auto parts = split(text, ',');
    std::vector<double> out(arms.size(), -1);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        std::size_t arm = i;
        if (eq != std::string_view::npos) {
            const auto it = std::find(arms.begin(), arms.end(), trim(parts[i].substr(0, eq)));
            if (it == arms.end()) {
                return fail(error_code::invalid_argument,
                            fmt::format("--weights names arm '{}', which is not in the data",
                                        parts[i].substr(0, eq)));
            }
            arm = static_cast<std::size_t>(it - arms.begin());
        }
        const auto w =
            parse_double(trim(eq == std::string_view::npos ? parts[i] : parts[i].substr(eq + 1)));
        if (arm >= arms.size() || !w || !(*w > 0)) {
            return fail(error_code::invalid_argument,
                        fmt::format("--weights '{}': give one positive weight per arm ({})", text,
                                    fmt::join(arms, ", ")));
        }
        out[arm] = *w;
    }
    if (std::find(out.begin(), out.end(), -1.0) != out.end()) {
        return fail(error_code::invalid_argument,
                    fmt::format("--weights '{}' leaves an arm without a weight (arms: {})", text,
                                fmt::join(arms, ", ")));
    }
    return out;
}

int write_outputs(const experiments::report& r, const analyze_options& o)
{
    const std::string name =
        o.name.empty() ? std::filesystem::path(o.input).stem().string() : o.name;
    if (o.out.empty()) {
        std::cout << (o.format == "json" ? experiments::to_json(r, name)
                                         : experiments::to_markdown(r, name));
        return 0;
    }
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    const auto dir = std::filesystem::path(o.out);
    for (const auto& [file, text] : {std::pair{"report.json", experiments::to_json(r, name)},
                                     std::pair{"report.md", experiments::to_markdown(r, name)},
                                     std::pair{"report.html", experiments::to_html(r, name)}}) {
        std::ofstream f(dir / file, std::ios::binary);
        f << text;
        if (!f) {
            std::cerr << "adsx: cannot write " << (dir / file).string() << "\n";
            return 1;
        }
    }
    std::cout << fmt::format("{}: {} ({})\nwrote report.json, report.md and report.html (open it "
                             "in a browser) in {}\n",
                             name, r.overall.decision, r.overall.reason, dir.string());
    return 0;
}

int analyze(analyze_options o)
{
    auto file = mapped_file::open(o.input);
    if (!file) {
        std::cerr << "adsx: " << file.error().message << "\n";
        return 1;
    }
    auto data = experiments::parse_csv(file->text());
    if (!data) {
        std::cerr << "adsx: " << o.input << ": " << data.error().message << "\n";
        return 1;
    }
    auto weights = parse_weights(o.weights, data->arms);
    if (!weights) {
        return report(weights.error());
    }
    o.stats.weights = *weights;
    o.stats.correct = o.correction == "holm" ? experiments::correction::holm
                                             : experiments::correction::benjamini_hochberg;
    auto r = experiments::analyze(*data, o.stats);
    if (!r) {
        return report(r.error());
    }
    return write_outputs(*r, o);
}

int report_experiment(const config::config& cfg, analyze_options o, int pre_days)
{
    auto conn = pg::connection::open(cfg.postgres);
    if (!conn) {
        return report(conn.error());
    }
    if (auto m = pg::migrate(*conn, migrations_dir(cfg)); !m) {
        return report(m.error());
    }
    auto data = pg::load_experiment_data(*conn, o.name, pre_days);
    if (!data) {
        return report(data.error());
    }
    if (!o.weights.empty()) {
        auto weights = parse_weights(o.weights, data->data.arms);
        if (!weights) {
            return report(weights.error());
        }
        o.stats.weights = *weights;
    }
    o.stats.correct = o.correction == "holm" ? experiments::correction::holm
                                             : experiments::correction::benjamini_hochberg;
    auto r = pg::analyze_experiment(*conn, o.name, *data, o.stats);
    if (!r) {
        return report(r.error());
    }
    return write_outputs(*r, o);
}

// The analysis settings and outputs `analyze` and `report` share.
void add_analysis_flags(CLI::App* cmd, analyze_options& o)
{
    cmd->add_option("--control", o.stats.control, "The control arm (default: first by name)");
    cmd->add_option("--weights", o.weights,
                    "Expected shares for the sample-ratio test: '1,1' in arm-name order or "
                    "'A=1,B=3' (default: equal)");
    cmd->add_option("--primary", o.stats.primary, "The metric the verdict is about")
        ->capture_default_str()
        ->check(CLI::IsMember(experiments::metric_names()));
    cmd->add_option("--guardrail", o.stats.guardrails,
                    "A metric that must not get significantly worse (repeatable)")
        ->capture_default_str()
        ->check(CLI::IsMember(experiments::metric_names()));
    cmd->add_option("--alpha", o.stats.alpha, "Significance level")
        ->capture_default_str()
        ->check(CLI::Range(1e-6, 0.5));
    cmd->add_option("--correction", o.correction,
                    "Multiple-testing adjustment across arms x metrics")
        ->capture_default_str()
        ->check(CLI::IsMember({"holm", "bh"}));
    cmd->add_option("--tau", o.stats.tau,
                    "Scale of the always-valid test's mixture, as a relative lift (the effect size "
                    "you expect)")
        ->capture_default_str()
        ->check(CLI::Range(1e-6, 100.0));
    cmd->add_option("--planned-days", o.stats.planned_days,
                    "The planned duration in days: always-valid p-values then come from a "
                    "group-sequential test that spends alpha over those days (exact under daily "
                    "looks) instead of the open-ended mixture SPRT (conservative); 0 = "
                    "open-ended")
        ->capture_default_str()
        ->check(CLI::Range(0, 3650));
    cmd->add_option("--min-effect", o.stats.min_effect,
                    "The smallest relative lift worth shipping (stops a test as flat)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 10.0));
    cmd->add_option("--cap-percentile", o.stats.cap_percentile,
                    "Revenue is capped at this pooled percentile for the capped metric")
        ->capture_default_str()
        ->check(CLI::Range(50.0, 100.0));
    cmd->add_option("--format", o.format, "What to print when --out is not given")
        ->capture_default_str()
        ->check(CLI::IsMember({"markdown", "json"}));
    cmd->add_option("--out", o.out,
                    "Write report.json, report.md and report.html into this directory");
}

}  // namespace

void add_experiment_commands(CLI::App& root, context& ctx, action& run)
{
    static analyze_options o;
    auto* cmd = root.add_subcommand(
        "experiment", "A/B experiments: define them for adsx serve (create, start, stop, list), "
                      "count their events (collect), report on them (report) and analyse "
                      "per-user data from elsewhere (analyze)");
    cmd->require_subcommand(1);
    add_experiment_admin_commands(*cmd, ctx, run);
    add_experiment_collect_command(*cmd, ctx, run);
    auto* an = cmd->add_subcommand(
        "analyze", "Analyse per-user experiment data from a CSV (user, arm, impressions, clicks, "
                   "conversions, revenue; optional day and pre_* columns)");
    an->add_option("--input", o.input, "The CSV file")->required()->check(CLI::ExistingFile);
    an->add_option("--name", o.name, "The experiment's name in the report (default: file stem)");
    add_analysis_flags(an, o);
    an->callback([&run] { run = [] { return analyze(o); }; });

    static analyze_options ro;
    static int pre_days = 7;
    auto* rep = cmd->add_subcommand(
        "report", "Analyse an experiment of adsx serve from PostgreSQL (experiment_user_days, "
                  "which adsx experiment collect keeps): its users' totals per day, CUPED on "
                  "their totals of the days before it started; arm weights and the control (its "
                  "first arm) from its definition");
    rep->add_option("--name", ro.name, "The experiment")->required();
    rep->add_option("--pre-days", pre_days,
                    "Days before the start that make each user's pre-period (0: no CUPED)")
        ->capture_default_str()
        ->check(CLI::Range(0, 365));
    add_analysis_flags(rep, ro);
    rep->callback([&run, &ctx] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) {
                return report_experiment(cfg, ro, pre_days);
            });
        };
    });
}

}  // namespace adsx::app
