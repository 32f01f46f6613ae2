#include "adsx/redis/online_store.h"

#include <charconv>
#include <map>

#include <fmt/format.h>

namespace adsx::redis {

namespace {

constexpr int max_attempts = 20;
constexpr std::string_view shared_writes_key = "adsx:stream:shared-writes";
constexpr std::int64_t hour_ms = 3'600'000;

std::int64_t to_int(const std::string& s, std::int64_t otherwise)
{
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && end == s.data() + s.size() ? v : otherwise;
}

void read_fields(resp_writer& w, const features::key_updates& keys, std::string& scratch)
{
    for (const auto& [name, u] : keys) {
        const auto campaigns = u.campaigns.empty() ? 0 : 1 + u.campaigns.size();
        w.begin(2 + u.tiles.size() + u.maxes.size() + campaigns);
        w.arg("HMGET");
        w.arg(name);
        for (const auto& t : u.tiles) {
            w.arg(t.field);
        }
        for (const auto& m : u.maxes) {
            w.arg(m.field);
        }
        if (campaigns > 0) {
            w.arg("cs");
            for (const auto& c : u.campaigns) {
                scratch = features::campaign_field(c.first);
                w.arg(scratch);
            }
        }
    }
}

// HSET of what each key's updates change in what was read (the tile-ring rule, keep-max and
// the user × campaign merge), and an EXPIRE for a key whose `asof` enters a new event-time
// hour (or that is new): a key's TTL is refreshed at least hourly while it is active, so it
// expires between ttl − 1 h and ttl after its last event, for a command per key and batch
// less. Campaigns a user has left for 2 × ttl are deleted from the hash (HDEL). `r` walks the
// read replies in the order read_fields sent them.
void write_fields(resp_writer& w, const features::key_updates& keys, const std::vector<reply>& read,
                  std::size_t& r, std::int64_t ttl)
{
    struct change
    {
        std::string_view field;
        bool is_tile;
        features::tile_value tile;
        std::int64_t value;
    };
    thread_local std::vector<change> changed;
    thread_local std::vector<std::pair<std::string, std::string>> packed;  // field, value
    thread_local std::string text;
    const auto ttl_ms = ttl * 1000;
    for (const auto& [name, u] : keys) {
        const auto& held = read.at(r++).elements;
        changed.clear();
        packed.clear();
        std::size_t f = 0;
        for (const auto& t : u.tiles) {
            const auto& h = held.at(f++);
            std::optional<features::tile_value> stored;
            if (h.type == reply::kind::string) {
                stored = features::parse_tile(h.str);
            }
            if (auto m = features::merge_tile(stored, t.tile, t.delta)) {
                changed.push_back({t.field, true, *m, 0});
            }
        }
        bool refresh_ttl = true;
        std::int64_t newest = 0;
        for (const auto& m : u.maxes) {
            const auto& h = held.at(f++);
            const auto stored = h.type == reply::kind::string ? to_int(h.str, -1) : -1;
            if (stored < m.value) {
                changed.push_back({m.field, false, {}, m.value});
            }
            if (m.field == "asof") {
                newest = std::max(stored, m.value);
                if (stored >= 0 && stored / hour_ms == m.value / hour_ms) {
                    refresh_ttl = false;  // refreshed by the write that moved asof into this hour
                }
            }
        }
        std::vector<std::uint32_t> gone;
        if (!u.campaigns.empty()) {
            const auto& h = held.at(f++);
            auto index = h.type == reply::kind::string ? features::parse_campaign_index(h.str)
                                                       : features::campaign_index{};
            if (!index) {
                index.emplace();  // unreadable: rebuilt from the campaigns written from now on
            }
            for (const auto& [campaign, delta] : u.campaigns) {
                const auto& c = held.at(f++);
                std::optional<features::user_campaign> state;
                if (c.type == reply::kind::string) {
                    state = features::parse_user_campaign(c.str);
                }
                if (!state) {
                    state.emplace();
                }
                features::merge(*state, delta, ttl_ms);
                features::touch(*index, campaign, state->newest());
                packed.emplace_back(features::campaign_field(campaign),
                                    features::format_user_campaign(*state));
            }
            gone = features::prune(*index, newest, ttl_ms);
            packed.emplace_back("cs", features::format_campaign_index(*index));
        }
        if (!changed.empty() || !packed.empty()) {
            w.begin(2 + 2 * (changed.size() + packed.size()));
            w.arg("HSET");
            w.arg(name);
            for (const auto& c : changed) {
                w.arg(c.field);
                if (c.is_tile) {
                    text.clear();
                    features::append_tile(text, c.tile);
                    w.arg(text);
                } else {
                    w.arg(c.value);
                }
            }
            for (const auto& [field, value] : packed) {
                w.arg(field);
                w.arg(value);
            }
        }
        if (!gone.empty()) {
            w.begin(2 + gone.size());
            w.arg("HDEL");
            w.arg(name);
            for (auto c : gone) {
                w.arg(features::campaign_field(c));
            }
        }
        if (refresh_ttl) {
            w.begin(3);
            w.arg("EXPIRE");
            w.arg(name);
            w.arg(ttl);
        }
    }
}

}  // namespace

std::string offset_key(const std::string& partition_id)
{
    return "off:" + partition_id;
}

std::string request_set_key(std::string_view prefix, int partition, std::int64_t day)
{
    return fmt::format("{}{}:{}", prefix, partition, day);
}

namespace {

std::string_view bytes_of(const events::uuid& id)
{
    return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()};
}

}  // namespace

