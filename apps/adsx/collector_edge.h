#pragma once
// The collector's privacy step for simulated traffic: raw user ids become keyed-HMAC pseudonyms
// and IPs are truncated before any event leaves the process; consent travels as a TCF v2
// string. Pseudonyms and truncated IPs are computed once per user and cached (the world is
// fixed), so the per-event cost is a lookup. Not thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/privacy/pseudonym.h"
#include "adsx/simulate/generator.h"

namespace adsx::app {

class collector_edge final : public simulate::edge
{
public:
    // `consent_time_ds`: when the simulated users gave consent (TCF deciseconds), so that the
    // strings, like everything else, depend only on the generator's inputs.
    [[nodiscard]] static result<collector_edge> create(const simulate::world& w,
                                                       privacy::pseudonymizer p,
                                                       std::uint64_t consent_time_ds);

    std::string_view user_id(std::uint32_t user) override;
    std::string_view ip(std::uint32_t user) override;
    std::string_view consent(bool personalisation) override;

private:
    collector_edge(const simulate::world& w, privacy::pseudonymizer p);

    const simulate::world* _w;
    privacy::pseudonymizer _pseudonymizer;
    std::vector<std::string> _ids;
    std::vector<std::string> _ips;
    std::string _consent_yes;
    std::string _consent_no;
};

}  // namespace adsx::app
