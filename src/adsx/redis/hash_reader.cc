#include "adsx/redis/hash_reader.h"

namespace adsx::redis {

hash_reader::hash_reader(std::string host, int port, std::chrono::milliseconds timeout)
  : _host(std::move(host)), _port(port), _timeout(timeout)
{
}

result<connection> hash_reader::acquire()
{
    {
        std::lock_guard lock(_mutex);
        if (!_idle.empty()) {
            auto c = std::move(_idle.back());
            _idle.pop_back();
            return c;
        }
    }
    return connection::open(_host, _port, _timeout);
}

void hash_reader::release(connection c)
{
    std::lock_guard lock(_mutex);
    _idle.push_back(std::move(c));
}

result<std::vector<features::hash_fields>> hash_reader::hashes(const std::vector<std::string>& keys)
{
    auto c = acquire();
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
    std::vector<features::hash_fields> out(keys.size());
    for (std::size_t k = 0; k < keys.size() && k < replies.size(); ++k) {
        const auto& e = replies[k].elements;
        for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
            out[k].emplace(e[i].str, e[i + 1].str);
        }
    }
    release(std::move(*c));
    return out;
}

result<void> hash_reader::ping()
{
    auto c = acquire();
    if (!c) {
        return fail(c.error());
    }
    if (auto r = c->command({"PING"}); !r) {
        return fail(r.error());
    }
    release(std::move(*c));
    return {};
}

}  // namespace adsx::redis
