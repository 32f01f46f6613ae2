#pragma once
// An index by hash over the positions of a vector the caller owns: finds an element by name in
// about one probe where a scan (or a binary search over names) would touch many. Open
// addressing over (32-bit hash, position) pairs in one allocation; the caller's equality test
// settles collisions, so the index is exact whatever the hash.
//
//   hash_index index;
//   auto at = index.find(h, [&](std::uint32_t i) { return items[i].name == name; });
//   if (!at) { index.insert(h, items.size()); items.push_back(...); }
//
// Positions are the caller's business: after removing or reordering elements, clear() and
// insert them again. Copyable and movable; not thread-safe.
//
// Most lists a caller keeps are short, and a scan of a few elements is cheaper than hashing and
// probing: scan_or_index<N> (below) scans while the list has fewer than N elements and builds
// its hash_index when the list reaches N.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "adsx/base/memory.h"

namespace adsx {

class hash_index
{
public:
    // The position whose hash is `h` and for which `same(position)` holds, if any.
    template <typename Same>
    [[nodiscard]] std::optional<std::uint32_t> find(std::size_t h, Same&& same) const
    {
        if (_slots.empty()) {
            return std::nullopt;
        }
        const auto tag = static_cast<std::uint32_t>(h);
        for (auto i = tag & mask();; i = (i + 1) & mask()) {
            const auto& s = _slots[i];
            if (s.position == empty) {
                return std::nullopt;
            }
            if (s.tag == tag && same(s.position)) {
                return s.position;
            }
        }
    }

    // Adds `position` under `h` (the caller has checked it is not there already).
    void insert(std::size_t h, std::uint32_t position)
    {
        if (2 * (_count + 1) > _slots.size()) {
            grow();
        }
        place({static_cast<std::uint32_t>(h), position});
        ++_count;
    }

    // Room for `n` positions without growing (an index of a million CSV users rehashed 17 times
    // on its way there).
    void reserve(std::size_t n)
    {
        std::size_t slots = 16;
        while (slots < 2 * n) {
            slots *= 2;
        }
        if (slots > _slots.size()) {
            auto old = std::move(_slots);
            _slots.reserve(slots);
            prefer_huge_pages(_slots.data(), slots * sizeof(slot));  // probes land anywhere
            _slots.assign(slots, slot{});
            for (const auto& s : old) {
                if (s.position != empty) {
                    place(s);
                }
            }
        }
    }

    void clear() noexcept
    {
        _slots.clear();
        _count = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return _count; }

private:
    static constexpr std::uint32_t empty = UINT32_MAX;
    struct slot
    {
        std::uint32_t tag = 0;  // the hash's low 32 bits: compared before the caller's test
        std::uint32_t position = empty;
    };

    [[nodiscard]] std::uint32_t mask() const noexcept
    {
        return static_cast<std::uint32_t>(_slots.size() - 1);
    }
    void place(slot s)
    {
        auto i = s.tag & mask();
        while (_slots[i].position != empty) {
            i = (i + 1) & mask();
        }
        _slots[i] = s;
    }
    void grow() { reserve(_slots.empty() ? 8 : _slots.size()); }

    std::vector<slot> _slots;  // a power of two, at most half full
    std::size_t _count = 0;
};

// Positions in a caller's vector of `count` elements: scanned while fewer than `From`, found
// through a hash_index from then on. The caller passes its element count to each call, and
// hashes lazily: `hash()` (the sought name's) and `hash_of(i)` (element i's) are called only
// once the list is indexed.
//
//   scan_or_index<16> index;
//   auto at = index.find(items.size(), [&] { return h(name); },
//                        [&](std::uint32_t i) { return items[i].name == name; });
//   if (!at) { items.push_back(...); index.appended(items.size(), element_hash); }
template <std::size_t From>
class scan_or_index
{
    static_assert(From > 0, "an empty list has nothing to index");

public:
    template <typename Hash, typename Same>
    [[nodiscard]] std::optional<std::uint32_t> find(std::size_t count, Hash&& hash,
                                                    Same&& same) const
    {
        if (indexed()) {
            return _index.find(hash(), same);
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            if (same(i)) {
                return i;
            }
        }
        return std::nullopt;
    }

    // The caller appended an element: the list now has `count`, the new one last.
    template <typename HashOf>
    void appended(std::size_t count, HashOf&& hash_of)
    {
        if (indexed()) {
            const auto last = static_cast<std::uint32_t>(count - 1);
            _index.insert(hash_of(last), last);
        } else if (count >= From) {
            reindex(count, hash_of);
        }
    }

    // After the caller removed or reordered elements (or cleared them: count 0).
    template <typename HashOf>
    void reindex(std::size_t count, HashOf&& hash_of)
    {
        _index.clear();
        if (count < From) {
            return;
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            _index.insert(hash_of(i), i);
        }
    }

    [[nodiscard]] bool indexed() const noexcept { return _index.size() > 0; }

private:
    hash_index _index;
};

}  // namespace adsx
