#pragma once
// Seeded randomness for the simulator: xoshiro256** seeded through splitmix64, and the few
// distributions the world needs, written out here (not <random>'s) so that a seed gives the same
// numbers on every standard library: `adsx generate --seed S` is byte-reproducible.
//
//   adsx::simulate::rng r(42);
//   double u = r.uniform();              // [0, 1)
//   alias_table zipf = alias_table::zipf(100000, 1.1);
//   std::size_t user = zipf.sample(r);   // rank 0 is the most active user
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace adsx::simulate {

__extension__ using uint128 = unsigned __int128;

class rng
{
public:
    explicit rng(std::uint64_t seed) noexcept;
    std::uint64_t next() noexcept;
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    bool bernoulli(double p) noexcept { return uniform() < p; }
    // Uniform in [0, n): Lemire's multiply-shift (no division; bias below 2^-64 · n).
    std::uint64_t below(std::uint64_t n) noexcept
    {
        return static_cast<std::uint64_t>((static_cast<uint128>(next()) * n) >> 64);
    }
    double normal() noexcept;  // standard normal (Box-Muller, no cached second value)
    double exponential(double mean) noexcept { return -mean * std::log1p(-uniform()); }
    double lognormal(double mu, double sigma) noexcept { return std::exp(mu + sigma * normal()); }
    // A child generator with an independent stream (for per-entity draws at world build).
    rng fork() noexcept { return rng(next()); }

private:
    std::uint64_t _s[4];
};

// Walker's alias method: O(1) draws from a fixed discrete distribution.
class alias_table
{
public:
    explicit alias_table(const std::vector<double>& weights);
    // Zipf–Mandelbrot: p(rank k) ∝ 1 / (k + offset)^exponent, k = 1..n (offset 0 = plain Zipf).
    static alias_table zipf(std::size_t n, double exponent, double offset = 0);
    std::size_t sample(rng& r) const noexcept;
    std::size_t size() const noexcept { return _prob.size(); }

private:
    std::vector<double> _prob;
    std::vector<std::uint32_t> _alias;
};

// Counts per 64-bit key in an open-addressing table (linear probing): the generator's
// per-(user, campaign) impressions of the day. clear() keeps the capacity.
class counter_table
{
public:
    explicit counter_table(std::size_t capacity_pow2 = 1 << 16);
    [[nodiscard]] std::uint32_t get(std::uint64_t key) const noexcept;
    void increment(std::uint64_t key);
    void clear() noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return _used; }

private:
    [[nodiscard]] std::size_t slot(std::uint64_t stored) const noexcept;
    void grow();

    std::vector<std::uint64_t> _keys;  // key + 1; 0 = empty
    std::vector<std::uint32_t> _counts;
    std::size_t _used = 0;
};

[[nodiscard]] inline double sigmoid(double x) noexcept
{
    return 1.0 / (1.0 + std::exp(-x));
}
[[nodiscard]] inline double logit(double p) noexcept
{
    return std::log(p / (1.0 - p));
}

}  // namespace adsx::simulate
