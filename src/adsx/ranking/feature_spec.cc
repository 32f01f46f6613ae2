#include "adsx/ranking/feature_spec.h"

#include <set>

#include <fmt/format.h>

#include "adsx/ranking/json_read.h"

namespace adsx::ranking {

namespace {

result<transform> parse_transform(const json::value& v)
{
    auto s = json::as_string(v);
    if (!s) {
        return fail(s.error());
    }
    if (*s == "none") {
        return transform::none;
    }
    if (*s == "log1p") {
        return transform::log1p;
    }
    return json::invalid(v, fmt::format("unknown transform \"{}\" (none|log1p)", *s));
}

result<std::string> parse_name(const json::value& item)
{
    auto name = json::string_at(item, "name");
    if (!name) {
        return fail(name.error());
    }
    if (name->empty()) {
        return json::invalid(item, "name must not be empty");
    }
    return std::string(*name);
}

result<numeric_feature> parse_numeric(const json::value& item)
{
    if (auto r = json::only_members(item, {"name", "transform"}); !r) {
        return fail(r.error());
    }
    auto name = parse_name(item);
    auto how =
        name ? json::member(item, "transform").and_then(parse_transform) : fail(name.error());
    if (!how) {
        return fail(how.error());
    }
    return numeric_feature{std::move(*name), *how};
}

result<categorical_feature> parse_categorical(const json::value& item)
{
    if (auto r = json::only_members(item, {"name", "vocab"}); !r) {
        return fail(r.error());
    }
    auto name = parse_name(item);
    auto vocab = name ? json::member(item, "vocab").and_then(json::elements) : fail(name.error());
    if (!vocab) {
        return fail(vocab.error());
    }
    categorical_feature f{std::move(*name), {}};
    f.vocab.reserve(vocab->size());
    std::set<std::string_view> seen;
    for (const auto& v : *vocab) {
        auto s = json::as_string(v);
        if (!s) {
            return fail(s.error());
        }
        if (!seen.insert(*s).second) {
            return json::invalid(v, fmt::format("\"{}\" is already in the vocab (a value has "
                                                "one code)",
                                                *s));
        }
        f.vocab.emplace_back(*s);
    }
    return f;
}

result<cross_feature> parse_cross(const json::value& item, const feature_spec& spec)
{
    auto pair = json::elements(item);
    if (!pair) {
        return fail(pair.error());
    }
    if (pair->size() != 2) {
        return json::invalid(item, "a cross names exactly two categorical features");
    }
    std::size_t index[2] = {0, 0};
    for (std::size_t k = 0; k < 2; ++k) {
        auto name = json::as_string((*pair)[k]);
        if (!name) {
            return fail(name.error());
        }
        auto i = spec.categorical_index(*name);
        if (!i) {
            return json::invalid((*pair)[k],
                                 fmt::format("\"{}\" is not a categorical feature", *name));
        }
        index[k] = *i;
    }
    return cross_feature{index[0], index[1]};
}

template <class T, class Parse>
result<std::vector<T>> parse_list(const json::value& features, std::string_view key, Parse parse)
{
    auto items = json::member(features, key).and_then(json::elements);
    if (!items) {
        return fail(items.error());
    }
    std::vector<T> out;
    out.reserve(items->size());
    for (const auto& item : *items) {
        auto f = parse(item);
        if (!f) {
            return fail(f.error());
        }
        out.push_back(std::move(*f));
    }
    return out;
}

result<void> check_unique_names(const feature_spec& spec)
{
    std::set<std::string_view> seen;
    for (const auto& name : spec.column_names()) {
        if (!seen.insert(name).second) {
            return fail(error_code::invalid_argument,
                        fmt::format("features: \"{}\" names two features", name));
        }
    }
    return {};
}

}  // namespace

std::vector<std::string> feature_spec::column_names() const
{
    std::vector<std::string> names;
    names.reserve(numeric.size() + categorical.size());
    for (const auto& f : numeric) {
        names.push_back(f.name);
    }
    for (const auto& f : categorical) {
        names.push_back(f.name);
    }
    return names;
}

std::optional<std::size_t> feature_spec::numeric_index(std::string_view name) const
{
    for (std::size_t i = 0; i < numeric.size(); ++i) {
        if (numeric[i].name == name) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> feature_spec::categorical_index(std::string_view name) const
{
    for (std::size_t i = 0; i < categorical.size(); ++i) {
        if (categorical[i].name == name) {
            return i;
        }
    }
    return std::nullopt;
}

result<feature_spec> parse_feature_spec(std::string_view features_json)
{
    simdjson::dom::parser parser;
    auto doc = json::parse(parser, features_json);
    if (!doc) {
        return fail(doc.error());
    }
    doc->path = "features";
    if (auto r = json::only_members(*doc, {"numeric", "categorical", "crosses"}); !r) {
        return fail(r.error());
    }
    feature_spec spec;
    auto numeric = parse_list<numeric_feature>(*doc, "numeric", parse_numeric);
    if (!numeric) {
        return fail(numeric.error());
    }
    spec.numeric = std::move(*numeric);
    auto categorical = parse_list<categorical_feature>(*doc, "categorical", parse_categorical);
    if (!categorical) {
        return fail(categorical.error());
    }
    spec.categorical = std::move(*categorical);
    if (auto r = check_unique_names(spec); !r) {
        return fail(r.error());
    }
    auto crosses = parse_list<cross_feature>(
        *doc, "crosses", [&](const json::value& item) { return parse_cross(item, spec); });
    if (!crosses) {
        return fail(crosses.error());
    }
    spec.crosses = std::move(*crosses);
    return spec;
}

}  // namespace adsx::ranking
