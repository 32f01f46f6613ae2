#include "adsx/models/manifest.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adsx/models/files.h"
#include "adsx/ranking/json_read.h"

namespace adsx::models {

namespace {

namespace json = ranking::json;

bool is_name(std::string_view s)
{
    if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
}

bool is_sha256(std::string_view s)
{
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// A string member that must be one of `allowed`.
result<std::string> one_of(const json::value& obj, std::string_view key,
                           std::initializer_list<std::string_view> allowed)
{
    auto m = json::member(obj, key);
    auto s = m ? json::as_string(*m) : fail(m.error());
    if (!s) {
        return fail(s.error());
    }
    for (auto a : allowed) {
        if (*s == a) {
            return std::string(*s);
        }
    }
    return json::invalid(*m, fmt::format("\"{}\" is not one of {}", *s, fmt::join(allowed, "|")));
}

result<std::vector<double>> numbers_at(const json::value& obj, std::string_view key)
{
    auto items = json::member(obj, key).and_then(json::elements);
    if (!items) {
        return fail(items.error());
    }
    std::vector<double> out;
    for (const auto& item : *items) {
        auto d = json::as_number(item);
        if (!d) {
            return fail(d.error());
        }
        out.push_back(*d);
    }
    return out;
}

result<void> parse_identity(const json::value& doc, manifest& m)
{
    auto schema = json::integer_at(doc, "schema_version");
    if (!schema) {
        return fail(schema.error());
    }
    if (*schema != 1) {
        return fail(error_code::invalid_argument,
                    fmt::format("schema_version is {}; this build reads 1", *schema));
    }
    auto name = json::string_at(doc, "name");
    if (!name) {
        return fail(name.error());
    }
    if (!is_name(*name)) {
        return fail(error_code::invalid_argument,
                    fmt::format("name \"{}\" must match ^[a-z][a-z0-9_]{{0,63}}$", *name));
    }
    m.name = *name;
    auto version = json::integer_at(doc, "version");
    if (!version) {
        return fail(version.error());
    }
    if (*version < 1) {
        return fail(error_code::invalid_argument,
                    fmt::format("version is {}; versions are positive", *version));
    }
    m.version = *version;
    auto family = one_of(doc, "family", {"lr", "xgboost"});
    auto head = family ? one_of(doc, "head", {"ctr", "cvr"}) : fail(family.error());
    auto label = head ? json::string_at(doc, "label") : fail(head.error());
    auto created = label ? json::string_at(doc, "created_at") : fail(label.error());
    if (!created) {
        return fail(created.error());
    }
    if (label->empty()) {
        return fail(error_code::invalid_argument, "label must not be empty");
    }
    m.family = *ranking::parse_model_family(*family);
    m.head = std::move(*head);
    m.label = *label;
    m.created_at = *created;
    return {};
}

result<void> parse_artifact(const json::value& doc, manifest& m)
{
    auto art = json::member(doc, "artifact");
    auto file = art ? one_of(*art, "file", {"lr.json", "xgboost.json"}) : fail(art.error());
    auto format =
        file ? one_of(*art, "format", {"adstreamx-lr/1", "xgboost-json/1.7"}) : fail(file.error());
    auto sha = format ? json::string_at(*art, "sha256") : fail(format.error());
    if (!sha) {
        return fail(sha.error());
    }
    if (!is_sha256(*sha)) {
        return fail(error_code::invalid_argument,
                    "artifact.sha256 must be 64 lowercase hex digits");
    }
    const bool lr = m.family == ranking::model_family::lr;
    if (*file != (lr ? "lr.json" : "xgboost.json") ||
        *format != (lr ? "adstreamx-lr/1" : "xgboost-json/1.7")) {
        return fail(error_code::invalid_argument,
                    fmt::format("artifact {} ({}) does not go with family {}", *file, *format,
                                ranking::name(m.family)));
    }
    m.artifact = {std::move(*file), std::move(*format), std::string(*sha)};
    return {};
}

result<void> parse_scoring(const json::value& doc, manifest& m)
{
    auto features = json::member(doc, "features");
    auto spec = features ? ranking::parse_feature_spec(simdjson::minify(features->element))
                         : fail(features.error());
    if (!spec) {
        return fail(spec.error());
    }
    m.features = std::move(*spec);
    auto rate = json::member(doc, "downsampling").and_then([](const json::value& d) {
        return json::number_at(d, "negative_rate");
    });
    if (!rate) {
        return fail(rate.error());
    }
    if (!(*rate > 0 && *rate <= 1)) {
        return fail(error_code::invalid_argument,
                    fmt::format("downsampling.negative_rate is {}; it must be in (0, 1]", *rate));
    }
    m.negative_rate = *rate;
    return {};
}

result<void> parse_calibration(const json::value& doc, manifest& m)
{
    auto cal = json::member(doc, "calibration");
    auto method = cal ? one_of(*cal, "method", {"none", "platt", "isotonic"}) : fail(cal.error());
    if (!method) {
        return fail(method.error());
    }
    if (*method == "platt") {
        auto a = json::number_at(*cal, "a");
        auto b = a ? json::number_at(*cal, "b") : fail(a.error());
        if (!b) {
            return fail(b.error());
        }
        m.calibration = ranking::calibration::platt(*a, *b);
    } else if (*method == "isotonic") {
        auto x = numbers_at(*cal, "x");
        auto y = x ? numbers_at(*cal, "y") : fail(x.error());
        if (!y) {
            return fail(y.error());
        }
        for (double v : *y) {
            if (!(v >= 0 && v <= 1)) {
                return fail(error_code::invalid_argument,
                            fmt::format("calibration.y holds {}, outside [0, 1]", v));
            }
        }
        auto c = ranking::calibration::isotonic(std::move(*x), std::move(*y));
        if (!c) {
            return fail(c.error().wrap("calibration"));
        }
        m.calibration = std::move(*c);
    }
    return {};
}

result<std::optional<std::int64_t>> nullable_integer(const json::value& v)
{
    if (json::is_null(v)) {
        return std::optional<std::int64_t>();
    }
    return json::as_integer(v).map([](std::int64_t i) { return std::optional<std::int64_t>(i); });
}

result<void> parse_training(const json::value& doc, manifest& m)
{
    auto t = json::member(doc, "training");
    auto source = t ? json::string_at(*t, "source") : fail(t.error());
    auto range =
        source ? json::member(*t, "time_range_ms").and_then(json::elements) : fail(source.error());
    if (!range) {
        return fail(range.error());
    }
    if (range->size() != 2) {
        return fail(error_code::invalid_argument, "training.time_range_ms must hold two values");
    }
    auto from = nullable_integer((*range)[0]);
    auto to = from ? nullable_integer((*range)[1]) : fail(from.error());
    auto rows = to ? json::member(*t, "rows").and_then(json::as_object) : fail(to.error());
    if (!rows) {
        return fail(rows.error());
    }
    m.training = {std::string(*source), *from, *to, {}};
    for (auto [split, count] : *rows) {
        auto n = json::as_integer({count, fmt::format("training.rows.{}", split)});
        if (!n || *n < 0) {
            return fail(error_code::invalid_argument,
                        fmt::format("training.rows.{} must be a count", split));
        }
        m.training.rows.emplace(std::string(split), *n);
    }
    return {};
}

result<void> parse_metrics(const json::value& doc, manifest& m)
{
    auto test = json::member(doc, "metrics").and_then([](const json::value& v) {
        return json::member(v, "test");
    });
    auto rows = test ? json::integer_at(*test, "rows") : fail(test.error());
    auto positives = rows ? json::integer_at(*test, "positives") : fail(rows.error());
    auto auc = positives ? json::nullable_number_at(*test, "auc") : fail(positives.error());
    auto log_loss = auc ? json::number_at(*test, "log_loss") : fail(auc.error());
    auto ne = log_loss ? json::number_at(*test, "normalized_entropy") : fail(log_loss.error());
    auto ratio = ne ? json::nullable_number_at(*test, "calibration_ratio") : fail(ne.error());
    if (!ratio) {
        return fail(ratio.error());
    }
    m.metrics = {*rows, *positives, *auc, *log_loss, *ne, *ratio};
    return {};
}

result<void> parse_extras(const json::value& doc, manifest& m)
{
    auto imp = json::optional_member(doc, "importance");
    if (imp && *imp) {
        auto items = json::elements(**imp);
        if (!items) {
            return fail(items.error());
        }
        for (const auto& item : *items) {
            auto feature = json::string_at(item, "feature");
            auto value = feature ? json::number_at(item, "importance") : fail(feature.error());
            if (!value) {
                return fail(value.error());
            }
            m.importances.push_back({std::string(*feature), *value});
        }
    }
    auto cmp = imp ? json::optional_member(doc, "comparison") : fail(imp.error());
    if (!cmp) {
        return fail(cmp.error());
    }
    if (*cmp && !json::is_null(**cmp)) {
        if (!(*cmp)->element.is_object()) {
            return json::invalid(**cmp, "must be an object or null");
        }
        m.comparison_json = simdjson::minify((*cmp)->element);
    }
    return {};
}

}  // namespace

result<manifest> parse_manifest(std::string_view text)
{
    simdjson::dom::parser parser;
    auto doc = json::parse(parser, text);
    if (!doc) {
        return fail(doc.error());
    }
    if (auto o = json::as_object(*doc); !o) {
        return fail(o.error());
    }
    manifest m;
    for (auto step : {parse_identity, parse_artifact, parse_scoring, parse_calibration,
                      parse_training, parse_metrics, parse_extras}) {
        if (auto r = step(*doc, m); !r) {
            return fail(r.error());
        }
    }
    return m;
}

result<manifest> read_manifest(const std::filesystem::path& file)
{
    auto text = read_text(file);
    if (!text) {
        return fail(text.error());
    }
    auto m = parse_manifest(*text);
    if (!m) {
        return fail(m.error().wrap(file.string()));
    }
    return m;
}

}  // namespace adsx::models
