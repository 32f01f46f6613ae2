#include "adsx/simulate/closed_loop.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"
#include "adsx/simulate/generator.h"

namespace adsx::simulate {

namespace {

constexpr std::string_view no_experiment = "(no experiment)";
constexpr std::string_view no_answer = "(no answer)";

// The generator's activity weight of user `u` (index = activity rank).
double activity_weight(const world& w, std::uint32_t u)
{
    return std::pow(static_cast<double>(u) + 1 + w.params.zipf_offset, -w.params.zipf_exponent);
}

std::size_t audience(std::size_t geo, events::device_type d)
{
    return geo * events::device_count + static_cast<std::size_t>(d);
}

}  // namespace

void arm_tally::merge(const arm_tally& o)
{
    requests += o.requests;
    errors += o.errors;
    slots_asked += o.slots_asked;
    impressions += o.impressions;
    clicks += o.clicks;
    conversions += o.conversions;
    revenue += o.revenue;
    spend += o.spend;
    true_ctr += o.true_ctr;
    oracle_ctr += o.oracle_ctr;
    random_ctr += o.random_ctr;
    latency_ms.insert(latency_ms.end(), o.latency_ms.begin(), o.latency_ms.end());
}

std::vector<std::uint32_t> choose_users(const world& w, std::uint32_t count, std::uint64_t seed)
{
    // Weighted sampling without replacement (Efraimidis–Spirakis): the `count` largest
    // log(u) / weight keys.
    rng r(seed ^ 0x600dc0ffee5eedULL);
    const auto n = static_cast<std::uint32_t>(w.users.size());
    count = std::min(count, n);
    std::vector<std::pair<double, std::uint32_t>> keys(n);
    for (std::uint32_t u = 0; u < n; ++u) {
        keys[u] = {std::log(1.0 - r.uniform()) / activity_weight(w, u), u};
    }
    std::partial_sort(keys.begin(), keys.begin() + count, keys.end(), std::greater<>());
    std::vector<std::uint32_t> out(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        out[i] = keys[i].second;
    }
    std::sort(out.begin(), out.end());
    return out;
}

virtual_users::virtual_users(const world& w, const loop_params& p, std::vector<member> members,
                             std::uint64_t stream)
  : _w(w), _p(p), _members(std::move(members)), _seen(_members.size()), _activity([&] {
        std::vector<double> weights;
        for (const auto& m : _members) {
            weights.push_back(activity_weight(w, m.user));
        }
        return weights;
    }()),
    _rng(p.seed * 0x9e3779b97f4a7c15ULL + stream + 1),
    _targeting(geos.size() * events::device_count)
{
    for (std::uint32_t a = 0; a < w.ads.size(); ++a) {
        const auto& c = w.campaigns[w.ads[a].campaign];
        for (std::size_t g = 0; g < geos.size(); ++g) {
            for (int d = 0; d < events::device_count; ++d) {
                if ((c.geo_mask >> g & 1u) && (c.device_mask >> d & 1u)) {
                    _targeting[audience(g, static_cast<events::device_type>(d))].push_back(a);
                }
            }
        }
    }
}

rank_call virtual_users::next(std::int64_t now_ms)
{
    const auto m = static_cast<std::uint32_t>(_activity.sample(_rng));
    const auto& u = _w.users[_members[m].user];
    rank_call c;
    c.who = &_members[m];
    c.device = u.device;
    c.geo = geos[u.geo].code;
    c.placement = static_cast<std::size_t>(_rng.below(placements.size()));
    c.time_ms = now_ms;
    c.slots = _p.slots;
    return c;
}

void virtual_users::compare(const rank_call& call, std::uint32_t m, std::size_t filled,
                            int local_hour, arm_tally& t)
{
    const auto& u = _w.users[_members[m].user];
    const int day = static_cast<int>((call.time_ms - _p.world_start_ms) / day_ms);
    auto p_at = [&](std::uint32_t a, int slot) {
        const auto seen = _seen[m].before(_w, a, call.time_ms);
        return truth::p_click(_w, {u, _w.ads[a], local_hour, slot, call.placement,
                                   seen.same_campaign, seen.ad_recently});
    };
    std::vector<std::uint32_t> candidates;
    for (auto a : _targeting[audience(u.geo, u.device)]) {
        const auto& c = _w.campaigns[_w.ads[a].campaign];
        if (day >= c.flight_start_day && day < c.flight_end_day) {
            candidates.push_back(a);
        }
    }
    if (candidates.empty()) {
        return;
    }
    filled = std::min(filled, candidates.size());
    _scratch.assign(candidates.size(), 0);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        _scratch[i] = p_at(candidates[i], 1);
    }
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(filled),
                      order.end(), [&](auto x, auto y) { return _scratch[x] > _scratch[y]; });
    for (std::size_t s = 0; s < filled; ++s) {
        const int slot = static_cast<int>(s) + 1;
        t.oracle_ctr += p_at(candidates[order[s]], slot);
        double sum = 0;
        for (auto a : candidates) {
            sum += p_at(a, slot);
        }
        t.random_ctr += sum / static_cast<double>(candidates.size());
    }
}

