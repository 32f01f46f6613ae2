#include "adsx/redis/key_write.h"

#include <cassert>
#include <charconv>

#include "adsx/base/store_layout.h"
#include "adsx/base/strings.h"
#include "adsx/base/time.h"

namespace adsx::redis {

namespace {

// What one key's write sets and deletes, merged before anything is sent (reused between keys).
struct key_changes
{
    struct change
    {
        std::size_t read;  // its place in held
        std::string_view field;
        bool is_tile;
        features::tile_value tile;
        std::int64_t value;
    };
    struct packed_field
    {
        std::size_t read;
        std::string field;
        std::string value;
    };
    std::vector<change> changed;       // tile slots and keep-max fields, in their order
    std::vector<packed_field> packed;  // a user's fields: blocks, campaigns, then `own`
    std::vector<std::uint32_t> gone;   // a user's campaigns pruned
    bool refresh_ttl = true;
    void clear()
    {
        changed.clear();
        packed.clear();
        gone.clear();
        refresh_ttl = true;
    }
};

// Tiles (the ring rule) and keep-max fields; `f` moves past them in `held`.
void merge_slots(const features::key_update& u, const held_values& held, std::size_t& f,
                 key_changes& out)
{
    for (const auto& t : u.tiles) {
        const auto& h = held.at(f);
        std::optional<features::tile_value> stored;
        if (h) {
            stored = features::parse_tile(*h);
        }
        if (auto m = features::merge_tile(stored, t.tile, t.delta)) {
            out.changed.push_back({f, t.field, true, *m, 0});
        }
        ++f;
    }
    for (const auto& m : u.maxes) {
        const auto& h = held.at(f);
        const auto stored = h ? stored_int(*h, -1) : -1;
        if (stored < m.value) {
            out.changed.push_back({f, m.field, false, {}, m.value});
        }
        ++f;
        if (m.field == store_layout::fields_asof) {
            if (stored >= 0 && stored / hour_ms == m.value / hour_ms) {
                out.refresh_ttl = false;  // refreshed by the write that moved asof into this hour
            }
        }
    }
}

// A user's packed fields: blocks and campaigns merged, `own` last; campaigns left for 2 × ttl
// pruned from `campaigns` into out.gone.
void merge_user(const features::key_update& u, const held_values& held, std::size_t f,
                std::int64_t ttl_ms, features::campaign_index& campaigns, key_changes& out)
{
    const auto own_read = f;
    const auto& h = held.at(f++);
    std::optional<features::user_own> own;
    if (h) {
        own = features::parse_user_own(*h);  // unreadable: rebuilt from now on
    }
    if (!own) {
        own.emplace();
    }
    const auto stored = own->newest();
    features::merge(*own, u.own);
    const auto newest = own->newest();
    if (stored > 0 && stored / hour_ms == newest / hour_ms) {
        out.refresh_ttl = false;  // refreshed by the write that moved it into this hour
    }
    for (const auto& b : u.blocks) {
        if (auto v = features::merge_block(held.at(f), b)) {
            out.packed.push_back({f, b.field, std::move(*v)});
        }
        ++f;
    }
    for (const auto& [campaign, delta] : u.campaigns) {
        const auto read = f;
        const auto& c = held.at(f++);
        std::optional<features::user_campaign> state;
        if (c) {
            state = features::parse_user_campaign(*c);
        }
        if (!state) {
            state.emplace();
        }
        features::merge(*state, delta, ttl_ms);
        features::touch(campaigns, campaign, state->newest());
        out.packed.push_back(
            {read, features::campaign_field(campaign), features::format_user_campaign(*state)});
    }
    out.gone = features::prune(campaigns, newest, ttl_ms);
    out.packed.push_back(
        {own_read, std::string(features::own_field), features::format_user_own(*own)});
}

// HSET of the changed and packed fields (the same into `cache`), then HDEL of the pruned ones.
void send_changes(resp_writer& w, const std::string& name, const key_changes& c,
                  cached_fields* cache)
{
    thread_local std::string text;
    if (!c.changed.empty() || !c.packed.empty()) {
        w.begin(2 + 2 * (c.changed.size() + c.packed.size()));
        w.arg("HSET");
        w.arg(name);
        for (const auto& ch : c.changed) {
            w.arg(ch.field);
            text.clear();
            if (ch.is_tile) {
                features::append_tile(text, ch.tile);
            } else {
                append_int(text, ch.value);
            }
            w.arg(text);
            if (cache) {
                cache->fields.set_at(cache->at[ch.read], ch.field, text);
            }
        }
        for (const auto& p : c.packed) {
            w.arg(p.field);
            w.arg(p.value);
            if (cache) {
                cache->fields.set_at(cache->at[p.read], p.field, p.value);
            }
        }
    }
    if (!c.gone.empty()) {
        w.begin(2 + c.gone.size());
        w.arg("HDEL");
        w.arg(name);
        for (auto campaign : c.gone) {
            const auto field = features::campaign_field(campaign);
            w.arg(field);
            if (cache) {
                cache->fields.erase(field);  // after the sets: it moves positions
            }
        }
    }
}

}  // namespace

std::int64_t stored_int(std::string_view s, std::int64_t otherwise) noexcept
{
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && end == s.data() + s.size() ? v : otherwise;
}

std::size_t read_field_count(const features::key_update& u)
{
    return u.tiles.size() + u.maxes.size() +
           (u.is_user() ? 1 + u.blocks.size() + u.campaigns.size() : 0);
}

void read_key(resp_writer& w, const std::string& name, const features::key_update& u,
              std::string& scratch)
{
    w.begin(2 + read_field_count(u));
    w.arg("HMGET");
    w.arg(name);
    each_read_field(u, scratch, [&](std::string_view f) { w.arg(f); });
}

void held_from_reply(const reply& r, held_values& held)
{
    held.clear();
    for (const auto& e : r.elements) {
        held.emplace_back(e.type == reply::kind::string ? std::optional<std::string_view>(e.str)
                                                        : std::nullopt);
    }
}

bool write_key(resp_writer& w, const std::string& name, const features::key_update& u,
               const held_values& held, std::int64_t ttl_s, bool refresh, cached_fields* cache)
{
    thread_local key_changes changes;
    changes.clear();
    std::size_t f = 0;
    merge_slots(u, held, f, changes);
    if (u.is_user()) {
        assert(cache && "a user's write needs its campaign index");
        merge_user(u, held, f, ttl_s * second_ms, cache->campaigns, changes);
    }
    send_changes(w, name, changes, cache);
    const bool expire = changes.refresh_ttl || refresh;
    if (expire) {
        w.begin(3);
        w.arg("EXPIRE");
        w.arg(name);
        w.arg(ttl_s);
    }
    return expire;
}

}  // namespace adsx::redis
