#pragma once
// The online store as the stream engine needs it (a port; the Redis adapter in src/adsx/redis
// implements it, tests use a fake). Exactly-once effect: a partition's batch is applied in one
// atomic step together with that partition's offset, as a compare-and-set on the offset the
// worker read when it took the partition. A worker that lost the partition in a rebalance (the
// stored offset moved on) gets `stale` and must drop its batch; nothing is counted twice.
#include <cstdint>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/update.h"

namespace adsx::features {

// Where a partition stands: the next offset to read and the watermark (newest event time
// applied), both advanced atomically with the features. offset -1 = never consumed.
struct partition_state
{
    std::int64_t next_offset = -1;
    std::int64_t max_event_time = 0;
};

enum class commit_outcome
{
    applied,
    stale
};

class online_store
{
public:
    virtual ~online_store() = default;
    [[nodiscard]] virtual result<partition_state> load(const std::string& partition_id) = 0;
    // Which of these impression request ids were committed earlier (clicks need one).
    [[nodiscard]] virtual result<std::vector<bool>> known_requests(
        const std::vector<events::uuid>& ids) = 0;
    [[nodiscard]] virtual result<commit_outcome> commit(const std::string& partition_id,
                                                        const partition_state& expected,
                                                        const partition_state& next,
                                                        const batch_update& batch) = 0;
};

}  // namespace adsx::features
