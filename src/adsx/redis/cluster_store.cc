#include "adsx/redis/cluster_store.h"

#include <algorithm>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "adsx/redis/key_cache.h"
#include "adsx/redis/keys.h"
#include "adsx/redis/transaction.h"

namespace adsx::redis {

namespace {

constexpr int max_attempts = 20;

std::int64_t stored_offset(const reply& r)
{
    return r.type == reply::kind::string ? std::stoll(r.str) : -1;
}

// What one transaction finds of its partitions' offsets (step 1's HMGET replies): its batch
// to apply, already applied (the shard has it: a replay), or some partitions stale.
enum class found
{
    apply,
    applied,
    stale
};

}  // namespace

// One transaction of a commit: a shard's, or a partition's log's.
struct cluster_store::transaction
{
    std::string tag;
    bool entities = true;
    std::vector<features::partition_commit> parts;
    std::vector<std::size_t> index;  // parts[i] is the commit's partition index[i]
    shard_keys keys;
    class key_cache cache;
    resp_writer out;
    std::vector<reply> read, written;
    std::size_t sent = 0;
    bool done = false;

    transaction(std::string t, bool e, std::int64_t ttl_ms)
      : tag(std::move(t)), entities(e), cache(0, ttl_ms)
    {
    }
    [[nodiscard]] shard_scope scope() const
    {
        return {.tag = tag, .entities = entities, .request_logs = !entities, .claims = true};
    }
};

result<cluster_store> cluster_store::open(std::vector<node_address> seeds, std::chrono::seconds ttl)
{
    auto c = cluster::open(std::move(seeds), std::chrono::seconds(10));
    if (!c) {
        return fail(c.error());
    }
    std::random_device rd;
    const auto token = fmt::format("{:08x}{:08x}", rd(), rd());
    return cluster_store(std::move(*c), ttl, token);
}

result<connection*> cluster_store::conn(const std::string& tag)
{
    if (auto it = _conns.find(tag); it != _conns.end()) {
        return &it->second;
    }
    const auto& t = _cluster.table();
    const auto owner = t.owner[hash_slot(tag)];
    if (owner == slot_table::unassigned) {
        return fail(error_code::unavailable,
                    fmt::format("redis cluster: the slot of {} has no master", tag));
    }
    const auto& a = t.masters[owner];
    auto c = connection::open(a.host, a.port, std::chrono::seconds(10));
    if (!c) {
        return fail(c.error());
    }
    return &_conns.emplace(tag, std::move(*c)).first->second;
}

result<features::partition_state> cluster_store::load(const std::string& partition_id)
{
    // Each offsets hash read and claimed in one transaction, all at once.
    std::vector<std::string> tags;
    for (std::size_t s = 0; s < cluster_shards; ++s) {
        tags.push_back(shard_tag(s));
    }
    tags.push_back(partition_tag(partition_id));
    const auto name = offset_key(partition_id);
    std::vector<reply> state(tags.size());
    std::vector<bool> claimed(tags.size(), false);
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        std::vector<std::pair<std::size_t, connection*>> sent;
        for (std::size_t i = 0; i < tags.size(); ++i) {
            if (claimed[i]) {
                continue;
            }
            auto c = conn(tags[i]);
            if (!c) {
                return fail(c.error());
            }
            const auto key = tags[i] + name;
            resp_writer w;
            w.begin(2);
            w.arg("WATCH");
            w.arg(key);
            w.begin(4);
            w.arg("HMGET");
            w.arg(key);
            w.arg(offset_next_field);
            w.arg(offset_watermark_field);
            w.begin(1);
            w.arg("MULTI");
            w.begin(4);
            w.arg("HSET");
            w.arg(key);
            w.arg(offset_claim_field);
            w.arg(_claim);
            w.begin(1);
            w.arg("EXEC");
            if (auto ok = (*c)->send(w); !ok) {
                return fail(ok.error());
            }
            sent.emplace_back(i, *c);
        }
        if (sent.empty()) {
            break;
        }
        std::vector<reply> replies;
        for (auto [i, c] : sent) {
            if (auto ok = c->receive(5, replies); !ok) {
                return fail(ok.error().wrap("claiming " + partition_id));
            }
            if (replies[4].type != reply::kind::nil) {  // EXEC applied: read and claimed
                state[i] = std::move(replies[1]);
                claimed[i] = true;
            }
        }
    }
    if (std::find(claimed.begin(), claimed.end(), false) != claimed.end()) {
        return fail(error_code::unavailable,
                    fmt::format("claiming {}: its offsets kept changing", partition_id));
    }
    // The log's offsets are where the partition stands; a shard past them has a batch the
    // log has not (replay_to: its last offset).
    const auto& log = state.back();
    features::partition_state st;
    st.next_offset = stored_offset(log.elements.at(0));
    if (log.elements.at(1).type == reply::kind::string) {
        st.max_event_time = std::stoll(log.elements[1].str);
    }
    std::int64_t ahead = -1;
    for (std::size_t s = 0; s < cluster_shards; ++s) {
        const auto next = stored_offset(state[s].elements.at(0));
        if (next < st.next_offset) {
            return fail(error_code::internal,
                        fmt::format("online store: shard {} of {} stands at offset {}, behind "
                                    "its log's {}",
                                    tags[s], partition_id, next, st.next_offset));
        }
        if (next > st.next_offset && (ahead < 0 || next < ahead)) {
            ahead = next;
        }
    }
    st.replay_to = ahead < 0 ? -1 : ahead - 1;
    return st;
}

