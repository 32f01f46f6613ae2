#include "adsx/features/engine.h"

#include <algorithm>

#include "adsx/base/strings.h"
#include "adsx/events/validate.h"

namespace adsx::features {

struct engine::partition_work
{
    int partition = 0;
    partition_state expected;
    partition_state running;
    std::int64_t last_offset = -1;
};

engine::engine(stream_store& store, dead_letter_sink& dlq, ad_known_fn ad_known,
               personalised_fn personalised, const clock& clock, engine_settings s)
  : _store(store), _dlq(dlq), _ad_known(std::move(ad_known)),
    _personalised(std::move(personalised)), _clock(clock), _s(std::move(s))
{
}

std::string engine::partition_id(int partition) const
{
    return _s.group + ":" + _s.topic + ":" + std::to_string(partition);
}

void batch_result::add_applied(const batch_result& o)
{
    applied += o.applied;
    event_times.insert(event_times.end(), o.event_times.begin(), o.event_times.end());
}

result<std::int64_t> engine::assign(int partition)
{
    if (auto ok = settle(_settled, _settled.stale); !ok) {
        return fail(ok.error());
    }
    _store.forget_owned();
    if (auto ok = reload(partition); !ok) {
        return fail(ok.error());
    }
    return _owned[partition].next_offset;
}

result<void> engine::reload(int partition)
{
    const auto id = partition_id(partition);
    auto st = _store.load(id);
    if (!st) {
        return fail(st.error());
    }
    _owned[partition] = *st;
    auto& log =
        _logs
            .insert_or_assign(partition, request_log({.click_ms = _s.click_window_ms,
                                                      .conversion_ms = _s.conversion_window_ms,
                                                      .lateness_ms = _s.allowed_lateness_ms}))
            .first->second;
    if (st->next_offset < 0) {
        return {};  // never consumed: nothing logged
    }
    for (auto k : {follow_kind::impression, follow_kind::click}) {
        const auto [first, last] = log.kept(k, st->max_event_time);
        auto blobs = _store.load_requests(id, k, first, last);
        if (!blobs) {
            return fail(blobs.error().wrap("reading the request log of " + id));
        }
        for (std::size_t i = 0; i < blobs->size(); ++i) {
            log.load(k, first + static_cast<std::int64_t>(i), (*blobs)[i]);
        }
    }
    return {};
}

void engine::revoke(const std::vector<int>& partitions)
{
    // A write in flight for them must be settled before another worker starts from their
    // stored offsets; if that fails, the error surfaces at the next call (no return value here).
    if (auto ok = settle(_settled, _settled.stale); !ok) {
        _revoke_error = ok.error();
    }
    _store.forget_owned();
    for (int p : partitions) {
        _owned.erase(p);
        _logs.erase(p);
    }
}

std::optional<events::problem> engine::check(const raw_message& m, const events::event& e,
                                             partition_state& running, std::int64_t now_ms)
{
    if (auto p = events::validate(e, now_ms, {.max_future_ms = _s.max_future_ms})) {
        return p;
    }
    if (m.key != e.user_id) {
        return events::problem{events::reason::wrong_key, "user_id"};
    }
    if (!_ad_known(ad_id{e.ad_id})) {
        return events::problem{events::reason::unknown_ad, "ad_id"};
    }
    if (running.max_event_time > 0 &&
        e.event_time_ms < running.max_event_time - _s.allowed_lateness_ms) {
        return events::problem{events::reason::late, "event_time"};
    }
    running.max_event_time = std::max(running.max_event_time, e.event_time_ms);
    return std::nullopt;
}

void engine::dead_letter(const raw_message& m, const events::problem& p, batch_result& r,
                         std::vector<features::dead_letter>& out)
{
    ++r.dead_lettered;
    ++r.by_reason[static_cast<std::size_t>(p.code)];
    std::string v = "{\"reason\":\"";
    v += events::name(p.code);
    v += "\",\"field\":";
    v += json_quote(p.field);
    v += ",\"topic\":" + json_quote(_s.topic) + ",\"partition\":" + std::to_string(m.partition) +
         ",\"offset\":" + std::to_string(m.offset) + ",\"group\":" + json_quote(_s.group) +
         ",\"detected_at\":" + std::to_string(_clock.now_ms()) + ",\"payload\":";
    v += json_quote(m.value);
    v += '}';
    out.push_back({std::string(m.key), std::move(v)});
}

std::map<int, std::int64_t> engine::applied_offsets() const
{
    std::map<int, std::int64_t> out;
    for (const auto& [p, st] : _owned) {
        out[p] = st.next_offset;
    }
    if (_in_flight) {
        for (std::size_t i = 0; i < _in_flight->parts.size(); ++i) {
            out[_in_flight->partitions[i]] = _in_flight->parts[i].expected.next_offset;
        }
    }
    std::erase_if(out, [](const auto& kv) { return kv.second < 0; });
    return out;
}

std::size_t engine::request_log_bytes() const noexcept
{
    std::size_t n = 0;
    for (const auto& [partition, log] : _logs) {
        n += log.bytes();
    }
    return n;
}

bool engine::follows(const events::event& e, request_log& log)
{
    const auto fp = fingerprint(e.request_id);
    switch (e.type) {
        case events::event_type::impression:
            log.stage(follow_kind::impression, e.event_time_ms, fp);
            return true;
        case events::event_type::click:
            if (!log.follows(follow_kind::impression, e.event_time_ms, fp)) {
                return false;
            }
            log.stage(follow_kind::click, e.event_time_ms, fp);
            return true;
        case events::event_type::conversion:
            return log.follows(follow_kind::click, e.event_time_ms, fp);
    }
    return false;
}

void engine::build(const std::vector<raw_message>& messages, const std::vector<int>& dropped,
                   std::vector<partition_work>& work, batch_result& r,
                   std::vector<features::dead_letter>& dlq)
{
    batch().clear();
    for (auto& [p, log] : _logs) {
        log.drop_staged();  // of an earlier attempt at this batch
    }
    std::map<int, std::size_t> index;
    events::event e;
    const auto now_ms = _clock.now_ms();
    const auto replay = replaying(messages, dropped);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        auto owned = _owned.find(m.partition);
        if (owned == _owned.end() ||
            (owned->second.next_offset >= 0 && m.offset < owned->second.next_offset) ||
            std::find(dropped.begin(), dropped.end(), m.partition) != dropped.end()) {
            continue;  // not ours any more, or already applied
        }
        if (replay && (m.partition != *replay || m.offset > owned->second.replay_to)) {
            continue;  // after the replay (re-seeked then)
        }
        auto [it, added] = index.try_emplace(m.partition, work.size());
        if (added) {
            auto& w = work.emplace_back();
            w.partition = m.partition;
            w.expected = owned->second;
            w.running = owned->second;
        }
        auto& w = work[it->second];
        w.last_offset = m.offset;
        auto p = _decoder.decode(m.value, e);
        if (!p) {
            p = check(m, e, w.running, now_ms);
        }
        if (p) {
            dead_letter(m, *p, r, dlq);
            continue;
        }
        if (!follows(e, _logs.at(m.partition))) {
            dead_letter(m, {events::reason::orphan_event, "request_id"}, r, dlq);
            continue;
        }
        batch().add(e, _personalised(e.user_id, e.consent));
        r.event_times.push_back(e.event_time_ms);
        ++r.applied;
    }
}

