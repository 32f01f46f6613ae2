#include "adsx/redis/erasure.h"

#include <algorithm>

#include "adsx/base/store_layout.h"
#include "adsx/redis/keys.h"

namespace adsx::redis {

result<std::vector<std::string>> user_keys(connection& c, const std::string& user)
{
    std::vector<std::string> keys;
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
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // SCAN may repeat a key
    return keys;
}

result<std::int64_t> erase_user(connection& c, const std::string& user)
{
    auto keys = user_keys(c, user);
    if (!keys) {
        return fail(keys.error());
    }
    const auto own = std::string(store_layout::keys_user) + user;
    if (std::find(keys->begin(), keys->end(), own) == keys->end()) {
        keys->push_back(own);  // written meanwhile, or not: DEL of a missing key is harmless
    }
    std::vector<std::string> del{"DEL"};
    del.insert(del.end(), keys->begin(), keys->end());
    auto r = c.pipeline({{"MULTI"}, del, {"INCR", std::string(user_epoch_key)}, {"EXEC"}});
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

}  // namespace adsx::redis
