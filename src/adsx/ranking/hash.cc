#include "adsx/ranking/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace adsx::ranking {

std::uint64_t xxh64(std::string_view s) noexcept
{
    return XXH64(s.data(), s.size(), 0);
}

}  // namespace adsx::ranking