result<std::vector<std::string>> cluster_store::load_requests(const std::string& partition_id,
                                                              features::follow_kind kind,
                                                              std::int64_t first, std::int64_t last)
{
    return read_request_log(_cluster, partition_tag(partition_id), partition_id, kind, first, last);
}

result<features::commit_outcome> cluster_store::commit(
    const std::vector<features::partition_commit>& partitions, const features::batch_update& batch,
    bool /*pipelined*/)
{
    const auto ttl_ms = static_cast<std::int64_t>(_ttl.count()) * 1000;
    std::vector<std::size_t> all(partitions.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = i;
    }
    // 1. The shards: each with the partitions' offsets, none with their request logs (the
    //    logs' transactions write those), so the logs are not copied 16 times.
    auto offsets_only = partitions;
    for (auto& p : offsets_only) {
        p.requests = {};
    }
    std::vector<transaction> shards;
    shards.reserve(cluster_shards);
    for (std::size_t s = 0; s < cluster_shards; ++s) {
        auto& t = shards.emplace_back(shard_tag(s), true, ttl_ms);
        t.parts = offsets_only;
        t.index = all;
    }
    for (const auto& [name, u] : batch.shared_keys()) {
        const auto s = shard_of(name);
        shards[s].keys.shared.emplace_back(shard_tag(s) + name, &u);
    }
    for (const auto& [name, u] : batch.user_keys()) {
        const auto s = shard_of(name);
        shards[s].keys.users.emplace_back(shard_tag(s) + name, &u);
    }
    features::commit_outcome outcome;
    auto stale = run(shards);
    if (!stale) {
        return fail(stale.error().wrap("committing a batch"));
    }
    if (!stale->empty()) {
        outcome.stale = std::move(*stale);
        return outcome;
    }
    // 2. The partitions' logs, once every shard has the batch.
    std::vector<transaction> logs;
    logs.reserve(partitions.size());
    for (std::size_t i = 0; i < partitions.size(); ++i) {
        auto& t = logs.emplace_back(partition_tag(partitions[i].partition_id), false, ttl_ms);
        t.parts = {partitions[i]};
        t.index = {i};
    }
    stale = run(logs);
    if (!stale) {
        return fail(stale.error().wrap("committing a batch's request logs"));
    }
    outcome.stale = std::move(*stale);
    outcome.applied = outcome.stale.empty();
    return outcome;
}

namespace {

// What a transaction's step 1 read of its partitions' offsets says (stale partitions, as the
// commit's indices, into `stale`).
result<found> examine(const cluster_store::transaction& t, const std::string& claim,
                      std::vector<std::size_t>& stale)
{
    bool to_apply = false, applied = false, is_stale = false;
    for (std::size_t i = 0; i < t.parts.size(); ++i) {
        const auto& offsets = t.read.at(1 + i).elements;
        const auto stored = stored_offset(offsets.at(0));
        const bool ours = offsets.at(2).type == reply::kind::string && offsets[2].str == claim;
        if (ours && stored == t.parts[i].expected.next_offset) {
            to_apply = true;
        } else if (ours && stored >= t.parts[i].next.next_offset) {
            applied = true;
        } else {
            is_stale = true;
            stale.push_back(t.index[i]);
        }
    }
    if (to_apply && applied) {
        return fail(error_code::internal,
                    fmt::format("online store: {} holds the batch for some of its partitions and "
                                "not for others",
                                t.tag));
    }
    return is_stale ? found::stale : applied ? found::applied : found::apply;
}

}  // namespace

