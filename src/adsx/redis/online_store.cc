#include "adsx/redis/online_store.h"

#include <charconv>

#include <fmt/format.h>

namespace adsx::redis {

namespace {

constexpr int max_attempts = 20;
constexpr std::int64_t hour_ms = 3'600'000;

std::int64_t to_int(const std::string& s, std::int64_t otherwise)
{
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && end == s.data() + s.size() ? v : otherwise;
}

void read_fields(resp_writer& w, const features::key_updates& keys)
{
    for (const auto& [name, u] : keys) {
        w.begin(2 + u.tiles.size() + u.maxes.size());
        w.arg("HMGET");
        w.arg(name);
        for (const auto& t : u.tiles) {
            w.arg(t.field);
        }
        for (const auto& m : u.maxes) {
            w.arg(m.field);
        }
    }
}

// HSET of what each key's updates change in what was read (the tile-ring rule and keep-max),
// and an EXPIRE for a key whose `asof` enters a new event-time hour (or that is new): a key's
// TTL is refreshed at least hourly while it is active, so it expires between ttl − 1 h and ttl
// after its last event, for a command per key and batch less. `r` walks the read replies in
// the order read_fields sent them.
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
    char buf[96];
    for (const auto& [name, u] : keys) {
        const auto& held = read.at(r++).elements;
        changed.clear();
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
        for (const auto& m : u.maxes) {
            const auto& h = held.at(f++);
            const auto stored = h.type == reply::kind::string ? to_int(h.str, -1) : -1;
            if (stored < m.value) {
                changed.push_back({m.field, false, {}, m.value});
            }
            if (m.field == "asof" && stored >= 0 && stored / hour_ms == m.value / hour_ms) {
                refresh_ttl = false;  // refreshed by the write that moved asof into this hour
            }
        }
        if (!changed.empty()) {
            w.begin(2 + 2 * changed.size());
            w.arg("HSET");
            w.arg(name);
            for (const auto& c : changed) {
                w.arg(c.field);
                if (c.is_tile) {
                    auto end = fmt::format_to_n(buf, sizeof buf, "{}:{}:{}:{}", c.tile.tile,
                                                c.tile.c.impressions, c.tile.c.clicks,
                                                c.tile.c.conversions)
                                   .out;
                    w.arg(std::string_view(buf, static_cast<std::size_t>(end - buf)));
                } else {
                    w.arg(c.value);
                }
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

std::string request_key(const events::uuid& id)
{
    std::string k = "rq:";
    k.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
    return k;
}

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

result<std::vector<bool>> online_store::known_requests(const std::vector<events::uuid>& ids)
{
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(ids.size());
    for (const auto& id : ids) {
        cmds.push_back({"EXISTS", request_key(id)});
    }
    auto replies = _conn.pipeline(cmds);
    if (!replies) {
        return fail(replies.error());
    }
    std::vector<bool> known;
    known.reserve(ids.size());
    for (const auto& r : *replies) {
        known.push_back(r.integer == 1);
    }
    return known;
}

result<features::commit_outcome> online_store::commit(
    const std::vector<features::partition_commit>& partitions, const features::batch_update& batch)
{
    const auto& shared = batch.shared_keys();
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        // Step 1: watch the offsets and the shared keys; read them and the user keys' fields
        // this batch merges into.
        _out.clear();
        _out.begin(1 + partitions.size() + shared.size());
        _out.arg("WATCH");
        for (const auto& p : partitions) {
            _out.arg(offset_key(p.partition_id));
        }
        for (const auto& [name, u] : shared) {
            _out.arg(name);
        }
        for (const auto& p : partitions) {
            _out.begin(4);
            _out.arg("HMGET");
            _out.arg(offset_key(p.partition_id));
            _out.arg("next");
            _out.arg("wm");
        }
        read_fields(_out, shared);
        read_fields(_out, batch.user_keys());
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
        auto applied = write(partitions, batch, _read);
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

result<bool> online_store::write(const std::vector<features::partition_commit>& partitions,
                                 const features::batch_update& batch,
                                 const std::vector<reply>& read)
{
    const auto ttl = static_cast<std::int64_t>(_s.ttl.count());
    _out.clear();
    _out.begin(1);
    _out.arg("MULTI");
    std::size_t r = 1 + partitions.size();
    write_fields(_out, batch.shared_keys(), read, r, ttl);
    write_fields(_out, batch.user_keys(), read, r, ttl);
    for (const auto& id : batch.requests()) {
        _out.begin(5);
        _out.arg("SET");
        _out.arg(request_key(id));
        _out.arg("1");
        _out.arg("EX");
        _out.arg(static_cast<std::int64_t>(_s.request_ttl.count()));
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
    _out.begin(1);
    _out.arg("EXEC");
    if (auto ok = _conn.pipeline(_out, _written); !ok) {
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
