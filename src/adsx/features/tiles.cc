#include "adsx/features/tiles.h"

namespace adsx::features {

std::string slot_prefix(std::int64_t tile, tile_spec s)
{
    std::string p(1, s.prefix);
    p += std::to_string(slot_of(tile, s));
    return p;
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
