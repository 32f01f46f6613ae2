#include "adsx/redis/online_store.h"

#include <fmt/format.h>

namespace adsx::redis {

namespace {

// KEYS: [1] offset hash, then the batch's entity keys, then its request keys.
// ARGV: expected next, new next, new watermark, ttl, request ttl, entity key count,
//       then per entity key: tile count, max count, tiles (prefix, tile, d_imp, d_clk, d_conv)…,
//       maxes (field, value)…
constexpr const char* commit_script = R"lua(
local cur = redis.call('HGET', KEYS[1], 'next') or '-1'
if cur ~= ARGV[1] then return 0 end
local ttl, rq_ttl, nkeys = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local a = 7
for k = 2, nkeys + 1 do
  local key = KEYS[k]
  local ntiles, nmax = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  for _ = 1, ntiles do
    local p, tile = ARGV[a], tonumber(ARGV[a + 1])
    local held = tonumber(redis.call('HGET', key, p .. ':t') or '-1')
    if held < tile then
      redis.call('HSET', key, p .. ':t', ARGV[a + 1], p .. ':i', ARGV[a + 2],
                 p .. ':c', ARGV[a + 3], p .. ':v', ARGV[a + 4])
    elseif held == tile then
      if ARGV[a + 2] ~= '0' then redis.call('HINCRBY', key, p .. ':i', ARGV[a + 2]) end
      if ARGV[a + 3] ~= '0' then redis.call('HINCRBY', key, p .. ':c', ARGV[a + 3]) end
      if ARGV[a + 4] ~= '0' then redis.call('HINCRBY', key, p .. ':v', ARGV[a + 4]) end
    end
    a = a + 5
  end
  for _ = 1, nmax do
    local held = tonumber(redis.call('HGET', key, ARGV[a]) or '-1')
    if held < tonumber(ARGV[a + 1]) then redis.call('HSET', key, ARGV[a], ARGV[a + 1]) end
    a = a + 2
  end
  redis.call('EXPIRE', key, ttl)
end
for k = nkeys + 2, #KEYS do
  redis.call('SET', KEYS[k], '1', 'EX', rq_ttl)
end
redis.call('HSET', KEYS[1], 'next', ARGV[2], 'wm', ARGV[3])
return 1
)lua";

void append_key(std::vector<std::string>& keys, std::vector<std::string>& args,
                const std::string& name, const features::key_update& u)
{
    keys.push_back(name);
    args.push_back(std::to_string(u.tiles.size()));
    args.push_back(std::to_string(u.maxes.size()));
    for (const auto& t : u.tiles) {
        args.push_back(features::slot_prefix(t.tile, t.spec));
        args.push_back(std::to_string(t.tile));
        args.push_back(std::to_string(t.delta.impressions));
        args.push_back(std::to_string(t.delta.clicks));
        args.push_back(std::to_string(t.delta.conversions));
    }
    for (const auto& m : u.maxes) {
        args.push_back(m.field);
        args.push_back(std::to_string(m.value));
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

result<std::string> online_store::script_sha()
{
    if (_sha.empty()) {
        auto r = _conn.command({"SCRIPT", "LOAD", commit_script});
        if (!r) {
            return fail(r.error());
        }
        _sha = r->str;
    }
    return _sha;
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

result<features::commit_outcome> online_store::commit(const std::string& partition_id,
                                                      const features::partition_state& expected,
                                                      const features::partition_state& next,
                                                      const features::batch_update& batch)
{
    auto sha = script_sha();
    if (!sha) {
        return fail(sha.error());
    }
    std::vector<std::string> keys{offset_key(partition_id)};
    std::vector<std::string> args{
        std::to_string(expected.next_offset),   std::to_string(next.next_offset),
        std::to_string(next.max_event_time),    std::to_string(_s.ttl.count()),
        std::to_string(_s.request_ttl.count()), std::to_string(batch.keys().size())};
    for (const auto& [name, update] : batch.keys()) {
        append_key(keys, args, name, update);
    }
    for (const auto& id : batch.requests()) {
        keys.push_back(request_key(id));
    }
    std::vector<std::string> cmd{"EVALSHA", *sha, std::to_string(keys.size())};
    cmd.insert(cmd.end(), std::make_move_iterator(keys.begin()),
               std::make_move_iterator(keys.end()));
    cmd.insert(cmd.end(), std::make_move_iterator(args.begin()),
               std::make_move_iterator(args.end()));
    auto r = _conn.command(cmd);
    if (!r) {
        return fail(r.error().wrap("committing " + partition_id));
    }
    return r->integer == 1 ? features::commit_outcome::applied : features::commit_outcome::stale;
}

}  // namespace adsx::redis
