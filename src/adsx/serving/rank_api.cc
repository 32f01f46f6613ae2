#include "adsx/serving/rank_api.h"

#include <cmath>
#include <random>
#include <set>

#include <fmt/format.h>

#include "adsx/base/store_layout.h"
#include "adsx/base/strings.h"
#include "adsx/features/tiles.h"
#include "adsx/features/update.h"
#include "adsx/privacy/tcf.h"
#include "adsx/ranking/auction.h"
#include "adsx/serving/rank_request.h"

namespace adsx::serving {

namespace {

using state_ptr = std::shared_ptr<const entity_state>;

// The shared cache's key of an ad's or a campaign's hash: the id, and which of the two in the
// bit above it. A request looks up a thousand of them: a number hashes and compares where the
// store's key (a formatted string) cost a tenth of /rank_ads' CPU.
constexpr std::uint64_t shared_key(bool ad, std::uint32_t id) noexcept
{
    return (std::uint64_t{ad} << 32U) | id;
}

constexpr bool is_ad(std::uint64_t key) noexcept
{
    return (key >> 32U) != 0;
}

std::string store_key(std::uint64_t key)
{
    const auto id = static_cast<std::uint32_t>(key);
    return is_ad(key) ? features::ad_key(id) : features::campaign_key(id);
}

std::string bid_name(ranking::bid_kind k)
{
    switch (k) {
        case ranking::bid_kind::cpm:
            return "CPM";
        case ranking::bid_kind::cpc:
            return "CPC";
        case ranking::bid_kind::cpa:
            return "CPA";
    }
    return "";
}

std::string new_request_id()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    events::uuid id;
    for (auto& b : id.bytes) {
        b = static_cast<std::uint8_t>(rng());
    }
    id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
    id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // variant 10
    std::string out(events::uuid_text_size, '0');
    events::format_uuid(id, out.data());
    return out;
}

std::string number(double v)
{
    return std::isfinite(v) ? fmt::format("{}", v) : "null";
}

// One scored row as JSON: {feature: value} in the model's order (null = missing).
std::string row_json(const ranking::feature_spec& spec, const ranking::batch& b, std::size_t row)
{
    std::string out = "{";
    for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
        out += fmt::format("{}{}:{}", out.size() > 1 ? "," : "", json_quote(spec.numeric[i].name),
                           number(b.numeric(row, i)));
    }
    for (std::size_t i = 0; i < spec.categorical.size(); ++i) {
        const auto v = b.categorical(row, i);
        out +=
            fmt::format("{}{}:{}", out.size() > 1 ? "," : "", json_quote(spec.categorical[i].name),
                        v.empty() ? "null" : json_quote(v));
    }
    return out + "}";
}

}  // namespace

namespace detail {

// What one request works on, step by step.
struct ranking_work
{
    ranking_work(const rank_request& r, const inventory& i) : req(r), inv(i) {}

