#include "adsx/serving/row_builder.h"

#include <atomic>
#include <cmath>
#include <string_view>

#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/base/store_layout.h"
#include "adsx/base/strings.h"
#include "adsx/base/time.h"
#include "adsx/features/tiles.h"
#include "adsx/serving/model_row_json.h"

namespace adsx::serving {

namespace {

namespace dom = simdjson::dom;
using source = feature_source;

// schemas/model_row.json, parsed once.
struct definition
{
    std::map<std::string, source, std::less<>> exact;   // windows (both counts), recency, names
    std::vector<std::pair<std::string, source>> views;  // "batch_{view}_" -> the view's source
};

source make(source::kind what, source::entity of = source::entity::ad, int field = 0)
{
    source s;
    s.what = what;
    s.of = of;
    s.field = field;
    return s;
}

source::entity entity_named(std::string_view e)
{
    if (e == "user") {
        return source::entity::user;
    }
    if (e == "user_campaign") {
        return source::entity::user_campaign;
    }
    if (e == "campaign") {
        return source::entity::campaign;
    }
    return source::entity::ad;
}

void add_windows(dom::object windows, definition& d)
{
    for (auto [name, w] : windows) {
        if (name == "description") {
            continue;
        }
        auto s = make(source::kind::window, entity_named(std::string_view(w["entity"])));
        s.tile =
            std::string_view(w["tile"]) == "hour" ? features::hour_tiles : features::minute_tiles;
        s.window_ms = std::int64_t(w["tiles"]) * s.tile.width_ms;
        d.exact.emplace(fmt::format("{}_impressions", std::string_view(name)), s);
        s.clicks = true;
        d.exact.emplace(fmt::format("{}_clicks", std::string_view(name)), s);
    }
}

definition parse_definition()
{
    dom::parser parser;
    const simdjson::padded_string text(model_row_document);
    const dom::object root = parser.parse(text);  // the build's own file: a bad one aborts
    definition d;
    add_windows(root["windows"], d);
    for (auto [name, r] : dom::object(root["recency"])) {
        if (name != "description") {
            auto s = make(source::kind::recency, entity_named(std::string_view(r["entity"])));
            s.clicks = std::string_view(r["event"]) == "click";
            d.exact.emplace(std::string(name), s);
        }
    }
    for (auto [view, v] : dom::object(root["batch_views"])) {
        if (view == "description") {
            continue;
        }
        auto s = make(source::kind::batch, entity_named(std::string_view(v["hash"])));
        std::string_view slice;
        if (v["slice"].get(slice) == simdjson::SUCCESS) {
            s.slice = slice == "device" ? 'd' : 'g';
        }
        d.views.emplace_back(fmt::format("batch_{}_", std::string_view(view)), s);
    }
    // Longest prefix first: batch_ad_device_… is the ad_device view's, not the ad view's.
    std::sort(d.views.begin(), d.views.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    int i = 0;
    for (auto n : dom::array(root["request"]["names"])) {
        d.exact.emplace(std::string(std::string_view(n)),
                        make(source::kind::request, source::entity::ad, i++));
    }
    i = 0;
    for (auto n : dom::array(root["catalog"]["names"])) {
        d.exact.emplace(std::string(std::string_view(n)),
                        make(source::kind::catalog, source::entity::ad, i++));
    }
    return d;
}

const definition& model_row()
{
    static const definition d = parse_definition();
    return d;
}

// Categorical features: the request's and the catalog's text, except bid.
bool categorical(const source& s)
{
    return s.what == source::kind::request || (s.what == source::kind::catalog && s.field != 3);
}

result<source> resolve(std::string_view name, bool want_categorical)
{
    const auto& d = model_row();
    std::optional<source> found;
    if (auto it = d.exact.find(name); it != d.exact.end()) {
        found = it->second;
    } else {
        for (const auto& [prefix, view] : d.views) {
            if (name.starts_with(prefix) && name.size() > prefix.size()) {
                found = view;
                found->column = std::string(name.substr(prefix.size()));
                break;
            }
        }
    }
    if (!found) {
        return fail(
            error_code::invalid_argument,
            fmt::format("feature {} is not one serving can build (schemas/model_row.json)", name));
    }
    if (categorical(*found) != want_categorical) {
        return fail(error_code::invalid_argument,
                    fmt::format("feature {} is {} in schemas/model_row.json", name,
                                want_categorical ? "numeric" : "categorical"));
    }
    return *found;
}

}  // namespace

std::string hour_of_day(std::int64_t time_ms)
{
    return fmt::format("{:02d}", static_cast<int>((time_ms % day_ms) / hour_ms));
}

// The numeric {batch}… fields of a hash, for lookups by name.
void index_batch(entity_state& s)
{
    const std::string_view prefix = store_layout::fields_batch;
    for (auto it = s.fields.lower_bound(std::string(prefix));
         it != s.fields.end() && it->first.starts_with(prefix); ++it) {
        if (auto v = parse_double(it->second)) {
            s.batch.emplace(it->first, *v);
        }
    }
}

entity_state ad_state(features::hash_fields h)
{
    entity_state s;
    s.minutes = features::tiles_in(h, features::minute_tiles);
    s.fields = std::move(h);
    index_batch(s);
    return s;
}

entity_state user_state(features::hash_fields h)
{
    entity_state s;
    s.minutes = features::tiles_in(h, features::minute_blocks);
    s.hours = features::tiles_in(h, features::hour_blocks);
    if (auto it = h.find(std::string(features::own_field)); it != h.end()) {
        s.own = features::parse_user_own(it->second).value_or(features::user_own{});
    }
    for (const auto& [field, value] : h) {
        if (auto id = features::campaign_of_field(field)) {
            if (auto c = features::parse_user_campaign(value)) {
                s.campaigns.emplace(*id, std::move(*c));
            }
        }
    }
    s.fields = std::move(h);
    index_batch(s);
    return s;
}

entity_state plain_state(features::hash_fields h)
{
    entity_state s;
    s.fields = std::move(h);
    index_batch(s);
    return s;
}

namespace {

source::scope scope_of(const source& s)
{
    using k = source::kind;
    if (s.what == k::catalog || s.of == source::entity::user_campaign ||
        (s.what == k::batch && s.slice)) {
        return source::scope::candidate;
    }
    return s.of == source::entity::user || s.what == k::request ? source::scope::request
                                                                : source::scope::ad;
}

std::atomic<std::uint64_t> builders_made{0};

}  // namespace

result<row_builder> row_builder::make(const ranking::feature_spec& spec)
{
    row_builder rb;
    rb._id = ++builders_made;
    for (const auto& n : spec.numeric) {
        auto s = resolve(n.name, false);
        if (!s) {
            return fail(s.error());
        }
        s->by = scope_of(*s);
        rb._numeric.push_back(std::move(*s));
    }
    for (const auto& c : spec.categorical) {
        auto s = resolve(c.name, true);
        if (!s) {
            return fail(s.error());
        }
        rb._categorical.push_back(std::move(*s));
    }
    return rb;
}

namespace {

double window_value(const source& s, const row_inputs& in)
{
    const std::vector<features::tile_value>* tiles = nullptr;
    const auto t = in.request.time_ms;
    switch (s.of) {
        case source::entity::ad:
            tiles = &in.ad_hash.minutes;
            break;
        case source::entity::user:
            if (!in.user) {
                return ranking::batch::missing;
            }
            tiles =
                s.tile.prefix == features::hour_tiles.prefix ? &in.user->hours : &in.user->minutes;
            break;
        case source::entity::user_campaign: {
            if (!in.user) {
                return ranking::batch::missing;
            }
            auto it = in.user->campaigns.find(in.campaign.id.value);
            if (it == in.user->campaigns.end()) {
                return 0;
            }
            tiles = &it->second.hours;
            break;
        }
        case source::entity::campaign:
            return ranking::batch::missing;
    }
    const auto c = features::window_sum(*tiles, s.tile, t, s.window_ms);
    return static_cast<double>(s.clicks ? c.clicks : c.impressions);
}

double recency_value(const source& s, const row_inputs& in)
{
    if (!in.user) {
        return ranking::batch::missing;
    }
    const auto last = in.user->own.last[s.clicks ? 1 : 0];
    const auto t = in.request.time_ms;
    if (last <= 0 || last >= t) {
        return ranking::batch::missing;
    }
    return static_cast<double>(t - last) / 1000.0;
}

// The materialized field of a batch feature, when its asof is the end of the day before t's.
double batch_value(const source& s, const row_inputs& in, const std::string& field,
                   const std::string& asof_field)
{
    const entity_state* h = nullptr;
    switch (s.of) {
        case source::entity::user:
            h = in.user;
            break;
        case source::entity::campaign:
            h = &in.campaign_hash;
            break;
        default:
            h = &in.ad_hash;
    }
    if (!h) {
        return ranking::batch::missing;
    }
    const auto t = in.request.time_ms;
    const auto day_end = (t - 1) / day_ms * day_ms;  // midnight of the day of t - 1 ms
    auto asof = h->batch.find(std::string_view(asof_field));
    if (asof == h->batch.end() || static_cast<std::int64_t>(asof->second) != day_end) {
        return ranking::batch::missing;
    }
    auto v = h->batch.find(std::string_view(field));
    return v == h->batch.end() ? ranking::batch::missing : v->second;
}

std::string_view text_value(const source& s, const row_inputs& in)
{
    if (s.what == source::kind::request) {
        switch (s.field) {
            case 0:
                return in.request.device;
            case 1:
                return in.request.geo;
            case 2:
                return in.request.placement;
            case 3:
                return in.request.slot;
            default:
                return in.request.hour_of_day;
        }
    }
    switch (s.field) {
        case 0:
            return in.ad.creative_category;
        case 1:
            return in.ad.id_text;
        default:
            return in.campaign.id_text;
    }
}

}  // namespace

namespace {

// A numeric feature's value; batch features read `field` and `asof_field`.
double value_of(const source& s, const row_inputs& in, const std::string& field,
                const std::string& asof_field)
{
    switch (s.what) {
        case source::kind::window:
            return window_value(s, in);
        case source::kind::recency:
            return recency_value(s, in);
        case source::kind::batch:
            return batch_value(s, in, field, asof_field);
        case source::kind::catalog:
            return in.campaign.bid;
        case source::kind::request:
            break;
    }
    return ranking::batch::missing;
}

}  // namespace

row_builder::request_part row_builder::prepare(const request_context& request,
                                               const entity_state* user) const
{
    request_part out;
    out.shared.assign(_numeric.size(), ranking::batch::missing);
    for (const auto& s : _numeric) {
        std::string prefix(store_layout::fields_batch);
        if (s.what == source::kind::batch && s.slice) {
            prefix +=
                s.slice == 'd' ? store_layout::fields_device_slice : store_layout::fields_geo_slice;
            prefix += s.slice == 'd' ? request.device : request.geo;
            prefix += ':';
        }
        out.value.push_back(s.what == source::kind::batch ? prefix + s.column : std::string());
        out.asof.push_back(s.what == source::kind::batch
                               ? prefix + std::string(store_layout::fields_asof)
                               : std::string());
    }
    // Only the user's hash and the request are read for these: any ad will do.
    static const ad_info no_ad{};
    static const campaign_info no_campaign{};
    static const entity_state nothing{};
    const row_inputs in{request, no_ad, no_campaign, nothing, nothing, user};
    for (std::size_t i = 0; i < _numeric.size(); ++i) {
        if (_numeric[i].by == source::scope::request) {
            out.shared[i] = value_of(_numeric[i], in, out.value[i], out.asof[i]);
        }
    }
    return out;
}

void row_builder::ad_part(const row_inputs& in, std::vector<double>& out) const
{
    out.assign(_numeric.size(), ranking::batch::missing);
    const auto asof =
        std::string(store_layout::fields_batch) + std::string(store_layout::fields_asof);
    for (std::size_t i = 0; i < _numeric.size(); ++i) {
        const auto& s = _numeric[i];
        if (s.by == source::scope::ad) {
            out[i] = value_of(s, in, std::string(store_layout::fields_batch) + s.column, asof);
        }
    }
}

void row_builder::fill(ranking::batch& b, std::size_t row, const row_inputs& in,
                       const request_part& part, const std::vector<double>& ad_values) const
{
    for (std::size_t i = 0; i < _numeric.size(); ++i) {
        const auto& s = _numeric[i];
        switch (s.by) {
            case source::scope::request:
                b.set_numeric(row, i, part.shared[i]);
                break;
            case source::scope::ad:
                b.set_numeric(row, i, ad_values[i]);
                break;
            case source::scope::candidate:
                b.set_numeric(row, i, value_of(s, in, part.value[i], part.asof[i]));
                break;
        }
    }
    for (std::size_t i = 0; i < _categorical.size(); ++i) {
        b.set_categorical(row, i, text_value(_categorical[i], in));
    }
}

std::size_t ad_part_cache::key_hash::operator()(const key& k) const noexcept
{
    auto h = std::hash<const void*>{}(k.ad);
    h ^= std::hash<const void*>{}(k.campaign) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= std::hash<std::uint64_t>{}(k.builder ^ static_cast<std::uint64_t>(k.day) << 32) +
         0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

const std::vector<double>& ad_part_cache::get(const row_builder& rb, const row_inputs& in,
                                              const state_ptr& ad, const state_ptr& campaign)
{
    const auto t = in.request.time_ms;
    const auto minute = features::tile_of(t, features::minute_tiles);
    if (minute != _minute || _entries.size() >= _capacity) {
        _entries.clear();
        _minute = minute;
    }
    const key k{rb.id(), ad.get(), campaign.get(), (t - 1) / day_ms};
    auto [it, added] = _entries.try_emplace(k);
    auto& e = it->second;
    // A weak reference that expired: the state at this address is another, read later.
    if (!added && (e.ad.expired() || e.campaign.expired())) {
        added = true;
    }
    if (added) {
        ++_misses;
        e.ad = ad;
        e.campaign = campaign;
        rb.ad_part(in, e.values);
    } else {
        ++_hits;
    }
    return e.values;
}

}  // namespace adsx::serving