void virtual_users::answered(const rank_call& call, const rank_answer* answer, double latency_ms,
                             std::int64_t now_ms, event_sink& sink)
{
    const auto m = static_cast<std::uint32_t>(call.who - _members.data());
    // Requests without an answer have no arm: they are tallied apart.
    const std::string label = !answer                       ? std::string(no_answer)
                              : !answer->experiment.empty() ? answer->experiment + "/" + answer->arm
                                                            : std::string(no_experiment);
    auto& t = _tallies[label];
    ++t.requests;
    t.slots_asked += static_cast<std::uint64_t>(call.slots);
    if (!answer) {
        ++t.errors;
        return;
    }
    t.latency_ms.push_back(latency_ms);
    const auto& u = _w.users[call.who->user];
    const int hour = local_hour_of(now_ms, geos[u.geo].utc_offset_hours);
    compare(call, m, answer->ads.size(), hour, t);
    for (const auto& s : answer->ads) {
        if (s.ad_id == 0 || s.ad_id > _w.ads.size()) {
            continue;  // not an ad of this world (a catalog written from another)
        }
        const auto a = s.ad_id - 1;
        const auto& ad = _w.ads[a];
        const auto& c = _w.campaigns[ad.campaign];
        const auto seen = _seen[m].before(_w, a, now_ms);
        const double p = truth::p_click(
            _w, {u, ad, hour, s.slot, call.placement, seen.same_campaign, seen.ad_recently});
        _seen[m].add(a, now_ms);
        t.true_ctr += p;
        due imp{now_ms,
                _seq++,
                events::event_type::impression,
                m,
                a,
                answer->request_id,
                s.slot,
                call.placement,
                c.type == bid_type::cpm ? s.price / 1000 : 0.0,
                0.0,
                label,
                answer->experiment,
                answer->arm};
        emit(imp, sink);
        const auto chain = truth::draw_chain(_rng, p, truth::p_conversion(u, ad), ad.category);
        if (!chain) {
            continue;
        }
        due click = imp;
        click.type = events::event_type::click;
        click.time_ms = now_ms + static_cast<std::int64_t>(chain->click_delay_ms / _p.time_scale);
        click.seq = _seq++;
        click.price = c.type == bid_type::cpc ? s.price : 0.0;
        if (chain->converts) {
            due conv = click;
            conv.type = events::event_type::conversion;
            conv.time_ms = click.time_ms +
                           static_cast<std::int64_t>(chain->conversion_delay_ms / _p.time_scale);
            conv.seq = _seq++;
            conv.price = c.type == bid_type::cpa ? s.price : 0.0;
            conv.revenue = chain->revenue;
            _pending.push(std::move(conv));
        }
        _pending.push(std::move(click));
    }
}

void virtual_users::emit(const due& d, event_sink& sink)
{
    const auto& mem = _members[d.member];
    const auto& u = _w.users[mem.user];
    const auto& ad = _w.ads[d.ad];
    const auto& c = _w.campaigns[ad.campaign];
    events::event e;
    e.event_id = random_uuid(_rng);
    e.type = d.type;
    e.event_time_ms = d.time_ms;
    e.user_id = mem.user_id;
    e.ad_id = d.ad + 1;
    e.campaign_id = ad.campaign + 1;
    e.advertiser_id = c.advertiser + 1;
    e.request_id = d.request_id;
    e.device = u.device;
    e.geo = geos[u.geo].code;
    e.placement = placements[d.placement];
    e.slot = d.slot;
    e.bid = c.bid;
    e.price = d.price;
    e.revenue = d.revenue;
    e.experiment = d.experiment;
    e.arm = d.arm;
    e.consent = mem.consent;
    e.ip = mem.ip;
    e.user_agent = user_agents[static_cast<std::size_t>(u.device)];
    _json.clear();
    events::encode(e, _json);
    sink.write(e.user_id, _json);
    auto& t = _tallies[d.tally];
    t.spend += d.price;
    switch (d.type) {
        case events::event_type::impression:
            ++t.impressions;
            break;
        case events::event_type::click:
            ++t.clicks;
            break;
        case events::event_type::conversion:
            ++t.conversions;
            t.revenue += d.revenue;
            break;
    }
}

std::size_t virtual_users::flush(std::int64_t now_ms, event_sink& sink)
{
    std::size_t n = 0;
    while (!_pending.empty() && _pending.top().time_ms <= now_ms) {
        emit(_pending.top(), sink);
        _pending.pop();
        ++n;
    }
    return n;
}

undelivered virtual_users::abandon()
{
    undelivered u;
    while (!_pending.empty()) {
        (_pending.top().type == events::event_type::click ? u.clicks : u.conversions) += 1;
        _pending.pop();
    }
    return u;
}

}  // namespace adsx::simulate