result<online_store> online_store::open(const std::string& host, int port, online_store_settings s)
{
    auto c = connection::open(host, port, std::chrono::seconds(10));
    if (!c) {
        return fail(c.error());
    }
    return online_store(std::move(*c), s);
}

result<features::partition_state> online_store::load(const std::string& partition_id)
{
    if (auto ok = idle(); !ok) {
        return fail(ok.error());
    }
    auto r = _conn.command({"HMGET", offset_key(partition_id), "next", "wm"});
    if (!r) {
        return fail(r.error());
    }
    features::partition_state st;
    if (r->elements.size() == 2 && r->elements[0].type == reply::kind::string) {
        st.next_offset = std::stoll(r->elements[0].str);
        st.max_event_time = std::stoll(r->elements[1].str);
    }
    return st;
}

result<std::vector<bool>> online_store::known_requests(
    const std::vector<features::request_ref>& followups)
{
    if (auto ok = idle(); !ok) {
        return fail(ok.error());
    }
    // Each follow-up is looked for in the day sets its impression may be in: from the day of
    // (its time − the request window) to its own day.
    const auto window_ms = static_cast<std::int64_t>(_s.request_ttl.count()) * 1000;
    std::map<std::pair<int, std::int64_t>, std::vector<std::size_t>> sets;
    for (std::size_t i = 0; i < followups.size(); ++i) {
        const auto& f = followups[i];
        for (auto day = (f.event_time_ms - window_ms) / features::day_ms;
             day <= f.event_time_ms / features::day_ms; ++day) {
            sets[{f.partition, day}].push_back(i);
        }
    }
    std::vector<bool> known(followups.size(), false);
    if (sets.empty()) {
        return known;
    }
    resp_writer out;
    for (const auto& [set, members] : sets) {
        out.begin(2 + members.size());
        out.arg("SMISMEMBER");
        out.arg(request_set_key(_s.requests_prefix, set.first, set.second));
        for (auto i : members) {
            out.arg(bytes_of(followups[i].id));
        }
    }
    std::vector<reply> replies;
    if (auto ok = _conn.pipeline(out, replies); !ok) {
        return fail(ok.error().wrap("looking up impression request ids"));
    }
    std::size_t r = 0;
    for (const auto& [set, members] : sets) {
        const auto& found = replies.at(r++);
        if (found.type == reply::kind::error) {
            return fail(error_code::internal, "SMISMEMBER: " + found.str);
        }
        for (std::size_t k = 0; k < members.size(); ++k) {
            if (found.elements.at(k).integer == 1) {
                known[members[k]] = true;
            }
        }
    }
    return known;
}

result<void> online_store::idle() const
{
    if (_in_flight > 0) {
        return fail(error_code::internal,
                    "online store used with a write in flight (settle first)");
    }
    return {};
}

