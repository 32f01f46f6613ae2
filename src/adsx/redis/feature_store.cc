#include "adsx/redis/feature_store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/base/time.h"

namespace adsx::redis {

namespace {

constexpr int max_attempts = 20;
constexpr std::string_view shared_writes_key = store_layout::keys_shared_writes;

std::int64_t to_int(std::string_view s, std::int64_t otherwise)
{
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && end == s.data() + s.size() ? v : otherwise;
}

// Calls f(field) for each field a key's update merges into, in the order write_key expects
// their stored values: tiles and keep-max fields (ads, campaigns), or `own`, the tile blocks'
// and the campaigns' fields (users).
template <typename F>
void each_read_field(const features::key_update& u, std::string& scratch, F&& f)
{
    for (const auto& t : u.tiles) {
        f(std::string_view(t.field));
    }
    for (const auto& m : u.maxes) {
        f(std::string_view(m.field));
    }
    if (u.is_user()) {
        f(features::own_field);
        for (const auto& b : u.blocks) {
            f(std::string_view(b.field));
        }
        for (const auto& c : u.campaigns) {
            scratch = features::campaign_field(c.first);
            f(std::string_view(scratch));
        }
    }
}

std::size_t read_field_count(const features::key_update& u)
{
    return u.tiles.size() + u.maxes.size() +
           (u.is_user() ? 1 + u.blocks.size() + u.campaigns.size() : 0);
}

void read_key(resp_writer& w, const std::string& name, const features::key_update& u,
              std::string& scratch)
{
    w.begin(2 + read_field_count(u));
    w.arg("HMGET");
    w.arg(name);
    each_read_field(u, scratch, [&](std::string_view f) { w.arg(f); });
}

// The stored values of the fields each_read_field names, in its order (none: no such field).
using held_values = std::vector<std::optional<std::string_view>>;

void held_from_reply(const reply& r, held_values& held)
{
    held.clear();
    for (const auto& e : r.elements) {
        held.emplace_back(e.type == reply::kind::string ? std::optional<std::string_view>(e.str)
                                                        : std::nullopt);
    }
}

// A remembered key's fields, where each_read_field's fields are in them (none: absent), and a
// user's campaign index.
struct cached_fields
{
    field_list& fields;
    const std::vector<std::optional<std::uint32_t>>& at;
    features::campaign_index& campaigns;
};

// One key's write: HSET of what its update changes in the stored values `held` (the tile-ring
// rule, keep-max and the user × campaign merge), and an EXPIRE when the key's `asof` enters a
// new event-time hour, or it is new, or `refresh` says so: a key's TTL is refreshed at least
// hourly while it is active, so it expires between ttl − 1 h and ttl after its last event, for
// a command per key and batch less. Campaigns a user has left for 2 × ttl are deleted from the
// hash (HDEL). `cache`, when given, gets the same changes (a remembered key), its campaign
// index included (touch, prune; users are always remembered, if only for one commit).
// Returns whether an EXPIRE was sent.
bool write_key(resp_writer& w, const std::string& name, const features::key_update& u,
               const held_values& held, std::int64_t ttl, bool refresh, cached_fields* cache)
{
    struct change
    {
        std::size_t read;  // its place in held
        std::string_view field;
        bool is_tile;
        features::tile_value tile;
        std::int64_t value;
    };
    struct packed_field
    {
        std::size_t read;
        std::string field;
        std::string value;
    };
    thread_local std::vector<change> changed;
    thread_local std::vector<packed_field> packed;
    thread_local std::string text;
    const auto ttl_ms = ttl * 1000;
    changed.clear();
    packed.clear();
    std::size_t f = 0;
    for (const auto& t : u.tiles) {
        const auto& h = held.at(f);
        std::optional<features::tile_value> stored;
        if (h) {
            stored = features::parse_tile(*h);
        }
        if (auto m = features::merge_tile(stored, t.tile, t.delta)) {
            changed.push_back({f, t.field, true, *m, 0});
        }
        ++f;
    }
    bool refresh_ttl = true;
    for (const auto& m : u.maxes) {
        const auto& h = held.at(f);
        const auto stored = h ? to_int(*h, -1) : -1;
        if (stored < m.value) {
            changed.push_back({f, m.field, false, {}, m.value});
        }
        ++f;
        if (m.field == "asof") {
            if (stored >= 0 && stored / hour_ms == m.value / hour_ms) {
                refresh_ttl = false;  // refreshed by the write that moved asof into this hour
            }
        }
    }
    std::vector<std::uint32_t> gone;
    if (u.is_user()) {
        const auto own_read = f;
        const auto& h = held.at(f++);
        std::optional<features::user_own> own;
        if (h) {
            own = features::parse_user_own(*h);  // unreadable: rebuilt from now on
        }
        if (!own) {
            own.emplace();
        }
        const auto stored = own->newest();
        features::merge(*own, u.own);
        const auto newest = own->newest();
        if (stored > 0 && stored / hour_ms == newest / hour_ms) {
            refresh_ttl = false;  // refreshed by the write that moved it into this hour
        }
        auto& campaigns = cache->campaigns;
        for (const auto& b : u.blocks) {
            if (auto v = features::merge_block(held.at(f), b)) {
                packed.push_back({f, b.field, std::move(*v)});
            }
            ++f;
        }
        for (const auto& [campaign, delta] : u.campaigns) {
            const auto read = f;
            const auto& c = held.at(f++);
            std::optional<features::user_campaign> state;
            if (c) {
                state = features::parse_user_campaign(*c);
            }
            if (!state) {
                state.emplace();
            }
            features::merge(*state, delta, ttl_ms);
            features::touch(campaigns, campaign, state->newest());
            packed.push_back(
                {read, features::campaign_field(campaign), features::format_user_campaign(*state)});
        }
        gone = features::prune(campaigns, newest, ttl_ms);
        packed.push_back(
            {own_read, std::string(features::own_field), features::format_user_own(*own)});
    }
    refresh_ttl = refresh_ttl || refresh;
    if (!changed.empty() || !packed.empty()) {
        w.begin(2 + 2 * (changed.size() + packed.size()));
        w.arg("HSET");
        w.arg(name);
        for (const auto& c : changed) {
            w.arg(c.field);
            text.clear();
            if (c.is_tile) {
                features::append_tile(text, c.tile);
            } else {
                append_int(text, c.value);
            }
            w.arg(text);
            if (cache) {
                cache->fields.set_at(cache->at[c.read], c.field, text);
            }
        }
        for (const auto& p : packed) {
            w.arg(p.field);
            w.arg(p.value);
            if (cache) {
                cache->fields.set_at(cache->at[p.read], p.field, p.value);
            }
        }
    }
    if (!gone.empty()) {
        w.begin(2 + gone.size());
        w.arg("HDEL");
        w.arg(name);
        for (auto c : gone) {
            const auto field = features::campaign_field(c);
            w.arg(field);
            if (cache) {
                cache->fields.erase(field);  // after the sets: it moves positions
            }
        }
    }
    if (refresh_ttl) {
        w.begin(3);
        w.arg("EXPIRE");
        w.arg(name);
        w.arg(ttl);
    }
    return refresh_ttl;
}

}  // namespace

std::string offset_key(const std::string& partition_id)
{
    return std::string(store_layout::keys_partition_offsets) + partition_id;
}

std::string request_log_key(const std::string& partition_id, features::follow_kind k,
                            std::int64_t bucket)
{
    return fmt::format("{}{}:{}:{}", store_layout::keys_request_log, partition_id,
                       features::kind_tag(k), bucket);
}

result<feature_store> feature_store::open(const std::string& host, int port,
                                          feature_store_settings s, const clock& clock)
{
    auto c = connection::open(host, port, std::chrono::seconds(10));
    if (!c) {
        return fail(c.error());
    }
    return feature_store(std::move(*c), s, clock);
}

result<features::partition_state> feature_store::load(const std::string& partition_id)
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

result<std::vector<std::string>> feature_store::load_requests(const std::string& partition_id,
                                                              features::follow_kind kind,
                                                              std::int64_t first, std::int64_t last)
{
    if (auto ok = idle(); !ok) {
        return fail(ok.error());
    }
    std::vector<std::string> out;
    if (last < first) {
        return out;
    }
    std::vector<std::string> args{"MGET"};
    for (auto b = first; b <= last; ++b) {
        args.push_back(request_log_key(partition_id, kind, b));
    }
    auto r = _conn.command(args);
    if (!r) {
        return fail(r.error().wrap("reading a request log"));
    }
    if (r->type != reply::kind::array || r->elements.size() + 1 != args.size()) {
        return fail(error_code::internal, "MGET of a request log: unexpected reply");
    }
    for (auto& e : r->elements) {
        out.push_back(e.type == reply::kind::string ? std::move(e.str) : std::string{});
    }
    return out;
}

result<void> feature_store::idle() const
{
    if (_in_flight > 0) {
        return fail(error_code::internal,
                    "online store used with a write in flight (settle first)");
    }
    return {};
}

result<features::commit_outcome> feature_store::commit(
    const std::vector<features::partition_commit>& partitions, const features::batch_update& batch,
    bool pipelined)
{
    if (auto ok = idle(); !ok) {
        return fail(ok.error());
    }
    const auto& shared = batch.shared_keys();
    const auto& users = batch.user_keys();
    const bool caching = _s.user_cache > 0;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        // Step 1: watch the offsets, the shared writes' counter and the user epoch; read the
        // offsets (with the cache: the counter and epoch), and what this batch merges into of keys
        // not remembered: users whole (HGETALL), shared keys whole when they are to be remembered,
        // else only the fields merged into (HMGET).
        _now_ms = _clock->now_ms();
        _shared_from_memory = caching && _trust_shared;
        _out.clear();
        _out.begin(3 + partitions.size());
        _out.arg("WATCH");
        for (const auto& p : partitions) {
            _out.arg(offset_key(p.partition_id));
        }
        _out.arg(shared_writes_key);
        _out.arg(user_epoch_key);
        for (const auto& p : partitions) {
            _out.begin(4);
            _out.arg("HMGET");
            _out.arg(offset_key(p.partition_id));
            _out.arg("next");
            _out.arg("wm");
        }
        if (caching) {
            _out.begin(3);
            _out.arg("MGET");
            _out.arg(user_epoch_key);
            _out.arg(shared_writes_key);
        }
        _cached.clear();
        bool shared_remembered = false, users_remembered = false;  // some not read
        for (const auto& [name, u] : shared) {
            if (!_shared_from_memory) {
                read_key(_out, name, u, _scratch);
            } else {
                shared_remembered = read_or_remember(name, _shared, nullptr) || shared_remembered;
            }
        }
        for (const auto& [name, u] : users) {
            // Read whole (HGETALL) unless remembered: pruning needs each campaign's newest.
            users_remembered = read_or_remember(name, _young, &_old) || users_remembered;
        }
        if (auto ok = _conn.pipeline(_out, _read); !ok) {
            return fail(ok.error().wrap("reading for a commit"));
        }
        if (caching) {
            const auto& got = _read.at(1 + partitions.size()).elements;
            std::optional<std::string> epoch;
            if (got.at(0).type == reply::kind::string) {
                epoch = got[0].str;
            }
            const auto version = got.at(1).type == reply::kind::string ? to_int(got[1].str, -1) : 0;
            bool again = false;
            if (epoch != _epoch) {
                // Someone changed user keys behind the stream (or this is the first commit):
                // no user remembered holds; read again with none.
                _young.clear();
                _old.clear();
                _epoch = std::move(epoch);
                again = users_remembered;
            }
            // Shared keys are as this worker left them only if no other commit applied since
            // its last one: every commit increments the counter.
            const bool solo = _shared_version && version == *_shared_version;
            if (!solo) {
                _shared.clear();
                again = again || shared_remembered;
            }
            _trust_shared = solo;
            if (again) {
                if (auto r = _conn.command({"UNWATCH"}); !r) {
                    return fail(r.error());
                }
                --attempt;  // not a conflict
                continue;
            }
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
        if (_between) {
            _between();
        }
        auto sent = write(partitions, batch, _read);
        if (!sent) {
            forget_owned();  // the connection broke mid-transaction
            return fail(sent.error().wrap("committing a batch"));
        }
        if (pipelined) {
            _in_flight = *sent;
            outcome.applied = true;
            outcome.pending = true;
            return outcome;
        }
        auto applied = written(*sent);
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

result<bool> feature_store::settle()
{
    if (_in_flight == 0) {
        return true;
    }
    const auto n = _in_flight;
    _in_flight = 0;
    return written(n);
}

void feature_store::forget_owned()
{
    _cached.clear();  // pointed into the maps
    _young.clear();
    _old.clear();
    _staged.clear();
    _shared.clear();
    _staged_shared.clear();
}

bool feature_store::read_or_remember(const std::string& key, key_map& m, key_map* old)
{
    // An entry is used only while its key surely lives (a minute to spare for the write in
    // flight); the EXPIRE that keeps it alive is sent at least hourly (write()). One past
    // that is dropped here, so that the write finds the key in no map.
    constexpr std::int64_t margin_ms = minute_ms;
    for (auto* map : {&m, old}) {
        if (!map) {
            continue;
        }
        auto it = map->find(key);
        if (it == map->end()) {
            continue;
        }
        if (it->second.lives_until_ms <= _now_ms + margin_ms) {
            map->erase(it);
            break;
        }
        if (map == old) {
            // Back into the young generation (no rotation until the write applied: the
            // entries of this commit must stay where _cached points).
            it = m.insert(old->extract(it)).position;
        }
        _cached.push_back(&it->second);
        return true;
    }
    _cached.push_back(nullptr);
    _out.begin(2);
    _out.arg("HGETALL");
    _out.arg(key);
    return false;
}

void feature_store::forget_written()
{
    for (auto* entry : _cached) {
        if (entry) {
            entry->lives_until_ms = 0;  // past its life: dropped and read again when next met
        }
    }
    _cached.clear();
    _staged.clear();
    _staged_shared.clear();
}

void feature_store::keep_staged()
{
    if (_s.user_cache == 0) {
        _staged.clear();  // read whole again next time
    }
    _cached.clear();  // the write's remembered entries are right as they are
    for (auto& node : _staged) {
        if (_young.size() >= std::max<std::size_t>(_s.user_cache / 2, 1)) {
            _old = std::move(_young);  // the old generation is forgotten
            _young = {};
        }
        _young.insert(std::move(node));  // new: read whole by this write
    }
    _staged.clear();
    if (_shared.size() + _staged_shared.size() > _s.user_cache) {
        _shared.clear();  // a catalog of more ads than the cache holds users: start over
    }
    for (auto& node : _staged_shared) {
        _shared.insert(std::move(node));
    }
    _staged_shared.clear();
}

result<std::size_t> feature_store::write(const std::vector<features::partition_commit>& partitions,
                                         const features::batch_update& batch,
                                         const std::vector<reply>& read)
{
    const auto ttl = static_cast<std::int64_t>(_s.ttl.count());
    const bool caching = _s.user_cache > 0;
    thread_local held_values held;
    thread_local std::vector<std::optional<std::uint32_t>> held_at;  // held's fields in the entry
    _out.clear();
    _out.begin(1);
    _out.arg("MULTI");
    // The transaction goes out in parts while it is encoded: Redis parses and queues one part
    // while the next is encoded, instead of waiting for all of it (nothing applies before EXEC).
    constexpr std::size_t part_bytes = 256 * 1024;
    std::size_t sent = 0;
    std::optional<error> broken;
    auto send_part = [&] {
        if (_out.str().size() < part_bytes || broken) {
            return;
        }
        if (auto ok = _conn.send(_out); !ok) {
            broken = ok.error();
            return;
        }
        sent += _out.commands();
        _out.clear();
    };
    std::size_t r = 1 + partitions.size() + (caching ? 1 : 0);
    std::size_t k = 0;  // into _cached
    // A remembered key's entry is updated where it is, as the write leaves the key: kept when
    // the write applied, marked past its life (read again next time) when it did not
    // (forget_written). A key read whole is remembered only once the write applied (staged).
    auto write_remembered = [&](const std::string& name, const features::key_update& u,
                                std::vector<key_map::node_type>& staged, std::size_t kind) {
        bool refresh = false;
        cached_key* remembered = _cached.at(k++);
        if (remembered) {
            ++_hits.at(kind);
            // The key's TTL was last set at lives_until − ttl: refresh it hourly.
            refresh = _now_ms - (remembered->lives_until_ms - ttl * 1000) >= hour_ms;
        } else {
            ++_misses.at(kind);
            staged.push_back(_spare.extract(_spare.try_emplace(name).first));
            remembered = &staged.back().mapped();
            auto& entry = *remembered;
            const auto& all = read.at(r++).elements;  // HGETALL: field, value, …
            for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
                if (!all[i].str.starts_with(store_layout::fields_batch)) {  // the daily job's
                    entry.fields.add(all[i].str, all[i + 1].str);
                }
            }
            entry.campaigns.clear();
            for (const auto& [field, value] : entry.fields) {
                const auto c = features::campaign_of_field(field);
                const auto newest = c ? features::campaign_newest(value) : std::nullopt;
                if (newest) {  // an unreadable one is rebuilt by its next event
                    entry.campaigns.emplace_back(*c, *newest);
                }
            }
            std::sort(entry.campaigns.begin(), entry.campaigns.end());
            refresh = true;  // its TTL is unknown: set it, so that it is known
        }
        auto& entry = *remembered;
        held.clear();
        held_at.clear();
        each_read_field(u, _scratch, [&](std::string_view f) {
            const auto at = entry.fields.position(f);
            held.emplace_back(at ? std::optional<std::string_view>(entry.fields.value(*at))
                                 : std::nullopt);
            held_at.push_back(at);
        });
        // write_key reads `held` (views into entry.fields) before it changes entry.fields.
        cached_fields cache{entry.fields, held_at, entry.campaigns};
        if (write_key(_out, name, u, held, ttl, refresh, &cache)) {
            entry.lives_until_ms = _now_ms + ttl * 1000;
        }
        send_part();
    };
    _staged.clear();
    _staged_shared.clear();
    if (!_shared_from_memory && !batch.shared_keys().empty()) {
        _shared.clear();  // written without them: what is remembered would fall behind
    }
    for (const auto& [name, u] : batch.shared_keys()) {
        if (_shared_from_memory) {
            write_remembered(name, u, _staged_shared, 1);
        } else {
            held_from_reply(read.at(r++), held);
            (void)write_key(_out, name, u, held, ttl, false, nullptr);
            send_part();
        }
    }
    for (const auto& [name, u] : batch.user_keys()) {
        write_remembered(name, u, _staged, 0);
    }
    // Request logs: each bucket's new fingerprints appended (its TTL refreshed), the buckets
    // the watermark left behind unlinked.
    for (const auto& p : partitions) {
        for (const auto& a : p.requests.appends) {
            const auto key = request_log_key(p.partition_id, a.kind, a.bucket);
            _out.begin(3);
            _out.arg("APPEND");
            _out.arg(key);
            _out.arg(a.bytes);
            _out.begin(3);
            _out.arg("EXPIRE");
            _out.arg(key);
            _out.arg(ttl);
        }
        if (!p.requests.deletes.empty()) {
            _out.begin(1 + p.requests.deletes.size());
            _out.arg("UNLINK");
            for (const auto& d : p.requests.deletes) {
                _out.arg(request_log_key(p.partition_id, d.kind, d.bucket));
            }
        }
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
    _out.arg("INCR");  // last: its reply is the shared writes' version this commit makes
    _out.arg(shared_writes_key);
    _out.begin(1);
    _out.arg("EXEC");
    if (broken) {
        return fail(*broken);
    }
    if (auto ok = _conn.send(_out); !ok) {
        return fail(ok.error());
    }
    return sent + _out.commands();
}

result<bool> feature_store::written(std::size_t commands)
{
    if (auto ok = _conn.receive(commands, _written); !ok) {
        forget_owned();  // whether it applied is unknown
        return fail(ok.error().wrap("committing a batch"));
    }
    const auto& exec = _written.back();
    if (exec.type == reply::kind::nil) {
        forget_written();  // nothing applied: its keys are read again
        return false;
    }
    for (const auto& e : exec.elements) {
        if (e.type == reply::kind::error) {
            forget_owned();
            // Redis transactions do not roll back: say loudly that this batch is partial.
            return fail(error_code::internal,
                        "a command of a committed batch failed (the batch is partially applied, "
                        "its offset advanced): " +
                            e.str);
        }
    }
    if (!exec.elements.empty() && exec.elements.back().type == reply::kind::integer) {
        _shared_version = exec.elements.back().integer;
    }
    keep_staged();
    return true;
}

}  // namespace adsx::redis
