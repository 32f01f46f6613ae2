#include "adsx/features/timed_store.h"

namespace adsx::features {

result<commit_outcome> timed_store::commit(const std::vector<partition_commit>& parts,
                                           const batch_update& b, bool pipelined)
{
    const auto start = _clock.monotonic_ns();
    auto r = _inner.commit(parts, b, pipelined);
    if (r && r->pending) {
        _sent_ns = start;
    } else {
        _observer.commit(seconds(_clock.monotonic_ns() - start));
    }
    return r;
}

result<bool> timed_store::settle()
{
    auto r = _inner.settle();
    if (_sent_ns) {
        _observer.commit(seconds(_clock.monotonic_ns() - *_sent_ns));
        _sent_ns.reset();
    }
    return r;
}

}  // namespace adsx::features
