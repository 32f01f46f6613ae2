#pragma once
// The LR scorer's feature hashing (docs/models.md): h(s) = XXH64(s, seed 0) & (2^bits − 1) of
// "name=value" for a categorical feature and "a=va\x1fb=vb" for a cross; the Python trainer
// hashes the same strings the same way.
//
//   adsx::ranking::xxh64("device=ios");             // the full 64-bit digest
//   adsx::ranking::hashed_index("device=ios", 18);  // its low 18 bits
#include <cstdint>
#include <string_view>

namespace adsx::ranking {

inline constexpr char cross_separator = '\x1f';

[[nodiscard]] std::uint64_t xxh64(std::string_view s) noexcept;

[[nodiscard]] inline std::uint64_t hashed_index(std::string_view s, int bits) noexcept
{
    return xxh64(s) & ((std::uint64_t{1} << bits) - 1);
}

}  // namespace adsx::ranking
