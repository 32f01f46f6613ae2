#include "adsx/models/describe.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace adsx::models {

namespace {

constexpr std::size_t top_importances = 10;

std::string features_text(const ranking::feature_spec& f)
{
    std::vector<std::string> numeric;
    for (const auto& n : f.numeric) {
        numeric.push_back(n.how == ranking::transform::log1p ? n.name + " (log1p)" : n.name);
    }
    std::vector<std::string> categorical;
    for (const auto& c : f.categorical) {
        categorical.push_back(fmt::format("{} ({} values)", c.name, c.vocab.size()));
    }
    std::vector<std::string> crosses;
    for (const auto& x : f.crosses) {
        crosses.push_back(f.categorical[x.first].name + " x " + f.categorical[x.second].name);
    }
    return fmt::format("{} numeric [{}]; {} categorical [{}]; {} crosses [{}]", numeric.size(),
                       fmt::join(numeric, ", "), categorical.size(), fmt::join(categorical, ", "),
                       crosses.size(), fmt::join(crosses, ", "));
}

std::string time_text(const std::optional<std::int64_t>& ms)
{
    return ms ? std::to_string(*ms) : "open";
}

std::string rows_text(const std::map<std::string, std::int64_t>& rows)
{
    std::vector<std::string> parts;
    for (const auto& [split, n] : rows) {
        parts.push_back(fmt::format("{}={}", split, n));
    }
    return fmt::format("{}", fmt::join(parts, " "));
}

std::string calibration_text(const ranking::calibration& c)
{
    switch (c.method()) {
        case ranking::calibration_method::platt:
            return fmt::format("platt, a {} b {}", c.a(), c.b());
        case ranking::calibration_method::isotonic:
            return fmt::format("isotonic, {} knots over [{}, {}]", c.x().size(), c.x().front(),
                               c.x().back());
        case ranking::calibration_method::none:
            break;
    }
    return "none";
}

}  // namespace

std::string metric_text(const std::optional<double>& v)
{
    return v ? fmt::format("{:.4f}", *v) : "n/a";
}

std::vector<std::string> describe(const manifest& m)
{
    const auto& t = m.metrics;
    std::vector<std::string> lines = {
        fmt::format("model         {} version {} ({}, head {}, label {})", m.name, m.version,
                    ranking::name(m.family), m.head, m.label),
        fmt::format("created       {}", m.created_at),
        fmt::format("artifact      {} ({}), sha256 {}", m.artifact.file, m.artifact.format,
                    m.artifact.sha256),
        fmt::format("features      {}", features_text(m.features)),
        fmt::format("downsampling  negative_rate {}", m.negative_rate),
        fmt::format("calibration   {}", calibration_text(m.calibration)),
        fmt::format("training      {} from {} to {} ms; rows {}", m.training.source,
                    time_text(m.training.from_ms), time_text(m.training.to_ms),
                    rows_text(m.training.rows)),
        fmt::format("test          rows {}, positives {}, AUC {}, log loss {:.4f}, normalized "
                    "entropy {:.4f}, calibration {}",
                    t.rows, t.positives, metric_text(t.auc), t.log_loss, t.normalized_entropy,
                    metric_text(t.calibration_ratio)),
    };
    std::vector<std::string> top;
    for (std::size_t i = 0; i < m.importances.size() && i < top_importances; ++i) {
        top.push_back(fmt::format("{} {:.4g}", m.importances[i].feature, m.importances[i].value));
    }
    if (!top.empty()) {
        lines.push_back(fmt::format("importance    {}", fmt::join(top, ", ")));
    }
    if (!m.comparison_json.empty()) {
        lines.push_back(fmt::format("comparison    {}", m.comparison_json));
    }
    return lines;
}

}  // namespace adsx::models