result<features::commit_outcome> online_store::commit(
    const std::vector<features::partition_commit>& partitions, const features::batch_update& batch,
    bool pipelined)
{
    if (auto ok = idle(); !ok) {
        return fail(ok.error());
    }
    const auto& shared = batch.shared_keys();
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        // Step 1: watch the offsets and the shared writes' counter; read the offsets and the
        // fields this batch merges into.
        _out.clear();
        _out.begin(2 + partitions.size());
        _out.arg("WATCH");
        for (const auto& p : partitions) {
            _out.arg(offset_key(p.partition_id));
        }
        _out.arg(shared_writes_key);
        for (const auto& p : partitions) {
            _out.begin(4);
            _out.arg("HMGET");
            _out.arg(offset_key(p.partition_id));
            _out.arg("next");
            _out.arg("wm");
        }
        read_fields(_out, shared, _scratch);
        read_fields(_out, batch.user_keys(), _scratch);
        if (auto ok = _conn.pipeline(_out, _read); !ok) {
            return fail(ok.error().wrap("reading for a commit"));
        }
        features::commit_outcome outcome;
        for (std::size_t i = 0; i < partitions.size(); ++i) {
            const auto& next = _read[1 + i].elements.at(0);
            const auto stored = next.type == reply::kind::string ? to_int(next.str, -2) : -1;
            if (stored != partitions[i].expected.next_offset) {
                outcome.stale.push_back(i);
            }
        }
        if (!outcome.stale.empty()) {
            if (auto r = _conn.command({"UNWATCH"}); !r) {
                return fail(r.error());
            }
            return outcome;
        }
        write(partitions, batch, _read);
        if (auto ok = _conn.send(_out); !ok) {
            return fail(ok.error().wrap("committing a batch"));
        }
        if (pipelined) {
            _in_flight = _out.commands();
            outcome.applied = true;
            outcome.pending = true;
            return outcome;
        }
        auto applied = written(_out.commands());
        if (!applied) {
            return fail(applied.error());
        }
        if (*applied) {
            outcome.applied = true;
            return outcome;
        }
        // Another worker wrote a shared key (or took a partition) between the read and EXEC:
        // nothing was applied; read again.
    }
    return fail(error_code::unavailable,
                fmt::format("commit of {} partitions conflicted {} times in a row with another "
                            "writer of the same keys",
                            partitions.size(), max_attempts));
}

result<bool> online_store::settle()
{
    if (_in_flight == 0) {
        return true;
    }
    const auto n = _in_flight;
    _in_flight = 0;
    return written(n);
}

void online_store::write(const std::vector<features::partition_commit>& partitions,
                         const features::batch_update& batch, const std::vector<reply>& read)
{
    const auto ttl = static_cast<std::int64_t>(_s.ttl.count());
    _out.clear();
    _out.begin(1);
    _out.arg("MULTI");
    std::size_t r = 1 + partitions.size();
    write_fields(_out, batch.shared_keys(), read, r, ttl);
    write_fields(_out, batch.user_keys(), read, r, ttl);
    // Request ids: one SADD per partition and day, and its set's TTL (a day set is written
    // until its day ends, then must answer clicks for the request window: day + window).
    _sets.clear();
    for (std::size_t i = 0; i < batch.requests().size(); ++i) {
        const auto& q = batch.requests()[i];
        _sets[{q.partition, q.event_time_ms / features::day_ms}].push_back(i);
    }
    const auto set_ttl =
        static_cast<std::int64_t>(_s.request_ttl.count()) + features::day_ms / 1000;
    for (const auto& [set, members] : _sets) {
        const auto key = request_set_key(_s.requests_prefix, set.first, set.second);
        _out.begin(2 + members.size());
        _out.arg("SADD");
        _out.arg(key);
        for (auto i : members) {
            _out.arg(bytes_of(batch.requests()[i].id));
        }
        _out.begin(3);
        _out.arg("EXPIRE");
        _out.arg(key);
        _out.arg(set_ttl);
    }
    for (const auto& p : partitions) {
        _out.begin(6);
        _out.arg("HSET");
        _out.arg(offset_key(p.partition_id));
        _out.arg("next");
        _out.arg(p.next.next_offset);
        _out.arg("wm");
        _out.arg(p.next.max_event_time);
    }
    _out.begin(2);
    _out.arg("INCR");
    _out.arg(shared_writes_key);
    _out.begin(1);
    _out.arg("EXEC");
}

result<bool> online_store::written(std::size_t commands)
{
    if (auto ok = _conn.receive(commands, _written); !ok) {
        return fail(ok.error().wrap("committing a batch"));
    }
    const auto& exec = _written.back();
    if (exec.type == reply::kind::nil) {
        return false;
    }
    for (const auto& e : exec.elements) {
        if (e.type == reply::kind::error) {
            // Redis transactions do not roll back: say loudly that this batch is partial.
            return fail(error_code::internal,
                        "a command of a committed batch failed (the batch is partially applied, "
                        "its offset advanced): " +
                            e.str);
        }
    }
    return true;
}

}  // namespace adsx::redis
