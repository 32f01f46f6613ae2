#pragma once
// Ad traffic in event time: impression → click → conversion chains drawn from the world's
// ground truth, emitted in event-time order (pending clicks and conversions wait in a heap until
// the timeline reaches them), optionally mixed with realistic malformed records.
//
//   generator g(world, edge, {.seed = 7, .events = 1'000'000, .start_ms = t0, .span_ms = 7 * day});
//   record r;  std::string json;
//   while (g.next(r)) { json.clear(); g.encode(r, json); produce(r.ev.user_id, json); }
//
// Memory stays flat in the number of events: per-user state is a fixed ring of recent
// impressions and the heap holds only chains still in flight (bounded by delays × rate).
// Exactly `events` records come out, all inside [start, start + span) (but a future_timestamp
// fault's); chain members that would fall after the end of the span are not generated (as in
// life: the observation window closes). Same world, seed and params ⇒
// the same records, byte for byte.
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/events/event.h"
#include "adsx/simulate/random.h"
#include "adsx/simulate/truth.h"
#include "adsx/simulate/world.h"

namespace adsx::simulate {

// The collector's side of privacy, injected: pseudonymous ids, truncated IPs, consent strings.
// Returned views must stay valid for the generator's lifetime.
class edge
{
public:
    virtual ~edge() = default;
    virtual std::string_view user_id(std::uint32_t user) = 0;
    virtual std::string_view ip(std::uint32_t user) = 0;
    virtual std::string_view consent(bool personalisation) = 0;
};

// Kinds of bad record `--malformed-rate` mixes in (each maps to a DLQ reason downstream).
enum class fault : std::uint8_t
{
    none,
    truncated_json,
    wrong_type,
    missing_field,
    unknown_event_type,
    orphan_click,
    negative_revenue,
    future_timestamp,
};
inline constexpr int fault_count = 8;
[[nodiscard]] std::string_view name(fault f) noexcept;

// A version-4 UUID from the seeded stream (reproducible, unlike the system's).
[[nodiscard]] events::uuid random_uuid(rng& r) noexcept;

struct generator_params
{
    std::uint64_t seed = 1;
    std::uint64_t events = 1'000'000;  // records out, malformed ones included
    std::int64_t start_ms = 0;         // event time of the timeline's start
    std::int64_t span_ms = 7 * 86'400'000LL;
    double malformed_rate = 0;
};

struct record
{
    events::event ev;
    fault kind = fault::none;
    double fault_draw = 0;   // where a truncation cuts, in [0, 1)
    std::uint32_t user = 0;  // world index (never on the wire)
    double p_click = 0;      // ground truth at the impression
};

class generator
{
public:
    generator(const world& w, edge& e, const generator_params& p);

    // The next record in event-time order; false once `events` records were produced.
    [[nodiscard]] bool next(record& r);
    // Appends the wire bytes of `r`: the event's JSON, or the malformed bytes of a fault.
    void encode(const record& r, std::string& out) const;

    [[nodiscard]] std::uint64_t emitted() const noexcept { return _emitted; }
    [[nodiscard]] std::size_t in_flight() const noexcept { return _pending.size(); }

private:
    struct spend
    {
        int day = -1;
        double today = 0;
        double total = 0;
    };
    struct pending
    {
        std::int64_t time_ms;
        std::uint64_t seq;
        record rec;
        bool operator>(const pending& o) const
        {
            return time_ms != o.time_ms ? time_ms > o.time_ms : seq > o.seq;
        }
    };

    [[nodiscard]] std::uint64_t room() const noexcept;
    [[nodiscard]] std::uint32_t pick_user(std::int64_t t, int& local_hour);
    [[nodiscard]] bool eligible(std::uint32_t ad_index, std::uint32_t user, std::int64_t t);
    [[nodiscard]] std::uint32_t pick_ad(std::uint32_t user, std::int64_t t);
    void make_impression(record& r, std::int64_t t);
    void schedule_chain(const record& imp, double p_conversion);
    void draw_next_arrival(std::uint64_t slots_left);
    void make_fault(record& r);
    void charge(std::uint32_t campaign, std::int64_t t, double amount);
    events::uuid new_uuid();

    const world& _w;
    edge& _edge;
    generator_params _p;
    rng _rng;
    alias_table _users;
    std::vector<alias_table> _ads_by_geo_device;        // [geo * 4 + device]
    std::vector<std::vector<std::uint32_t>> _ad_lists;  // same index: the ads the table draws
    std::vector<truth::exposures> _state;
    // Impressions per (user, campaign) today, for frequency caps; cleared at each new day, so
    // it holds at most one day of traffic.
    counter_table _shown_today;
    int _today = -1;
    std::vector<spend> _spend;
    std::priority_queue<pending, std::vector<pending>, std::greater<>> _pending;
    std::uint64_t _seq = 0;
    std::uint64_t _emitted = 0;
    double _next_arrival;  // event time of the next impression
    record _template;
    bool _have_template = false;
};

}  // namespace adsx::simulate
