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

#include "adsx/base/ids.h"

namespace adsx::features {

class ad_catalog
{
public:
    explicit ad_catalog(const std::vector<ad_id>& ids)
      : _known(ids.empty() ? 1 : std::max_element(ids.begin(), ids.end())->value + std::size_t{1})
    {
        for (auto id : ids) {
            _known[id.value] = true;
        }
    }
    [[nodiscard]] bool operator()(ad_id ad) const noexcept
    {
        return ad.value < _known.size() && _known[ad.value];
    }

private:
    std::vector<bool> _known;
};

}  // namespace adsx::features
