#pragma once
// A remembered hash's fields (feature_store's key cache): name → value, in the order they came.
// Small lists (a user's few fields) are scanned; a list that grows past a few dozen (an ad's
// hundreds of minute × device and geo slots) is found through a hash index, so that a write
// costs about one probe per field whatever the hash's size.
//
// The list is read and then written by position, so that a field is looked up once:
//
//   field_list f;
//   const auto at = f.position("m17");        // nullopt: not there
//   if (at) { use(f.value(*at)); }
//   f.set_at(at, "m17", "29930519:17:0:0");   // assigns at `at`, or adds the field
//
// Positions stay valid through set_at and add, not erase. Not thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adsx/base/hash_index.h"

namespace adsx::redis {

class field_list
{
public:
    using field = std::pair<std::string, std::string>;

    // Where a field is; its value; its new value at that position, or added when it had none.
    [[nodiscard]] std::optional<std::uint32_t> position(std::string_view name) const;
    [[nodiscard]] const std::string& value(std::uint32_t at) const { return _fields[at].second; }
    void set_at(std::optional<std::uint32_t> at, std::string_view name, std::string_view value);
    // A field known to be absent (the fields of one HGETALL reply).
    void add(std::string name, std::string value);
    bool erase(std::string_view name);

    [[nodiscard]] auto begin() const noexcept { return _fields.begin(); }
    [[nodiscard]] auto end() const noexcept { return _fields.end(); }
    [[nodiscard]] std::size_t size() const noexcept { return _fields.size(); }
    // Bytes the list holds: its slots and the strings' own buffers (a memory gauge's).
    [[nodiscard]] std::size_t bytes() const noexcept
    {
        return _fields.capacity() * sizeof(field) + _heap;
    }

private:
    std::vector<field> _fields;
    std::size_t _heap = 0;  // bytes of the strings' buffers beyond their inline storage
    // Into _fields: below 16 a scan touches fewer cache lines than hashing and probing.
    scan_or_index<16> _index;
};

}  // namespace adsx::redis
