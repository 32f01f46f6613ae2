#pragma once
// A stream_store that times each commit for the observer (adsx_stream_redis_commit_seconds):
// a decorator between the engine and the real store. A pipelined commit's latency runs from
// its start to its settling; everything else passes through.
//
//   features::timed_store timed(redis_store, observer, clock);
//   features::engine e(timed, dlq, ad_known, personalised, clock, settings);
//
// Not thread-safe (as the store it wraps); the store, observer and clock must outlive it.
#include <optional>

#include "adsx/base/time.h"
#include "adsx/features/stream_store.h"
#include "adsx/features/stream_worker.h"

namespace adsx::features {

class timed_store final : public stream_store
{
public:
    timed_store(stream_store& inner, stream_observer& observer, const clock& clock)
      : _inner(inner), _observer(observer), _clock(clock)
    {
    }

    [[nodiscard]] result<partition_state> load(const std::string& id) override
    {
        return _inner.load(id);
    }
    [[nodiscard]] result<std::vector<std::string>> load_requests(const std::string& id,
                                                                 follow_kind k, std::int64_t first,
                                                                 std::int64_t last) override
    {
        return _inner.load_requests(id, k, first, last);
    }
    [[nodiscard]] result<commit_outcome> commit(const std::vector<partition_commit>& parts,
                                                const batch_update& b, bool pipelined) override;
    [[nodiscard]] result<bool> settle() override;
    void forget_owned() override { _inner.forget_owned(); }
    [[nodiscard]] cache_counts key_cache(key_kind k) const override { return _inner.key_cache(k); }

private:
    stream_store& _inner;
    stream_observer& _observer;
    const clock& _clock;
    std::optional<std::int64_t> _sent_ns;  // when the commit in flight started
};

}  // namespace adsx::features
