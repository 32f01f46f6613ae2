// libFuzzer target: `adsx serve`'s request handling past the HTTP parser (Beast's): routing,
// path and query decoding, the JSON bodies of POST /rank_ads and the feature API, and every
// error reply, on a service wired as the unit tests wire it (an empty online store, a
// one-campaign catalog, no models). The input is "METHOD TARGET\nCONTENT-TYPE\nBODY". Every
// request gets a reply with a status in 200..599 and a body; an error is the one JSON shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adsx/base/time.h"
#include "adsx/serving/live_inventory.h"
#include "adsx/serving/rank_api.h"
#include "adsx/serving/service.h"

namespace {

using namespace adsx;

struct empty_reader final : features::online_reader
{
    result<std::vector<features::hash_fields>> hashes(const std::vector<std::string>& keys) override
    {
        return std::vector<features::hash_fields>(keys.size());
    }
};

constexpr std::int64_t midnight = 20'427 * day_ms;

serving::inventory one_campaign()
{
    serving::campaign_info c;
    c.id = campaign_id{1};
    c.id_text = "1";
    c.bid = 5;
    c.daily_budget = 1e9;
    c.lifetime_budget = 1e9;
    c.flight_start_ms = midnight - day_ms;
    c.flight_end_ms = midnight + day_ms;
    c.geos = {"US-CA"};
    c.device_mask = 1u << static_cast<unsigned>(events::device_type::ios);
    c.frequency_cap = 100;
    return serving::inventory::build({c}, {{ad_id{11}, "11", 0, "a"}}, {}, midnight);
}

struct wired
{
    empty_reader reader;
    manual_clock clock{midnight + hour_ms};
    serving::live_inventory inventory{[] { return result<serving::inventory>(one_campaign()); },
                                      clock, std::chrono::milliseconds(60'000)};
    serving::rank_api rank{{.inventory = inventory,
                            .reader = reader,
                            .models = {},
                            .assign = {},
                            .log = nullptr,
                            .observer = nullptr,
                            .clock = clock},
                           serving::rank_settings{}};
    serving::service svc{{.reader = reader,
                          .clock = clock,
                          .ready = {},
                          .metrics = [] { return std::string("adsx_up 1\n"); },
                          .rank = &rank,
                          .experiment = [](const std::string&) -> result<experiments::report> {
                              return fail(error_code::not_found, "no such experiment");
                          },
                          .admin = nullptr}};
    wired() { (void)inventory.refresh(); }
};

std::string_view line(std::string_view& rest)
{
    const auto end = rest.find('\n');
    const auto out = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static wired w;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const auto first = line(rest);
    http::request q;
    const auto space = first.find(' ');
    q.method = std::string(first.substr(0, space));
    const auto target =
        space == std::string_view::npos ? std::string_view{} : first.substr(space + 1);
    const auto mark = target.find('?');
    q.path = std::string(target.substr(0, mark));
    q.query = mark == std::string_view::npos ? "" : std::string(target.substr(mark + 1));
    q.content_type = std::string(line(rest));
    q.body = std::string(rest);
    const auto r = w.svc.handle(q);
    if (r.status < 200 || r.status > 599 || r.body.empty()) {
        std::abort();
    }
    if (r.status >= 400 && r.content_type == "application/json" &&
        r.body.rfind(R"({"error":{"code":")", 0) != 0) {
        std::abort();  // an error reply not in the one error shape
    }
    return 0;
}
