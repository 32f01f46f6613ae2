#pragma once
// features::online_reader on Redis: pipelined HGETALLs (one round trip for any number of keys)
// over a pool of connections, one per concurrent caller, each with the deadline given. A
// connection that fails is dropped, and the next call opens a fresh one, so serving recovers by
// itself when Redis comes back. Thread-safe.
// On Redis Cluster (`cluster`), each key is read under its shard's tag (keys.h) on the master
// of its slot, through a pool of cluster clients (cluster.h): one round trip per node, the
// nodes at once.
//
//   redis::hash_reader r("127.0.0.1", 6379, std::chrono::milliseconds(50));
//   auto h = r.hashes({"a:87", "u:k1:…"});
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "adsx/features/online_reader.h"
#include "adsx/redis/client.h"
#include "adsx/redis/cluster.h"

namespace adsx::redis {

class hash_reader final : public features::online_reader
{
public:
    hash_reader(std::string host, int port, std::chrono::milliseconds timeout,
                bool cluster = false);

    [[nodiscard]] result<std::vector<features::hash_fields>> hashes(
        const std::vector<std::string>& keys) override;
    // PING on a pooled connection (readiness); on a cluster, of every master.
    [[nodiscard]] result<void> ping();

private:
    template <class Client>
    [[nodiscard]] result<Client> acquire(std::vector<Client>& idle);
    template <class Client>
    void release(std::vector<Client>& idle, Client c);
    [[nodiscard]] result<std::vector<features::hash_fields>> cluster_hashes(
        const std::vector<std::string>& keys);

    std::string _host;
    int _port;
    std::chrono::milliseconds _timeout;
    bool _cluster;
    std::mutex _mutex;  // guards _idle and _idle_clusters
    std::vector<connection> _idle;
    std::vector<class cluster> _idle_clusters;
};

}  // namespace adsx::redis
