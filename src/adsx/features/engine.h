#pragma once
// The stream engine's per-batch logic, pure (ports injected): decode and validate each record,
// check it against the catalog, the partition's watermark and (for clicks and conversions) the
// impression or click it follows (request_log.h), dead-letter what fails with its reason, combine
// the rest into feature updates, and commit each partition's batch atomically with its offset and
// watermark.
//
//   engine e(store, dlq, ad_known, personalised, clock, settings);
//   e.assign(p);                                   // reads where p stands
//   auto r = e.process(messages);                  // r->stale: partitions to re-seek
//
// A poll batch is one batch_update over all its partitions (hot ad keys combine across them)
// committed in one atomic step with every partition's offset. When the commit reports
// partitions another worker has moved on, their records are dropped, the batch is rebuilt
// from the rest and committed again.
//
// After a crash between the transactions of one commit (Redis Cluster), the store reports the
// partition's half-applied batch (partition_state::replay_to): the engine commits exactly that
// batch again, on its own, reads where the partition then stands, and builds the rest of the
// poll as the next batch (within the same process() call: nothing is re-seeked).
//
// Pipelined: a batch's write is sent and left in flight while process() returns and the next
// batch is polled, decoded and combined; the next process() (or flush()) settles it before it
// touches the store again. Applied records and their event times are reported when their
// write is acknowledged, so by the call after the one that sent them. If the write in flight
// was refused (another worker changed a key it read), the same batch is committed again; if
// its partitions were taken meanwhile, nothing of it applied: they are reloaded and reported
// stale (re-seek), and the current batch is rebuilt without them.
//
// Order of checks (the lake's recomputation follows the same): schema/decoding, values and
// future timestamps, the message key (must be the user id: user keys are written by the one
// worker owning the user's partition, see redis/feature_store.h), catalog, lateness (event time <
// watermark − allowed lateness), then orphans: a click without an impression of its request,
// or a conversion without a click of it, in its window (request_log.h), in the partition's
// order (a click may follow its impression in the same batch). The watermark is the newest
// event time that passed the checks before the orphan check, stored with the offset so a
// restart resumes with the same watermark; the partition's request log is read back with it. Dead
// letters are written and flushed before the commit: after a crash they may repeat (at-least-once,
// each carries its source partition and offset), the features never do. Not thread-safe: one engine
// per worker.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/ids.h"
#include "adsx/base/time.h"
#include "adsx/config/config.h"
#include "adsx/events/codec.h"
#include "adsx/features/request_log.h"
#include "adsx/features/stream_store.h"

namespace adsx::features {

struct raw_message
{
    int partition;
    std::int64_t offset;
    std::string_view key;
    std::string_view value;
};

struct dead_letter
{
    std::string key;
    std::string value;  // JSON: reason, field, source, original payload
};

class dead_letter_sink
{
public:
    virtual ~dead_letter_sink() = default;
    // Durable on success (the records are acknowledged).
    [[nodiscard]] virtual result<void> write(const std::vector<dead_letter>& records) = 0;
};

// Defaults: the configuration's (config.h), which `adsx stream` passes on.
struct engine_settings
{
    std::string topic = config::kafka_config{}.events_topic;
    std::string group = config::stream_config{}.group;
    std::int64_t allowed_lateness_ms = config::stream_config{}.allowed_lateness_s * second_ms;
    std::int64_t max_future_ms = config::events_config{}.max_future_s * second_ms;
    std::int64_t click_window_ms =
        config::stream_config{}.click_window_s * second_ms;  // request_log.h
    std::int64_t conversion_window_ms = config::stream_config{}.conversion_window_s * second_ms;
};

struct batch_result
{
    std::size_t applied = 0;  // records whose write was acknowledged in this call
    std::size_t dead_lettered = 0;
    std::array<std::size_t, events::all_reasons.size()> by_reason{};
    std::vector<int> stale;                   // partitions whose commit lost the compare-and-set
    std::vector<std::int64_t> event_times;    // of the applied records (freshness = now − these)
    void add_applied(const batch_result& o);  // its applied count and event times
};

class engine
{
public:
    using ad_known_fn = std::function<bool(ad_id ad)>;
    // Whether an event's user may have user-level state: their consent allows personalisation
    // and they were not erased (privacy/suppression.h).
    using personalised_fn = std::function<bool(std::string_view user, std::string_view consent)>;

