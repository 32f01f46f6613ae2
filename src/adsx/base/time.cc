#include "adsx/base/time.h"

#include <ctime>

namespace adsx {

namespace {

std::string utc_format(std::int64_t ms, const char* format)
{
    auto t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

}  // namespace

std::string utc_date(std::int64_t ms)
{
    return utc_format(ms, "%Y-%m-%d");
}

std::string utc_minute(std::int64_t ms)
{
    return utc_format(ms, "%Y-%m-%d %H:%M UTC");
}

}  // namespace adsx