    const rank_request& req;
    const inventory& inv;
    request_context ctx;
    bool personal = false;
    bool erased = false;  // on the suppression list: not personalised, assigned nor logged
    std::vector<std::uint32_t> candidates;  // indices into inv.ads()
    std::vector<std::pair<std::uint32_t, drop_reason>> dropped;
    state_ptr user;
    std::vector<state_ptr> ad_states, campaign_states;  // by candidate
    std::vector<std::string> degraded;
    std::optional<arm_choice> arm;  // the user's experiment arm, if any
    rank_outcome outcome;
};

void retrieve(ranking_work& w)
{
    const auto& inv = w.inv;
    auto keep = [&](std::uint32_t i) {
        if (auto why = inv.ineligible(inv.ads()[i], w.ctx.time_ms)) {
            w.dropped.emplace_back(inv.ads()[i].id.value, *why);
        } else {
            w.candidates.push_back(i);
        }
    };
    if (w.req.candidate_ids) {
        for (auto id : *w.req.candidate_ids) {
            const auto i = inv.find(id);
            if (!i) {
                w.dropped.emplace_back(id.value, drop_reason::unknown_ad);
            } else if (!inv.targets(inv.ads()[*i], w.req.geo, w.req.device)) {
                w.dropped.emplace_back(id.value, drop_reason::not_targeted);
            } else {
                keep(*i);
            }
        }
    } else {
        for (auto i : inv.targeted(w.req.geo, w.req.device)) {
            keep(i);
        }
    }
    w.outcome.candidates = w.candidates.size() + w.dropped.size();
}

void drop_capped(ranking_work& w)
{
    if (!w.user) {
        return;
    }
    std::vector<std::uint32_t> kept;
    std::vector<state_ptr> ads, campaigns;
    for (std::size_t k = 0; k < w.candidates.size(); ++k) {
        const auto& a = w.inv.ads()[w.candidates[k]];
        const auto& c = w.inv.campaign_of(a);
        auto it = w.user->campaigns.find(c.id.value);
        if (it != w.user->campaigns.end()) {
            const auto seen =
                features::window_sum(it->second.hours, features::hour_tiles, w.ctx.time_ms, day_ms);
            if (seen.impressions >= c.frequency_cap) {
                w.dropped.emplace_back(a.id.value, drop_reason::frequency_cap);
                continue;
            }
        }
        kept.push_back(w.candidates[k]);
        ads.push_back(w.ad_states[k]);
        campaigns.push_back(w.campaign_states[k]);
    }
    w.candidates = std::move(kept);
    w.ad_states = std::move(ads);
    w.campaign_states = std::move(campaigns);
}

}  // namespace detail

using detail::ranking_work;

struct rank_api::impl
{
    impl(rank_parts p, rank_settings s) : parts(std::move(p)), settings(std::move(s)) {}

    rank_parts parts;
    rank_settings settings;

    struct cached
    {
        state_ptr state;
        std::int64_t at_ms = 0;    // read from the store then
        std::int64_t used_ms = 0;  // last wanted by a request
    };
    mutable std::mutex cache_mutex;                           // guards cache
    mutable std::unordered_map<std::uint64_t, cached> cache;  // by shared_key
    mutable std::mutex builders_mutex;                        // guards builders
    mutable std::map<std::shared_ptr<const ranking::model>, std::shared_ptr<result<row_builder>>>
        builders;

    // The row builder of a model version (made once per version).
    std::shared_ptr<result<row_builder>> builder_for(
        const std::shared_ptr<const ranking::model>& m) const
    {
        std::lock_guard lock(builders_mutex);
        auto& b = builders[m];
        if (!b) {
            b = std::make_shared<result<row_builder>>(row_builder::make(m->features()));
            if (builders.size() > 8) {  // old versions: keep a few, drop the rest
                builders.erase(builders.begin());
            }
        }
        return b;
    }

    [[nodiscard]] double reserve(std::string_view placement) const
    {
        auto it = settings.reserve_ecpm.find(placement);
        return it == settings.reserve_ecpm.end() ? settings.default_reserve_ecpm : it->second;
    }

    http::reply rank(const http::request& q) const;
    // Reads the user's hash (with consent) and the candidates' ad and campaign hashes.
    void fetch(ranking_work& w, std::int64_t now) const;
    // Scores, runs the auction, answers and logs.
    http::reply decide(ranking_work& w, const std::string& request_id) const;
};

result<rank_settings> parse_reserves(std::string_view spec, rank_settings s)
{
    for (auto part : split(spec, ',')) {
        part = trim(part);
        if (part.empty()) {
            continue;
        }
        const auto eq = part.find('=');
        const auto v =
            eq == std::string_view::npos ? std::nullopt : parse_double(part.substr(eq + 1));
        if (!v || *v < 0) {
            return fail(error_code::invalid_argument,
                        fmt::format("reserve '{}' is not placement=eCPM (≥ 0)", part));
        }
        const auto placement = trim(part.substr(0, eq));
        if (placement == "*") {
            s.default_reserve_ecpm = *v;
        } else {
            s.reserve_ecpm[std::string(placement)] = *v;
        }
    }
    return s;
}

