#pragma once
// What a handler sees and returns: an HTTP request reduced to what routes need, and a reply.
// Handlers are pure functions request -> reply (no sockets); server.h does the I/O.
//
//   http::reply r = http::json_reply(200, R"({"ok":true})");
//   return http::error_reply(422, "invalid_argument", "slots must be 1..50", "slots");
//   // -> 422 {"error":{"code":"invalid_argument","message":"slots must be 1..50","field":"slots"}}
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::http {

struct request
{
    std::string method;         // "GET", "POST", … as sent
    std::string path;           // the target before '?', not decoded
    std::string query;          // after '?', not decoded ("" when none)
    std::string content_type;   // the Content-Type header ("" when none)
    std::string authorization;  // the Authorization header ("" when none)
    std::string body;
    std::string request_id;  // X-Request-Id when the client sent one, else a random UUID
};

struct reply
{
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, …)
};

[[nodiscard]] reply json_reply(int status, std::string body);
// {"error": {"code", "message", "field"?}}: the one error shape of every route.
[[nodiscard]] reply error_reply(int status, std::string_view code, std::string_view message,
                                std::string_view field = {});
// An error value as a reply: invalid_argument 422, not_found 404, unavailable 503 (with
// Retry-After), deadline_exceeded 504, failed_precondition 409, anything else 500.
[[nodiscard]] reply error_reply(const error& e, std::string_view field = {});

// The value of `name` in a query string ("a=1&b=2"), percent-decoded (a bad escape left as
// sent); nullopt when absent.
[[nodiscard]] std::optional<std::string> query_param(std::string_view query, std::string_view name);
// Percent-decoding of a path segment or query value ('+' stays '+'); nullopt on a bad escape.
[[nodiscard]] std::optional<std::string> url_decode(std::string_view s);

}  // namespace adsx::http
