#include "adsx/base/memory.h"

#include <cstdint>

#include <sys/mman.h>

namespace adsx {

void prefer_huge_pages(const void* p, std::size_t bytes) noexcept
{
    constexpr std::uintptr_t huge = 2u << 20;
    const auto begin = reinterpret_cast<std::uintptr_t>(p);
    const auto first = (begin + huge - 1) & ~(huge - 1);  // whole huge pages inside the range
    const auto last = (begin + bytes) & ~(huge - 1);
    if (p == nullptr || last <= first) {
        return;
    }
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

}  // namespace adsx
