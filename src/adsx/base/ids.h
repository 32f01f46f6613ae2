#pragma once
// Strong ids of the ad world, so that an ad id is never passed where a campaign id is expected
// (both are small integers on the wire) and a raw user id never where a pseudonym is.
//
//   adsx::ad_id a{17};  adsx::campaign_id c{3};
//   catalog.ad(a);           // catalog.ad(c) does not compile
//   a.value                  // the number, at the edges (JSON, SQL, Redis key names)
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace adsx {

// A number that names one kind of thing. Tag makes each kind its own type.
template <class Tag>
struct numeric_id
{
    std::uint32_t value = 0;
    constexpr numeric_id() noexcept = default;
    constexpr explicit numeric_id(std::uint32_t v) noexcept : value(v) {}
    friend constexpr auto operator<=>(numeric_id, numeric_id) noexcept = default;
};

using ad_id = numeric_id<struct ad_tag>;
using campaign_id = numeric_id<struct campaign_tag>;
using advertiser_id = numeric_id<struct advertiser_tag>;

// A pseudonymous user id ("k1:4ea2…", privacy/pseudonym.h), never a raw one. Owns its text.
struct user_id
{
    std::string value;
    user_id() = default;
    explicit user_id(std::string_view v) : value(v) {}
    friend auto operator<=>(const user_id&, const user_id&) = default;
};

}  // namespace adsx

template <class Tag>
struct std::hash<adsx::numeric_id<Tag>>
{
    std::size_t operator()(adsx::numeric_id<Tag> id) const noexcept
    {
        return std::hash<std::uint32_t>{}(id.value);
    }
};
template <>
struct std::hash<adsx::user_id>
{
    std::size_t operator()(const adsx::user_id& id) const noexcept
    {
        return std::hash<std::string>{}(id.value);
    }
};
