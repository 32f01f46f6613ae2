#pragma once
// The /admin routes of `adsx serve`: erasure requests, retention and experiment status, for
// operators, behind a bearer token (RFC 6750) read from a secret file. No Authorization header
// or another scheme: 401 with WWW-Authenticate; a wrong token: 403. Tokens are compared in
// constant time on their SHA-256 digests, so neither content nor length leaks by timing.
//
//   auto token = serving::load_admin_token(cfg.serve.admin_token_file, /*dev=*/true);
//   serving::admin_api admin(std::move(*token), {.erase = …, .erasure = …, …});
//   admin.add_routes(router);
//
// Routes (each action is the app's: PostgreSQL, Kafka and the lake live there):
//   POST /admin/privacy/erasures        {"user": raw id or pseudonym} -> 202, the ledger row;
//                                       the privacy worker completes it (adsx privacy worker)
//   GET  /admin/privacy/erasures/{id}   the ledger row (stores done, completed, verified)
//   POST /admin/privacy/retention       {"apply": bool, "as_of": "YYYY-MM-DD"} -> what is past
//                                       policy, removed when apply (adsx privacy retention)
//   GET  /admin/experiments             every experiment and its status
//   POST /admin/experiments/{name}/start, /admin/experiments/{name}/stop
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/http/router.h"

namespace adsx::serving {

// The admin token from `file` (surrounding whitespace dropped). Outside the dev profile it
// must be there, hold at least 32 characters and not be a known placeholder ("changeme", …):
// else invalid_argument, and the service does not start. In the dev profile a missing file is
// not_found (admin routes off) and any non-empty token is taken.
[[nodiscard]] result<std::string> load_admin_token(const std::filesystem::path& file, bool dev);

struct admin_actions
{
    // Suppresses the user, opens (or resumes) their erasure and queues it for the privacy
    // worker, once: the request is named by `request_key` (the X-Request-Id), so a retry is the
    // same request. The ledger row as JSON.
    std::function<result<std::string>(const std::string& user, const std::string& request_key)>
        erase;
    // The ledger row of request `id` as JSON (not_found when none).
    std::function<result<std::string>(std::int64_t id)> erasure;
    // What is past the retention policy as of `as_of` (YYYY-MM-DD, "" = today), removed when
    // `apply`: JSON.
    std::function<result<std::string>(bool apply, const std::string& as_of)> retention;
    // Every experiment as JSON; one's status set to "running" or "stopped".
    std::function<result<std::string>()> experiments;
    std::function<result<void>(const std::string& name, const std::string& status)>
        set_experiment_status;
};

class admin_api
{
public:
    admin_api(std::string_view token, admin_actions actions);

    // Adds the routes above to `r`; each checks the token before anything else.
    void add_routes(http::router& r) const;
    // 401 or 403 when `q` does not carry the token, else nullopt.
    [[nodiscard]] std::optional<http::reply> refuse(const http::request& q) const;

private:
    std::string _digest;  // SHA-256 of the token
    admin_actions _do;
};

}  // namespace adsx::serving
