#pragma once
// The stream worker: the loop of `adsx stream` around the engine (engine.h), pure (ports
// injected, unit-tested with fakes). Each turn polls a batch through the consumer port, has the
// engine process it (or, when nothing came, settle the write in flight), re-seeks partitions
// whose commit another worker made stale, and reports through the observer port: each batch's
// result, every two seconds the consumer's lag, the key cache and the running totals.
//
//   features::stream_worker w(consumer, engine, store, observer, clock, settings);
//   auto summary = w.run(stopping);       // until `stopping`, or idle with the group caught up
//   std::cout << format_summary(*summary);
//
// With `until_idle`, it stops once nothing came for that long and the whole group has caught
// up: for every partition of the topic, the offset stored with the features (whoever owns the
// partition) has reached the high watermark. Records merely not arriving is not enough: after
// a crash, a dead member's partitions wait for the session timeout before anyone owns them.
// The consumer leaves the group on every return; on a clean stop, after the last write landed.
//
// Assignments and revocations reach the engine through this worker (a partition_listener):
// an assigned partition starts where the store has it; an error reading that fails run().
// Not thread-safe: one worker per thread; the ports must outlive it.
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adsx/base/time.h"
#include "adsx/features/consumer.h"
#include "adsx/features/engine.h"
#include "adsx/features/stream_store.h"

namespace adsx::features {

// What the worker has done so far.
struct stream_totals
{
    std::size_t applied = 0;
    std::size_t dead_lettered = 0;
    std::array<std::size_t, events::all_reasons.size()> by_reason{};
};

// What the worker reports every progress period.
struct stream_progress
{
    const std::map<int, std::int64_t>& lag;  // per assigned partition
    cache_counts users, shared;              // the store's key cache, running totals
    const stream_totals& totals;
    std::uint64_t consumer_errors = 0;  // the consumer's client errors so far (retried)
    std::size_t request_log_bytes = 0;  // the owned partitions' request logs' memory
};

// The worker's observer (a port): metrics (metrics::stream_probe) and log lines. The calls
// come from the worker's thread; the default bodies ignore them.
class stream_observer
{
public:
    virtual ~stream_observer() = default;
    // What a process() or flush() reported; `seconds`: the batch's processing time (none: a
    // settling without a batch); `now_ms`: wall time, by which its writes were acknowledged.
    virtual void batch(const batch_result& /*r*/, std::optional<double> /*seconds*/,
                       std::int64_t /*now_ms*/)
    {
    }
    // One atomic commit's latency (a pipelined one's: from its start to its settling).
    virtual void commit(double /*seconds*/) {}
    // A partition whose commit another worker made stale, about to be read again.
    virtual void reseek(int /*partition*/) {}
    virtual void progress(const stream_progress& /*p*/) {}
};

// Several observers as one.
class observer_list final : public stream_observer
{
public:
    explicit observer_list(std::vector<stream_observer*> all) : _all(std::move(all)) {}
    void batch(const batch_result& r, std::optional<double> seconds, std::int64_t now_ms) override;
    void commit(double seconds) override;
    void reseek(int partition) override;
    void progress(const stream_progress& p) override;

private:
    std::vector<stream_observer*> _all;
};

struct stream_worker_settings
{
    std::size_t batch_size = 5000;
    std::chrono::milliseconds poll_timeout{200};
    std::chrono::milliseconds linger{0};          // after a batch's first record
    std::chrono::duration<double> until_idle{0};  // 0: run until stopped
    std::chrono::nanoseconds progress_every{std::chrono::seconds(2)};
    std::chrono::milliseconds watermarks_timeout{std::chrono::seconds(5)};
};

// The numbers `adsx stream` ends with.
struct stream_summary
{
    stream_totals totals;
    double busy_s = 0;  // from the first batch to the last write landing
    [[nodiscard]] double records_per_s() const noexcept;
};

// "processed N records: A applied, D dead-lettered in S s (R records/s)", and with dead
// letters a line of their count by reason.
[[nodiscard]] std::string format_summary(const stream_summary& s);

class stream_worker final : public partition_listener
{
public:
    stream_worker(consumer& c, engine& e, stream_store& store, stream_observer& observer,
                  const clock& clock, stream_worker_settings s);

    // Polls and processes until `stopping` is set (or, with until_idle, the group caught up);
    // then the last write lands and the consumer leaves the group. An error stops it (the
    // consumer leaves all the same).
    [[nodiscard]] result<stream_summary> run(const std::atomic<bool>& stopping);

    std::int64_t assigned(int partition) override;
    void revoked(const std::vector<int>& partitions) override;

private:
    // One turn's halves: a batch came (at `now_ns`), or nothing did. idle() returns whether
    // the worker is done.
    [[nodiscard]] result<void> process(std::int64_t now_ns);
    [[nodiscard]] result<bool> idle(std::int64_t now_ns);
    // What a process() or flush() reported: counts, metrics, partitions to read again.
    [[nodiscard]] result<void> account(const batch_result& r, std::optional<double> seconds);
    [[nodiscard]] bool group_caught_up();
    // Reports the store's offsets of `assigned` (partition -> lag) to the consumer group, for
    // monitoring tools (kafka-consumer-groups shows the worker's lag).
    // The observer's progress and the group's offsets, at most every progress_every.
    void report_progress(std::int64_t now_ns);
    void report_offsets(const std::map<int, std::int64_t>& assigned, bool wait);
    [[nodiscard]] stream_summary summary() const;

    consumer& _consumer;
    engine& _engine;
    stream_store& _store;
    stream_observer& _observer;
    const clock& _clock;
    stream_worker_settings _s;
    std::vector<raw_message> _batch;
    std::string _assign_error;  // of the last rebalance, reported after its poll
    stream_totals _totals;
    std::int64_t _last_data_ns = 0;    // a batch came, or the last idle check
    std::int64_t _last_report_ns = 0;  // progress
    std::optional<std::int64_t> _first_batch_ns, _last_batch_ns;
};

}  // namespace adsx::features