std::optional<int> engine::replaying(const std::vector<raw_message>& messages,
                                     const std::vector<int>& dropped) const
{
    for (const auto& m : messages) {
        auto owned = _owned.find(m.partition);
        if (owned != _owned.end() && owned->second.replay_to >= m.offset &&
            m.offset >= owned->second.next_offset &&
            std::find(dropped.begin(), dropped.end(), m.partition) == dropped.end()) {
            return m.partition;
        }
    }
    return std::nullopt;
}

result<void> engine::settle(batch_result& r, std::vector<int>& dropped)
{
    if (!_in_flight) {
        return {};
    }
    auto f = std::move(*_in_flight);
    _in_flight.reset();
    auto applied = _store.settle();
    if (!applied) {
        return fail(applied.error());
    }
    if (!*applied) {
        // Another writer changed a key the write had read: nothing applied. The batch's
        // combined updates still stand; commit them again (reading afresh).
        const auto& sent = _batches[1 - _current];
        auto outcome = _store.commit(f.parts, sent, false);
        if (!outcome) {
            return fail(outcome.error());
        }
        if (!outcome->applied) {
            // Some of its partitions were taken meanwhile: none of it applied, and its records
            // are gone with the poll that brought them. Every partition of it goes back to where
            // the store has it and is read again from there.
            _store.forget_owned();
            for (std::size_t i = 0; i < f.parts.size(); ++i) {
                if (auto ok = reload(f.partitions[i]); !ok) {
                    return fail(ok.error());
                }
                dropped.push_back(f.partitions[i]);
            }
            return {};
        }
    }
    r.add_applied(f.applied);
    return {};
}

