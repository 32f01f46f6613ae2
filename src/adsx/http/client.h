#pragma once
// A small blocking HTTP/1.1 client: `get` for health checks and tests (Prometheus API,
// /metrics, our own service), one request per connection; `connection` for many requests to
// one server over one keep-alive connection (adsx simulate's virtual users). A deadline covers
// each whole exchange.
//
//   auto r = adsx::http::get("127.0.0.1", 9090, "/-/ready", std::chrono::seconds(2));
//   if (r && r->status == 200) ...
//   http::connection c("127.0.0.1", 8080, std::chrono::seconds(2));
//   auto a = c.post("/rank_ads", body);
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "adsx/base/error.h"

namespace adsx::http {

struct response
{
    int status = 0;
    std::string body;
};

[[nodiscard]] result<response> get(const std::string& host, int port, const std::string& target,
                                   std::chrono::milliseconds timeout);

// One keep-alive connection, opened on first use and again after the server closed it (a request
// that fails on a reused connection is retried once on a new one; POSTs here are idempotent
// reads of a ranking). Not thread-safe: one per thread.
class connection
{
public:
    connection(std::string host, int port, std::chrono::milliseconds timeout);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    connection(connection&&) noexcept;
    connection& operator=(connection&&) noexcept;
    ~connection();

    [[nodiscard]] result<response> post(const std::string& target, std::string_view body,
                                        std::string_view content_type = "application/json");

private:
    struct impl;
    std::unique_ptr<impl> _impl;
};

// Percent-encodes a query-string value (RFC 3986 unreserved characters stay).
[[nodiscard]] std::string url_encode(std::string_view s);

}  // namespace adsx::http
