#pragma once
// Memory hints for large, short-lived tables (a million users' rows and indexes): asking the
// kernel for 2 MB pages where the system leaves it to the program (transparent huge pages in
// "madvise" mode, Debian's default) spares most of the page faults and TLB misses of filling
// them (`adsx experiment analyze` on 1M users: 0.31 -> 0.27 s).
//
//   std::vector<row> rows;
//   rows.reserve(n);
//   prefer_huge_pages(rows.data(), rows.capacity() * sizeof(row));  // before first touch
#include <cstddef>

namespace adsx {

// A hint only: regions under 2 MB, or a kernel without transparent huge pages, are left as
// they are. Pages already touched keep their size; call it on fresh memory.
void prefer_huge_pages(const void* p, std::size_t bytes) noexcept;

}  // namespace adsx
