#pragma once
// Time tiles: the one rule by which windowed counts are kept online (Redis, by `adsx stream`)
// and recomputed offline. The widths, slot counts, field prefixes and the CTR prior are
// schemas/online_store.json's, which the PySpark jobs read too (adsx_jobs/contracts.py); their
// Spark SQL form of the window rule (training_set.py, stream_ctr.py) is held equal to this one
// by tests/integration/test_stream_spark.py.
//
// A tile is the interval [id·width, (id+1)·width) of event time. Each entity keeps a ring of
// `slots` tiles per granularity: tile `id` lives in slot `id % slots`, tagged with its id. A
// write for a newer tile resets the slot; a write for an older tile than the slot holds is
// dropped (it is far behind the watermark anyway). So a key never grows and never needs pruning.
//
//   minute: 60 slots of 1 min  -> windows up to 1 h (5-min CTR, 1-h CTR, popularity)
//   hour:   26 slots of 1 h    -> windows up to 24 h (engagement, frequency per day)
//
// A window (as_of − w, as_of] sums the tiles with id in (tile(as_of) − w/width, tile(as_of)].
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/store_layout.h"

namespace adsx::features {

struct tile_spec
{
    char prefix;  // field prefix in the entity hash: 'm' or 'h'
    std::int64_t width_ms;
    int slots;
};

static_assert(store_layout::tiles_minute_prefix.size() == 1 &&
              store_layout::tiles_hour_prefix.size() == 1);
inline constexpr tile_spec minute_tiles{store_layout::tiles_minute_prefix[0],
                                        store_layout::tiles_minute_width_ms,
                                        static_cast<int>(store_layout::tiles_minute_slots)};
inline constexpr tile_spec hour_tiles{store_layout::tiles_hour_prefix[0],
                                      store_layout::tiles_hour_width_ms,
                                      static_cast<int>(store_layout::tiles_hour_slots)};

[[nodiscard]] constexpr std::int64_t tile_of(std::int64_t event_time_ms, tile_spec s) noexcept
{
    return event_time_ms / s.width_ms;
}
[[nodiscard]] constexpr int slot_of(std::int64_t tile, tile_spec s) noexcept
{
    return static_cast<int>(tile % s.slots);
}
// "m17": the hash field of a tile's slot; its value is "<tile>:<imp>:<clk>:<conv>".
[[nodiscard]] std::string slot_prefix(std::int64_t tile, tile_spec s);

struct counts
{
    std::int64_t impressions = 0;
    std::int64_t clicks = 0;
    std::int64_t conversions = 0;
    counts& operator+=(const counts& o) noexcept
    {
        impressions += o.impressions;
        clicks += o.clicks;
        conversions += o.conversions;
        return *this;
    }
    friend bool operator==(const counts&, const counts&) = default;
};

struct tile_value
{
    std::int64_t tile;
    counts c;
    friend bool operator==(const tile_value&, const tile_value&) = default;
};

// A slot field's value: "<tile>:<impressions>:<clicks>:<conversions>".
[[nodiscard]] std::optional<tile_value> parse_tile(std::string_view v) noexcept;
[[nodiscard]] std::string format_tile(const tile_value& v);
void append_tile(std::string& out, const tile_value& v);

// The ring rule for one slot: what the slot holds after adding `delta` for `tile` to `held`
// (nothing = an empty slot), or nothing when the slot holds a newer tile (the add is dropped).
[[nodiscard]] std::optional<tile_value> merge_tile(const std::optional<tile_value>& held,
                                                   std::int64_t tile, const counts& delta) noexcept;

// Sum of the tiles inside the window (as_of − window, as_of]; tiles outside are ignored.
[[nodiscard]] counts window_sum(const std::vector<tile_value>& tiles, tile_spec s,
                                std::int64_t as_of_ms, std::int64_t window_ms) noexcept;

// CTR with a Beta prior (prior_ctr, prior_weight pseudo-impressions): stable for small counts.
[[nodiscard]] double smoothed_ctr(
    std::int64_t clicks, std::int64_t impressions,
    double prior_ctr = store_layout::smoothed_ctr_prior_ctr,
    double prior_weight = static_cast<double>(store_layout::smoothed_ctr_prior_weight)) noexcept;

}  // namespace adsx::features
