#pragma once
// Progress of long work (generating events, backfills, training), shown the way the output
// is consumed: a redrawn bar on a terminal, periodic JSON log lines otherwise.
//
//   log::progress p("generate", total_events);
//   for (...) { ...; p.update(done); }          // cheap: redraws at most every 200 ms / 2 s
//   p.finish(done);
//
// Terminal:  generate [##########..........]  51%  5.1M/10M  312k/s  ETA 16s
// Otherwise: {"time":…,"component":"generate","message":"progress",
//             "fields":{"done":5100000,"total":10000000,"percent":51.0,"per_second":312000}}
// Not thread-safe: call from the thread doing the work.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace adsx::log {

class progress
{
public:
    // `tty`: draw a bar on stderr; default: whether stderr is a terminal.
    progress(std::string component, std::uint64_t total, int tty = -1);
    void update(std::uint64_t done)
    {
        if ((++_calls & 1023) == 0) {
            maybe_report(done);
        }
    }
    void finish(std::uint64_t done);

    // "5.1M", "312k", "940": short human counts.
    [[nodiscard]] static std::string human(double n);

private:
    void maybe_report(std::uint64_t done);
    void report(std::uint64_t done, bool final);

    std::string _component;
    std::uint64_t _total;
    bool _tty;
    std::uint64_t _calls = 0;
    std::chrono::steady_clock::time_point _start;
    std::chrono::steady_clock::time_point _last;
};

}  // namespace adsx::log
