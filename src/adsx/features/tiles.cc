#include "adsx/features/tiles.h"

#include <charconv>

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::features {

std::string slot_prefix(std::int64_t tile, tile_spec s)
{
    std::string p(1, s.prefix);
    p += std::to_string(slot_of(tile, s));
    return p;
}

std::optional<tile_value> parse_tile(std::string_view v) noexcept
{
    tile_value out{};
    const char* p = v.data();
    const char* end = v.data() + v.size();
    std::int64_t* parts[] = {&out.tile, &out.c.impressions, &out.c.clicks, &out.c.conversions};
    for (std::size_t i = 0; i < 4; ++i) {
        auto [next, ec] = std::from_chars(p, end, *parts[i]);
        if (ec != std::errc{} || (i < 3 ? (next == end || *next != ':') : next != end)) {
            return std::nullopt;
        }
        p = next + 1;
    }
    return out;
}

std::string format_tile(const tile_value& v)
{
    std::string out;
    append_tile(out, v);
    return out;
}

void append_tile(std::string& out, const tile_value& v)
{
    const std::int64_t parts[] = {v.tile, v.c.impressions, v.c.clicks, v.c.conversions};
    append_ints(out, parts, ':');
}

std::optional<tile_value> merge_tile(const std::optional<tile_value>& held, std::int64_t tile,
                                     const counts& delta) noexcept
{
    if (!held || held->tile < tile) {
        return tile_value{tile, delta};
    }
    if (held->tile > tile) {
        return std::nullopt;
    }
    auto out = *held;
    out.c += delta;
    return out;
}

counts window_sum(const std::vector<tile_value>& tiles, tile_spec s, std::int64_t as_of_ms,
                  std::int64_t window_ms) noexcept
{
    const auto last = tile_of(as_of_ms, s);
    const auto first = last - window_ms / s.width_ms;  // exclusive
    counts sum;
    for (const auto& t : tiles) {
        if (t.tile > first && t.tile <= last) {
            sum += t.c;
        }
    }
    return sum;
}

double smoothed_ctr(std::int64_t clicks, std::int64_t impressions, double prior_ctr,
                    double prior_weight) noexcept
{
    return (static_cast<double>(clicks) + prior_ctr * prior_weight) /
           (static_cast<double>(impressions) + prior_weight);
}

}  // namespace adsx::features