    // `clock`: processing time (future timestamps, dead letters' detected_at); must outlive
    // the engine, as must the store and the sink.
    engine(stream_store& store, dead_letter_sink& dlq, ad_known_fn ad_known,
           personalised_fn personalised, const clock& clock, engine_settings s);

    // Where partition p stands (next offset, -1 = from the beginning); the caller seeks there.
    [[nodiscard]] result<std::int64_t> assign(int partition);
    void revoke(const std::vector<int>& partitions);
    [[nodiscard]] result<batch_result> process(const std::vector<raw_message>& messages);
    // Settles the write in flight (when idle, before stopping): what it applied, and partitions
    // to re-seek.
    [[nodiscard]] result<batch_result> flush();
    [[nodiscard]] std::string partition_id(int partition) const;
    // Next offset of each owned partition as the store holds it now: a write in flight counts
    // once settled (for the group's offsets in Kafka, a report for monitoring tools; no store
    // round trip, so it can be asked with a write in flight).
    [[nodiscard]] std::map<int, std::int64_t> applied_offsets() const;
    // The memory the owned partitions' request logs take (request_log.h).
    [[nodiscard]] std::size_t request_log_bytes() const noexcept;

private:
    struct partition_work;
    // `now_ms`: the processing clock, read once per batch (a batch is decoded in milliseconds;
    // a clock read per record was ~1% of the worker's CPU).
    [[nodiscard]] std::optional<events::problem> check(const raw_message& m, const events::event& e,
                                                       partition_state& running,
                                                       std::int64_t now_ms);
    void dead_letter(const raw_message& m, const events::problem& p, batch_result& r,
                     std::vector<features::dead_letter>& out);
    // Whether a click or conversion follows what it must in `log` (an impression is staged
    // there for its clicks, a click for its conversions).
    [[nodiscard]] static bool follows(const events::event& e, request_log& log);
    // Reads where partition p stands, and its request log, from the store.
    [[nodiscard]] result<void> reload(int partition);
    // The partition whose half-applied batch (partition_state::replay_to) this poll replays,
    // if any: that batch is built and committed alone, the rest of the poll after it.
    [[nodiscard]] std::optional<int> replaying(const std::vector<raw_message>& messages,
                                               const std::vector<int>& dropped) const;
    // One attempt over the records of owned partitions not in `dropped` (the store not used).
    void build(const std::vector<raw_message>& messages, const std::vector<int>& dropped,
               std::vector<partition_work>& work, batch_result& r,
               std::vector<features::dead_letter>& dlq);
    // Waits for the write in flight; what it applied goes to `r`; partitions that were taken
    // meanwhile go to `dropped`.
    [[nodiscard]] result<void> settle(batch_result& r, std::vector<int>& dropped);
    [[nodiscard]] batch_update& batch() noexcept { return _batches[_current]; }

    struct in_flight
    {
        std::vector<partition_commit> parts;
        std::vector<int> partitions;  // of parts
        batch_result applied;         // what it applies: count and event times
    };

    stream_store& _store;
    dead_letter_sink& _dlq;
    ad_known_fn _ad_known;
    personalised_fn _personalised;
    const clock& _clock;
    engine_settings _s;
    events::decoder _decoder;
    std::map<int, partition_state> _owned;  // where each partition stands once sent writes apply
    std::map<int, request_log> _logs;       // of the owned partitions, as sent writes leave them
    // Two batches: one being built, the other possibly in flight. Reused: their maps keep
    // their buckets between batches.
    std::array<batch_update, 2> _batches;
    std::size_t _current = 0;
    std::optional<in_flight> _in_flight;
    batch_result _settled;  // settled by assign() or revoke(), reported by the next call
    std::optional<error> _revoke_error;
};

}  // namespace adsx::features
