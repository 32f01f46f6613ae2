#include "adsx/simulate/random.h"

#include <algorithm>
#include <numbers>

namespace adsx::simulate {

namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept
{
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept
{
    return (x << k) | (x >> (64 - k));
}

}  // namespace

rng::rng(std::uint64_t seed) noexcept
{
    for (auto& s : _s) {
        s = splitmix64(seed);
    }
}

std::uint64_t rng::next() noexcept
{
    const std::uint64_t result = rotl(_s[1] * 5, 7) * 9;
    const std::uint64_t t = _s[1] << 17;
    _s[2] ^= _s[0];
    _s[3] ^= _s[1];
    _s[1] ^= _s[2];
    _s[0] ^= _s[3];
    _s[2] ^= t;
    _s[3] = rotl(_s[3], 45);
    return result;
}

double rng::normal() noexcept
{
    double u1 = 1.0 - uniform();  // (0, 1]
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

alias_table::alias_table(const std::vector<double>& weights)
  : _prob(weights.size()), _alias(weights.size())
{
    const std::size_t n = weights.size();
    double total = 0;
    for (double w : weights) {
        total += w;
    }
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
        scaled[i] = weights[i] * static_cast<double>(n) / total;
        (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
        auto s = small.back();
        small.pop_back();
        auto l = large.back();
        _prob[s] = scaled[s];
        _alias[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            large.pop_back();
            small.push_back(l);
        }
    }
    for (auto i : large) {
        _prob[i] = 1.0;
        _alias[i] = i;
    }
    for (auto i : small) {
        _prob[i] = 1.0;
        _alias[i] = i;
    }
}

alias_table alias_table::zipf(std::size_t n, double exponent, double offset)
{
    std::vector<double> w(n);
    for (std::size_t k = 0; k < n; ++k) {
        w[k] = 1.0 / std::pow(static_cast<double>(k + 1) + offset, exponent);
    }
    return alias_table(w);
}

std::size_t alias_table::sample(rng& r) const noexcept
{
    std::size_t i = r.below(_prob.size());
    return r.uniform() < _prob[i] ? i : _alias[i];
}

counter_table::counter_table(std::size_t capacity_pow2)
  : _keys(capacity_pow2, 0), _counts(capacity_pow2, 0)
{
}

std::size_t counter_table::slot(std::uint64_t stored) const noexcept
{
    const std::size_t mask = _keys.size() - 1;
    std::size_t i = static_cast<std::size_t>((stored * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
    while (_keys[i] != 0 && _keys[i] != stored) {
        i = (i + 1) & mask;
    }
    return i;
}

std::uint32_t counter_table::get(std::uint64_t key) const noexcept
{
    const auto i = slot(key + 1);
    return _keys[i] == 0 ? 0 : _counts[i];
}

void counter_table::increment(std::uint64_t key)
{
    if (2 * (_used + 1) > _keys.size()) {
        grow();
    }
    const auto i = slot(key + 1);
    if (_keys[i] == 0) {
        _keys[i] = key + 1;
        ++_used;
    }
    ++_counts[i];
}

void counter_table::clear() noexcept
{
    std::fill(_keys.begin(), _keys.end(), 0);
    std::fill(_counts.begin(), _counts.end(), 0);
    _used = 0;
}

void counter_table::grow()
{
    auto keys = std::move(_keys);
    auto counts = std::move(_counts);
    _keys.assign(keys.size() * 2, 0);
    _counts.assign(keys.size() * 2, 0);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] != 0) {
            const auto j = slot(keys[i]);
            _keys[j] = keys[i];
            _counts[j] = counts[i];
        }
    }
}

}  // namespace adsx::simulate
