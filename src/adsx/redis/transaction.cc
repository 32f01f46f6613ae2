#include "adsx/redis/transaction.h"

#include "adsx/redis/key_write.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {

namespace {

using features::key_kind;

// A key's update in either container of keys: the batch's own, or a shard's named pointers.
const features::key_update& update_of(const features::key_update& u)
{
    return u;
}
const features::key_update& update_of(const features::key_update* u)
{
    return *u;
}

std::string tagged(std::string_view tag, std::string_view name);

// Step 2's encoding: the keys in step 1's order, then the partitions' request logs and
// offsets, sent in parts as they grow.
class write_encoder
{
public:
    write_encoder(resp_writer& out, part_sink& sink, const std::vector<reply>& read,
                  std::size_t first_key_reply, key_cache& cache, const transaction_settings& s,
                  const shard_scope& scope)
      : _out(out), _sink(sink), _read(read), _r(first_key_reply), _cache(cache), _s(s),
        _scope(scope)
    {
    }

    // A key written from its HMGET reply (not remembered).
    void read_key(const std::string& name, const features::key_update& u)
    {
        thread_local held_values held;
        held_from_reply(_read.at(_r++), held);
        (void)write_key(_out, name, u, held, _s.ttl_s, false, nullptr);
        part_done();
    }
    void remembered_key(key_kind kind, const std::string& name, const features::key_update& u);
    template <class Keys>
    void withdrawn(const Keys& users, std::size_t count);
    void request_logs(const std::vector<features::partition_commit>& partitions);
    void offsets(const std::vector<features::partition_commit>& partitions);
    [[nodiscard]] result<std::size_t> finish();

private:
    void part_done();
    [[nodiscard]] std::string tagged(std::string_view name) const
    {
        return redis::tagged(_scope.tag, name);
    }

