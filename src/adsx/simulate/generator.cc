#include "adsx/simulate/generator.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "adsx/base/time.h"
#include "adsx/events/codec.h"
#include "adsx/simulate/truth.h"

namespace adsx::simulate {

using events::event_type;

namespace {

constexpr std::array<std::string_view, fault_count> fault_names = {
    "none",         "truncated_json",   "wrong_type",      "missing_field", "unknown_event_type",
    "orphan_click", "negative_revenue", "future_timestamp"};

double priority_weight(int priority)
{
    return priority == 1 ? 3.0 : (priority == 2 ? 1.5 : 1.0);
}

// A comparable "value" of a campaign's bid across bid types (expected CPM at a typical CTR).
// Prices are settled in micro-units of the currency.
double micros(double amount)
{
    return std::round(amount * 1e6) / 1e6;
}

double value_weight(const campaign& c)
{
    switch (c.type) {
        case bid_type::cpm:
            return c.bid;
        case bid_type::cpc:
            return c.bid * 1000 * 0.013;
        case bid_type::cpa:
            return c.bid * 1000 * 0.013 * 0.05;
    }
    return 1;
}

}  // namespace

std::string_view name(fault f) noexcept
{
    return fault_names[static_cast<std::size_t>(f)];
}

generator::generator(const world& w, edge& e, const generator_params& p)
  : _w(w), _edge(e), _p(p), _rng(p.seed ^ 0x5eed5eed5eed5eedULL),
    _users(alias_table::zipf(w.users.size(), w.params.zipf_exponent, w.params.zipf_offset)),
    _state(w.users.size()), _spend(w.campaigns.size())
{
    for (std::size_t g = 0; g < geos.size(); ++g) {
        for (int d = 0; d < events::device_count; ++d) {
            std::vector<std::uint32_t> list;
            std::vector<double> weights;
            for (std::uint32_t a = 0; a < w.ads.size(); ++a) {
                const auto& c = w.campaigns[w.ads[a].campaign];
                if ((c.geo_mask >> g & 1u) && (c.device_mask >> d & 1u)) {
                    list.push_back(a);
                    weights.push_back(priority_weight(c.priority) * value_weight(c));
                }
            }
            if (list.empty()) {  // nobody targets this audience: any ad may fill (house ads)
                for (std::uint32_t a = 0; a < w.ads.size(); ++a) {
                    list.push_back(a);
                    weights.push_back(1.0);
                }
            }
            _ads_by_geo_device.emplace_back(weights);
            _ad_lists.push_back(std::move(list));
        }
    }
    _next_arrival = static_cast<double>(p.start_ms);
    draw_next_arrival(p.events);
}

void generator::draw_next_arrival(std::uint64_t slots_left)
{
    // The earliest of k points uniform over what is left of the span, k the impressions the
    // free slots should still hold (about 1.6% of records follow an impression): a Poisson
    // process's arrivals, conditioned on the span, so no impression can fall past its end. A
    // fixed mean gap overran the end by ~span/√N, which put events up to an hour into the wall
    // clock's future when the default span ends at today's midnight and a run starts just after.
    const double horizon = static_cast<double>(_p.start_ms + _p.span_ms);
    const double k =
        std::max(1.0, static_cast<double>(slots_left) * (1.0 - _p.malformed_rate) / 1.016);
    const double gap = (horizon - _next_arrival) * -std::expm1(std::log1p(-_rng.uniform()) / k);
    _next_arrival = std::min(_next_arrival + gap, horizon - 1);
}

std::uint64_t generator::room() const noexcept
{
    auto used = _emitted + _pending.size();
    return used >= _p.events ? 0 : _p.events - used;
}

events::uuid random_uuid(rng& r) noexcept
{
    events::uuid id;
    for (int half = 0; half < 2; ++half) {
        auto v = r.next();
        for (int i = 0; i < 8; ++i) {
            id.bytes[static_cast<std::size_t>(half * 8 + i)] =
                static_cast<std::uint8_t>(v >> (8 * i));
        }
    }
    id.bytes[6] = static_cast<std::uint8_t>((id.bytes[6] & 0x0f) | 0x40);  // version 4
    id.bytes[8] = static_cast<std::uint8_t>((id.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return id;
}

events::uuid generator::new_uuid()
{
    return random_uuid(_rng);
}

bool generator::next(record& r)
{
    if (_emitted >= _p.events) {
        return false;
    }
    if (_p.malformed_rate > 0 && _have_template && room() > 0 &&
        _rng.bernoulli(_p.malformed_rate)) {
        make_fault(r);
    } else if (!_pending.empty() &&
               (room() == 0 || static_cast<double>(_pending.top().time_ms) <= _next_arrival)) {
        r = _pending.top().rec;
        _pending.pop();
    } else {
        make_impression(r, static_cast<std::int64_t>(_next_arrival));
        draw_next_arrival(room() - 1);  // room() still counts this impression
    }
    ++_emitted;
    if (r.kind == fault::none) {
        _template = r;
        _have_template = true;
    }
    return true;
}

std::uint32_t generator::pick_user(std::int64_t t, int& local_hour)
{
    std::uint32_t u = 0;
    for (int tries = 0; tries < 32; ++tries) {
        u = static_cast<std::uint32_t>(_users.sample(_rng));
        local_hour = local_hour_of(t, geos[_w.users[u].geo].utc_offset_hours);
        if (_rng.uniform() < truth::activity(local_hour)) {
            break;
        }
    }
    return u;
}

bool generator::eligible(std::uint32_t ad_index, std::uint32_t user, std::int64_t t)
{
    const auto ci = _w.ads[ad_index].campaign;
    const auto& c = _w.campaigns[ci];
    const int day = static_cast<int>((t - _p.start_ms) / day_ms);
    if (day < c.flight_start_day || day >= c.flight_end_day) {
        return false;
    }
    const auto& s = _spend[ci];
    if ((s.day == day && s.today >= c.daily_budget) || s.total >= c.lifetime_budget) {
        return false;
    }
    return _shown_today.get(std::uint64_t{user} << 32 | ci) <
           static_cast<std::uint32_t>(c.frequency_cap);
}

std::uint32_t generator::pick_ad(std::uint32_t user, std::int64_t t)
{
    const auto& u = _w.users[user];
    const auto slot =
        static_cast<std::size_t>(u.geo) * events::device_count + static_cast<std::size_t>(u.device);
    const auto& list = _ad_lists[slot];
    std::uint32_t a = list[_ads_by_geo_device[slot].sample(_rng)];
    for (int tries = 0; tries < 16 && !eligible(a, user, t); ++tries) {
        a = list[_ads_by_geo_device[slot].sample(_rng)];
    }
    return a;  // after 16 misses the last draw fills the slot (a remnant/house ad)
}

void generator::charge(std::uint32_t campaign, std::int64_t t, double amount)
{
    auto& s = _spend[campaign];
    const int day = static_cast<int>((t - _p.start_ms) / day_ms);
    if (s.day != day) {
        s.day = day;
        s.today = 0;
    }
    s.today += amount;
    s.total += amount;
}

void generator::make_impression(record& r, std::int64_t t)
{
    if (const int day = static_cast<int>((t - _p.start_ms) / day_ms); day != _today) {
        _today = day;
        _shown_today.clear();
    }
    int hour = 0;
    const auto u = pick_user(t, hour);
    const auto a = pick_ad(u, t);
    const auto& usr = _w.users[u];
    const auto& ad = _w.ads[a];
    const auto& c = _w.campaigns[ad.campaign];
    auto& seen_by = _state[u];
    const auto seen = seen_by.before(_w, a, t);
    r = record{};
    r.user = u;
    auto& e = r.ev;
    e.event_id = new_uuid();
    e.type = event_type::impression;
    e.event_time_ms = t;
    e.user_id = _edge.user_id(u);
    e.ad_id = a + 1;
    e.campaign_id = ad.campaign + 1;
    e.advertiser_id = c.advertiser + 1;
    e.request_id = new_uuid();
    e.device = usr.device;
    e.geo = geos[usr.geo].code;
    const auto placement = static_cast<std::size_t>(_rng.below(placements.size()));
    e.placement = placements[placement];
    e.slot = 1 + static_cast<int>(_rng.below(5));
    e.bid = c.bid;
    e.price =
        c.type == bid_type::cpm ? micros(c.bid / 1000.0 * (0.5 + 0.45 * _rng.uniform())) : 0.0;
    e.consent = _edge.consent(usr.personalisation_consent);
    e.ip = _edge.ip(u);
    e.user_agent = simulate::user_agents[static_cast<std::size_t>(usr.device)];
    r.p_click = truth::p_click(
        _w, {usr, ad, hour, e.slot, placement, seen.same_campaign, seen.ad_recently});
    charge(ad.campaign, t, e.price);
    _shown_today.increment(std::uint64_t{u} << 32 | ad.campaign);
    seen_by.add(a, t);
    schedule_chain(r, truth::p_conversion(usr, ad));
}

void generator::schedule_chain(const record& imp, double p_conversion)
{
    const auto& ad = _w.ads[imp.ev.ad_id - 1];
    const auto drawn = truth::draw_chain(_rng, imp.p_click, p_conversion, ad.category);
    if (!drawn) {
        return;
    }
    const auto horizon = _p.start_ms + _p.span_ms;
    const auto& c = _w.campaigns[ad.campaign];
    // room() counts this impression as not yet emitted: it needs 1 slot, the click 1 more.
    const auto click_t = imp.ev.event_time_ms + static_cast<std::int64_t>(drawn->click_delay_ms);
    if (click_t >= horizon || room() < 2) {
        return;
    }
    record click = imp;
    click.ev.event_id = new_uuid();
    click.ev.type = event_type::click;
    click.ev.event_time_ms = click_t;
    click.ev.price = c.type == bid_type::cpc ? micros(c.bid * (0.5 + 0.45 * _rng.uniform())) : 0.0;
    charge(ad.campaign, click_t, click.ev.price);
    _pending.push({click_t, _seq++, click});
    const auto conv_t = click_t + static_cast<std::int64_t>(drawn->conversion_delay_ms);
    if (!drawn->converts || conv_t >= horizon || room() < 2) {
        return;
    }
    record conv = click;
    conv.ev.event_id = new_uuid();
    conv.ev.type = event_type::conversion;
    conv.ev.event_time_ms = conv_t;
    conv.ev.price = c.type == bid_type::cpa ? c.bid : 0.0;
    conv.ev.revenue = drawn->revenue;
    charge(ad.campaign, conv_t, conv.ev.price);
    _pending.push({conv_t, _seq++, conv});
}

void generator::make_fault(record& r)
{
    r = _template;
    r.kind = static_cast<fault>(1 + _rng.below(fault_count - 1));
    r.fault_draw = _rng.uniform();
    r.ev.event_id = new_uuid();
    switch (r.kind) {
        case fault::orphan_click:
            r.ev.type = event_type::click;
            r.ev.revenue = 0;              // a well-formed click…
            r.ev.request_id = new_uuid();  // …of a request no impression ever had
            break;
        case fault::negative_revenue:
            r.ev.type = event_type::conversion;
            r.ev.revenue = -std::round((1 + 50 * r.fault_draw) * 100) / 100;
            break;
        case fault::future_timestamp:
            r.ev.event_time_ms += 30 * day_ms;
            break;
        default:
            break;  // the byte-level faults are applied by encode()
    }
}

void generator::encode(const record& r, std::string& out) const
{
    const auto start = out.size();
    events::encode(r.ev, out);
    auto replace_value = [&](std::string_view key, std::string_view with) {
        auto k = out.find(key, start);
        auto v = k + key.size();
        auto end = out.find_first_of(",}", out[v] == '"' ? out.find('"', v + 1) : v);
        out.replace(v, end - v, with);
    };
    switch (r.kind) {
        case fault::truncated_json: {
            auto len = out.size() - start;
            out.resize(start + 1 +
                       static_cast<std::size_t>(r.fault_draw * static_cast<double>(len - 2)));
            break;
        }
        case fault::wrong_type:
            replace_value("\"ad_id\":", fmt::format("\"{}\"", r.ev.ad_id));
            break;
        case fault::missing_field: {
            auto k = out.find(",\"user_id\":", start);
            auto end = out.find('"', out.find('"', k + 11) + 1);
            out.erase(k, end + 1 - k);
            break;
        }
        case fault::unknown_event_type:
            replace_value("\"event_type\":", "\"hover\"");
            break;
        default:
            break;
    }
}

}  // namespace adsx::simulate
