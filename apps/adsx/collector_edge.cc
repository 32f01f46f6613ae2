#include "collector_edge.h"

#include "adsx/privacy/ip.h"
#include "adsx/privacy/tcf.h"

namespace adsx::app {

namespace {

// A CMP record as a consent banner would leave it: purposes 1–10 given (or, for users who
// declined personalisation, only 1 storage, 7–10 measurement), vendors 1–50 consented.
result<std::string> consent_string(bool personalisation, std::uint64_t time_ds)
{
    privacy::tc_consent c;
    c.created_ds = time_ds;
    c.last_updated_ds = time_ds;
    c.cmp_id = 300;
    c.cmp_version = 2;
    c.vendor_list_version = 180;
    for (int p = 1; p <= 10; ++p) {
        const bool given = personalisation || p == 1 || p >= 7;
        c.purposes_consent.set(static_cast<std::size_t>(p - 1), given);
    }
    c.max_vendor_id = 50;
    c.vendor_consents.assign(50, true);
    c.vendor_li.assign(50, false);
    return privacy::encode_tc_string(c);
}

}  // namespace

collector_edge::collector_edge(const simulate::world& w, privacy::pseudonymizer p)
  : _w(&w), _pseudonymizer(std::move(p)), _ids(w.users.size()), _ips(w.users.size())
{
}

result<collector_edge> collector_edge::create(const simulate::world& w, privacy::pseudonymizer p,
                                              std::uint64_t consent_time_ds)
{
    collector_edge e(w, std::move(p));
    auto yes = consent_string(true, consent_time_ds);
    auto no = consent_string(false, consent_time_ds);
    if (!yes || !no) {
        return fail(yes ? no.error() : yes.error());
    }
    e._consent_yes = std::move(*yes);
    e._consent_no = std::move(*no);
    return e;
}

std::string_view collector_edge::user_id(std::uint32_t user)
{
    auto& id = _ids[user];
    if (id.empty()) {
        id = _pseudonymizer.pseudonymize(simulate::raw_user_id(user));
    }
    return id;
}

std::string_view collector_edge::ip(std::uint32_t user)
{
    auto& ip = _ips[user];
    if (ip.empty()) {
        // A world IP is always a valid IPv4 address, so truncation cannot fail.
        ip = privacy::truncate_ip(simulate::ipv4_text(_w->users[user].ip)).value();
    }
    return ip;
}

std::string_view collector_edge::consent(bool personalisation)
{
    return personalisation ? _consent_yes : _consent_no;
}

}  // namespace adsx::app
