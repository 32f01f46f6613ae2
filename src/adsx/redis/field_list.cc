#include "adsx/redis/field_list.h"

#include <functional>

namespace adsx::redis {

namespace {

// Below this many fields a scan touches fewer cache lines than hashing and probing.
constexpr std::size_t index_from = 16;

std::size_t hash_of(std::string_view name)
{
    return std::hash<std::string_view>{}(name);
}

}  // namespace

std::optional<std::uint32_t> field_list::position(std::string_view name) const
{
    if (_index.size() > 0) {
        return _index.find(hash_of(name),
                           [&](std::uint32_t i) { return _fields[i].first == name; });
    }
    for (std::uint32_t i = 0; i < _fields.size(); ++i) {
        if (_fields[i].first == name) {
            return i;
        }
    }
    return std::nullopt;
}

const std::string* field_list::find(std::string_view name) const
{
    const auto at = position(name);
    return at ? &_fields[*at].second : nullptr;
}

void field_list::set(std::string_view name, std::string_view value)
{
    set_at(position(name), name, value);
}

void field_list::set_at(std::optional<std::uint32_t> at, std::string_view name,
                        std::string_view value)
{
    if (at) {
        _fields[*at].second.assign(value);
    } else {
        add(std::string(name), std::string(value));
    }
}

void field_list::add(std::string name, std::string value)
{
    const auto h = _index.size() > 0 ? hash_of(name) : 0;
    _fields.emplace_back(std::move(name), std::move(value));
    if (_index.size() > 0) {
        _index.insert(h, static_cast<std::uint32_t>(_fields.size() - 1));
    } else if (_fields.size() >= index_from) {
        index_all();
    }
}

bool field_list::erase(std::string_view name)
{
    const auto at = position(name);
    if (!at) {
        return false;
    }
    _fields.erase(_fields.begin() + *at);
    if (_index.size() > 0) {
        index_all();  // positions moved; rare (a user's campaign left behind)
    }
    return true;
}

void field_list::index_all()
{
    _index.clear();
    if (_fields.size() < index_from) {
        return;
    }
    for (std::uint32_t i = 0; i < _fields.size(); ++i) {
        _index.insert(hash_of(_fields[i].first), i);
    }
}

}  // namespace adsx::redis
