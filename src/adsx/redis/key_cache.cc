#include "adsx/redis/key_cache.h"

#include <algorithm>

#include "adsx/base/store_layout.h"
#include "adsx/base/time.h"

namespace adsx::redis {

using features::key_kind;

void key_cache::begin(std::int64_t now_ms)
{
    _now_ms = now_ms;
    _shared_from_memory = enabled() && _trust_shared;
    _cached.clear();
    _relied = {};
}

bool key_cache::remembered(key_kind kind, const std::string& key)
{
    // Shared keys not served from memory are dropped at begin_write: an entry handed out
    // now would dangle then.
    auto* entry = kind == key_kind::user ? find_alive(key, _young, &_old)
                  : _shared_from_memory  ? find_alive(key, _shared, nullptr)
                                         : nullptr;
    _cached.push_back(entry);
    _relied[index(kind)] = _relied[index(kind)] || entry;
    return entry != nullptr;
}

cached_key* key_cache::find_alive(const std::string& key, key_map& m, key_map* old)
{
    // An entry is used only while its key surely lives (a minute to spare for the write in
    // flight); the EXPIRE that keeps it alive is sent at least hourly (ttl_due). One past
    // that is dropped here, so that the write finds the key in no map.
    constexpr std::int64_t margin_ms = minute_ms;
    for (auto* map : {&m, old}) {
        if (!map) {
            continue;
        }
        auto it = map->find(key);
        if (it == map->end()) {
            continue;
        }
        if (it->second.lives_until_ms <= _now_ms + margin_ms) {
            map->erase(it);
            break;
        }
        if (map == old) {
            // Back into the young generation (no rotation until the write applied: the
            // entries of this commit must stay where _cached points).
            it = m.insert(old->extract(it)).position;
        }
        return &it->second;
    }
    return nullptr;
}

bool key_cache::holds(std::optional<std::string> user_epoch, std::int64_t shared_writes)
{
    bool again = false;
    if (user_epoch != _epoch) {
        // Someone changed user keys behind the stream (or this is the first commit): no user
        // remembered holds; read again with none.
        _young.clear();
        _old.clear();
        _epoch = std::move(user_epoch);
        again = _relied[index(key_kind::user)];
    }
    // Shared keys are as this worker left them only if no other commit applied since its
    // last one: every commit increments the counter.
    const bool solo = _shared_version && shared_writes == *_shared_version;
    if (!solo) {
        _shared.clear();
        again = again || _relied[index(key_kind::shared)];
    }
    _trust_shared = solo;
    return !again;
}

void key_cache::begin_write(bool has_shared_keys)
{
    _next = 0;
    _staged.clear();
    _staged_shared.clear();
    if (!_shared_from_memory && has_shared_keys) {
        _shared.clear();  // written without them: what is remembered would fall behind
    }
}

cached_key* key_cache::next_remembered(key_kind kind)
{
    auto* entry = _cached.at(_next++);
    if (entry) {
        ++_counts[index(kind)].hits;
    }
    return entry;
}

cached_key& key_cache::remember(key_kind kind, const std::string& key, const reply& whole)
{
    ++_counts[index(kind)].misses;
    auto& staged = kind == key_kind::user ? _staged : _staged_shared;
    staged.push_back(_spare.extract(_spare.try_emplace(key).first));
    auto& entry = staged.back().mapped();
    const auto& all = whole.elements;  // HGETALL: field, value, …
    for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
        if (!all[i].str.starts_with(store_layout::fields_batch)) {  // the daily job's
            entry.fields.add(all[i].str, all[i + 1].str);
        }
    }
    entry.campaigns.clear();
    for (const auto& [field, value] : entry.fields) {
        const auto c = features::campaign_of_field(field);
        const auto newest = c ? features::campaign_newest(value) : std::nullopt;
        if (newest) {  // an unreadable one is rebuilt by its next event
            entry.campaigns.emplace_back(*c, *newest);
        }
    }
    std::sort(entry.campaigns.begin(), entry.campaigns.end());
    return entry;
}

bool key_cache::ttl_due(const cached_key& k) const noexcept
{
    // The key's TTL was last set at lives_until − ttl: refresh it hourly.
    return _now_ms - (k.lives_until_ms - _ttl_ms) >= hour_ms;
}

void key_cache::applied(std::optional<std::int64_t> shared_writes)
{
    if (shared_writes) {
        _shared_version = *shared_writes;
    }
    keep_staged();
}

void key_cache::keep_staged()
{
    if (_users == 0) {
        _staged.clear();  // read whole again next time
    }
    _cached.clear();  // the write's remembered entries are right as they are
    for (auto& node : _staged) {
        if (_young.size() >= std::max<std::size_t>(_users / 2, 1)) {
            _old = std::move(_young);  // the old generation is forgotten
            _young = {};
        }
        _young.insert(std::move(node));  // new: read whole by this write
    }
    _staged.clear();
    if (_shared.size() + _staged_shared.size() > _users) {
        _shared.clear();  // a catalog of more ads than the cache holds users: start over
    }
    for (auto& node : _staged_shared) {
        _shared.insert(std::move(node));
    }
    _staged_shared.clear();
}

void key_cache::refused()
{
    for (auto* entry : _cached) {
        if (entry) {
            entry->lives_until_ms = 0;  // past its life: dropped and read again when next met
        }
    }
    _cached.clear();
    _staged.clear();
    _staged_shared.clear();
}

features::cache_counts key_cache::counts(key_kind kind) const noexcept
{
    auto c = _counts[index(kind)];
    if (kind == key_kind::user) {
        c.keys = _young.size() + _old.size();
        c.bytes = bytes_of(_young) + bytes_of(_old);
    } else {
        c.keys = _shared.size();
        c.bytes = bytes_of(_shared);
    }
    return c;
}

std::size_t key_cache::bytes_of(const key_map& m, std::size_t sampled) noexcept
{
    // Per entry: its node (key, entry and the two pointers of a bucket chain), the key's text,
    // the fields, the campaign index; per bucket a pointer. The entries of every stride-th
    // bucket are counted (about `sampled` of them, at least) and scaled to the map's size: a walk
    // over every entry at each progress report (400k with 200k users cached) cost the worker more
    // than the gauge is worth. Buckets follow the keys' hashes, not their age, so the sample
    // is not biased towards new users (fewer fields) the way the map's first entries are.
    const auto entry = [](const key_map::value_type& kv) {
        return sizeof(key_map::value_type) + 2 * sizeof(void*) + kv.first.capacity() +
               kv.second.fields.bytes() +
               kv.second.campaigns.capacity() * sizeof(features::campaign_index::value_type);
    };
    const std::size_t buckets = m.bucket_count();
    const std::size_t stride = std::max<std::size_t>(1, m.size() / sampled);
    std::size_t counted = 0, bytes = 0;
    for (std::size_t b = 0; b < buckets; b += stride) {
        for (auto it = m.begin(b); it != m.end(b); ++it) {
            bytes += entry(*it);
            ++counted;
        }
    }
    const auto entries = counted == 0 ? 0 : bytes * m.size() / counted;
    return buckets * sizeof(void*) + entries;
}

void key_cache::forget_owned()
{
    _cached.clear();  // pointed into the maps
    _young.clear();
    _old.clear();
    _staged.clear();
    _shared.clear();
    _staged_shared.clear();
}

}  // namespace adsx::redis
