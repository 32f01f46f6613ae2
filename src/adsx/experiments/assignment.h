#pragma once
// Deterministic user-level assignment: a user's bucket in a layer is
//   bucket = first 8 bytes of SHA-256(salt ␟ layer ␟ user), big-endian, mod 10,000
// (␟ = the unit separator 0x1F), the same in every process, language and restart. Python's
// twin is python/adsx_jobs/experiments.py; both are held to the fixed vectors in their tests.
// An experiment owns a range of buckets in its layer (mutual exclusion); within its range a
// holdout share serves neither arm, and the rest is cut into the arms by weight.
//
//   auto b = bucket("s3", "ranking", "K1:9f…");   // 0..9999
//   auto arm = choose(split, b);                  // index into the arms, or nullopt
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace adsx::experiments {

inline constexpr std::uint32_t buckets = 10'000;

[[nodiscard]] std::uint32_t bucket(std::string_view salt, std::string_view layer,
                                   std::string_view user);

// An experiment's place in its layer: buckets [first, first + count), of which the first
// `holdout` serve no arm; the others go to arm i in proportion to weights[i].
struct split
{
    std::uint32_t first = 0;
    std::uint32_t count = buckets;
    std::uint32_t holdout = 0;
    std::span<const double> weights;
};

// The arm of a bucket: nullopt outside the experiment's range or in its holdout.
[[nodiscard]] std::optional<std::size_t> choose(const split& s, std::uint32_t bucket);

}  // namespace adsx::experiments
