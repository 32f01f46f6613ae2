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

result<response> get(const std::string& host, int port, const std::string& target,
                     std::chrono::milliseconds timeout)
{
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, host);
    req.set(beast::http::field::user_agent, "adsx");
    beast::error_code failure;
    const char* step = "resolve";

    tcp::resolver resolver(ioc);
    stream.expires_after(timeout);
    resolver.async_resolve(host, std::to_string(port), [&](beast::error_code ec, auto results) {
        if (ec) {
            failure = ec;
            return;
        }
        step = "connect";
        stream.async_connect(results, [&](beast::error_code ec2, const auto&) {
            if (ec2) {
                failure = ec2;
                return;
            }
            step = "write";
            beast::http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
                if (ec3) {
                    failure = ec3;
                    return;
                }
                step = "read";
                beast::http::async_read(stream, buffer, res,
                                        [&](beast::error_code ec4, std::size_t) { failure = ec4; });
            });
        });
    });
    ioc.run();
    if (failure) {
        auto code = failure == beast::error::timeout ? error_code::deadline_exceeded
                                                     : error_code::unavailable;
        return fail(code, fmt::format("GET http://{}:{}{}: {} failed: {}", host, port, target, step,
                                      failure.message()));
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return response{static_cast<int>(res.result_int()), std::move(res.body())};
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
