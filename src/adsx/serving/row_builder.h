#pragma once
// The one C++ row builder: turns what serving knows for one candidate (the request, the ad's
// catalog entry, the online store's hashes of the ad, its campaign and the user) into the row a
// model scores, following schemas/model_row.json, the definition the training-set job builds
// rows from. So the row scored for an impression is the row the model was trained on.
//
//   auto rb = serving::row_builder::make(model->features());   // refuses names it cannot build
//   serving::entity_state ad = serving::ad_state(ad_hash), user = serving::user_state(u_hash);
//   rb->fill(batch, row, {ctx, ad_entry, campaign_entry, ad, campaign_hash, &user});
//
// Window features count the tiles the store holds for t's window (events before t once the
// stream has caught up to t); batch features are used only when their asof is the end of the
// day before t's day (as the training set joins them), else missing; user features are missing
// without personalisation consent (user == nullptr). Immutable; fill() is thread-safe.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/features/read.h"
#include "adsx/features/user_state.h"
#include "adsx/ranking/batch.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/serving/inventory.h"

namespace adsx::serving {

// Heterogeneous lookup: find() with a string_view, no temporary string.
struct text_hash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};

// One entity hash parsed once (it may serve many requests for a second).
struct entity_state
{
    features::hash_fields fields;  // as read
    // Its materialized fields ({batch}…, asof ones included) that hold numbers, by field name.
    std::unordered_map<std::string, double, text_hash, std::equal_to<>> batch;
    std::vector<features::tile_value> minutes, hours;
    features::user_own own;                                      // users
    std::map<std::uint32_t, features::user_campaign> campaigns;  // users: by campaign id
};
[[nodiscard]] entity_state ad_state(features::hash_fields h);
[[nodiscard]] entity_state user_state(features::hash_fields h);
[[nodiscard]] entity_state plain_state(features::hash_fields h);  // campaigns: batch fields only

struct request_context
{
    std::string device, geo, placement;
    std::string slot = "1";  // the position scored for, as text
    std::int64_t time_ms = 0;
    std::string hour_of_day;  // of time_ms (UTC), two digits
};
[[nodiscard]] std::string hour_of_day(std::int64_t time_ms);

struct row_inputs
{
    const request_context& request;
    const ad_info& ad;
    const campaign_info& campaign;
    const entity_state& ad_hash;
    const entity_state& campaign_hash;
    const entity_state* user;  // nullptr: no personalisation consent
};

// How one feature of a row is built (resolved from its name once, when a model loads).
struct feature_source
{
    enum class kind : std::uint8_t
    {
        window,   // an entity's impressions or clicks in a window of tiles
        recency,  // seconds since the user's last impression or click
        batch,    // a materialized daily feature
        request,  // device, geo, placement, slot, hour_of_day
        catalog,  // category, ad_id, campaign_id, bid
    };
    enum class entity : std::uint8_t
    {
        ad,
        user,
        user_campaign,
        campaign,
    };
    kind what = kind::request;
    entity of = entity::ad;
    features::tile_spec tile{};
    std::int64_t window_ms = 0;
    bool clicks = false;  // window: clicks, else impressions; recency: click, else impression
    std::string column;   // batch: the field after {batch}[{slice}{value}:]
    char slice = 0;       // batch: 0, 'd' (device) or 'g' (geo)
    int field = 0;        // request / catalog: which (order of model_row.json's names)
};

class row_builder
{
public:
    // invalid_argument naming the first feature model_row.json does not define (or defines for
    // the other kind: a numeric feature that is categorical there, or the reverse).
    [[nodiscard]] static result<row_builder> make(const ranking::feature_spec& spec);

    // The field names a request's batch features are read from (their slices name the request's
    // device and geo), made once per request: per numeric feature, the value's and its asof's.
    struct request_fields
    {
        std::vector<std::string> value, asof;
    };
    [[nodiscard]] request_fields fields_for(const request_context& request) const;

    void fill(ranking::batch& b, std::size_t row, const row_inputs& in,
              const request_fields& fields) const;
    void fill(ranking::batch& b, std::size_t row, const row_inputs& in) const
    {
        fill(b, row, in, fields_for(in.request));
    }

private:
    std::vector<feature_source> _numeric, _categorical;
};

}  // namespace adsx::serving
