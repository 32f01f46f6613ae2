#include "adsx/experiments/assignment.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include <fmt/format.h>
#include <openssl/sha.h>

namespace adsx::experiments {

std::uint32_t bucket(std::string_view salt, std::string_view layer, std::string_view user)
{
    std::string key;
    key.reserve(salt.size() + layer.size() + user.size() + 2);
    key.append(salt).push_back('\x1f');
    key.append(layer).push_back('\x1f');
    key.append(user);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::uint64_t head = 0;
    for (int i = 0; i < 8; ++i) {
        head = (head << 8) | digest[i];
    }
    return static_cast<std::uint32_t>(head % buckets);
}

std::optional<std::size_t> choose(const split& s, std::uint32_t bucket)
{
    if (bucket < s.first || bucket >= s.first + s.count || s.weights.empty()) {
        return std::nullopt;
    }
    const std::uint32_t offset = bucket - s.first;
    if (offset < s.holdout) {
        return std::nullopt;
    }
    // Arm i owns the offsets below the cumulative share of arms 0..i, rounded the same way
    // everywhere: floor(count_in_arms * cumulative_weight / total_weight).
    const double total = std::accumulate(s.weights.begin(), s.weights.end(), 0.0);
    const double in_arms = s.count - s.holdout;
    double cumulative = 0;
    for (std::size_t i = 0; i < s.weights.size(); ++i) {
        cumulative += s.weights[i];
        if (offset - s.holdout < std::floor(in_arms * cumulative / total)) {
            return i;
        }
    }
    return s.weights.size() - 1;
}

assigner::assigner(std::vector<experiment_spec> running) : _running(std::move(running))
{
    std::sort(_running.begin(), _running.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
}

std::optional<placement> assigner::assign(std::string_view user) const
{
    for (const auto& e : _running) {
        const auto layer_bucket = bucket("", e.layer, user);
        if (layer_bucket < e.first || layer_bucket >= e.first + e.count) {
            continue;
        }
        const split arms{.first = 0, .count = buckets, .holdout = e.holdout, .weights = e.weights};
        if (auto arm = choose(arms, bucket(e.salt, e.layer, user))) {
            return placement{&e, *arm};
        }
        // In this experiment's holdout: no other experiment of the layer holds the user (ranges
        // do not overlap), those of other layers may.
    }
    return std::nullopt;
}

std::optional<std::string> conflict(const std::vector<experiment_spec>& running)
{
    for (std::size_t i = 0; i < running.size(); ++i) {
        const auto& a = running[i];
        if (a.arms.empty() || a.arms.size() != a.weights.size() ||
            a.arms.size() != a.model_arms.size()) {
            return fmt::format("experiment {} needs a weight and a model arm for each arm", a.name);
        }
        if (a.count == 0 || a.first + a.count > buckets || a.holdout >= buckets) {
            return fmt::format("experiment {}: buckets {}+{} (holdout {}) do not fit 0..{}", a.name,
                               a.first, a.count, a.holdout, buckets - 1);
        }
        for (std::size_t j = i + 1; j < running.size(); ++j) {
            const auto& b = running[j];
            if (a.layer == b.layer && a.first < b.first + b.count && b.first < a.first + a.count) {
                return fmt::format("experiments {} and {} share buckets of layer {} ({}..{} and "
                                   "{}..{}): give one another layer or range",
                                   a.name, b.name, a.layer, a.first, a.first + a.count - 1, b.first,
                                   b.first + b.count - 1);
            }
        }
    }
    return std::nullopt;
}

}  // namespace adsx::experiments
