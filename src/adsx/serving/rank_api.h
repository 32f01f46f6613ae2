#pragma once
// POST /rank_ads: retrieval → eligibility → features → scoring → auction, over ports.
//
//   serving::rank_api api({.inventory = live_inventory, .reader = redis_reader,
//                          .models = [&](auto head, auto arm) { return live.get(head, arm); },
//                          .log = &kafka_serve_log, .observer = &probe, .clock = clock},
//                         settings);
//   http::reply r = api.rank(request);
//
// 1. Retrieval from the inventory snapshot: the ads targeting the request's geo and device (or
//    the request's candidate_ids, each checked against the same targeting).
// 2. Eligibility: flight, budgets, pacing (inventory.h); frequency caps from the user's
//    per-campaign impressions in the last 24 h (the online store's user × campaign tiles).
// 3. Features: the user's hash (only with personalisation consent: without it no user key is
//    read), every candidate's ad hash and its campaign's, in one pipelined round trip; ad and
//    campaign hashes are kept up to `settings.hash_cache_ms` (1 s) and shared by requests, and
//    refresh_shared_hashes() keeps the ones in use fresh ahead of requests (which then read
//    one hash).
// 4. Scoring: the live `ctr` model (and `cvr` for CPA bids) of the user's experiment arm (or of
//    `settings.arm` outside experiments) on rows built by row_builder.h.
// 5. Auction (ranking/auction.h) with the placement's reserve (× the experiment arm's
//    reserve_scale: a reserve-price test).
// Degradation, never a 5xx: the store unreachable → contextual ranking flagged
// "user_features" (ad features from the cache when there); no loadable model → the CTR prior,
// flagged "model"; no cvr model → CPA candidates cannot win, flagged "cvr_model".
// Every answered request goes to the serve log with its winners, the rows they were scored on and
// the experiment arm. Thread-safe.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "adsx/base/time.h"
#include "adsx/features/online_reader.h"
#include "adsx/http/message.h"
#include "adsx/ranking/model.h"
#include "adsx/serving/live_inventory.h"
#include "adsx/serving/row_builder.h"

namespace adsx::serving {

// Where served decisions go (Kafka ad.serves). Must not block: an implementation that cannot
// keep up drops and counts.
class serve_log
{
public:
    serve_log() = default;
    serve_log(const serve_log&) = delete;
    serve_log& operator=(const serve_log&) = delete;
    serve_log(serve_log&&) = delete;
    serve_log& operator=(serve_log&&) = delete;
    virtual ~serve_log() = default;
    virtual void write(std::string_view key, std::string_view json) = 0;
};

// What one ranking did, for metrics.
struct rank_outcome
{
    std::size_t candidates = 0;  // retrieved
    std::size_t eligible = 0;    // after flights, budgets, pacing and caps
    std::size_t slots = 0;
    std::size_t filled = 0;
    bool degraded = false;
    double store_seconds = 0;
    double scoring_seconds = 0;
    // The request's experiment and arm ("" outside any); valid during rank_observer::ranked.
    std::string_view experiment, arm;
};

class rank_observer
{
public:
    rank_observer() = default;
    rank_observer(const rank_observer&) = delete;
    rank_observer& operator=(const rank_observer&) = delete;
    rank_observer(rank_observer&&) = delete;
    rank_observer& operator=(rank_observer&&) = delete;
    virtual ~rank_observer() = default;
    virtual void ranked(const rank_outcome& o) = 0;
};

// The live model of a head ("ctr", "cvr") for a model arm (the registry's current/{arm}).
using model_lookup = std::function<std::shared_ptr<const ranking::model>(
    std::string_view head, std::string_view model_arm)>;

// The experiment arm a user is in (experiments/assignment.h through the running experiments),
// or nullopt: then the request is served by `rank_settings::arm`'s models and logged with no
// experiment.
struct arm_choice
{
    std::string experiment;
    std::string arm;
    std::string model_arm;
    double reserve_scale = 1;  // the arm's multiplier of the placements' reserves
};
using arm_lookup = std::function<std::optional<arm_choice>(std::string_view user_id)>;

struct rank_parts
{
    live_inventory& inventory;
    features::online_reader& reader;
    model_lookup models;
    arm_lookup assign;  // empty: no experiments
    // Whether a user is on the erasure suppression list (privacy/suppression.h; empty: none).
    // An erased user is served as one without consent, in no experiment, and their requests
    // are not logged: a serve log record would bring their pseudonym back into Kafka.
    std::function<bool(std::string_view user_id)> erased = {};
    serve_log* log = nullptr;
    rank_observer* observer = nullptr;
    const adsx::clock& clock;
};

struct rank_settings
{
    std::map<std::string, double, std::less<>> reserve_ecpm;  // by placement
    double default_reserve_ecpm = 0;
    std::int64_t hash_cache_ms = 1000;  // 0: read every ad and campaign hash every time
    std::string arm = "control";        // the model arm of users in no experiment
};

// "feed=0.5,sidebar=0.25,*=0.1" → reserves by placement and the default ('*').
[[nodiscard]] result<rank_settings> parse_reserves(std::string_view spec, rank_settings s);

class rank_api
{
public:
    rank_api(rank_parts parts, rank_settings settings);
    rank_api(const rank_api&) = delete;
    rank_api& operator=(const rank_api&) = delete;
    rank_api(rank_api&&) = delete;
    rank_api& operator=(rank_api&&) = delete;
    ~rank_api();

    [[nodiscard]] http::reply rank(const http::request& q) const;
    // Refresh-ahead of the shared hash cache: reads again, in pipelined chunks, every ad and
    // campaign hash a request wanted within the last two `hash_cache_ms` that would expire
    // within `within_ms`, so that requests find them fresh and read only the user's hash.
    // Call it more often than `within_ms` (adsx serve's main loop: every 50 ms, 200 ms ahead):
    // each hash is then read about once per period. Returns how many hashes were read; fails
    // (keeping what was read) when the store does.
    [[nodiscard]] result<std::size_t> refresh_shared_hashes(std::int64_t within_ms) const;

    struct impl;

private:
    std::unique_ptr<impl> _impl;
};

}  // namespace adsx::serving