rank_api::rank_api(rank_parts parts, rank_settings settings)
  : _impl(std::make_unique<impl>(std::move(parts), std::move(settings)))
{
}

rank_api::~rank_api() = default;

http::reply rank_api::rank(const http::request& q) const
{
    return _impl->rank(q);
}

result<std::size_t> rank_api::refresh_shared_hashes(std::int64_t within_ms) const
{
    // The working set (hashes some request wanted within the last two cache periods: a busy
    // catalog's ads; ads nobody asks for are not read at all) that expires within `within_ms`:
    // each is read about once per period, just before it would expire.
    const auto started = _impl->parts.clock.now_ms();
    const auto period = _impl->settings.hash_cache_ms;
    std::vector<std::uint64_t> wanted;  // shared_key
    {
        std::lock_guard lock(_impl->cache_mutex);
        for (const auto& [key, c] : _impl->cache) {
            if (started - c.used_ms < 2 * period && started - c.at_ms >= period - within_ms) {
                wanted.push_back(key);
            }
        }
    }
    // Chunks small enough that one round trip stays well inside the store's timeout (ad
    // hashes hold an hour of tiles: ~0.1 ms each for Redis to produce).
    constexpr std::size_t chunk = 64;
    std::size_t read = 0;
    std::vector<std::string> keys;
    for (std::size_t from = 0; from < wanted.size(); from += chunk) {
        keys.clear();
        const auto to = std::min(wanted.size(), from + chunk);
        for (auto i = from; i < to; ++i) {
            keys.push_back(store_key(wanted[i]));
        }
        const auto now = _impl->parts.clock.now_ms();
        auto hashes = _impl->parts.reader.hashes(keys);
        if (!hashes) {
            return fail(hashes.error());
        }
        // Parsed before the lock is taken: requests look the cache up meanwhile (parsing a
        // chunk under it held them up for milliseconds, every period).
        std::vector<state_ptr> states;
        for (auto i = from; i < to; ++i) {
            auto& h = (*hashes)[i - from];
            states.push_back(std::make_shared<const entity_state>(
                is_ad(wanted[i]) ? ad_state(std::move(h)) : plain_state(std::move(h))));
        }
        std::lock_guard lock(_impl->cache_mutex);
        for (auto i = from; i < to; ++i) {
            auto& c = _impl->cache[wanted[i]];
            c.state = std::move(states[i - from]);
            c.at_ms = now;
        }
        read += to - from;
    }
    return read;
}

namespace {

const state_ptr& empty_state()
{
    static const state_ptr e = std::make_shared<const entity_state>();
    return e;
}

// Scores rows of `model` for the candidates `rows` (indices into w.candidates); `out` gets one
// probability per candidate in `rows`. The batch keeps the rows for the serve log.
result<void> score(const ranking_work& w, const ranking::model& m, const row_builder& rb,
                   const std::vector<std::size_t>& rows, ranking::batch& b,
                   std::vector<double>& out)
{
    // Ad parts outlive the request: requests in the same minute on the same hashes share them.
    thread_local ad_part_cache ad_parts;
    b.reset(rows.size());
    const auto part = rb.prepare(w.ctx, w.user.get());  // once per request, not per candidate
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto k = rows[r];
        const auto& a = w.inv.ads()[w.candidates[k]];
        const row_inputs in{
            w.ctx, a, w.inv.campaign_of(a), *w.ad_states[k], *w.campaign_states[k], w.user.get()};
        rb.fill(b, r, in, part, ad_parts.get(rb, in, w.ad_states[k], w.campaign_states[k]));
    }
    out.assign(rows.size(), 0.0);
    return m.score(b, out);
}

}  // namespace

