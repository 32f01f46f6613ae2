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
//
// A request scores hundreds of candidates, and most of a row is shared: the user's features
// are the same for every candidate of the request (prepare() computes them once), and an ad's
// windows and unsliced batch features are the same for every request in the same minute while
// its hashes are the ones read (ad_part(), which ad_part_cache keeps per worker thread):
//
//   const auto part = rb->prepare(ctx, user);                  // once per request
//   for (each candidate) rb->fill(batch, row, inputs, part, cache.get(*rb, inputs, ad, campaign));
#include <cstdint>
#include <map>
#include <memory>
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
    // What its value depends on: the request and the user (the same for every candidate of a
    // request), the candidate's ad and campaign hashes and the request's minute (ad_part), or
    // the candidate in its request (a slice of the request's device or geo, the user's
    // campaign, the catalog's bid).
    enum class scope : std::uint8_t
    {
        request,
        ad,
        candidate,
    };
    kind what = kind::request;
    entity of = entity::ad;
    scope by = scope::candidate;
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

    // What every candidate of one request shares: the field names its batch features are read
    // from (slices name the request's device and geo), per numeric feature the value's and its
    // asof's, and the values of the request-scoped features (the others: unused).
    struct request_part
    {
        std::vector<std::string> value, asof;
        std::vector<double> shared;
    };
    [[nodiscard]] request_part prepare(const request_context& request,
                                       const entity_state* user) const;

    // Per numeric feature, the value of the ad-scoped ones (the others: missing): the same for
    // every request in t's minute on the same ad and campaign hashes.
    void ad_part(const row_inputs& in, std::vector<double>& out) const;

    // Row `row` of `b` from the request's part, the candidate's ad part and the rest.
    void fill(ranking::batch& b, std::size_t row, const row_inputs& in, const request_part& part,
              const std::vector<double>& ad_values) const;
    void fill(ranking::batch& b, std::size_t row, const row_inputs& in) const
    {
        std::vector<double> ad_values;
        ad_part(in, ad_values);
        fill(b, row, in, prepare(in.request, in.user), ad_values);
    }

    // Distinct for every builder made (a model reloaded gets a new one at perhaps the same
    // address): what ad_part_cache keys by.
    [[nodiscard]] std::uint64_t id() const noexcept { return _id; }

private:
    std::vector<feature_source> _numeric, _categorical;
    std::uint64_t _id = 0;
};

// The ad parts of rows (row_builder::ad_part), kept per row builder, ad hash, campaign hash and
// t's minute and day, so that requests for the same ad in the same minute compute them once.
// Entries hold the hashes weakly: a hash read again is a new state, and one freed is never
// taken for another allocated at its address. Holds one minute: a request of another minute
// empties it, as does reaching `capacity` entries. Not thread-safe: one per worker thread.
class ad_part_cache
{
public:
    using state_ptr = std::shared_ptr<const entity_state>;
    explicit ad_part_cache(std::size_t capacity = 1U << 14) : _capacity(capacity) {}

    [[nodiscard]] const std::vector<double>& get(const row_builder& rb, const row_inputs& in,
                                                 const state_ptr& ad, const state_ptr& campaign);

    [[nodiscard]] std::size_t hits() const noexcept { return _hits; }
    [[nodiscard]] std::size_t misses() const noexcept { return _misses; }

private:
    struct key
    {
        std::uint64_t builder;
        const entity_state* ad;
        const entity_state* campaign;
        std::int64_t day;  // of t - 1 ms (batch features' asof), t's minute being the cache's
        friend bool operator==(const key&, const key&) = default;
    };
    struct key_hash
    {
        std::size_t operator()(const key& k) const noexcept;
    };
    struct entry
    {
        std::weak_ptr<const entity_state> ad, campaign;
        std::vector<double> values;
    };
    std::size_t _capacity;
    std::int64_t _minute = -1;
    std::unordered_map<key, entry, key_hash> _entries;
    std::size_t _hits = 0, _misses = 0;
};

}  // namespace adsx::serving
