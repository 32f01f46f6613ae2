#include "adsx/redis/feature_store.h"

#include <fmt/format.h>

#include "adsx/redis/cluster_store.h"
#include "adsx/redis/transaction.h"

namespace adsx::redis {

namespace {

constexpr int max_attempts = 20;

}  // namespace

feature_store::feature_store(connection c, feature_store_settings s, const clock& clock)
  : _conn(std::move(c)), _s(s), _clock(&clock), _cache(s.user_cache, to_ms(s.ttl))
{
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
    auto r = _conn.command({"HMGET", offset_key(partition_id), std::string(offset_next_field),
                            std::string(offset_watermark_field)});
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
    return read_request_log(_conn, "", partition_id, kind, first, last);
}

result<void> feature_store::idle() const
{
    if (_in_flight > 0) {
        return fail(error_code::internal,
                    "online store used with a write in flight (settle first)");
    }
    return {};
}

result<void> feature_store::unwatch()
{
    if (auto r = _conn.command({"UNWATCH"}); !r) {
        return fail(r.error());
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
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        auto fresh = read(partitions, batch);
        if (!fresh) {
            return fail(fresh.error());
        }
        if (!*fresh) {
            --attempt;  // not a conflict
            continue;
        }
        features::commit_outcome outcome;
        outcome.stale = stale_partitions(partitions, _read);
        if (!outcome.stale.empty()) {
            if (auto ok = unwatch(); !ok) {
                return fail(ok.error());
            }
            return outcome;
        }
        if (_between) {
            _between();
        }
        auto sent = write(partitions, batch);
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

result<bool> feature_store::read(const std::vector<features::partition_commit>& partitions,
                                 const features::batch_update& batch)
{
    // Watch the offsets, the shared writes' counter and the user epoch; read the offsets (with
    // the cache: the counter and epoch), and what this batch merges into of keys not
    // remembered (transaction.h).
    _cache.begin(_clock->now_ms());
    encode_read(_out, partitions, batch, _cache, _scratch);
    if (auto ok = _conn.pipeline(_out, _read); !ok) {
        return fail(ok.error().wrap("reading for a commit"));
    }
    if (_cache.enabled()) {
        auto v = versions_read(_read, partitions.size());
        if (!_cache.holds(std::move(v.user_epoch), v.shared_writes)) {
            if (auto ok = unwatch(); !ok) {
                return fail(ok.error());
            }
            return false;
        }
    }
    return true;
}

result<std::size_t> feature_store::write(const std::vector<features::partition_commit>& partitions,
                                         const features::batch_update& batch)
{
    connection_sink sink(_conn);
    return encode_write(_out, sink, partitions, batch, _read, _cache,
                        {.ttl_s = static_cast<std::int64_t>(_s.ttl.count())});
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
    _cache.forget_owned();
}

result<bool> feature_store::written(std::size_t commands)
{
    if (auto ok = _conn.receive(commands, _written); !ok) {
        forget_owned();  // whether it applied is unknown
        return fail(ok.error().wrap("committing a batch"));
    }
    const auto& exec = _written.back();
    if (exec.type == reply::kind::nil) {
        _cache.refused();  // nothing applied: its keys are read again
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
    _cache.applied(shared_writes_after(exec));
    return true;
}

result<std::unique_ptr<features::stream_store>> open_stream_store(const config::config& cfg,
                                                                  const clock& clock)
{
    const auto ttl = std::chrono::hours(cfg.stream.ttl_hours);
    if (cfg.redis.mode == "cluster") {
        auto c = cluster_store::open({{cfg.redis.host, cfg.redis.port}}, ttl);
        if (!c) {
            return fail(c.error());
        }
        return std::make_unique<cluster_store>(std::move(*c));
    }
    auto s = feature_store::open(
        cfg.redis.host, cfg.redis.port,
        {.ttl = ttl, .user_cache = static_cast<std::size_t>(cfg.stream.user_cache)}, clock);
    if (!s) {
        return fail(s.error());
    }
    return std::make_unique<feature_store>(std::move(*s));
}

}  // namespace adsx::redis
