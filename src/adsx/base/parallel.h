#pragma once
// Work split into a few independent parts run side by side, one thread each, for the batch
// commands that take a whole machine for a second or two (`adsx experiment analyze` over a
// million users). Each part writes only its own results, so the outcome does not depend on
// scheduling.
//
//   std::vector<double> sums(parts.size());
//   side_by_side(parts.size(), [&](std::size_t k) { sums[k] = sum(parts[k]); });
#include <cstddef>
#include <thread>
#include <vector>

namespace adsx {

// Runs fn(k) for every k in [0, n): k = 0 on the calling thread, each other k on a thread of its
// own; returns when all have finished. fn must not throw.
template <typename Fn>
void side_by_side(std::size_t n, Fn&& fn)
{
    std::vector<std::jthread> others;
    others.reserve(n > 0 ? n - 1 : 0);
    for (std::size_t k = 1; k < n; ++k) {
        others.emplace_back([&fn, k] { fn(k); });
    }
    if (n > 0) {
        fn(0);
    }
}

}  // namespace adsx
