#pragma once
// The closed loop's virtual users (`adsx simulate`): users of the world ask a ranking service
// for ads; what it serves becomes impressions, and the hidden ground truth (truth.h) decides,
// from the ads actually served, which are clicked and which convert. Pure: the service and the
// event log are ports; the app wires them to HTTP and to Kafka.
//
//   auto members = simulate::choose_users(world, 10'000, seed);   // by the generator's activity
//   simulate::virtual_users vu(world, params, my_share_of(members));
//   auto call = vu.next(now_ms);                    // who asks, in what context
//   auto answer = service.rank(call);               // the app's HTTP client
//   vu.answered(call, &answer, latency_ms, now_ms, sink);   // impressions now; clicks later
//   vu.flush(now_ms, sink);                         // the clicks and conversions now due
//
// Time: impressions carry the wall clock; clicks and conversions come after the truth's delays
// divided by `time_scale`, so that a loop of minutes sees conversions (whose delays average
// 90 minutes). Every event carries the request's id and the experiment arm the service named.
// Per arm it tallies what was served and what the truth made of it, plus what an oracle (the
// ads of highest true pCTR) and a random pick among the same candidates would have had on the
// same requests. Candidates for both are the ads whose campaign targets the user's geo and
// device and is in flight: budgets, pacing and frequency caps, which the service applies, are
// not applied to them (the oracle is a bound, not a rival). Not thread-safe: one per worker,
// each with its own users (per-user fatigue state lives here).
#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/events/event.h"
#include "adsx/simulate/random.h"
#include "adsx/simulate/truth.h"
#include "adsx/simulate/world.h"

namespace adsx::simulate {

struct loop_params
{
    std::uint64_t seed = 1;
    int slots = 3;                    // ads asked for per request
    double time_scale = 60;           // click and conversion delays run this many times faster
    std::int64_t world_start_ms = 0;  // the catalog's first day: flights are days from it
};

// A virtual user as the collector's edge knows them.
struct member
{
    std::uint32_t user = 0;  // world index
    std::string user_id;     // pseudonym
    std::string consent;     // TCF v2 string
    std::string ip;          // truncated
};

// `count` distinct users drawn by the generator's activity distribution (busy users first).
[[nodiscard]] std::vector<std::uint32_t> choose_users(const world& w, std::uint32_t count,
                                                      std::uint64_t seed);

struct rank_call
{
    const member* who = nullptr;
    events::device_type device = events::device_type::desktop;
    std::string_view geo;
    std::size_t placement = 0;  // index into placements
    std::int64_t time_ms = 0;
    int slots = 1;
};

struct served_ad
{
    std::uint32_t ad_id = 0;
    int slot = 1;
    double price = 0;  // in its bid's unit: per mille (CPM), per click, per conversion
};

struct rank_answer
{
    events::uuid request_id;
    std::string experiment;  // empty: not in one
    std::string arm;
    std::vector<served_ad> ads;
};

struct arm_tally
{
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;  // requests without an answer
    std::uint64_t slots_asked = 0;
    std::uint64_t impressions = 0;
    std::uint64_t clicks = 0;
    std::uint64_t conversions = 0;
    double revenue = 0;     // conversions' value
    double spend = 0;       // what advertisers were charged
    double true_ctr = 0;    // Σ true p(click) of the served impressions
    double oracle_ctr = 0;  // Σ over the same impressions' slots, had the oracle ranked
    double random_ctr = 0;  // the same, expected of a random pick
    std::vector<double> latency_ms;

    void merge(const arm_tally& o);
};

// What the loop lost at its end: clicks and conversions still due after the drain.
struct undelivered
{
    std::uint64_t clicks = 0;
    std::uint64_t conversions = 0;
};

class event_sink
{
public:
    event_sink() = default;
    event_sink(const event_sink&) = delete;
    event_sink& operator=(const event_sink&) = delete;
    event_sink(event_sink&&) = delete;
    event_sink& operator=(event_sink&&) = delete;
    virtual ~event_sink() = default;
    virtual void write(std::string_view key, std::string_view json) = 0;
};

class virtual_users
{
public:
    // `members`: this worker's users (non-empty); `stream`: tells workers' draws apart.
    virtual_users(const world& w, const loop_params& p, std::vector<member> members,
                  std::uint64_t stream);

    // The next request: a user by activity, their device and geo, a placement.
    [[nodiscard]] rank_call next(std::int64_t now_ms);
    // The service's answer to `call` (nullptr: none came): impressions now, clicks and
    // conversions scheduled. The tally is the answer's experiment arm's.
    void answered(const rank_call& call, const rank_answer* answer, double latency_ms,
                  std::int64_t now_ms, event_sink& sink);
    // Writes the clicks and conversions due by `now_ms`; returns how many.
    std::size_t flush(std::int64_t now_ms, event_sink& sink);
    // Forgets what is still due (the loop is over), counting it.
    [[nodiscard]] undelivered abandon();

    [[nodiscard]] std::size_t pending() const noexcept { return _pending.size(); }
    // By arm label: "experiment/arm", "(no experiment)", or "(no answer)" for the requests
    // the service did not answer.
    [[nodiscard]] const std::map<std::string, arm_tally>& tallies() const noexcept
    {
        return _tallies;
    }

private:
    struct due
    {
        std::int64_t time_ms;
        std::uint64_t seq;
        events::event_type type;
        std::uint32_t member;
        std::uint32_t ad;  // index
        events::uuid request_id;
        int slot;
        std::size_t placement;
        double price;  // charged by this event
        double revenue;
        std::string tally;  // arm label
        std::string experiment, arm;
        bool operator>(const due& o) const
        {
            return time_ms != o.time_ms ? time_ms > o.time_ms : seq > o.seq;
        }
    };

    void emit(const due& d, event_sink& sink);
    void compare(const rank_call& call, std::uint32_t m, std::size_t filled, int local_hour,
                 arm_tally& t);

    const world& _w;
    loop_params _p;
    std::vector<member> _members;
    std::vector<truth::exposures> _seen;  // by member
    alias_table _activity;
    rng _rng;
    std::vector<std::vector<std::uint32_t>> _targeting;  // [geo * devices + device]: ad indices
    std::priority_queue<due, std::vector<due>, std::greater<>> _pending;
    std::uint64_t _seq = 0;
    std::map<std::string, arm_tally> _tallies;
    std::string _json;
    std::vector<double> _scratch;
};

}  // namespace adsx::simulate
