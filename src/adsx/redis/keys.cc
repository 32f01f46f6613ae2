#include "adsx/redis/keys.h"

#include <array>
#include <string>

#include <fmt/format.h>

#include "adsx/redis/cluster.h"

namespace adsx::redis {

std::string offset_key(std::string_view partition_id)
{
    std::string key(store_layout::keys_partition_offsets);
    key += partition_id;
    return key;
}

std::string request_log_key(std::string_view partition_id, features::follow_kind k,
                            std::int64_t bucket)
{
    return fmt::format("{}{}:{}:{}", store_layout::keys_request_log, partition_id,
                       features::kind_tag(k), bucket);
}

std::size_t shard_of(std::string_view key) noexcept
{
    return std::size_t{hash_slot(key)} * cluster_shards / slot_count;
}

const std::string& shard_tag(std::size_t shard)
{
    static const auto tags = [] {
        std::array<std::string, cluster_shards> t;
        std::size_t found = 0;
        for (std::uint64_t n = 0; found < cluster_shards; ++n) {
            const auto number = std::to_string(n);
            if (auto& tag = t[shard_of(number)]; tag.empty()) {
                tag = "{" + number + "}";
                ++found;
            }
        }
        return t;
    }();
    return tags.at(shard);
}

std::string in_shard(std::string_view key)
{
    std::string out = shard_tag(shard_of(key));
    out += key;
    return out;
}

std::string partition_tag(std::string_view partition_id)
{
    return fmt::format("{{{}}}", partition_id);
}

}  // namespace adsx::redis
