#pragma once
// Test support: the few Redis commands a feature store commit sends, answered and applied in
// memory, so that the transaction encoder's protocol runs end to end without a server. Reads
// answer as Redis would (HMGET: a value or nil per field; HGETALL: field, value, …); a
// transaction (MULTI … EXEC) applies HSET, HDEL, EXPIRE, APPEND, UNLINK and INCR and answers
// EXEC's array, or nil when a WATCHed key was written meanwhile (`touch`).
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "resp.h"

namespace adsx::redis::testing {

class fake_redis
{
public:
    std::map<std::string, std::map<std::string, std::string>> hashes;
    std::map<std::string, std::string> strings;   // APPENDed request logs, counters
    std::map<std::string, std::int64_t> expires;  // key -> its last EXPIRE's seconds
    int expire_commands = 0;

    // Another client writes `key` (a watched one makes the next EXEC fail).
    void touch(const std::string& key) { _touched.insert(key); }

    std::vector<reply> read(const std::vector<command>& commands)
    {
        std::vector<reply> out;
        for (const auto& c : commands) {
            out.push_back(answer(c));
        }
        return out;
    }

    // The replies of MULTI … EXEC; EXEC's is the last.
    std::vector<reply> transaction(const std::vector<command>& commands)
    {
        std::vector<reply> out(commands.size() - 1);  // MULTI and the queued commands
        bool conflict = false;
        for (const auto& k : _watched) {
            conflict = conflict || _touched.contains(k);
        }
        _watched.clear();
        _touched.clear();
        if (conflict) {
            out.push_back(nil());
            return out;
        }
        reply exec;
        exec.type = reply::kind::array;
        for (std::size_t i = 1; i + 1 < commands.size(); ++i) {
            exec.elements.push_back(apply(commands[i]));
        }
        out.push_back(std::move(exec));
        return out;
    }

private:
    reply answer(const command& c)
    {
        if (c[0] == "WATCH") {
            _watched.insert(c.begin() + 1, c.end());
            return bulk("OK");
        }
        if (c[0] == "HMGET") {
            std::vector<reply> values;
            for (std::size_t i = 2; i < c.size(); ++i) {
                values.push_back(field(c[1], c[i]));
            }
            return array(std::move(values));
        }
        if (c[0] == "MGET") {
            std::vector<reply> values;
            for (std::size_t i = 1; i < c.size(); ++i) {
                auto it = strings.find(c[i]);
                values.push_back(it == strings.end() ? nil() : bulk(it->second));
            }
            return array(std::move(values));
        }
        if (c[0] == "HGETALL") {
            std::vector<reply> all;
            for (const auto& [f, v] : hashes[c[1]]) {
                all.push_back(bulk(f));
                all.push_back(bulk(v));
            }
            return array(std::move(all));
        }
        std::abort();  // not a command of step 1
    }

    reply field(const std::string& key, const std::string& f)
    {
        auto h = hashes.find(key);
        if (h == hashes.end() || !h->second.contains(f)) {
            return nil();
        }
        return bulk(h->second.at(f));
    }

    reply apply(const command& c)
    {
        reply ok = bulk("OK");
        if (c[0] == "HSET") {
            for (std::size_t i = 2; i + 1 < c.size(); i += 2) {
                hashes[c[1]][c[i]] = c[i + 1];
            }
        } else if (c[0] == "HDEL") {
            for (std::size_t i = 2; i < c.size(); ++i) {
                hashes[c[1]].erase(c[i]);
            }
        } else if (c[0] == "EXPIRE") {
            expires[c[1]] = std::stoll(c[2]);
            ++expire_commands;
        } else if (c[0] == "APPEND") {
            strings[c[1]] += c[2];
        } else if (c[0] == "UNLINK") {
            for (std::size_t i = 1; i < c.size(); ++i) {
                strings.erase(c[i]);
            }
        } else if (c[0] == "INCR") {
            ok.type = reply::kind::integer;
            ok.integer = std::stoll(strings[c[1]].empty() ? "0" : strings[c[1]]) + 1;
            strings[c[1]] = std::to_string(ok.integer);
        } else {
            std::abort();  // not a command of step 2
        }
        return ok;
    }

    std::set<std::string> _watched, _touched;
};

}  // namespace adsx::redis::testing
