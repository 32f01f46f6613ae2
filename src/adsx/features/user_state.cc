#include "adsx/features/user_state.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "adsx/base/strings.h"

namespace adsx::features {

namespace {

// Reads integers separated by ':' from the front of `v` into `out`, advancing `v` past them.
bool read_ints(std::string_view& v, std::initializer_list<std::int64_t*> out)
{
    const char* p = v.data();
    const char* end = v.data() + v.size();
    std::size_t i = 0;
    for (auto* o : out) {
        if (i++ > 0) {
            if (p == end || *p != ':') {
                return false;
            }
            ++p;
        }
        auto [next, ec] = std::from_chars(p, end, *o);
        if (ec != std::errc{}) {
            return false;
        }
        p = next;
    }
    v.remove_prefix(static_cast<std::size_t>(p - v.data()));
    return true;
}

// A campaign or ad id read as int64: within uint32's range.
bool as_id(std::int64_t v, std::uint32_t& id)
{
    if (v < 0 || v > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    id = static_cast<std::uint32_t>(v);
    return true;
}

// Calls parse_one on each item of "a,b,c" ("" has none); false when an item is empty or
// parse_one refuses it.
template <typename F>
bool each_item(std::string_view list, F&& parse_one)
{
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        if (item.empty() || !parse_one(item)) {
            return false;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
        if (list.empty()) {
            return false;  // a trailing comma
        }
    }
    return true;
}

void keep_newer(recency& into, const recency& from) noexcept
{
    for (std::size_t i = 0; i < into.size(); ++i) {
        into[i] = std::max(into[i], from[i]);
    }
}

// Times at or before `horizon` read as never.
bool forget_before(recency& r, std::int64_t horizon) noexcept
{
    bool any = false;
    for (auto& t : r) {
        if (t <= horizon) {
            t = 0;
        }
        any = any || t > 0;
    }
    return any;
}

// Counts one event of `type` into the tile `tile` of an ascending tile list.
void count_in(std::vector<tile_value>& tiles, std::int64_t tile, events::event_type type)
{
    auto h = std::lower_bound(tiles.begin(), tiles.end(), tile,
                              [](const tile_value& v, std::int64_t t) { return v.tile < t; });
    if (h == tiles.end() || h->tile != tile) {
        h = tiles.insert(h, {tile, {}});
    }
    h->c.impressions += type == events::event_type::impression;
    h->c.clicks += type == events::event_type::click;
    h->c.conversions += type == events::event_type::conversion;
}

// `into` + `delta` (ascending tile lists), keeping only tiles after `first_tile` (exclusive).
void merge_tiles(std::vector<tile_value>& into, const std::vector<tile_value>& delta,
                 std::int64_t first_tile)
{
    std::vector<tile_value> all;
    all.reserve(into.size() + delta.size());
    std::merge(into.begin(), into.end(), delta.begin(), delta.end(), std::back_inserter(all),
               [](const tile_value& a, const tile_value& b) { return a.tile < b.tile; });
    into.clear();
    for (const auto& h : all) {
        if (h.tile <= first_tile) {
            continue;
        }
        if (!into.empty() && into.back().tile == h.tile) {
            into.back().c += h.c;
        } else {
            into.push_back(h);
        }
    }
}

bool parse_tiles(std::string_view list, std::vector<tile_value>& out)
{
    return each_item(list, [&](std::string_view item) {
        auto t = parse_tile(item);
        if (t) {
            out.push_back(*t);
        }
        return t.has_value();
    });
}

void append_tiles(std::string& out, const std::vector<tile_value>& tiles)
{
    for (std::size_t i = 0; i < tiles.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        append_tile(out, tiles[i]);
    }
}

void append_times(std::string& out, const recency& r)
{
    append_ints(out, r, ':');
}

// Splits "a|b|c…" into exactly `n` parts.
template <std::size_t N>
bool split_bars(std::string_view v, std::array<std::string_view, N>& parts)
{
    for (std::size_t i = 0; i < N; ++i) {
        const auto bar = v.find('|');
        if ((bar == std::string_view::npos) != (i == N - 1)) {
            return false;
        }
        parts[i] = v.substr(0, bar);
        v.remove_prefix(bar == std::string_view::npos ? v.size() : bar + 1);
    }
    return true;
}

}  // namespace

std::int64_t user_own::newest() const noexcept
{
    return *std::max_element(last.begin(), last.end());
}

void add_event(user_own& s, events::event_type type, std::int64_t event_time_ms)
{
    const auto k = static_cast<std::size_t>(type);
    s.last[k] = std::max(s.last[k], event_time_ms);
}

void merge(user_own& into, const user_own& delta)
{
    keep_newer(into.last, delta.last);
}

std::optional<user_own> parse_user_own(std::string_view v)
{
    user_own s;
    if (const auto bar = v.find('|'); bar != std::string_view::npos) {
        v = v.substr(0, bar);  // an earlier version's tiles, now in blocks of their own
    }
    if (!read_ints(v, {&s.last[0], &s.last[1], &s.last[2]}) || !v.empty()) {
        return std::nullopt;
    }
    return s;
}

std::string format_user_own(const user_own& s)
{
    std::string out;
    append_times(out, s.last);
    return out;
}

std::string block_field(std::int64_t block, const tile_blocks& b)
{
    std::string f(b.prefix);
    append_int(f, block % b.ring);
    return f;
}

void add_event(std::vector<block_add>& adds, const tile_blocks& b, events::event_type type,
               std::int64_t event_time_ms)
{
    const auto tile = tile_of(event_time_ms, b.tiles);
    const auto block = tile / b.per_block;
    auto field = block_field(block, b);
    auto a = std::find_if(adds.begin(), adds.end(),
                          [&](const block_add& x) { return x.field == field; });
    if (a == adds.end()) {
        a = adds.insert(a, {std::move(field), block, b.per_block, {}});
    } else if (a->block > block) {
        return;  // superseded: the batch has a newer block for this field
    } else if (a->block < block) {
        a->block = block;
        a->tiles.clear();
    }
    count_in(a->tiles, tile, type);
}

std::optional<std::vector<tile_value>> parse_block(std::string_view v)
{
    std::vector<tile_value> tiles;
    if (!parse_tiles(v, tiles)) {
        return std::nullopt;
    }
    return tiles;
}

std::optional<std::string> merge_block(std::optional<std::string_view> held, const block_add& add)
{
    std::vector<tile_value> tiles;
    if (held) {
        if (auto stored = parse_block(*held); stored && !stored->empty()) {
            const auto block = stored->front().tile / add.per_block;
            if (block > add.block) {
                return std::nullopt;
            }
            if (block == add.block) {
                tiles = std::move(*stored);
            }
        }
    }
    merge_tiles(tiles, add.tiles, std::numeric_limits<std::int64_t>::min());
    std::string out;
    out.reserve(20 * tiles.size());
    append_tiles(out, tiles);
    return out;
}

std::int64_t user_campaign::newest() const noexcept
{
    return *std::max_element(last.begin(), last.end());
}

void add_event(user_campaign& s, std::uint32_t ad, events::event_type type,
               std::int64_t event_time_ms)
{
    const auto k = static_cast<std::size_t>(type);
    s.last[k] = std::max(s.last[k], event_time_ms);
    count_in(s.hours, tile_of(event_time_ms, hour_tiles), type);
    auto a = std::lower_bound(s.ads.begin(), s.ads.end(), ad,
                              [](const ad_recency& v, std::uint32_t id) { return v.ad < id; });
    if (a == s.ads.end() || a->ad != ad) {
        a = s.ads.insert(a, {ad, {}});
    }
    a->last[k] = std::max(a->last[k], event_time_ms);
}

void merge(user_campaign& into, const user_campaign& delta, std::int64_t ttl_ms)
{
    keep_newer(into.last, delta.last);
    std::vector<ad_recency> ads;
    ads.reserve(into.ads.size() + delta.ads.size());
    std::merge(into.ads.begin(), into.ads.end(), delta.ads.begin(), delta.ads.end(),
               std::back_inserter(ads),
               [](const ad_recency& a, const ad_recency& b) { return a.ad < b.ad; });

    const auto newest = into.newest();
    const auto horizon = newest - ttl_ms;
    merge_tiles(into.hours, delta.hours, tile_of(newest, hour_tiles) - hour_tiles.slots);
    into.ads.clear();
    for (auto a : ads) {
        if (!into.ads.empty() && into.ads.back().ad == a.ad) {
            keep_newer(into.ads.back().last, a.last);
        } else {
            into.ads.push_back(a);
        }
    }
    std::erase_if(into.ads, [&](ad_recency& a) { return !forget_before(a.last, horizon); });
    (void)forget_before(into.last, horizon);  // the newest itself stays
}

std::optional<user_campaign> parse_user_campaign(std::string_view v)
{
    user_campaign s;
    std::array<std::string_view, 3> parts;
    if (!split_bars(v, parts)) {
        return std::nullopt;
    }
    auto times = parts[0];
    if (!read_ints(times, {&s.last[0], &s.last[1], &s.last[2]}) || !times.empty() ||
        !parse_tiles(parts[1], s.hours)) {
        return std::nullopt;
    }
    const bool ok = each_item(parts[2], [&](std::string_view item) {
        std::int64_t ad = 0;
        ad_recency a{};
        if (!read_ints(item, {&ad, &a.last[0], &a.last[1], &a.last[2]}) || !item.empty() ||
            !as_id(ad, a.ad)) {
            return false;
        }
        s.ads.push_back(a);
        return true;
    });
    if (!ok) {
        return std::nullopt;
    }
    return s;
}

std::string format_user_campaign(const user_campaign& s)
{
    std::string out;
    out.reserve(32 + 24 * s.hours.size() + 32 * s.ads.size());
    append_times(out, s.last);
    out += '|';
    append_tiles(out, s.hours);
    out += '|';
    for (std::size_t i = 0; i < s.ads.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        const auto& a = s.ads[i];
        std::array<std::int64_t, 1 + std::tuple_size_v<recency>> parts{a.ad};  // ad:times
        std::copy(a.last.begin(), a.last.end(), parts.begin() + 1);
        append_ints(out, parts, ':');
    }
    return out;
}

std::string campaign_field(std::uint32_t campaign)
{
    std::string f(store_layout::fields_campaign);
    append_int(f, campaign);
    return f;
}

std::optional<std::uint32_t> campaign_of_field(std::string_view field)
{
    std::int64_t c = 0;
    std::uint32_t campaign = 0;
    const auto prefix = store_layout::fields_campaign;
    if (!field.starts_with(prefix) || field.size() == prefix.size() || field[prefix.size()] < '0' ||
        field[prefix.size()] > '9') {
        return std::nullopt;
    }
    field.remove_prefix(prefix.size());
    if (!read_ints(field, {&c}) || !field.empty() || !as_id(c, campaign)) {
        return std::nullopt;
    }
    return campaign;
}

std::optional<std::int64_t> campaign_newest(std::string_view value)
{
    recency last{};
    if (!read_ints(value, {&last[0], &last[1], &last[2]}) || !value.starts_with('|')) {
        return std::nullopt;
    }
    return *std::max_element(last.begin(), last.end());
}

void touch(campaign_index& idx, std::uint32_t campaign, std::int64_t newest_ms)
{
    auto it = std::lower_bound(idx.begin(), idx.end(), campaign,
                               [](const auto& e, std::uint32_t c) { return e.first < c; });
    if (it == idx.end() || it->first != campaign) {
        idx.insert(it, {campaign, newest_ms});
    } else {
        it->second = std::max(it->second, newest_ms);
    }
}

std::vector<std::uint32_t> prune(campaign_index& idx, std::int64_t user_newest_ms,
                                 std::int64_t ttl_ms)
{
    std::vector<std::uint32_t> gone;
    std::erase_if(idx, [&](const auto& e) {
        if (e.second < user_newest_ms - 2 * ttl_ms) {
            gone.push_back(e.first);
            return true;
        }
        return false;
    });
    return gone;
}

}  // namespace adsx::features
