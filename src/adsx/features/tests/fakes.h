#pragma once
// Fakes of the features module's ports for its unit tests: an in-memory stream_store with
// Redis's compare-and-set semantics, a dead-letter sink, a consumer serving scripted polls, and
// an observer recording what it is told. Each counts its calls and can inject faults.
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"
#include "adsx/features/consumer.h"
#include "adsx/features/engine.h"
#include "adsx/features/stream_store.h"
#include "adsx/features/stream_worker.h"

namespace adsx::features {

// An in-memory store with the real compare-and-set semantics; counts what it was asked.
class fake_store : public stream_store
{
public:
    std::map<std::string, partition_state> offsets;
    std::map<std::tuple<std::string, follow_kind, std::int64_t>, std::string> logs;  // buckets
    int log_reads = 0;                                         // load_requests() calls
    std::vector<std::pair<std::size_t, std::size_t>> commits;  // partitions, events
    std::map<std::string, counts> minute_totals;               // key -> summed deltas
    std::set<std::string> users;                               // user keys held

    std::optional<error> load_error;  // load() fails with it
    result<partition_state> load(const std::string& id) override
    {
        EXPECT_FALSE(held) << "a read with a write in flight";
        if (load_error) {
            return fail(*load_error);
        }
        return offsets[id];
    }
    result<std::vector<std::string>> load_requests(const std::string& id, follow_kind k,
                                                   std::int64_t first, std::int64_t last) override
    {
        EXPECT_FALSE(held) << "a read with a write in flight";
        ++log_reads;
        std::vector<std::string> out;
        for (auto b = first; b <= last; ++b) {
            auto it = logs.find({id, k, b});
            out.push_back(it == logs.end() ? std::string{} : it->second);
        }
        return out;
    }
    // Pipelined mode: a commit is only checked and held; settle() applies it, or refuses it
    // (`refuse` times, as Redis's EXEC does when a watched key changed). Applying the held
    // batch at settle() also checks that the engine left it untouched meanwhile.
    bool pipelined = false;
    int refuse = 0;
    std::optional<std::pair<std::vector<partition_commit>, const batch_update*>> held;

    int forgotten = 0;  // forget_owned() calls
    void forget_owned() override
    {
        EXPECT_FALSE(held) << "forgetting with a write in flight";
        ++forgotten;
    }
    cache_counts user_cache, shared_cache;  // what key_cache() reports
    cache_counts key_cache(key_kind k) const override
    {
        return k == key_kind::user ? user_cache : shared_cache;
    }
    std::function<void()> on_commit, on_settle;  // run inside commit() and settle()
    result<bool> settle() override
    {
        if (on_settle) {
            on_settle();
        }
        if (!held) {
            return true;
        }
        auto [parts, b] = *std::exchange(held, std::nullopt);
        if (refuse > 0) {
            --refuse;
            return false;
        }
        apply(parts, *b);
        return true;
    }
    result<commit_outcome> commit(const std::vector<partition_commit>& parts, const batch_update& b,
                                  bool may_pipeline) override
    {
        EXPECT_FALSE(held) << "a commit with a write in flight";
        if (on_commit) {
            on_commit();
        }
        commit_outcome out;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (offsets[parts[i].partition_id].next_offset != parts[i].expected.next_offset) {
                out.stale.push_back(i);
            }
        }
        if (!out.stale.empty()) {
            return out;
        }
        out.applied = true;
        if (pipelined && may_pipeline) {
            held.emplace(parts, &b);
            out.pending = true;
            return out;
        }
        apply(parts, b);
        return out;
    }
    void apply(const std::vector<partition_commit>& parts, const batch_update& b)
    {
        for (const auto& p : parts) {
            offsets[p.partition_id] = p.next;
            for (const auto& a : p.requests.appends) {
                logs[{p.partition_id, a.kind, a.bucket}] += a.bytes;
            }
            for (const auto& d : p.requests.deletes) {
                logs.erase({p.partition_id, d.kind, d.bucket});
            }
        }
        for (const auto& [k, u] : b.user_keys()) {
            if (u.withdrawn) {
                users.erase(k);
            } else {
                users.insert(k);
            }
        }
        for (const auto* keys : {&b.shared_keys(), &b.user_keys()}) {
            for (const auto& [k, u] : *keys) {
                for (const auto& t : u.tiles) {
                    if (t.field.starts_with('m')) {
                        minute_totals[k] += t.delta;
                    }
                }
            }
        }
        commits.emplace_back(parts.size(), b.events());
    }
};

class fake_sink : public dead_letter_sink
{
public:
    std::vector<dead_letter> written;
    bool broken = false;
    result<void> write(const std::vector<dead_letter>& r) override
    {
        if (broken) {
            return fail(error_code::unavailable, "dlq down");
        }
        written.insert(written.end(), r.begin(), r.end());
        return {};
    }
};

// A pseudonym as the contract wants it (schemas/ad_event.schema.json).
constexpr std::string_view user = "k1:0123456789abcdef0123456789abcdef";

// Encoded events of `user` (campaign 2, US-CA), and batches of them as a consumer
// delivers them: views into payloads this object keeps.
struct record_maker
{
    std::deque<std::string> payloads;  // keeps message bytes alive (a deque: they do not move)

