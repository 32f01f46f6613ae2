#pragma once
// An HTTP/1.1 server on Boost.Beast: keep-alive sessions on `io_threads`, handlers on a pool of
// `workers`, and the limits a public endpoint needs. Handlers are pure request -> reply functions
// (router.h); only this file's classes touch sockets.
//
//   http::server_settings s;  s.port = 8080;  s.workers = 4;
//   auto srv = http::server::start(s, [&](const http::request& q) { return routes.route(q); });
//   ...
//   (*srv)->stop(std::chrono::seconds(10));   // SIGTERM: stop accepting, drain, close
//
// What the server answers by itself, in the one error shape (message.h):
//   431 a header block over max_header_bytes; 413 a body over max_body_bytes (both then close);
//   400 a request that does not parse; 503 + Retry-After when more than max_queue requests wait
//   for a worker, or when one waited longer than queue_timeout (admission control: an overloaded
//   server sheds load at once instead of answering everything late).
// A request must arrive whole within read_timeout of the connection's previous reply (or of its
// opening); otherwise the connection is closed: an idle keep-alive connection and a client that
// sends its header one byte a second hold a session no longer than that.
//
// Lifecycle: start() binds and serves; stop() (or the destructor) stops accepting, closes idle
// connections, lets requests in progress finish with "Connection: close", and returns when all
// sessions are gone or `drain` has passed. Thread-safety: the handler and the observer are called
// from many threads at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adsx/base/error.h"
#include "adsx/http/message.h"

namespace adsx::http {

struct server_settings
{
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (port() says which)
    int io_threads = 1;
    int workers = 2;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::chrono::milliseconds read_timeout{10'000};
    std::size_t max_queue = 512;
    std::chrono::milliseconds queue_timeout{250};
};

// Told of every reply, the server's own included (for metrics); `route` is what
// `describe_route` said of the request, or "unmatched" for requests that never reached a handler.
class server_observer
{
public:
    server_observer() = default;
    server_observer(const server_observer&) = delete;
    server_observer& operator=(const server_observer&) = delete;
    server_observer(server_observer&&) = delete;
    server_observer& operator=(server_observer&&) = delete;
    virtual ~server_observer() = default;
    virtual void replied(std::string_view route, const request& q, const reply& r,
                         double seconds) = 0;
};

using handler = std::function<reply(const request&)>;
using route_namer = std::function<std::string_view(const request&)>;

class server
{
public:
    // invalid_argument for bad settings; unavailable when the address cannot be bound.
    [[nodiscard]] static result<std::unique_ptr<server>> start(const server_settings& s, handler h,
                                                               server_observer* observer = nullptr,
                                                               route_namer namer = nullptr);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    server(server&&) = delete;
    server& operator=(server&&) = delete;
    ~server();

    [[nodiscard]] int port() const noexcept;
    // Requests admitted and not yet answered.
    [[nodiscard]] std::size_t queued() const noexcept;
    // Stops accepting and drains (see above); idempotent. true when every session ended in time.
    bool stop(std::chrono::milliseconds drain);

    struct impl;

private:
    explicit server(std::unique_ptr<impl> p);
    std::unique_ptr<impl> _impl;
};

}  // namespace adsx::http
