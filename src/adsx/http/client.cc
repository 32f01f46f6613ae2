#include "adsx/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace adsx::http {

namespace beast = boost::beast;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One HTTP/1.1 connection driven synchronously: each step runs the io_context until its
// handlers are done, under the stream's deadline. Shared by get() and connection.
struct session
{
    std::string host;
    int port;
    std::chrono::milliseconds timeout;
    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
    bool open = false;

    // Runs the queued operations to completion; the stream's deadline bounds them.
    void run()
    {
        ioc.restart();
        ioc.run();
    }

    beast::error_code connect(const char*& step)
    {
        beast::error_code failure;
        step = "resolve";
        tcp::resolver resolver(ioc);
        stream.expires_after(timeout);
        resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
            if (ec) {
                failure = ec;
                return;
            }
            step = "connect";
            stream.async_connect(results,
                                 [&](beast::error_code ec2, const auto&) { failure = ec2; });
        });
        run();
        if (!failure) {
            stream.socket().set_option(tcp::no_delay(true), failure);
        }
        open = !failure;
        return failure;
    }

    template <class Body>
    beast::error_code exchange(const beast::http::request<Body>& req,
                               beast::http::response<beast::http::string_body>& res,
                               const char*& step)
    {
        beast::error_code failure;
        step = "write";
        stream.expires_after(timeout);
        beast::http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
            if (ec) {
                failure = ec;
                return;
            }
            step = "read";
            beast::http::async_read(stream, buffer, res,
                                    [&](beast::error_code ec2, std::size_t) { failure = ec2; });
        });
        run();
        return failure;
    }

    void close()
    {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        buffer.clear();
        open = false;
    }
};

result<response> failed(const session& c, std::string_view method, const std::string& target,
                        const char* step, const beast::error_code& failure)
{
    auto code =
        failure == beast::error::timeout ? error_code::deadline_exceeded : error_code::unavailable;
    return fail(code, fmt::format("{} http://{}:{}{}: {} failed: {}", method, c.host, c.port,
                                  target, step, failure.message()));
}

}  // namespace

result<response> get(const std::string& host, int port, const std::string& target,
                     std::chrono::milliseconds timeout)
{
    session c;
    c.host = host;
    c.port = port;
    c.timeout = timeout;
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, host);
    req.set(beast::http::field::user_agent, "adsx");
    const char* step = "connect";
    auto failure = c.connect(step);
    beast::http::response<beast::http::string_body> res;
    if (!failure) {
        failure = c.exchange(req, res, step);
    }
    if (failure) {
        return failed(c, "GET", target, step, failure);
    }
    c.close();
    return response{static_cast<int>(res.result_int()), std::move(res.body())};
}

struct connection::impl : session
{};

connection::connection(std::string host, int port, std::chrono::milliseconds timeout)
  : _impl(std::make_unique<impl>())
{
    _impl->host = std::move(host);
    _impl->port = port;
    _impl->timeout = timeout;
}

connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

connection::~connection()
{
    if (_impl && _impl->open) {
        _impl->close();
    }
}

result<response> connection::post(const std::string& target, std::string_view body,
                                  std::string_view content_type)
{
    auto& c = *_impl;
    beast::http::request<beast::http::string_body> req{beast::http::verb::post, target, 11};
    req.set(beast::http::field::host, c.host);
    req.set(beast::http::field::user_agent, "adsx");
    req.set(beast::http::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    const char* step = "connect";
    beast::error_code failure;
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = c.open;
        if (!c.open) {
            failure = c.connect(step);
            if (failure) {
                break;
            }
        }
        beast::http::response<beast::http::string_body> res;
        failure = c.exchange(req, res, step);
        if (!failure) {
            if (!res.keep_alive()) {
                c.close();
            }
            return response{static_cast<int>(res.result_int()), std::move(res.body())};
        }
        c.close();
        if (!reused || failure == beast::error::timeout) {
            break;  // a fresh connection failed, or the server is slow: no retry
        }
    }
    return failed(c, "POST", target, step, failure);
}

std::string url_encode(std::string_view s)
{
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace adsx::http
