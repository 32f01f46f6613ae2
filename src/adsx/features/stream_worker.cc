#include "adsx/features/stream_worker.h"

#include <algorithm>

#include <fmt/format.h>

#include "adsx/base/defer.h"

namespace adsx::features {

void observer_list::batch(const batch_result& r, std::optional<double> seconds, std::int64_t now_ms)
{
    for (auto* o : _all) {
        o->batch(r, seconds, now_ms);
    }
}

void observer_list::commit(double seconds)
{
    for (auto* o : _all) {
        o->commit(seconds);
    }
}

void observer_list::reseek(int partition)
{
    for (auto* o : _all) {
        o->reseek(partition);
    }
}

void observer_list::progress(const stream_progress& p)
{
    for (auto* o : _all) {
        o->progress(p);
    }
}

double stream_summary::records_per_s() const noexcept
{
    return busy_s > 0 ? static_cast<double>(totals.applied + totals.dead_lettered) / busy_s : 0.0;
}

std::string format_summary(const stream_summary& s)
{
    const auto& t = s.totals;
    auto out = fmt::format("processed {} records: {} applied, {} dead-lettered in {:.1f} s "
                           "({:.0f} records/s)\n",
                           t.applied + t.dead_lettered, t.applied, t.dead_lettered, s.busy_s,
                           s.records_per_s());
    if (t.dead_lettered > 0) {
        out += "  dead letters:";
        for (std::size_t i = 0; i < t.by_reason.size(); ++i) {
            if (t.by_reason[i]) {
                out += fmt::format(" {}={}", events::name(events::all_reasons[i]), t.by_reason[i]);
            }
        }
        out += "\n";
    }
    return out;
}

stream_worker::stream_worker(consumer& c, engine& e, stream_store& store, stream_observer& observer,
                             const clock& clock, stream_worker_settings s)
  : _consumer(c), _engine(e), _store(store), _observer(observer), _clock(clock), _s(s)
{
}

std::int64_t stream_worker::assigned(int partition)
{
    auto next = _engine.assign(partition);
    if (!next) {
        _assign_error = next.error().message;
        return -1;
    }
    return *next;
}

void stream_worker::revoked(const std::vector<int>& partitions)
{
    _engine.revoke(partitions);
}

result<stream_summary> stream_worker::run(const std::atomic<bool>& stopping)
{
    _consumer.listen(this);
    const auto leave = defer([&] {
        _consumer.close();  // after the last write landed, when all went well
        _consumer.listen(nullptr);
    });
    _last_data_ns = _last_report_ns = _clock.monotonic_ns();
    while (!stopping) {
        if (auto ok = _consumer.poll_batch(_batch, _s.batch_size, _s.poll_timeout, _s.linger);
            !ok) {
            return fail(ok.error());
        }
        if (!_assign_error.empty()) {
            return fail(error_code::unavailable, "reading partition offsets: " + _assign_error);
        }
        const auto now = _clock.monotonic_ns();
        if (_batch.empty()) {
            auto done = idle(now);
            if (!done) {
                return fail(done.error());
            }
            if (*done) {
                break;
            }
            continue;
        }
        if (auto ok = process(now); !ok) {
            return fail(ok.error());
        }
    }
    // Stopping: the last write lands before the consumer leaves the group.
    auto r = _engine.flush();
    if (!r) {
        return fail(r.error());
    }
    if (auto ok = account(*r, std::nullopt); !ok) {
        return fail(ok.error());
    }
    report_offsets(_consumer.lag(), true);
    return summary();
}

result<void> stream_worker::process(std::int64_t now_ns)
{
    _last_data_ns = now_ns;
    if (!_first_batch_ns) {
        _first_batch_ns = now_ns;
    }
    auto r = _engine.process(_batch);
    if (!r) {
        return fail(r.error());
    }
    if (auto ok = account(*r, seconds(_clock.monotonic_ns() - now_ns)); !ok) {
        return ok;
    }
    report_progress(now_ns);
    return {};
}

void stream_worker::report_progress(std::int64_t now_ns)
{
    if (now_ns - _last_report_ns <= _s.progress_every.count()) {
        return;
    }
    _last_report_ns = now_ns;
    const auto lag = _consumer.lag();
    _observer.progress({lag, _store.key_cache(key_kind::user), _store.key_cache(key_kind::shared),
                        _totals, _consumer.client_errors(), _engine.request_log_bytes()});
    report_offsets(lag, false);
}

void stream_worker::report_offsets(const std::map<int, std::int64_t>& assigned, bool wait)
{
    // The applied offsets the engine keeps, not the store's: the store cannot be read with a
    // write in flight, which is always the case while records keep coming (the offsets then
    // reached Kafka only when the worker stopped).
    auto next = _engine.applied_offsets();
    std::erase_if(next, [&](const auto& kv) { return !assigned.contains(kv.first); });
    _consumer.report_offsets(next, wait);
}

result<bool> stream_worker::idle(std::int64_t now_ns)
{
    // Nothing new: let the last batch's write land (and be counted) now.
    auto r = _engine.flush();
    if (!r) {
        return fail(r.error());
    }
    if (auto ok = account(*r, std::nullopt); !ok) {
        return fail(ok.error());
    }
    report_progress(now_ns);  // idle too: lag, counters and client errors stay current
    if (_s.until_idle.count() > 0 && seconds(now_ns - _last_data_ns) >= _s.until_idle.count()) {
        if (group_caught_up()) {
            return true;
        }
        _last_data_ns = now_ns;  // not yet: look again after another idle period
    }
    return false;
}

result<void> stream_worker::account(const batch_result& r, std::optional<double> seconds)
{
    _observer.batch(r, seconds, _clock.now_ms());
    for (int p : r.stale) {
        _observer.reseek(p);
        auto next = _engine.assign(p);
        if (!next || !_consumer.seek(p, *next)) {
            return fail(error_code::unavailable, "re-seeking a stale partition");
        }
    }
    _totals.applied += r.applied;
    _totals.dead_lettered += r.dead_lettered;
    for (std::size_t i = 0; i < _totals.by_reason.size(); ++i) {
        _totals.by_reason[i] += r.by_reason[i];
    }
    if (r.applied > 0 || seconds) {
        _last_batch_ns = _clock.monotonic_ns();  // busy until the last write landed
    }
    return {};
}

bool stream_worker::group_caught_up()
{
    auto marks = _consumer.topic_watermarks(_s.watermarks_timeout);
    if (!marks || marks->empty()) {
        return false;
    }
    for (const auto& [p, lo_hi] : *marks) {
        auto st = _store.load(_engine.partition_id(p));
        if (!st || std::max(st->next_offset, lo_hi.first) < lo_hi.second) {
            return false;
        }
    }
    return true;
}

stream_summary stream_worker::summary() const
{
    // The rate over the time records were flowing (start-up and the final idle wait excluded).
    return {_totals, _first_batch_ns ? seconds(*_last_batch_ns - *_first_batch_ns) : 0.0};
}

}  // namespace adsx::features
