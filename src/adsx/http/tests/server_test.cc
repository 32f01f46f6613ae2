// Proves the server's own behaviour on loopback sockets: keep-alive (several requests on one
// connection), the size limits (431, 413) and malformed requests (400) answered in the error
// shape, a slow client cut off at read_timeout while others are served, admission control (503
// with Retry-After when the queue is full), and a graceful stop that lets a request in progress
// finish while refusing new connections.
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adsx/http/client.h"
#include "adsx/http/server.h"

namespace adsx::http {
namespace {

using namespace std::chrono_literals;

// A raw client: sends bytes as given, reads what comes back until the peer closes or `wait`.
class raw_client
{
public:
    explicit raw_client(int port)
    {
        _fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected = ::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        timeval tv{0, 200'000};
        ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    raw_client(raw_client&&) = delete;
    raw_client& operator=(raw_client&&) = delete;
    ~raw_client() { ::close(_fd); }

    bool send(std::string_view s) { return ::send(_fd, s.data(), s.size(), MSG_NOSIGNAL) >= 0; }
    // Reads until `marker` was seen `times` times, the peer closed, or `wait` passed.
    std::string read(std::chrono::milliseconds wait, std::string_view marker = "", int times = 1)
    {
        std::string out;
        const auto until = std::chrono::steady_clock::now() + wait;
        char buf[65536];
        while (std::chrono::steady_clock::now() < until) {
            const auto n = ::recv(_fd, buf, sizeof buf, 0);
            if (n == 0) {
                closed = true;
                break;
            }
            if (n > 0) {
                out.append(buf, static_cast<std::size_t>(n));
                if (!marker.empty() && count(out, marker) >= times) {
                    break;
                }
            }
        }
        return out;
    }
    static int count(std::string_view s, std::string_view what)
    {
        int n = 0;
        for (auto p = s.find(what); p != std::string_view::npos; p = s.find(what, p + 1)) {
            ++n;
        }
        return n;
    }
    bool connected = false;
    bool closed = false;

private:
    int _fd = -1;
};

server_settings small()
{
    server_settings s;
    s.port = 0;
    s.workers = 2;
    s.max_header_bytes = 1024;
    s.max_body_bytes = 64;
    s.read_timeout = 500ms;
    return s;
}

std::unique_ptr<server> echo_server(const server_settings& s)
{
    auto srv = server::start(s, [](const request& q) {
        return json_reply(200, "{\"path\":\"" + q.path + "\",\"body\":\"" + q.body + "\"}");
    });
    EXPECT_TRUE(srv.has_value());
    return std::move(*srv);
}

TEST(server, keeps_a_connection_alive_across_requests)
{
    auto srv = echo_server(small());
    raw_client c(srv->port());
    ASSERT_TRUE(c.connected);
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
           "\r\n\r\nhi");
    const auto out = c.read(2s, "\"body\":", 2);
    EXPECT_NE(out.find(R"({"path":"/a","body":""})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"path":"/b","body":"hi"})"), std::string::npos) << out;
    EXPECT_FALSE(c.closed);
    EXPECT_NE(out.find("X-Request-Id: "), std::string::npos);
}

TEST(server, refuses_oversized_header_and_body_and_garbage_in_the_error_shape)
{
    auto srv = echo_server(small());
    {
        raw_client c(srv->port());
        c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
        const auto out = c.read(2s, "}}");
        EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
        EXPECT_NE(out.find(R"("code":"header_too_large")"), std::string::npos);
    }
    {
        raw_client c(srv->port());
        c.send("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'b'));
        const auto out = c.read(2s, "}}");
        EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
    }
    {
        raw_client c(srv->port());
        c.send("NOT HTTP AT ALL\r\n\r\n");
        const auto out = c.read(2s, "}}");
        EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
        EXPECT_NE(out.find(R"("code":"bad_request")"), std::string::npos);
    }
    auto ok = get("127.0.0.1", srv->port(), "/still", 2s);  // and it keeps serving
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
}

TEST(server, a_client_sending_one_byte_at_a_time_is_cut_off_while_others_are_served)
{
    auto srv = echo_server(small());
    raw_client slow(srv->port());
    const std::string req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto started = std::chrono::steady_clock::now();
    for (char ch : req) {
        if (!slow.send(std::string_view(&ch, 1))) {
            break;
        }
        auto ok = get("127.0.0.1", srv->port(), "/other", 1s);
        ASSERT_TRUE(ok.has_value());
        EXPECT_EQ(ok->status, 200);
        (void)slow.read(100ms);
        if (slow.closed) {
            break;
        }
    }
    (void)slow.read(1s);
    EXPECT_TRUE(slow.closed);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(server, sheds_load_with_503_when_the_queue_is_full)
{
    auto s = small();
    s.workers = 1;
    s.max_queue = 1;
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto srv = server::start(s, [gate](const request&) {
        gate.wait();
        return json_reply(200, "{}");
    });
    ASSERT_TRUE(srv.has_value());
    raw_client first((*srv)->port());
    first.send("GET /a HTTP/1.1\r\n\r\n");
    while ((*srv)->queued() == 0) {
        std::this_thread::sleep_for(1ms);
    }
    raw_client second((*srv)->port());
    second.send("GET /b HTTP/1.1\r\n\r\n");
    const auto out = second.read(2s, "}}");
    EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
    EXPECT_NE(out.find("Retry-After: 1"), std::string::npos);
    release.set_value();
    EXPECT_EQ(first.read(2s, "{}").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(server, stop_drains_the_request_in_progress_and_refuses_new_connections)
{
    std::promise<void> entered, release;
    auto gate = release.get_future().share();
    std::atomic<bool> once{false};
    auto srv = server::start(small(), [&](const request&) {
        if (!once.exchange(true)) {
            entered.set_value();
        }
        gate.wait();
        return json_reply(200, R"({"done":true})");
    });
    ASSERT_TRUE(srv.has_value());
    const int port = (*srv)->port();
    raw_client busy(port), idle(port);
    busy.send("GET /work HTTP/1.1\r\n\r\n");
    entered.get_future().wait();
    auto stopped = std::async(std::launch::async, [&] { return (*srv)->stop(5s); });
    (void)idle.read(500ms);
    EXPECT_TRUE(idle.closed);  // an idle keep-alive connection is closed at once
    release.set_value();
    const auto out = busy.read(2s, R"({"done":true})");
    EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
    EXPECT_TRUE(stopped.get());
    raw_client late(port);
    EXPECT_FALSE(late.connected);
}

}  // namespace
}  // namespace adsx::http
