#include "adsx/experiments/assignment.h"

#include <cmath>
#include <numeric>
#include <string>

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

}  // namespace adsx::experiments
