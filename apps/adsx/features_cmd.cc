// `adsx features ad|user ID`: the online features of one entity as JSON, read from Redis the
// way serving will (one HGETALL, the window rule of src/adsx/features/read.h).
#include <iostream>

#include "app.h"
#include <fmt/format.h>

#include "adsx/features/read.h"
#include "adsx/features/update.h"
#include "adsx/redis/hash_reader.h"

namespace adsx::app {

namespace {

struct features_options
{
    std::string id;
    std::uint32_t ad_id = 0;
    std::int64_t as_of_ms = 0;  // 0: the entity's newest event time
};

int show(const config::config& cfg, const std::string& key, const features_options& o, bool ad)
{
    redis::hash_reader reader(cfg.redis.host, cfg.redis.port, std::chrono::seconds(5),
                              cfg.redis.mode == "cluster");
    auto hashes = reader.hashes({key});
    if (!hashes) {
        return report(hashes.error());
    }
    const auto* h = &hashes->front();
    if (h->empty()) {
        return report({error_code::not_found, fmt::format("no online features for {}", key)});
    }
    const auto as_of = o.as_of_ms ? o.as_of_ms : features::newest_ms(*h);
    std::cout << (ad ? features::to_json(features::ad_features_of(*h, as_of))
                     : features::to_json(features::user_features_of(*h, as_of)))
              << "\n";
    return 0;
}

}  // namespace

void add_features_command(CLI::App& root, context& ctx, action& run)
{
    static features_options o;
    auto* cmd = root.add_subcommand(
        "features", "Print one entity's online features (Redis) as JSON, as of its newest event "
                    "or --as-of");
    cmd->require_subcommand(1);
    cmd->add_option("--as-of", o.as_of_ms, "Event time (ms since the epoch) to evaluate windows at")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 53));
    auto* ad = cmd->add_subcommand("ad", "5-min and 1-h CTR, popularity and trend of an ad");
    ad->add_option("id", o.ad_id, "Ad id")->required()->check(CLI::Range(1u, 4'294'967'295u));
    ad->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) {
                return show(cfg, features::ad_key(o.ad_id), o, true);
            });
        };
    });
    auto* user = cmd->add_subcommand(
        "user", "Engagement over 5 min / 1 h / 24 h and recency of a user (pseudonymous id)");
    user->add_option("id", o.id, "Pseudonymous user id, e.g. k1:4ea2…")->required();
    user->callback([&] {
        run = [&ctx] {
            return with_config(ctx, [](const config::config& cfg) {
                return show(cfg, features::user_key(o.id), o, false);
            });
        };
    });
}

}  // namespace adsx::app
