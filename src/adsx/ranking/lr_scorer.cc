#include "adsx/ranking/lr_scorer.h"

#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "adsx/ranking/hash.h"
#include "adsx/ranking/json_read.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace adsx::ranking {

namespace {

constexpr std::string_view lr_format = "adstreamx-lr/1";
constexpr std::int64_t max_hash_bits = 30;

// W: hashed index -> weight, absent = 0. Open addressing with linear probing; the capacity is a
// power of two at least twice the entries. Indices are hash bits, uniform already, so a slot is
// the index's low bits.
class weight_table
{
public:
    [[nodiscard]] static result<weight_table> make(const std::vector<std::uint32_t>& indices,
                                                   const std::vector<double>& weights)
    {
        weight_table t;
        const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, 2 * indices.size()));
        t._keys.assign(capacity, empty);
        t._weights.assign(capacity, 0.0);
        t._mask = capacity - 1;
        for (std::size_t k = 0; k < indices.size(); ++k) {
            std::size_t s = indices[k] & t._mask;
            while (t._keys[s] != empty && t._keys[s] != indices[k]) {
                s = (s + 1) & t._mask;
            }
            if (t._keys[s] == indices[k]) {
                return fail(
                    error_code::invalid_argument,
                    fmt::format("hashed.indices[{}]: index {} appears twice", k, indices[k]));
            }
            t._keys[s] = indices[k];
            t._weights[s] = weights[k];
        }
        return t;
    }

    [[nodiscard]] double at(std::uint64_t index) const noexcept
    {
        for (std::size_t s = index & _mask;; s = (s + 1) & _mask) {
            if (_keys[s] == index) {
                return _weights[s];
            }
            if (_keys[s] == empty) {
                return 0.0;
            }
        }
    }

private:
    static constexpr std::uint32_t empty = 0xffffffffu;  // never an index: they are < 2^30
    std::vector<std::uint32_t> _keys;
    std::vector<double> _weights;
    std::size_t _mask = 0;
};

// XXH64 of a string whose beginning is known at load time: that part is hashed once, the rest
// per row, into a copy of the state on the stack.
class prefixed_hash
{
public:
    explicit prefixed_hash(std::string_view prefix)
    {
        XXH64_reset(&_state, 0);
        XXH64_update(&_state, prefix.data(), prefix.size());
    }
    [[nodiscard]] std::uint64_t operator()(std::string_view value) const noexcept
    {
        XXH64_state_t s = _state;
        XXH64_update(&s, value.data(), value.size());
        return XXH64_digest(&s);
    }
    [[nodiscard]] std::uint64_t operator()(std::string_view a, std::string_view middle,
                                           std::string_view b) const noexcept
    {
        XXH64_state_t s = _state;
        XXH64_update(&s, a.data(), a.size());
        XXH64_update(&s, middle.data(), middle.size());
        XXH64_update(&s, b.data(), b.size());
        return XXH64_digest(&s);
    }

private:
    XXH64_state_t _state{};
};

struct numeric_term
{
    transform how = transform::none;
    double mean = 0;
    double scale = 1;
    double weight = 0;
};

struct cross_term
{
    std::size_t first = 0;
    std::size_t second = 0;
    prefixed_hash hash;  // of "a="
    std::string middle;  // "\x1fb="
};

struct lr_params
{
    double bias = 0;
    int bits = 0;
    std::vector<numeric_term> numeric;
    std::vector<std::uint32_t> indices;
    std::vector<double> weights;
};

class lr_scorer final : public scorer
{
public:
    lr_scorer(const feature_spec& spec, lr_params p, weight_table w)
      : _bias(p.bias), _mask((std::uint64_t{1} << p.bits) - 1), _numeric(std::move(p.numeric)),
        _weights(std::move(w)), _categorical_columns(spec.categorical.size())
    {
        for (const auto& f : spec.categorical) {
            _categorical.emplace_back(f.name + "=");
        }
        for (const auto& c : spec.crosses) {
            _crosses.push_back(cross_term{c.first, c.second,
                                          prefixed_hash(spec.categorical[c.first].name + "="),
                                          cross_separator + spec.categorical[c.second].name + "="});
        }
    }

    [[nodiscard]] result<void> margins(const batch& rows, std::span<double> out) const override
    {
        if (auto r = check_shape(rows, out, _numeric.size(), _categorical_columns); !r) {
            return r;
        }
        std::fill(out.begin(), out.end(), _bias);
        for (std::size_t i = 0; i < _numeric.size(); ++i) {
            add_numeric(_numeric[i], rows.numeric_column(i), out);
        }
        for (std::size_t j = 0; j < _categorical.size(); ++j) {
            auto column = rows.categorical_column(j);
            for (std::size_t r = 0; r < out.size(); ++r) {
                out[r] += _weights.at(_categorical[j](column[r]) & _mask);
            }
        }
        for (const auto& c : _crosses) {
            auto a = rows.categorical_column(c.first);
            auto b = rows.categorical_column(c.second);
            for (std::size_t r = 0; r < out.size(); ++r) {
                out[r] += _weights.at(c.hash(a[r], c.middle, b[r]) & _mask);
            }
        }
        return {};
    }
    [[nodiscard]] std::string_view engine() const noexcept override { return "lr"; }

private:
    static void add_numeric(const numeric_term& t, std::span<const double> column,
                            std::span<double> out) noexcept
    {
        for (std::size_t r = 0; r < out.size(); ++r) {
            double x = column[r];
            if (std::isnan(x)) {
                continue;  // z = 0
            }
            if (t.how == transform::log1p) {
                x = std::log1p(std::max(x, 0.0));
            }
            out[r] += t.weight * ((x - t.mean) / t.scale);
        }
    }

