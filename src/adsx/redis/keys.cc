#include "adsx/redis/keys.h"

#include <fmt/format.h>

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

}  // namespace adsx::redis
