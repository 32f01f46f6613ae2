#include "adsx/redis/online_store.h"

#include <cstdio>

#include <fmt/format.h>

namespace adsx::redis {

namespace {

// KEYS: [1] offset hash, then the batch's entity keys, then its request keys.
// ARGV: expected next, new next, new watermark, ttl, request ttl, entity key count,
//       then per entity key: tile count, max count, tiles (slot field, tile, d_imp, d_clk,
//       d_conv)…, maxes (field, value)…
// A tile slot is one field, "m17" = "<tile>:<impressions>:<clicks>:<conversions>": one
// lookup per tile, and small hashes stay small.
constexpr const char* commit_script = R"lua(
local cur = redis.call('HGET', KEYS[1], 'next') or '-1'
if cur ~= ARGV[1] then return 0 end
local ttl, rq_ttl, nkeys = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local a = 7
for k = 2, nkeys + 1 do
  local key = KEYS[k]
  local ntiles, nmax = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  -- one read of every field this key's updates depend on, one write of the results
  local fields = {}
  for i = 0, ntiles - 1 do fields[i + 1] = ARGV[a + 5 * i] end
  local m0 = a + 5 * ntiles
  for i = 0, nmax - 1 do fields[ntiles + i + 1] = ARGV[m0 + 2 * i] end
  local held = redis.call('HMGET', key, unpack(fields))
  local out = {}
  for i = 0, ntiles - 1 do
    local b = a + 5 * i
    local tile = tonumber(ARGV[b + 1])
    local t, ci, cc, cv = -1, 0, 0, 0
    if held[i + 1] then
      local s1, s2, s3, s4 = string.match(held[i + 1], '(%d+):(%d+):(%d+):(%d+)')
      t, ci, cc, cv = tonumber(s1), tonumber(s2), tonumber(s3), tonumber(s4)
    end
    if t <= tile then
      if t < tile then ci, cc, cv = 0, 0, 0 end
      out[#out + 1] = ARGV[b]
      out[#out + 1] = ARGV[b + 1] .. ':' .. (ci + ARGV[b + 2]) .. ':' .. (cc + ARGV[b + 3]) ..
                      ':' .. (cv + ARGV[b + 4])
    end
  end
  for i = 0, nmax - 1 do
    if tonumber(held[ntiles + i + 1] or '-1') < tonumber(ARGV[m0 + 2 * i + 1]) then
      out[#out + 1] = ARGV[m0 + 2 * i]; out[#out + 1] = ARGV[m0 + 2 * i + 1]
    end
  end
  if #out > 0 then redis.call('HSET', key, unpack(out)) end
  redis.call('EXPIRE', key, ttl)
  a = m0 + 2 * nmax
end
for k = nkeys + 2, #KEYS do
  redis.call('SET', KEYS[k], '1', 'EX', rq_ttl)
end
redis.call('HSET', KEYS[1], 'next', ARGV[2], 'wm', ARGV[3])
return 1
)lua";

std::size_t arg_count(const features::batch_update& b)
{
    std::size_t n = 3 + 1 + 6 + b.requests().size();  // EVALSHA sha nkeys, offset key, header
    for (const auto& [name, u] : b.keys()) {
        n += 1 + 2 + 5 * u.tiles.size() + 2 * u.maxes.size();
    }
    return n;
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
    // KEYS first (offset key, entity keys, request keys), then ARGV, as the script reads them.
    const auto nkeys = 1 + batch.keys().size() + batch.requests().size();
    resp_writer w(arg_count(batch), 64 * arg_count(batch));
    w.arg("EVALSHA");
    w.arg(*sha);
    w.arg(static_cast<std::int64_t>(nkeys));
    w.arg(offset_key(partition_id));
    for (const auto& [name, update] : batch.keys()) {
        w.arg(name);
    }
    for (const auto& id : batch.requests()) {
        w.arg(request_key(id));
    }
    w.arg(expected.next_offset);
    w.arg(next.next_offset);
    w.arg(next.max_event_time);
    w.arg(static_cast<std::int64_t>(_s.ttl.count()));
    w.arg(static_cast<std::int64_t>(_s.request_ttl.count()));
    w.arg(static_cast<std::int64_t>(batch.keys().size()));
    char prefix[24];
    for (const auto& [name, u] : batch.keys()) {
        w.arg(static_cast<std::int64_t>(u.tiles.size()));
        w.arg(static_cast<std::int64_t>(u.maxes.size()));
        for (const auto& t : u.tiles) {
            const int n = std::snprintf(prefix, sizeof prefix, "%c%d", t.spec.prefix,
                                        features::slot_of(t.tile, t.spec));
            w.arg(std::string_view(prefix, static_cast<std::size_t>(n)));
            w.arg(t.tile);
            w.arg(t.delta.impressions);
            w.arg(t.delta.clicks);
            w.arg(t.delta.conversions);
        }
        for (const auto& m : u.maxes) {
            w.arg(m.field);
            w.arg(m.value);
        }
    }
    auto r = _conn.command_resp(w.str());
    if (!r && r.error().message.find("NOSCRIPT") != std::string::npos) {
        _sha.clear();  // Redis restarted and lost its script cache: load it again, once
        return commit(partition_id, expected, next, batch);
    }
    if (!r) {
        return fail(r.error().wrap("committing " + partition_id));
    }
    return r->integer == 1 ? features::commit_outcome::applied : features::commit_outcome::stale;
}

}  // namespace adsx::redis
