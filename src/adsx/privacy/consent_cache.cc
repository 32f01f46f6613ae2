#include "adsx/privacy/consent_cache.h"

#include "adsx/privacy/tcf.h"

namespace adsx::privacy {

bool consent_cache::operator()(std::string_view tc_string)
{
    auto it = _known.find(std::string(tc_string));
    if (it != _known.end()) {
        return it->second;
    }
    auto c = decode_tc_string(tc_string);
    const bool allowed = c && allows_personalisation(*c);
    if (_known.size() < capacity) {
        _known.emplace(std::string(tc_string), allowed);
    }
    return allowed;
}

}  // namespace adsx::privacy