http::reply rank_api::impl::rank(const http::request& q) const
{
    if (!q.content_type.starts_with("application/json")) {
        return http::error_reply(415, "unsupported_media_type",
                                 "POST /rank_ads takes Content-Type: application/json");
    }
    auto parsed = parse_rank_request(q.body);
    if (const auto* bad = std::get_if<request_error>(&parsed)) {
        return http::error_reply(
            bad->status, bad->status == 400 ? "bad_request" : "invalid_argument",
            bad->field.empty() ? bad->message : bad->field + " " + bad->message, bad->field);
    }
    const auto& req = std::get<rank_request>(parsed);
    const auto inv = parts.inventory.get();
    if (!inv) {
        return http::error_reply(error{error_code::unavailable, "the catalog is not loaded yet"});
    }
    const auto now = parts.clock.now_ms();
    const auto t = req.time_ms.value_or(now);
    ranking_work w{req, *inv};
    w.ctx = {req.device_name, req.geo, req.placement, std::to_string(req.slot), t, hour_of_day(t)};
    // The stream engine's rule (privacy/consent_cache.h): a string that does not decode allows
    // nothing, so the same events and requests are personalised online and offline.
    w.erased = parts.erased && parts.erased(req.user_id);
    if (req.consent && !w.erased) {
        const auto c = privacy::decode_tc_string(*req.consent);
        w.personal = c && privacy::allows_personalisation(*c);
    }
    if (parts.assign && !w.erased) {
        w.arm = parts.assign(req.user_id);
    }
    detail::retrieve(w);
    fetch(w, now);
    detail::drop_capped(w);
    w.outcome.eligible = w.candidates.size();
    // The request id goes on to the impressions' events: it must be a UUID (the event contract).
    return decide(w, events::parse_uuid(q.request_id) ? q.request_id : new_request_id());
}

void rank_api::impl::fetch(ranking_work& w, std::int64_t now) const
{
    const auto n = w.candidates.size();
    w.ad_states.assign(n, empty_state());
    w.campaign_states.assign(n, empty_state());
    // Keys to read: the user's (with consent only), then the hashes the cache lacks.
    std::vector<std::string> keys;
    if (w.personal) {
        keys.push_back(features::user_key(w.req.user_id));
    }
    std::vector<std::uint64_t> read;  // the shared_key of each key after the user's
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> readers;  // → candidates
    {
        std::lock_guard lock(cache_mutex);
        for (std::size_t k = 0; k < n; ++k) {
            const auto& a = w.inv.ads()[w.candidates[k]];
            for (bool ad : {true, false}) {
                const auto key = shared_key(ad, ad ? a.id.value : w.inv.campaign_of(a).id.value);
                auto it = cache.find(key);
                if (it != cache.end()) {
                    it->second.used_ms = now;
                    if (now - it->second.at_ms < settings.hash_cache_ms) {
                        (ad ? w.ad_states : w.campaign_states)[k] = it->second.state;
                        continue;
                    }
                }
                auto& r = readers[key];
                if (r.empty()) {
                    keys.push_back(store_key(key));
                    read.push_back(key);
                }
                r.push_back(k);
            }
        }
    }
    if (keys.empty()) {
        return;
    }
    const auto started = parts.clock.monotonic_ns();
    auto hashes = parts.reader.hashes(keys);
    w.outcome.store_seconds = seconds(parts.clock.monotonic_ns() - started);
    if (!hashes) {
        w.degraded.emplace_back("user_features");  // contextual ranking on what is cached
        return;
    }
    std::size_t first = 0;
    if (w.personal) {
        w.user = std::make_shared<const entity_state>(user_state(std::move((*hashes)[0])));
        first = 1;
    }
    for (std::size_t i = first; i < keys.size(); ++i) {
        const auto key = read[i - first];
        const bool ad = is_ad(key);
        auto state = std::make_shared<const entity_state>(
            ad ? ad_state(std::move((*hashes)[i])) : plain_state(std::move((*hashes)[i])));
        for (auto k : readers[key]) {
            (ad ? w.ad_states : w.campaign_states)[k] = state;
        }
    }
    if (settings.hash_cache_ms <= 0) {
        return;
    }
    std::lock_guard lock(cache_mutex);  // taken once the hashes are parsed, as above
    if (cache.size() > 100'000) {
        cache.clear();  // bounded: the catalog's hashes, a second's worth at a time
    }
    for (std::size_t i = first; i < keys.size(); ++i) {
        const auto key = read[i - first];
        const auto& k = readers[key].front();
        cache[key] = {is_ad(key) ? w.ad_states[k] : w.campaign_states[k], now, now};
    }
}