    std::string json(const char* type, std::int64_t t, int request, int ad = 7,
                     const char* consent = "YES")
    {
        events::event ev;
        ev.event_id.bytes[0] = static_cast<std::uint8_t>(payloads.size());
        ev.type = *events::parse_event_type(type);
        ev.event_time_ms = t;
        ev.user_id = user;
        ev.ad_id = static_cast<std::uint32_t>(ad);
        ev.campaign_id = 2;
        ev.advertiser_id = 1;
        ev.request_id.bytes[15] = static_cast<std::uint8_t>(request);
        ev.geo = "US-CA";
        ev.placement = "feed";
        ev.consent = consent;
        ev.ip = "203.0.113.0";
        ev.user_agent = "x";
        std::string s;
        events::encode(ev, s);
        return s;
    }
    std::vector<raw_message> batch(int partition, std::int64_t first_offset,
                                   std::vector<std::string> values, std::string_view key = user)
    {
        std::vector<raw_message> out;
        for (auto& v : values) {
            payloads.push_back(std::move(v));
        }
        for (std::size_t i = 0; i < values.size(); ++i) {
            out.push_back({partition, first_offset + static_cast<std::int64_t>(i), key,
                           payloads[payloads.size() - values.size() + i]});
        }
        return out;
    }
};

// An engine on the fakes, at `test_now` on a manual clock: ads below 100 are in the catalog,
// consent "YES" allows personalisation, default settings.
inline constexpr std::int64_t test_now = 1'790'000'000'000;

struct engine_fixture : record_maker
{
    manual_clock clock{test_now};
    fake_store store;
    fake_sink sink;
    engine e{store,
             sink,
             [](ad_id ad) { return ad.value < 100; },
             [](std::string_view, std::string_view consent) { return consent == "YES"; },
             clock,
             engine_settings{}};
};

// A member of a consumer group alone in it, in memory: each poll_batch() serves the next
// scripted batch (none left: an empty poll), assigning `partitions` through the listener on the
// first poll (then on_poll runs), revoking them at close(); counts its calls. An empty poll waits
// its timeout on the manual clock, a full one 1 ms.
class fake_consumer final : public consumer
{
public:
    explicit fake_consumer(manual_clock& clock) : _clock(clock) {}

    std::vector<int> partitions{0};  // assigned at the first poll
    std::deque<std::vector<raw_message>> polls;
    watermark_map marks;                    // topic_watermarks()
    std::map<int, std::int64_t> lags;       // lag()
    std::optional<error> poll_error;        // poll_batch() fails with it
    std::function<void(int poll)> on_poll;  // in each poll (1, 2, …), before its batch

    partition_listener* listener = nullptr;
    std::map<int, std::int64_t> started;  // what the listener said each partition starts at
    std::vector<std::pair<int, std::int64_t>> seeks;
    std::vector<std::pair<std::map<int, std::int64_t>, bool>> reports;  // report_offsets()
    int poll_calls = 0, close_calls = 0;
    mutable int lag_calls = 0, watermark_calls = 0;

    void listen(partition_listener* l) override { listener = l; }
    result<void> poll_batch(std::vector<raw_message>& out, std::size_t max,
                            std::chrono::milliseconds timeout,
                            std::chrono::milliseconds /*linger*/) override
    {
        ++poll_calls;
        if (poll_calls == 1) {
            for (int p : partitions) {
                started[p] = listener ? listener->assigned(p) : -1;
            }
        }
        if (on_poll) {
            on_poll(poll_calls);
        }
        if (poll_error) {
            return fail(*poll_error);
        }
        out.clear();
        if (!polls.empty()) {
            out = std::move(polls.front());
            polls.pop_front();
            EXPECT_LE(out.size(), max);
        }
        _clock.advance(out.empty() ? timeout.count() : 1);
        return {};
    }
    result<void> seek(int partition, std::int64_t offset) override
    {
        seeks.emplace_back(partition, offset);
        return {};
    }
    void report_offsets(const std::map<int, std::int64_t>& next, bool wait) override
    {
        reports.emplace_back(next, wait);
    }
    std::map<int, std::int64_t> lag() const override
    {
        ++lag_calls;
        return lags;
    }
    result<watermark_map> topic_watermarks(std::chrono::milliseconds /*timeout*/) const override
    {
        ++watermark_calls;
        return marks;
    }
    void close() override
    {
        ++close_calls;
        if (listener) {
            listener->revoked(partitions);
        }
    }

private:
    manual_clock& _clock;
};

// Records what the worker (or the timed store) reports.
class recording_observer final : public stream_observer
{
public:
    std::vector<batch_result> batches;
    std::vector<std::optional<double>> batch_seconds;
    std::vector<double> commits;
    std::vector<int> reseeks;
    struct progress_seen
    {
        std::map<int, std::int64_t> lag;
        cache_counts users, shared;
        std::size_t applied = 0, dead_lettered = 0;
    };
    std::vector<progress_seen> progress_calls;

    void batch(const batch_result& r, std::optional<double> seconds, std::int64_t) override
    {
        batches.push_back(r);
        batch_seconds.push_back(seconds);
    }
    void commit(double seconds) override { commits.push_back(seconds); }
    void reseek(int partition) override { reseeks.push_back(partition); }
    void progress(const stream_progress& p) override
    {
        progress_calls.push_back(
            {p.lag, p.users, p.shared, p.totals.applied, p.totals.dead_lettered});
    }
};

}  // namespace adsx::features
