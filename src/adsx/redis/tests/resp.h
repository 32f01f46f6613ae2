#pragma once
// Test support for the redis module's unit tests: RESP commands parsed back into argument
// lists (so that tests assert the exact commands a writer encoded), and replies built by hand
// (what Redis would answer).
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/redis/client.h"

namespace adsx::redis::testing {

using command = std::vector<std::string>;

// The commands of an encoded pipeline (arrays of bulk strings, as resp_writer writes them).
inline std::vector<command> commands_of(std::string_view resp)
{
    std::vector<command> out;
    auto number = [&](char tag) {
        if (resp.empty() || resp.front() != tag) {
            std::abort();  // not what resp_writer writes
        }
        const auto end = resp.find("\r\n");
        const auto n = std::stoul(std::string(resp.substr(1, end - 1)));
        resp.remove_prefix(end + 2);
        return n;
    };
    while (!resp.empty()) {
        auto& c = out.emplace_back();
        for (auto args = number('*'); args > 0; --args) {
            const auto len = number('$');
            c.emplace_back(resp.substr(0, len));
            resp.remove_prefix(len + 2);
        }
    }
    return out;
}

inline reply bulk(std::string s)
{
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}

inline reply nil()
{
    return {};
}

inline reply array(std::vector<reply> elements)
{
    reply r;
    r.type = reply::kind::array;
    r.elements = std::move(elements);
    return r;
}

}  // namespace adsx::redis::testing
