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
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

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
    void grow()
    {
        auto old = std::move(_slots);
        _slots.assign(old.empty() ? 16 : 2 * old.size(), slot{});
        for (const auto& s : old) {
            if (s.position != empty) {
                place(s);
            }
        }
    }

    std::vector<slot> _slots;  // a power of two, at most half full
    std::size_t _count = 0;
};

}  // namespace adsx
