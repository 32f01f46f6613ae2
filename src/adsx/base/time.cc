#include "adsx/base/time.h"

#include <ctime>

namespace adsx {

std::string utc_date(std::int64_t ms)
{
    auto t = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

}  // namespace adsx
