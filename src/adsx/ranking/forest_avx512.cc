#include "adsx/ranking/forest_avx512.h"

#include <algorithm>
#include <array>
#include <cstdint>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace adsx::ranking::detail {

#if defined(__x86_64__)

bool avx512_available() noexcept
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
}

#if defined(__clang__)  // the asan preset's compiler (clang-14)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
// GCC 12's own permute intrinsics start from _mm512_undefined_*(), which it then reports as
// "may be used uninitialized" once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace {

constexpr std::size_t lanes = 16;
constexpr std::uint32_t default_left_bit = forest::default_left_bit;

// One step down for every lane: node[lane] = idx, x = that lane's value of the node's column.
// Returns the lanes that go right and moves idx to the child (2i + 1 left, 2i + 2 right).
// Comparisons as XGBoost's: left when x < threshold, a NaN takes the node's default.
inline __mmask16 step(__m512i& idx, __m512 x, __m512 thresholds, __m512i columns)
{
    const __m512 threshold = _mm512_permutexvar_ps(idx, thresholds);
    const __m512i column = _mm512_permutexvar_epi32(idx, columns);
    const __mmask16 less = _mm512_cmp_ps_mask(x, threshold, _CMP_LT_OQ);
    const __mmask16 missing = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __mmask16 default_left =
        _mm512_test_epi32_mask(column, _mm512_set1_epi32(static_cast<int>(default_left_bit)));
    const auto right = static_cast<__mmask16>(~(less | (missing & default_left)));
    const __m512i one = _mm512_set1_epi32(1);
    idx = _mm512_add_epi32(_mm512_add_epi32(idx, idx), one);
    idx = _mm512_mask_add_epi32(idx, right, idx, one);
    return right;
}

}  // namespace

void avx512_margins(std::span<const forest::packed_tree> trees,
                    std::span<const std::uint32_t> columns, float base_margin, const float* matrix,
                    std::size_t rows, std::size_t width, double* out) noexcept
{
    // The block's used columns, one 16-lane vector each (forest caps their number).
    alignas(64) std::array<float, forest::max_packed_columns * lanes> block;
    for (std::size_t first = 0; first < rows; first += lanes) {
        const std::size_t n = std::min(lanes, rows - first);
        for (std::size_t c = 0; c < columns.size(); ++c) {
            for (std::size_t r = 0; r < lanes; ++r) {
                block[c * lanes + r] = r < n ? matrix[(first + r) * width + columns[c]] : 0.0f;
            }
        }
        __m512 sum = _mm512_set1_ps(base_margin);
        for (const auto& t : trees) {
            const __m512 thresholds = _mm512_load_ps(t.threshold.data());
            const __m512i column_ids = _mm512_load_si512(t.column.data());
            // x(k): every lane's value of node k's column.
            const auto x = [&](std::size_t k) {
                return _mm512_load_ps(&block[(t.column[k] & ~default_left_bit) * lanes]);
            };
            __m512i idx = _mm512_setzero_si512();
            // Level by level, each lane's value for the node it is at: the level's candidate
            // columns blended by the turns taken (r0 first turn, r1 second, ...).
            const __mmask16 r0 = step(idx, x(0), thresholds, column_ids);
            const __mmask16 r1 =
                step(idx, _mm512_mask_blend_ps(r0, x(1), x(2)), thresholds, column_ids);
            const __m512 l2a = _mm512_mask_blend_ps(r1, x(3), x(4));
            const __m512 l2b = _mm512_mask_blend_ps(r1, x(5), x(6));
            const __mmask16 r2 =
                step(idx, _mm512_mask_blend_ps(r0, l2a, l2b), thresholds, column_ids);
            const __m512 l3a = _mm512_mask_blend_ps(r2, x(7), x(8));
            const __m512 l3b = _mm512_mask_blend_ps(r2, x(9), x(10));
            const __m512 l3c = _mm512_mask_blend_ps(r2, x(11), x(12));
            const __m512 l3d = _mm512_mask_blend_ps(r2, x(13), x(14));
            const __m512 l3 = _mm512_mask_blend_ps(r0, _mm512_mask_blend_ps(r1, l3a, l3b),
                                                   _mm512_mask_blend_ps(r1, l3c, l3d));
            step(idx, l3, thresholds, column_ids);
            // idx is now 15 + the leaf's position.
            const __m512 leaf = _mm512_permutexvar_ps(_mm512_sub_epi32(idx, _mm512_set1_epi32(15)),
                                                      _mm512_load_ps(t.leaf.data()));
            sum = _mm512_add_ps(sum, leaf);  // float32, tree order: as XGBoost sums
        }
        alignas(64) std::array<float, lanes> sums;
        _mm512_store_ps(sums.data(), sum);
        for (std::size_t r = 0; r < n; ++r) {
            out[first + r] = static_cast<double>(sums[r]);
        }
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

#else

bool avx512_available() noexcept
{
    return false;
}

void avx512_margins(std::span<const forest::packed_tree>, std::span<const std::uint32_t>, float,
                    const float*, std::size_t, std::size_t, double*) noexcept
{
}

#endif

}  // namespace adsx::ranking::detail
