#pragma once
// Internal to forest.cc: the avx512 kernel (forest.h says what it does). Compiled for
// AVX-512F in its own translation unit; call it only when avx512_available() is true.
#include <cstddef>
#include <span>

#include "adsx/ranking/forest.h"

namespace adsx::ranking::detail {

// The CPU and the operating system support AVX-512F (false off x86-64).
[[nodiscard]] bool avx512_available() noexcept;

// margins() for a packed forest: matrix is rows × width float32, row-major.
void avx512_margins(std::span<const forest::packed_tree> trees,
                    std::span<const std::uint32_t> columns, float base_margin, const float* matrix,
                    std::size_t rows, std::size_t width, double* out) noexcept;

}  // namespace adsx::ranking::detail
