#pragma once
// The log lines of `adsx stream` (component "stream"), as an observer of its worker: that it
// started, each partition re-sought after a stale commit, and the running totals at each
// progress report. No PII: counts, partitions, the group and topic names.
#include <string>

#include "adsx/features/stream_worker.h"
#include "adsx/log/log.h"

namespace adsx::app {

class stream_log final : public features::stream_observer
{
public:
    void started(const std::string& group, const std::string& topic)
    {
        _log.info("started", {{"group", group}, {"topic", topic}});
    }
    void reseek(int partition) override
    {
        _log.warn("stale commit, re-seeking", {{"partition", partition}});
    }
    void progress(const features::stream_progress& p) override
    {
        _log.info("progress",
                  {{"applied", p.totals.applied}, {"dead_lettered", p.totals.dead_lettered}});
    }

private:
    log::logger _log = log::get("stream");
};

}  // namespace adsx::app
