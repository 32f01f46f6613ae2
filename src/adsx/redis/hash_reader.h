#pragma once
// features::online_reader on Redis: pipelined HGETALLs (one round trip for any number of keys)
// over a pool of connections, one per concurrent caller, each with the deadline given. A
// connection that fails is dropped, and the next call opens a fresh one, so serving recovers by
// itself when Redis comes back. Thread-safe.
//
//   redis::hash_reader r("127.0.0.1", 6379, std::chrono::milliseconds(50));
//   auto h = r.hashes({"a:87", "u:k1:…"});
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "adsx/features/online_reader.h"
#include "adsx/redis/client.h"

namespace adsx::redis {

class hash_reader final : public features::online_reader
{
public:
    hash_reader(std::string host, int port, std::chrono::milliseconds timeout);

    [[nodiscard]] result<std::vector<features::hash_fields>> hashes(
        const std::vector<std::string>& keys) override;
    // PING on a pooled connection (readiness).
    [[nodiscard]] result<void> ping();

private:
    [[nodiscard]] result<connection> acquire();
    void release(connection c);

    std::string _host;
    int _port;
    std::chrono::milliseconds _timeout;
    std::mutex _mutex;  // guards _idle
    std::vector<connection> _idle;
};

}  // namespace adsx::redis
