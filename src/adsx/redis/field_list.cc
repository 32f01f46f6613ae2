#include "adsx/redis/field_list.h"

#include <functional>

namespace adsx::redis {

namespace {

std::size_t hash_of(std::string_view name)
{
    return std::hash<std::string_view>{}(name);
}

// A string's buffer outside the string itself (none while short enough to be stored inline).
std::size_t heap(const std::string& s) noexcept
{
    static const std::size_t inline_capacity = std::string().capacity();
    return s.capacity() > inline_capacity ? s.capacity() + 1 : 0;
}

}  // namespace

std::optional<std::uint32_t> field_list::position(std::string_view name) const
{
    return _index.find(
        _fields.size(), [&] { return hash_of(name); },
        [&](std::uint32_t i) { return _fields[i].first == name; });
}

void field_list::set_at(std::optional<std::uint32_t> at, std::string_view name,
                        std::string_view value)
{
    if (at) {
        auto& v = _fields[*at].second;
        _heap -= heap(v);
        v.assign(value);
        _heap += heap(v);
    } else {
        add(std::string(name), std::string(value));
    }
}

void field_list::add(std::string name, std::string value)
{
    _fields.emplace_back(std::move(name), std::move(value));
    _heap += heap(_fields.back().first) + heap(_fields.back().second);
    _index.appended(_fields.size(), [&](std::uint32_t i) { return hash_of(_fields[i].first); });
}

bool field_list::erase(std::string_view name)
{
    const auto at = position(name);
    if (!at) {
        return false;
    }
    _heap -= heap(_fields[*at].first) + heap(_fields[*at].second);
    _fields.erase(_fields.begin() + *at);
    if (_index.indexed()) {  // positions moved; rare (a user's campaign left behind)
        _index.reindex(_fields.size(), [&](std::uint32_t i) { return hash_of(_fields[i].first); });
    }
    return true;
}

}  // namespace adsx::redis
