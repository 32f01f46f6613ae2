#include "adsx/redis/hash_reader.h"

#include "adsx/redis/keys.h"

namespace adsx::redis {

namespace {

template <class Client>
result<Client> open_client(const std::string& host, int port, std::chrono::milliseconds timeout);

template <>
result<connection> open_client<connection>(const std::string& host, int port,
                                           std::chrono::milliseconds timeout)
{
    return connection::open(host, port, timeout);
}

template <>
result<cluster> open_client<cluster>(const std::string& host, int port,
                                     std::chrono::milliseconds timeout)
{
    return cluster::open({{host, port}}, timeout);
}

// HGETALL replies as hashes, in order.
std::vector<features::hash_fields> hashes_of(const std::vector<reply>& replies, std::size_t n)
{
    std::vector<features::hash_fields> out(n);
    for (std::size_t k = 0; k < n && k < replies.size(); ++k) {
        const auto& e = replies[k].elements;
        for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
            out[k].emplace(e[i].str, e[i + 1].str);
        }
    }
    return out;
}

}  // namespace

hash_reader::hash_reader(std::string host, int port, std::chrono::milliseconds timeout,
                         bool cluster)
  : _host(std::move(host)), _port(port), _timeout(timeout), _cluster(cluster)
{
}

template <class Client>
result<Client> hash_reader::acquire(std::vector<Client>& idle)
{
    {
        std::lock_guard lock(_mutex);
        if (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            return c;
        }
    }
    return open_client<Client>(_host, _port, _timeout);
}

template <class Client>
void hash_reader::release(std::vector<Client>& idle, Client c)
{
    std::lock_guard lock(_mutex);
    idle.push_back(std::move(c));
}

result<std::vector<features::hash_fields>> hash_reader::hashes(const std::vector<std::string>& keys)
{
    if (_cluster) {
        return cluster_hashes(keys);
    }
    auto c = acquire(_idle);
    if (!c) {
        return fail(c.error());
    }
    resp_writer w;
    for (const auto& k : keys) {
        w.begin(2);
        w.arg("HGETALL");
        w.arg(k);
    }
    std::vector<reply> replies;
    if (auto ok = c->pipeline(w, replies); !ok) {
        return fail(ok.error());  // the connection is dropped: its state is unknown
    }
    release(_idle, std::move(*c));
    return hashes_of(replies, keys.size());
}

result<std::vector<features::hash_fields>> hash_reader::cluster_hashes(
    const std::vector<std::string>& keys)
{
    auto c = acquire(_idle_clusters);
    if (!c) {
        return fail(c.error());
    }
    std::vector<std::vector<std::string>> commands;
    commands.reserve(keys.size());
    for (const auto& k : keys) {
        commands.push_back({"HGETALL", in_shard(k)});
    }
    std::vector<reply> replies;
    if (auto ok = c->pipeline(commands, replies); !ok) {
        return fail(ok.error());  // the client is dropped: its connections' state is unknown
    }
    release(_idle_clusters, std::move(*c));
    return hashes_of(replies, keys.size());
}

result<void> hash_reader::ping()
{
    if (_cluster) {
        auto c = acquire(_idle_clusters);
        if (!c) {
            return fail(c.error());
        }
        auto masters = c->masters();
        if (!masters) {
            return fail(masters.error());
        }
        for (auto* m : *masters) {
            if (auto r = m->command({"PING"}); !r) {
                return fail(r.error());
            }
        }
        release(_idle_clusters, std::move(*c));
        return {};
    }
    auto c = acquire(_idle);
    if (!c) {
        return fail(c.error());
    }
    if (auto r = c->command({"PING"}); !r) {
        return fail(r.error());
    }
    release(_idle, std::move(*c));
    return {};
}

}  // namespace adsx::redis
