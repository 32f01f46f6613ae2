#pragma once
// Memory hints for large, short-lived tables (a million users' rows and indexes): asking the
// kernel for 2 MB pages where the system leaves it to the program (transparent huge pages in
// "madvise" mode, Debian's default) spares most of the page faults and TLB misses of filling
// them (`adsx experiment analyze` on 1M users: 0.31 -> 0.27 s).
//
//   std::vector<row> rows;
//   rows.reserve(n);
//   prefer_huge_pages(rows.data(), rows.capacity() * sizeof(row));  // before first touch
//
// And for tables that several threads fill, an allocator whose resize() writes nothing, so that
// each thread's first write to its own slice is what faults its pages in (side by side), rather
// than one thread zeroing the whole table first:
//
//   unwritten_vector<row> rows;  // std::vector<row, unwritten_allocator<row>>
//   rows.resize(n);  // allocated, not written: each worker fills rows[from, to)
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace adsx {

// A hint only: regions under 2 MB, or a kernel without transparent huge pages, are left as
// they are. Pages already touched keep their size; call it on fresh memory.
void prefer_huge_pages(const void* p, std::size_t bytes) noexcept;

// std::allocator, except that constructing an element without a value (resize, emplace_back())
// leaves the memory as allocated: for element types with implicit lifetime (aggregates of
// numbers and views) that the caller writes before reading. Construction with a value is as
// usual.
template <typename T>
struct unwritten_allocator
{
    using value_type = T;

    unwritten_allocator() = default;
    template <typename U>
    unwritten_allocator(const unwritten_allocator<U>& /*other*/) noexcept  // NOLINT: rebinding
    {
    }

    [[nodiscard]] T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>{}.deallocate(p, n); }

    template <typename U>
    void construct(U* /*unwritten*/) noexcept
    {
        static_assert(std::is_trivially_copyable_v<U> && std::is_trivially_destructible_v<U>);
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args)
    {
        std::construct_at(p, std::forward<Args>(args)...);
    }

    friend bool operator==(const unwritten_allocator&, const unwritten_allocator&) = default;
};

template <typename T>
using unwritten_vector = std::vector<T, unwritten_allocator<T>>;

}  // namespace adsx