http::reply rank_api::impl::decide(ranking_work& w, const std::string& request_id) const
{
    const auto n = w.candidates.size();
    std::vector<double> pctr(n, store_layout::smoothed_ctr_prior_ctr), pcvr(n, 0.0);
    const auto started = parts.clock.monotonic_ns();
    const std::string_view model_arm = w.arm ? std::string_view(w.arm->model_arm) : settings.arm;
    const auto ctr = parts.models ? parts.models("ctr", model_arm) : nullptr;
    auto ctr_rows = ctr ? builder_for(ctr) : nullptr;
    ranking::batch rows;
    std::vector<std::size_t> all(n);
    for (std::size_t k = 0; k < n; ++k) {
        all[k] = k;
    }
    bool scored = false;
    if (ctr && *ctr_rows) {
        rows = ctr->make_batch();
        scored = score(w, *ctr, **ctr_rows, all, rows, pctr).has_value();
    }
    if (!scored) {
        pctr.assign(n, store_layout::smoothed_ctr_prior_ctr);
        w.degraded.emplace_back("model");
    }
    std::vector<std::size_t> cpa;
    for (std::size_t k = 0; k < n; ++k) {
        if (w.inv.campaign_of(w.inv.ads()[w.candidates[k]]).kind == ranking::bid_kind::cpa) {
            cpa.push_back(k);
        }
    }
    if (!cpa.empty()) {
        const auto cvr = parts.models ? parts.models("cvr", model_arm) : nullptr;
        auto cvr_rows = cvr ? builder_for(cvr) : nullptr;
        ranking::batch b = cvr ? cvr->make_batch() : ranking::batch{};
        std::vector<double> p;
        if (cvr && *cvr_rows && score(w, *cvr, **cvr_rows, cpa, b, p)) {
            for (std::size_t i = 0; i < cpa.size(); ++i) {
                pcvr[cpa[i]] = p[i];
            }
        } else {
            w.degraded.emplace_back("cvr_model");
        }
    }
    w.outcome.scoring_seconds = seconds(parts.clock.monotonic_ns() - started);

    std::vector<ranking::bidder> bidders;
    bidders.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
        const auto& a = w.inv.ads()[w.candidates[k]];
        const auto& c = w.inv.campaign_of(a);
        bidders.push_back({a.id, c.id, c.kind, c.bid, c.priority, pctr[k], pcvr[k]});
    }
    // One ad per campaign in a response: each campaign's best ad takes part in the auction.
    std::unordered_map<std::uint32_t, std::size_t> best;
    for (std::size_t k = 0; k < n; ++k) {
        auto [it, fresh] = best.emplace(bidders[k].campaign.value, k);
        const auto& held = bidders[it->second];
        if (!fresh &&
            (ranking::ecpm(bidders[k]) > ranking::ecpm(held) ||
             (ranking::ecpm(bidders[k]) == ranking::ecpm(held) && bidders[k].ad < held.ad))) {
            it->second = k;
        }
    }
    std::vector<ranking::bidder> entrants;
    std::vector<std::size_t> entrant_of;  // entrant -> candidate
    for (std::size_t k = 0; k < n; ++k) {
        if (best[bidders[k].campaign.value] == k) {
            entrants.push_back(bidders[k]);
            entrant_of.push_back(k);
        }
    }
    const double floor = reserve(w.req.placement) * (w.arm ? w.arm->reserve_scale : 1.0);
    auto won = ranking::run_auction(entrants, {.slots = w.req.slots, .reserve_ecpm = floor});
    for (auto& x : won) {
        x.candidate = entrant_of[x.candidate];  // from here on: an index into the candidates
    }
    if (w.req.debug) {
        std::set<std::size_t> winners;
        for (const auto& x : won) {
            winners.insert(x.candidate);
        }
        for (std::size_t k = 0; k < n; ++k) {
            if (winners.contains(k)) {
                continue;
            }
            if (ranking::ecpm(bidders[k]) < floor) {
                w.dropped.emplace_back(bidders[k].ad.value, drop_reason::below_reserve);
            } else if (best[bidders[k].campaign.value] != k) {
                w.dropped.emplace_back(bidders[k].ad.value, drop_reason::same_campaign);
            }
        }
    }
    w.outcome.slots = w.req.slots;
    w.outcome.filled = won.size();
    w.outcome.degraded = !w.degraded.empty();
    if (w.arm) {
        w.outcome.experiment = w.arm->experiment;
        w.outcome.arm = w.arm->arm;
    }
    if (parts.observer) {
        parts.observer->ranked(w.outcome);
    }

    std::string ranked, logged_rows;
    for (std::size_t s = 0; s < won.size(); ++s) {
        const auto& x = won[s];
        const auto& b = bidders[x.candidate];
        ranked += fmt::format(
            "{}{{\"ad_id\":{},\"campaign_id\":{},\"slot\":{},\"score\":{},\"pctr\":{},{}"
            "\"ecpm\":{},\"price\":{},\"bid_type\":\"{}\"}}",
            s ? "," : "", b.ad.value, b.campaign.value, w.req.slot + static_cast<int>(s),
            number(b.pctr), number(b.pctr),
            b.kind == ranking::bid_kind::cpa ? fmt::format("\"pcvr\":{},", number(b.pcvr)) : "",
            number(x.ecpm), number(x.price), bid_name(b.kind));
        if (scored) {
            logged_rows += (s ? "," : "") + row_json(ctr->features(), rows, x.candidate);
        }
    }
    std::string degraded;
    for (const auto& d : w.degraded) {
        degraded += (degraded.empty() ? "" : ",") + json_quote(d);
    }
    const auto model = scored ? fmt::format("{{\"name\":{},\"version\":{},\"arm\":{}}}",
                                            json_quote(ctr->info().name), ctr->info().version,
                                            json_quote(model_arm))
                              : std::string("null");
    const auto experiment = w.arm
                                ? fmt::format("{{\"name\":{},\"arm\":{}}}",
                                              json_quote(w.arm->experiment), json_quote(w.arm->arm))
                                : std::string("null");
    std::string body = fmt::format(
        "{{\"request_id\":{},\"user_id\":{},\"personalised\":{},\"time\":{},\"ranked_ads\":[{}],"
        "\"model\":{},\"experiment\":{},\"degraded\":[{}]",
        json_quote(request_id), json_quote(w.req.user_id), w.personal, w.ctx.time_ms, ranked, model,
        experiment, degraded);
    if (parts.log && !w.erased) {
        parts.log->write(
            w.req.user_id,
            body + fmt::format(",\"context\":{{\"device\":{},\"geo\":{},\"placement\":{}}},"
                               "\"rows\":[{}]}}",
                               json_quote(w.ctx.device), json_quote(w.ctx.geo),
                               json_quote(w.ctx.placement), logged_rows));
    }
    if (w.req.debug) {
        std::string dropped;
        for (const auto& [id, why] : w.dropped) {
            dropped += fmt::format("{}\"{}\":\"{}\"", dropped.empty() ? "" : ",", id, name(why));
        }
        body += fmt::format(",\"candidates\":{},\"eligible\":{},\"dropped\":{{{}}}",
                            w.outcome.candidates, w.outcome.eligible, dropped);
    }
    return http::json_reply(200, body + "}");
}

}  // namespace adsx::serving
