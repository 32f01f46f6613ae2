#include "adsx/redis/erasure.h"

#include <algorithm>

#include "adsx/base/store_layout.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {

namespace {

// The keys of one server that name `user`, appended to `keys`.
result<void> scan_user(connection& c, const std::string& user, std::vector<std::string>& keys)
{
    std::string cursor = "0";
    do {  // pseudonyms are [a-z0-9:] only: nothing in them is a glob pattern
        auto r = c.command({"SCAN", cursor, "MATCH", "*" + user + "*", "COUNT", "10000"});
        if (!r) {
            return fail(r.error());
        }
        if (r->type != reply::kind::array || r->elements.size() != 2) {
            return fail(error_code::internal, "SCAN: unexpected reply");
        }
        cursor = r->elements[0].str;
        for (auto& k : r->elements[1].elements) {
            keys.push_back(std::move(k.str));
        }
    } while (cursor != "0");
    return {};
}

// DEL of `keys` and INCR of `epoch` in one transaction on `c`: the DEL's count.
result<std::int64_t> delete_with_epoch(connection& c, const std::vector<std::string>& keys,
                                       const std::string& epoch)
{
    std::vector<std::string> del{"DEL"};
    del.insert(del.end(), keys.begin(), keys.end());
    auto r = c.pipeline({{"MULTI"}, del, {"INCR", epoch}, {"EXEC"}});
    if (!r) {
        return fail(r.error());
    }
    const auto& exec = r->back();
    if (exec.type != reply::kind::array || exec.elements.size() != 2 ||
        exec.elements[0].type != reply::kind::integer) {
        return fail(error_code::internal, "erasure transaction: unexpected reply");
    }
    return exec.elements[0].integer;
}

}  // namespace

result<erasure> erasure::open(const config::redis_config& cfg, std::chrono::milliseconds timeout)
{
    if (cfg.mode == "cluster") {
        auto c = cluster::open({{cfg.host, cfg.port}}, timeout);
        if (!c) {
            return fail(c.error());
        }
        return erasure(std::move(*c));
    }
    auto c = connection::open(cfg.host, cfg.port, timeout);
    if (!c) {
        return fail(c.error());
    }
    return erasure(std::move(*c));
}

result<std::vector<std::string>> erasure::user_keys(const std::string& user)
{
    std::vector<std::string> keys;
    if (_one) {
        if (auto ok = scan_user(*_one, user, keys); !ok) {
            return fail(ok.error());
        }
    } else {
        auto masters = _cluster->masters();
        if (!masters) {
            return fail(masters.error());
        }
        for (auto* m : *masters) {
            if (auto ok = scan_user(*m, user, keys); !ok) {
                return fail(ok.error());
            }
        }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // SCAN may repeat a key
    return keys;
}

result<std::int64_t> erasure::erase_user(const std::string& user)
{
    auto keys = user_keys(user);
    if (!keys) {
        return fail(keys.error());
    }
    const auto own = std::string(store_layout::keys_user) + user;
    if (_one) {
        if (std::find(keys->begin(), keys->end(), own) == keys->end()) {
            keys->push_back(own);  // written meanwhile, or not: DEL of a missing key is harmless
        }
        return delete_with_epoch(*_one, *keys, std::string(user_epoch_key));
    }
    // On a cluster the own hash and its shard's epoch share a slot; any other key is its own.
    const auto tag = shard_tag(shard_of(own));
    const auto stored = tag + own;
    std::int64_t deleted = 0;
    for (const auto& k : *keys) {
        if (k == stored) {
            continue;
        }
        auto r = _cluster->command({"DEL", k});
        if (!r) {
            return fail(r.error());
        }
        deleted += r->integer;
    }
    const auto& t = _cluster->table();
    const auto owner = t.owner[hash_slot(tag)];
    auto masters = _cluster->masters();
    if (!masters) {
        return fail(masters.error());
    }
    if (owner == slot_table::unassigned) {
        return fail(error_code::unavailable, "redis cluster: the user's slot has no master");
    }
    auto own_deleted =
        delete_with_epoch(*(*masters)[owner], {stored}, tag + std::string(user_epoch_key));
    if (!own_deleted) {
        return fail(own_deleted.error());
    }
    return deleted + *own_deleted;
}

}  // namespace adsx::redis
