#pragma once
// Whether a TCF v2 consent string allows personalisation (tcf.h: purposes 1, 3 and 4), for
// the stream engine, which asks once per event: a stream carries a handful of distinct
// strings, so each is decoded once and remembered (up to 10,000 of them; beyond, decoded each
// time). An undecodable string allows nothing.
//
//   privacy::consent_cache consent;
//   if (consent(e.consent)) { /* user-level features */ }
//
// Not thread-safe: one per worker.
#include <string>
#include <string_view>
#include <unordered_map>

namespace adsx::privacy {

class consent_cache
{
public:
    [[nodiscard]] bool operator()(std::string_view tc_string);
    [[nodiscard]] std::size_t size() const noexcept { return _known.size(); }

private:
    static constexpr std::size_t capacity = 10'000;
    std::unordered_map<std::string, bool> _known;
};

}  // namespace adsx::privacy
