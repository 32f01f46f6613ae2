#pragma once
// The ads of the catalog as the stream engine checks them (reason `unknown_ad`): a bit per ad
// id, built once from the ids the catalog holds (pg::catalog_ad_ids).
//
//   features::ad_catalog known(ids);
//   features::engine e(store, dlq, std::cref(known), personalised, clock, settings);
//
// Immutable once built: safe to share between threads.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace adsx::features {

class ad_catalog
{
public:
    explicit ad_catalog(const std::vector<std::uint32_t>& ids)
      : _known(ids.empty() ? 1 : *std::max_element(ids.begin(), ids.end()) + std::size_t{1})
    {
        for (auto id : ids) {
            _known[id] = true;
        }
    }
    [[nodiscard]] bool operator()(std::uint32_t ad) const noexcept
    {
        return ad < _known.size() && _known[ad];
    }

private:
    std::vector<bool> _known;
};

}  // namespace adsx::features
