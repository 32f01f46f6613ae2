#pragma once
// Deterministic user-level assignment. A bucket is
//   bucket(salt, layer, user) = first 8 bytes of SHA-256(salt ␟ layer ␟ user), big-endian, mod
//   10,000
// (␟ = the unit separator 0x1F), the same in every process, language and restart. Python's
// twin is python/adsx_jobs/experiments.py; both are held to the fixed vectors in their tests.
// Two buckets place a user:
//   - the layer bucket, bucket("", layer, user), the same for every experiment of a layer: an
//     experiment owns a range of it, and ranges of one layer do not overlap (mutual exclusion);
//   - the arm bucket, bucket(experiment salt, layer, user): inside its range an experiment
//     cuts it into a holdout (its first buckets) and the arms by weight, so a new salt reshuffles
//     arms without moving users between experiments.
//
//   auto b = bucket("s3", "ranking", "K1:9f…");   // 0..9999
//   auto arm = choose(split, b);                  // index into the arms, or nullopt
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace adsx::experiments {

inline constexpr std::uint32_t buckets = 10'000;

[[nodiscard]] std::uint32_t bucket(std::string_view salt, std::string_view layer,
                                   std::string_view user);

// An experiment's place in its layer: buckets [first, first + count), of which the first
// `holdout` serve no arm; the others go to arm i in proportion to weights[i].
struct split
{
    std::uint32_t first = 0;
    std::uint32_t count = buckets;
    std::uint32_t holdout = 0;
    std::span<const double> weights;
};

// The arm of a bucket: nullopt outside the experiment's range or in its holdout.
[[nodiscard]] std::optional<std::size_t> choose(const split& s, std::uint32_t bucket);

// A running experiment as the service needs it (stored in PostgreSQL: pg/experiments.h):
// layer buckets [first, first + count) are its users; `holdout` of the 10,000 arm buckets serve
// no arm; `model_arms[i]` names the registry pointer ({model}/current/{model_arm}) arm i serves.
struct experiment_spec
{
    std::string name;
    std::string layer;
    std::string salt;
    std::uint32_t first = 0;
    std::uint32_t count = buckets;
    std::uint32_t holdout = 0;
    std::vector<std::string> arms;
    std::vector<double> weights;
    std::vector<std::string> model_arms;
    // What each arm changes in ranking besides the models: its multiplier of the placements'
    // reserve eCPMs (empty: 1 for every arm).
    std::vector<double> reserve_scales;
};

// Where a user is: the experiment, its arm and the model pointer that arm serves.
struct placement
{
    const experiment_spec* experiment = nullptr;
    std::size_t arm = 0;

    [[nodiscard]] const std::string& arm_name() const { return experiment->arms[arm]; }
    [[nodiscard]] const std::string& model_arm() const { return experiment->model_arms[arm]; }
    [[nodiscard]] double reserve_scale() const
    {
        return arm < experiment->reserve_scales.size() ? experiment->reserve_scales[arm] : 1.0;
    }
};

// Assigns users to the running experiments. A user is placed in the first experiment, in name
// order, whose range of its layer holds the user's layer bucket and whose holdout the user's
// arm bucket misses;
// experiments that change the same thing (the models) belong in one layer, where ranges cannot
// overlap, so that this first one is the only one. Immutable: share it between threads and
// swap in a new one when the experiments change.
class assigner
{
public:
    assigner() = default;
    explicit assigner(std::vector<experiment_spec> running);

    [[nodiscard]] std::optional<placement> assign(std::string_view user) const;
    [[nodiscard]] const std::vector<experiment_spec>& experiments() const { return _running; }

private:
    std::vector<experiment_spec> _running;
};

// Why a set of experiments cannot run together (two ranges of one layer overlap, an arm without
// weight or model pointer), or nothing.
[[nodiscard]] std::optional<std::string> conflict(const std::vector<experiment_spec>& running);

}  // namespace adsx::experiments
