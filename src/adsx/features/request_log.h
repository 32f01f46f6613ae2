#pragma once
// Follow-up checks (engine.h): a click must follow an impression of its request, and a
// conversion a click of its request, within a window in event time:
//   click at t       an impression of its request in the minutes from that of t − click window
//                    to that of t (1 h: the generator's clicks come at most 30 min after);
//   conversion at t  a click of its request in the hours from that of t − conversion window to
//                    that of t (24 h: the generator's conversions come at most 24 h after).
// The windows are rounded out to whole buckets (minutes, hours), which is what lets the store
// keep them as whole keys. The lake's daily job applies the same rule to its events
// (python/adsx_jobs/daily.py), without the partitions: there a request is one user's.
//
// Each worker keeps, for each partition it owns, the request ids of the impressions and
// clicks still inside a window, as 64-bit fingerprints (8 bytes each: an orphan passes for a
// follow-up with probability n / 2^64, n the ids it is looked for among). The store keeps the
// same fingerprints, appended to one key per partition, kind and bucket in the commit that
// applies their events (atomic with the offsets, so they agree with the features after any
// crash), deleted in the commit whose watermark leaves their bucket behind, and read back when
// the partition is assigned. The watermark, not the wall clock, retires them: a worker stopped
// for a day resumes with what its backlog's clicks need.
//
// Kept: impressions of the last click window + allowed lateness (events older than watermark −
// lateness are dead-lettered as late before their check), clicks of the last conversion
// window + lateness. 8 bytes per impression in the worker and 8 in Redis: 10k impressions/s
// with the default 1 h window is 0.3 GB in each.
//
//   request_log log(windows);
//   log.stage(follow_kind::impression, t, fingerprint(id));  // this batch's
//   log.follows(follow_kind::impression, t_click, fingerprint(id));
//   auto w = log.pending(wm);  // what the commit appends and deletes; then
//   log.keep(w);               // once the commit is sent
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adsx/base/store_layout.h"
#include "adsx/base/time.h"
#include "adsx/events/event.h"

namespace adsx::features {

// What a log holds: impressions (which clicks follow) or clicks (which conversions follow).
enum class follow_kind : std::uint8_t
{
    impression,
    click
};

struct follow_windows
{
    std::int64_t click_ms = hour_ms;           // an impression → its click
    std::int64_t conversion_ms = day_ms;       // a click → its conversion
    std::int64_t lateness_ms = 5 * minute_ms;  // the engine's allowed lateness
};

// Bucket width: a minute for impressions, an hour for clicks.
[[nodiscard]] constexpr std::int64_t bucket_ms(follow_kind k) noexcept
{
    return k == follow_kind::impression ? store_layout::request_logs_impression_bucket_ms
                                        : store_layout::request_logs_click_bucket_ms;
}
// "i" or "c": the kind's part of its store keys.
[[nodiscard]] std::string_view kind_tag(follow_kind k) noexcept;
[[nodiscard]] std::uint64_t fingerprint(const events::uuid& id) noexcept;

// One bucket of one kind: its fingerprints as stored (8 bytes each, little-endian) when
// appended or loaded; empty when deleted.
struct log_bucket
{
    follow_kind kind;
    std::int64_t bucket;  // event time / bucket_ms(kind)
    std::string bytes;
};

struct log_writes
{
    std::vector<log_bucket> appends;
    std::vector<log_bucket> deletes;
};

// One partition's logs (both kinds). Not thread-safe.
class request_log
{
public:
    explicit request_log(follow_windows w = {}) : _w(w) {}

    // The buckets a partition whose watermark is `wm` keeps: [first, last].
    [[nodiscard]] std::pair<std::int64_t, std::int64_t> kept(follow_kind k,
                                                             std::int64_t wm) const noexcept;
    // A bucket read back from the store (any number of 8-byte fingerprints).
    void load(follow_kind k, std::int64_t b, std::string_view bytes);

    // An id of the batch being built (kept or dropped with the batch).
    void stage(follow_kind k, std::int64_t t, std::uint64_t fp);
    void drop_staged();
    // Whether an event at `t` follows one of kind `k` with fingerprint `fp` (kept or staged)
    // within k's window.
    [[nodiscard]] bool follows(follow_kind k, std::int64_t t, std::uint64_t fp) const;

    // What a commit that takes the partition's watermark to `wm` writes: the staged ids,
    // per bucket (sorted), and the buckets the watermark leaves behind.
    [[nodiscard]] log_writes pending(std::int64_t wm) const;
    // The commit of `w` (this log's pending()) was sent: its ids join their buckets, the
    // buckets left behind go, nothing stays staged.
    void keep(const log_writes& w);

    [[nodiscard]] std::size_t size() const noexcept;   // fingerprints kept
    [[nodiscard]] std::size_t bytes() const noexcept;  // the memory holding them (a gauge's)

private:
    // A bucket's fingerprints as sorted runs laid end to end (a batch's ids make one run; two
    // neighbours merge while the older is at most twice the newer: O(log n) runs).
    struct bucket
    {
        std::vector<std::uint64_t> ids;
        std::vector<std::size_t> runs;  // where each run starts
        void add_run(std::vector<std::uint64_t>& sorted);
        [[nodiscard]] bool contains(std::uint64_t fp) const;
    };
    using buckets = std::map<std::int64_t, bucket>;
    [[nodiscard]] std::int64_t window(follow_kind k) const noexcept;
    [[nodiscard]] static std::size_t index(follow_kind k) noexcept
    {
        return static_cast<std::size_t>(k);
    }
    // This batch's ids of one kind, in the order staged (found by a scan: only a follow-up
    // whose predecessor is in its own batch, or an orphan, looks there).
    struct staged
    {
        std::vector<std::uint64_t> ids;
        std::vector<std::int64_t> times;
    };

    follow_windows _w;
    std::array<buckets, 2> _kept;
    std::array<staged, 2> _staged;
};

}  // namespace adsx::features