    double _bias;
    std::uint64_t _mask;
    std::vector<numeric_term> _numeric;
    weight_table _weights;
    std::size_t _categorical_columns;
    std::vector<prefixed_hash> _categorical;  // of "name="
    std::vector<cross_term> _crosses;
};

result<std::vector<numeric_term>> parse_numeric(const json::value& doc, const feature_spec& spec)
{
    auto items = json::member(doc, "numeric").and_then(json::elements);
    if (!items) {
        return fail(items.error());
    }
    if (items->size() != spec.numeric.size()) {
        return fail(error_code::invalid_argument,
                    fmt::format("numeric lists {} features; the manifest has {}", items->size(),
                                spec.numeric.size()));
    }
    std::vector<numeric_term> terms;
    for (std::size_t i = 0; i < items->size(); ++i) {
        const auto& item = (*items)[i];
        auto name = json::string_at(item, "name");
        if (!name) {
            return fail(name.error());
        }
        if (*name != spec.numeric[i].name) {
            return json::invalid(item, fmt::format("name is \"{}\"; the manifest's numeric "
                                                   "feature {} is \"{}\" (same names, same order)",
                                                   *name, i, spec.numeric[i].name));
        }
        auto mean = json::number_at(item, "mean");
        auto scale = mean ? json::number_at(item, "scale") : fail(mean.error());
        auto weight = scale ? json::number_at(item, "weight") : fail(scale.error());
        if (!weight) {
            return fail(weight.error());
        }
        if (*scale == 0 || !std::isfinite(*scale)) {
            return json::invalid(item, "scale must be a finite number other than 0");
        }
        terms.push_back(numeric_term{spec.numeric[i].how, *mean, *scale, *weight});
    }
    return terms;
}

result<void> parse_hashed(const json::value& doc, int bits, lr_params& p)
{
    auto hashed = json::member(doc, "hashed");
    auto indices =
        hashed ? json::member(*hashed, "indices").and_then(json::elements) : fail(hashed.error());
    auto weights =
        indices ? json::member(*hashed, "weights").and_then(json::elements) : fail(indices.error());
    if (!weights) {
        return fail(weights.error());
    }
    if (indices->size() != weights->size()) {
        return json::invalid(
            *hashed, fmt::format("{} indices but {} weights", indices->size(), weights->size()));
    }
    const std::int64_t limit = std::int64_t{1} << bits;
    for (std::size_t k = 0; k < indices->size(); ++k) {
        auto index = json::as_integer((*indices)[k]);
        auto weight = index ? json::as_number((*weights)[k]) : fail(index.error());
        if (!weight) {
            return fail(weight.error());
        }
        if (*index < 0 || *index >= limit) {
            return json::invalid((*indices)[k],
                                 fmt::format("{} is outside [0, 2^{})", *index, bits));
        }
        p.indices.push_back(static_cast<std::uint32_t>(*index));
        p.weights.push_back(*weight);
    }
    return {};
}

result<lr_params> parse_params(const json::value& doc, const feature_spec& spec)
{
    auto format = json::string_at(doc, "format");
    if (!format) {
        return fail(format.error());
    }
    if (*format != lr_format) {
        return fail(error_code::invalid_argument,
                    fmt::format("format is \"{}\", expected \"{}\"", *format, lr_format));
    }
    lr_params p;
    auto bias = json::number_at(doc, "bias");
    auto bits = bias ? json::integer_at(doc, "hash_bits") : fail(bias.error());
    if (!bits) {
        return fail(bits.error());
    }
    if (*bits < 1 || *bits > max_hash_bits) {
        return fail(error_code::invalid_argument,
                    fmt::format("hash_bits is {}, outside 1-{}", *bits, max_hash_bits));
    }
    p.bias = *bias;
    p.bits = static_cast<int>(*bits);
    auto numeric = parse_numeric(doc, spec);
    if (!numeric) {
        return fail(numeric.error());
    }
    p.numeric = std::move(*numeric);
    if (auto r = parse_hashed(doc, p.bits, p); !r) {
        return fail(r.error());
    }
    return p;
}

}  // namespace

result<std::unique_ptr<const scorer>> parse_lr_scorer(std::string_view lr_json,
                                                      const feature_spec& spec)
{
    simdjson::dom::parser parser;
    auto doc = json::parse(parser, lr_json);
    auto params = doc ? parse_params(*doc, spec) : fail(doc.error());
    if (!params) {
        return fail(params.error());
    }
    auto table = weight_table::make(params->indices, params->weights);
    if (!table) {
        return fail(table.error());
    }
    return std::make_unique<const lr_scorer>(spec, std::move(*params), std::move(*table));
}

}  // namespace adsx::ranking