result<batch_result> engine::flush()
{
    if (_revoke_error) {
        return fail(std::exchange(_revoke_error, std::nullopt)->wrap("settling before a revoke"));
    }
    batch_result r = std::exchange(_settled, {});
    if (auto ok = settle(r, r.stale); !ok) {
        return fail(ok.error());
    }
    return r;
}

result<batch_result> engine::process(const std::vector<raw_message>& messages)
{
    if (_revoke_error) {
        return fail(std::exchange(_revoke_error, std::nullopt)->wrap("settling before a revoke"));
    }
    batch_result out = std::exchange(_settled, {});  // what earlier writes applied
    // Partitions another worker moved on (or whose write was lost): not built until re-seeked.
    std::vector<int> dropped = std::exchange(out.stale, {});
    bool dead_letters_written = false;
    for (;;) {
        batch_result r;  // this batch's
        std::vector<features::dead_letter> dlq;
        std::vector<partition_work> work;
        build(messages, dropped, work, r, dlq);  // meanwhile the previous write applies
        const auto before = dropped.size();
        if (auto ok = settle(out, dropped); !ok) {
            return fail(ok.error());
        }
        if (dropped.size() != before) {
            continue;  // built on a write that did not apply: again, without its partitions
        }
        if (!dead_letters_written) {
            // Dead letters are durable before the commit they precede; a rebuilt batch after a
            // lost partition has the same ones (fewer), so they are written once.
            if (!dlq.empty()) {
                if (auto ok = _dlq.write(dlq); !ok) {
                    return fail(ok.error().wrap("dead-letter topic"));
                }
            }
            dead_letters_written = true;
            out.dead_lettered += r.dead_lettered;
            for (std::size_t i = 0; i < out.by_reason.size(); ++i) {
                out.by_reason[i] += r.by_reason[i];
            }
        }
        if (work.empty()) {
            out.stale.insert(out.stale.end(), dropped.begin(), dropped.end());
            return out;
        }
        const auto replay = replaying(messages, dropped);
        in_flight f;
        for (const auto& w : work) {
            f.parts.push_back({partition_id(w.partition),
                               w.expected,
                               {w.last_offset + 1, w.running.max_event_time},
                               _logs.at(w.partition).pending(w.running.max_event_time)});
            f.partitions.push_back(w.partition);
        }
        auto outcome = _store.commit(f.parts, batch(), true);
        if (!outcome) {
            return fail(outcome.error());
        }
        if (outcome->applied) {
            for (std::size_t i = 0; i < work.size(); ++i) {
                _owned[work[i].partition] = f.parts[i].next;
                _logs.at(work[i].partition).keep(f.parts[i].requests);
            }
            if (replay) {
                // The replayed batch went on its own. Its partition is read again from the
                // store (more to replay, or nothing), and the rest of this poll is built next:
                // its records past the replay, and the other partitions' (new dead letters).
                if (outcome->pending) {
                    f.applied.applied = r.applied;
                    f.applied.event_times = std::move(r.event_times);
                    _in_flight = std::move(f);
                    _current = 1 - _current;
                    if (auto ok = settle(out, dropped); !ok) {
                        return fail(ok.error());
                    }
                } else {
                    out.add_applied(r);
                }
                if (auto ok = reload(*replay); !ok) {
                    return fail(ok.error());
                }
                dead_letters_written = false;
                continue;
            }
            out.stale.insert(out.stale.end(), dropped.begin(), dropped.end());
            if (outcome->pending) {
                f.applied.applied = r.applied;
                f.applied.event_times = std::move(r.event_times);
                _in_flight = std::move(f);
                _current = 1 - _current;  // the next batch builds in the other buffer
            } else {
                out.add_applied(r);
            }
            return out;
        }
        _store.forget_owned();  // another worker wrote the stale partitions' users
        for (auto i : outcome->stale) {
            const int p = work[i].partition;
            dropped.push_back(p);  // reload and re-seek; rebuild the batch without it
            if (auto ok = reload(p); !ok) {
                return fail(ok.error());
            }
        }
        if (outcome->stale.empty()) {
            return fail(error_code::internal,
                        "online store refused a commit without naming a stale partition");
        }
    }
}

}  // namespace adsx::features
