#pragma once
// The erasure suppression list as a stream worker consults it per record: pseudonyms whose data
// was erased (pg/privacy.h keeps the list), so that events still in flight or replayed from the
// start of a topic cannot bring an erased user back. A refresher thread replaces the snapshot
// whole; the worker's thread looks up. While the list is empty (the usual case) a lookup is one
// atomic load.
//
//   privacy::suppression_list erased;
//   erased.replace(*pg::suppressed_users(conn));          // at start, then every few seconds
//   if (!erased.contains(e.user_id) && consent(e.consent)) { /* user-level state */ }
//
// Thread-safe.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace adsx::privacy {

class suppression_list
{
public:
    void replace(std::vector<std::string> users);
    [[nodiscard]] bool contains(std::string_view user) const;
    [[nodiscard]] std::size_t size() const noexcept
    {
        return _size.load(std::memory_order_acquire);
    }

private:
    struct hash
    {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept
        {
            return std::hash<std::string_view>{}(s);
        }
    };
    using set = std::unordered_set<std::string, hash, std::equal_to<>>;

    mutable std::mutex _mutex;
    std::shared_ptr<const set> _users = std::make_shared<const set>();
    std::atomic<std::size_t> _size{0};
};

}  // namespace adsx::privacy
