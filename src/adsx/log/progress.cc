#include "adsx/log/progress.h"

#include <cmath>

#include <fmt/format.h>
#include <unistd.h>

#include "adsx/log/log.h"

namespace adsx::log {

using clock = std::chrono::steady_clock;

progress::progress(std::string component, std::uint64_t total, int tty)
  : _component(std::move(component)), _total(total),
    _tty(tty < 0 ? ::isatty(STDERR_FILENO) == 1 : tty == 1), _start(clock::now()), _last(_start)
{
}

std::string progress::human(double n)
{
    if (n >= 1e9) {
        return fmt::format("{:.1f}G", n / 1e9);
    }
    if (n >= 1e6) {
        return fmt::format("{:.1f}M", n / 1e6);
    }
    if (n >= 1e4) {
        return fmt::format("{:.0f}k", n / 1e3);
    }
    return fmt::format("{:.0f}", n);
}

void progress::maybe_report(std::uint64_t done)
{
    const auto every = _tty ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000);
    if (clock::now() - _last >= every) {
        report(done, false);
    }
}

void progress::finish(std::uint64_t done)
{
    report(done, true);
}

void progress::report(std::uint64_t done, bool final)
{
    _last = clock::now();
    const double secs = std::chrono::duration<double>(_last - _start).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    const double frac = _total ? static_cast<double>(done) / static_cast<double>(_total) : 1;
    if (!_tty) {
        get(_component)
            .info(final ? "done" : "progress", {{"done", done},
                                                {"total", _total},
                                                {"percent", std::round(frac * 1000) / 10},
                                                {"per_second", std::round(rate)}});
        return;
    }
    constexpr int width = 30;
    const int filled = static_cast<int>(frac * width);
    const double eta = rate > 0 ? static_cast<double>(_total - done) / rate : 0;
    std::fprintf(stderr, "\r%s [%s%s] %3.0f%%  %s/%s  %s/s  %s%-8s", _component.c_str(),
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), frac * 100,
                 human(static_cast<double>(done)).c_str(),
                 human(static_cast<double>(_total)).c_str(), human(rate).c_str(),
                 final ? "in " : "ETA ", fmt::format("{:.0f}s", final ? secs : eta).c_str());
    if (final) {
        std::fputc('\n', stderr);
    }
    std::fflush(stderr);
}

}  // namespace adsx::log