result<void> cluster_store::read_all(const std::vector<transaction*>& txs)
{
    for (auto* t : txs) {  // every step 1 goes out before any reply is read
        auto c = conn(t->tag);
        if (!c) {
            return fail(c.error());
        }
        t->cache.begin(0);
        encode_read(t->out, t->parts, t->keys, t->cache, _scratch, t->scope());
        if (auto ok = (*c)->send(t->out); !ok) {
            return fail(ok.error());
        }
    }
    for (auto* t : txs) {
        if (auto ok = (*conn(t->tag))->receive(t->out.commands(), t->read); !ok) {
            return fail(ok.error());
        }
    }
    return {};
}

result<void> cluster_store::write_all(std::vector<transaction*> txs)
{
    // Each transaction goes out in parts as it is encoded, then every EXEC is read.
    std::optional<std::string> stopped;
    for (std::size_t i = 0; i < txs.size(); ++i) {
        auto* t = txs[i];
        if (_stop_before && _stop_before(t->tag)) {
            stopped = t->tag;
            txs.resize(i);  // those sent: their replies are read below
            break;
        }
        connection_sink sink(**conn(t->tag));
        auto sent = encode_write(t->out, sink, t->parts, t->keys, t->read, t->cache,
                                 {.ttl_s = static_cast<std::int64_t>(_ttl.count())}, t->scope());
        if (!sent) {
            return fail(sent.error());
        }
        t->sent = *sent;
    }
    for (auto* t : txs) {
        if (auto ok = (*conn(t->tag))->receive(t->sent, t->written); !ok) {
            return fail(ok.error());
        }
        const auto& exec = t->written.back();
        if (exec.type == reply::kind::nil) {
            t->cache.refused();
            continue;  // another writer changed a key it read: again, alone
        }
        for (const auto& e : exec.elements) {
            if (e.type == reply::kind::error) {
                return fail(error_code::internal,
                            fmt::format("a command of {}'s transaction failed (its part of the "
                                        "batch is partially applied): {}",
                                        t->tag, e.str));
            }
        }
        t->cache.applied(t->entities ? shared_writes_after(exec) : std::nullopt);
        t->done = true;
    }
    if (stopped) {
        return fail(error_code::failed_precondition,
                    fmt::format("stopped by the test before {}'s write", *stopped));
    }
    return {};
}

result<std::vector<std::size_t>> cluster_store::run(std::vector<transaction>& txs)
{
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        std::vector<transaction*> pending;
        for (auto& t : txs) {
            if (!t.done) {
                pending.push_back(&t);
            }
        }
        if (pending.empty()) {
            return std::vector<std::size_t>{};
        }
        if (auto ok = read_all(pending); !ok) {
            return fail(ok.error());
        }
        std::vector<std::size_t> stale;
        std::vector<transaction*> apply, unwatch;
        for (auto* t : pending) {
            auto f = examine(*t, _claim, stale);
            if (!f) {
                return fail(f.error());
            }
            (*f == found::apply ? apply : unwatch).push_back(t);
            t->done = *f == found::applied;  // it had the batch already
        }
        if (!stale.empty()) {
            // Nothing is written: the engine drops the stale partitions and commits the rest
            // again (what applied already is then found applied).
            unwatch.insert(unwatch.end(), apply.begin(), apply.end());
            apply.clear();
        }
        for (auto* t : unwatch) {
            if (auto ok = (*conn(t->tag))->command({"UNWATCH"}); !ok) {
                return fail(ok.error());
            }
        }
        if (!stale.empty()) {
            std::sort(stale.begin(), stale.end());
            stale.erase(std::unique(stale.begin(), stale.end()), stale.end());
            return stale;
        }
        if (auto ok = write_all(std::move(apply)); !ok) {
            return fail(ok.error());
        }
    }
    return fail(error_code::unavailable,
                fmt::format("commit conflicted {} times in a row with another writer of the "
                            "same keys",
                            max_attempts));
}

}  // namespace adsx::redis
