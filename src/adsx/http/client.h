#pragma once
// A small blocking HTTP/1.1 client for health checks and tests (Prometheus API, /metrics,
// our own service). One request per connection, a deadline for the whole exchange.
//
//   auto r = adsx::http::get("127.0.0.1", 9090, "/-/ready", std::chrono::seconds(2));
//   if (r && r->status == 200) ...
#include <chrono>
#include <string>

#include "adsx/base/error.h"

namespace adsx::http {

struct response
{
    int status = 0;
    std::string body;
};

[[nodiscard]] result<response> get(const std::string& host, int port, const std::string& target,
                                   std::chrono::milliseconds timeout);

// Percent-encodes a query-string value (RFC 3986 unreserved characters stay).
[[nodiscard]] std::string url_encode(std::string_view s);

}  // namespace adsx::http
