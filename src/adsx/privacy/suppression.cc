#include "adsx/privacy/suppression.h"

namespace adsx::privacy {

void suppression_list::replace(std::vector<std::string> users)
{
    auto next = std::make_shared<const set>(std::make_move_iterator(users.begin()),
                                            std::make_move_iterator(users.end()));
    const auto n = next->size();
    {
        std::lock_guard lock(_mutex);
        _users = std::move(next);
    }
    _size.store(n, std::memory_order_release);
}

bool suppression_list::contains(std::string_view user) const
{
    if (size() == 0) {
        return false;
    }
    std::shared_ptr<const set> users;
    {
        std::lock_guard lock(_mutex);
        users = _users;
    }
    return users->find(user) != users->end();
}

}  // namespace adsx::privacy