    resp_writer& _out;
    part_sink& _sink;
    const std::vector<reply>& _read;
    std::size_t _r;  // the next key's reply in _read
    key_cache& _cache;
    const transaction_settings& _s;
    const shard_scope& _scope;
    std::string _scratch;
    std::size_t _sent = 0;  // commands of the parts sent
    std::optional<error> _broken;
};

std::string tagged(std::string_view tag, std::string_view name)
{
    std::string out(tag);
    out += name;
    return out;
}

// Once the encoded part is large enough, it goes (unless a part already failed).
void write_encoder::part_done()
{
    if (_out.str().size() < _s.part_bytes || _broken) {
        return;
    }
    if (auto ok = _sink.send(_out); !ok) {
        _broken = ok.error();
        return;
    }
    _sent += _out.commands();
    _out.clear();
}

// A key the cache remembers, or read whole to be remembered: its entry is updated where it is,
// as the write leaves the key (key_cache.h says when that is kept).
void write_encoder::remembered_key(key_kind kind, const std::string& name,
                                   const features::key_update& u)
{
    thread_local held_values held;
    thread_local std::vector<std::optional<std::uint32_t>> held_at;  // held's fields in the entry
    bool refresh = false;
    cached_key* entry = _cache.next_remembered(kind);
    if (entry) {
        refresh = _cache.ttl_due(*entry);
    } else {
        entry = &_cache.remember(kind, name, _read.at(_r++));
        refresh = true;  // its TTL is unknown: set it, so that it is known
    }
    held.clear();
    held_at.clear();
    each_read_field(u, _scratch, [&](std::string_view f) {
        const auto at = entry->fields.position(f);
        held.emplace_back(at ? std::optional<std::string_view>(entry->fields.value(*at))
                             : std::nullopt);
        held_at.push_back(at);
    });
    cached_fields fields{entry->fields, held_at, entry->campaigns};
    if (write_key(_out, name, u, held, _s.ttl_s, refresh, &fields)) {
        _cache.ttl_set(*entry);
    }
    part_done();
}

// Users whose consent no longer allows personalisation: their keys go (one UNLINK: deleting a
// key that is not there costs Redis a lookup), and the cache forgets them.
template <class Keys>
void write_encoder::withdrawn(const Keys& users, std::size_t count)
{
    if (count == 0) {
        return;
    }
    _out.begin(1 + count);
    _out.arg("UNLINK");
    for (const auto& [name, u] : users) {
        if (update_of(u).withdrawn) {
            _out.arg(name);
            _cache.forget_user(name);
        }
    }
    part_done();
}

// Each bucket's new fingerprints appended (its TTL refreshed), the buckets the watermark left
// behind unlinked.
void write_encoder::request_logs(const std::vector<features::partition_commit>& partitions)
{
    for (const auto& p : partitions) {
        for (const auto& a : p.requests.appends) {
            const auto key = tagged(request_log_key(p.partition_id, a.kind, a.bucket));
            _out.begin(3);
            _out.arg("APPEND");
            _out.arg(key);
            _out.arg(a.bytes);
            _out.begin(3);
            _out.arg("EXPIRE");
            _out.arg(key);
            _out.arg(_s.ttl_s);
        }
        if (!p.requests.deletes.empty()) {
            _out.begin(1 + p.requests.deletes.size());
            _out.arg("UNLINK");
            for (const auto& d : p.requests.deletes) {
                _out.arg(tagged(request_log_key(p.partition_id, d.kind, d.bucket)));
            }
        }
    }
}

void write_encoder::offsets(const std::vector<features::partition_commit>& partitions)
{
    for (const auto& p : partitions) {
        _out.begin(6);
        _out.arg("HSET");
        _out.arg(tagged(offset_key(p.partition_id)));
        _out.arg(offset_next_field);
        _out.arg(p.next.next_offset);
        _out.arg(offset_watermark_field);
        _out.arg(p.next.max_event_time);
    }
}

result<std::size_t> write_encoder::finish()
{
    if (_scope.entities) {
        _out.begin(2);
        _out.arg("INCR");  // last: its reply is the shared writes' version this commit makes
        _out.arg(tagged(shared_writes_key));
    }
    _out.begin(1);
    _out.arg("EXEC");
    if (_broken) {
        return fail(*_broken);
    }
    if (auto ok = _sink.send(_out); !ok) {
        return fail(ok.error());
    }
    return _sent + _out.commands();
}

}  // namespace

namespace {

template <class Keys>
void encode_read_keys(resp_writer& out, const std::vector<features::partition_commit>& partitions,
                      const Keys& shared, const Keys& users, key_cache& cache, std::string& scratch,
                      const shard_scope& scope)
{
    out.clear();
    out.begin(1 + partitions.size() + (scope.entities ? 2 : 0));
    out.arg("WATCH");
    for (const auto& p : partitions) {
        out.arg(tagged(scope.tag, offset_key(p.partition_id)));
    }
    if (scope.entities) {
        out.arg(tagged(scope.tag, shared_writes_key));
        out.arg(tagged(scope.tag, user_epoch_key));
    }
    for (const auto& p : partitions) {
        out.begin(scope.claims ? 5 : 4);
        out.arg("HMGET");
        out.arg(tagged(scope.tag, offset_key(p.partition_id)));
        out.arg(offset_next_field);
        out.arg(offset_watermark_field);
        if (scope.claims) {
            out.arg(offset_claim_field);
        }
    }
    if (cache.enabled()) {
        out.begin(3);
        out.arg("MGET");
        out.arg(tagged(scope.tag, user_epoch_key));
        out.arg(tagged(scope.tag, shared_writes_key));
    }
    auto whole = [&](key_kind kind, const std::string& name) {
        if (!cache.remembered(kind, name)) {
            out.begin(2);
            out.arg("HGETALL");
            out.arg(name);
        }
    };
    for (const auto& [name, u] : shared) {
        if (cache.shared_from_memory()) {
            whole(key_kind::shared, name);
        } else {
            read_key(out, name, update_of(u), scratch);
        }
    }
    for (const auto& [name, u] : users) {
        if (!update_of(u).withdrawn) {
            whole(key_kind::user, name);  // pruning needs each campaign's newest
        }
    }
}

template <class Keys>
result<std::size_t> encode_write_keys(resp_writer& out, part_sink& sink,
                                      const std::vector<features::partition_commit>& partitions,
                                      const Keys& shared, const Keys& users,
                                      const std::vector<reply>& read, key_cache& cache,
                                      const transaction_settings& s, const shard_scope& scope)
{
    const auto first_key_reply = 1 + partitions.size() + (cache.enabled() ? 1 : 0);
    write_encoder w(out, sink, read, first_key_reply, cache, s, scope);
    out.clear();
    out.begin(1);
    out.arg("MULTI");
    cache.begin_write(!shared.empty());
    for (const auto& [name, u] : shared) {
        if (cache.shared_from_memory()) {
            w.remembered_key(key_kind::shared, name, update_of(u));
        } else {
            w.read_key(name, update_of(u));
        }
    }
    std::size_t withdrawn = 0;
    for (const auto& [name, u] : users) {
        if (update_of(u).withdrawn) {
            ++withdrawn;
        } else {
            w.remembered_key(key_kind::user, name, update_of(u));  // in encode_read's order
        }
    }
    w.withdrawn(users, withdrawn);
    if (scope.request_logs) {
        w.request_logs(partitions);
    }
    w.offsets(partitions);
    return w.finish();
}

}  // namespace

void encode_read(resp_writer& out, const std::vector<features::partition_commit>& partitions,
                 const features::batch_update& batch, key_cache& cache, std::string& scratch)
{
    encode_read_keys(out, partitions, batch.shared_keys(), batch.user_keys(), cache, scratch, {});
}

void encode_read(resp_writer& out, const std::vector<features::partition_commit>& partitions,
                 const shard_keys& keys, key_cache& cache, std::string& scratch,
                 const shard_scope& scope)
{
    encode_read_keys(out, partitions, keys.shared, keys.users, cache, scratch, scope);
}

cache_versions versions_read(const std::vector<reply>& read, std::size_t partitions)
{
    const auto& got = read.at(1 + partitions).elements;
    cache_versions v;
    if (got.at(0).type == reply::kind::string) {
        v.user_epoch = got[0].str;
    }
    v.shared_writes = got.at(1).type == reply::kind::string ? stored_int(got[1].str, -1) : 0;
    return v;
}

std::vector<std::size_t> stale_partitions(const std::vector<features::partition_commit>& partitions,
                                          const std::vector<reply>& read)
{
    std::vector<std::size_t> stale;
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        const auto& next = read[1 + i].elements.at(0);
        const auto stored = next.type == reply::kind::string ? stored_int(next.str, -2) : -1;
        if (stored != partitions[i].expected.next_offset) {
            stale.push_back(i);
        }
    }
    return stale;
}

result<std::size_t> encode_write(resp_writer& out, part_sink& sink,
                                 const std::vector<features::partition_commit>& partitions,
                                 const features::batch_update& batch,
                                 const std::vector<reply>& read, key_cache& cache,
                                 const transaction_settings& s)
{
    return encode_write_keys(out, sink, partitions, batch.shared_keys(), batch.user_keys(), read,
                             cache, s, {});
}

result<std::size_t> encode_write(resp_writer& out, part_sink& sink,
                                 const std::vector<features::partition_commit>& partitions,
                                 const shard_keys& keys, const std::vector<reply>& read,
                                 key_cache& cache, const transaction_settings& s,
                                 const shard_scope& scope)
{
    return encode_write_keys(out, sink, partitions, keys.shared, keys.users, read, cache, s, scope);
}

std::optional<std::int64_t> shared_writes_after(const reply& exec)
{
    if (!exec.elements.empty() && exec.elements.back().type == reply::kind::integer) {
        return exec.elements.back().integer;
    }
    return std::nullopt;
}

}  // namespace adsx::redis
