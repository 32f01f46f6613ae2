#include "adsx/http/server.h"

#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "adsx/base/time.h"

namespace adsx::http {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

class session;

}  // namespace

struct server::impl
{
    server_settings settings;
    handler handle;
    server_observer* observer = nullptr;
    route_namer namer;
    // Before the io_context: handlers it still holds when destroyed end sessions, which
    // unregister here.
    std::mutex sessions_mutex;  // guards sessions
    std::unordered_map<session*, std::weak_ptr<session>> sessions;
    asio::io_context ioc;
    // Keeps the I/O threads running while a handler works on a worker and no socket operation
    // is pending (once the acceptor is closed on stop, nothing else would).
    asio::executor_work_guard<asio::io_context::executor_type> busy{ioc.get_executor()};
    tcp::acceptor acceptor{ioc};
    asio::thread_pool workers;
    std::vector<std::thread> io;
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> stopping{false};
    bool stopped = false;
    int port = 0;

    impl(const server_settings& s, handler h, server_observer* o, route_namer n)
      : settings(s), handle(std::move(h)), observer(o), namer(std::move(n)),
        workers(static_cast<std::size_t>(s.workers))
    {
    }
    void accept();
    void observe(const request& q, const reply& r, std::int64_t started_ns) const
    {
        if (observer) {
            const auto route = namer ? namer(q) : std::string_view("unmatched");
            observer->replied(route, q, r,
                              seconds(system_clock::instance().monotonic_ns() - started_ns));
        }
    }
};

namespace {

std::int64_t now_ns()
{
    return system_clock::instance().monotonic_ns();
}

// A random (version 4) UUID: request ids go on to events, whose contract wants UUIDs.
std::string uuid4()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const std::uint64_t hi = (rng() & ~0xf000ULL) | 0x4000ULL;        // version 4
    const std::uint64_t lo = (rng() & ~(3ULL << 62)) | (2ULL << 62);  // variant 10
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                       hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

// One connection: read a request, hand it to a worker, write its reply, again while keep-alive.
// Runs on its own strand; every step checks its error first and returns early.
class session : public std::enable_shared_from_this<session>
{
public:
    session(tcp::socket&& socket, server::impl& srv) : _stream(std::move(socket)), _srv(srv) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    session(session&&) = delete;
    session& operator=(session&&) = delete;
    ~session()
    {
        std::lock_guard lock(_srv.sessions_mutex);
        _srv.sessions.erase(this);
    }

    void start()
    {
        {
            std::lock_guard lock(_srv.sessions_mutex);
            _srv.sessions.emplace(this, weak_from_this());
        }
        asio::dispatch(_stream.get_executor(), [self = shared_from_this()] { self->read(); });
    }

    // From stop(): an idle connection closes now, a busy one after its reply.
    void close_if_idle()
    {
        asio::post(_stream.get_executor(), [self = shared_from_this()] {
            if (!self->_busy) {
                beast::error_code ignored;
                self->_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                self->_stream.close();
            }
        });
    }

private:
    void read()
    {
        if (_srv.stopping) {
            return close();
        }
        _parser.emplace();
        _parser->header_limit(static_cast<std::uint32_t>(_srv.settings.max_header_bytes));
        _parser->body_limit(_srv.settings.max_body_bytes);
        _stream.expires_after(_srv.settings.read_timeout);
        bhttp::async_read(
            _stream, _buffer, *_parser,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec)
    {
        _started_ns = now_ns();
        if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
            ec == asio::error::bad_descriptor || ec == asio::error::eof) {
            return close();
        }
        if (ec == bhttp::error::header_limit) {
            return refuse(error_reply(
                431, "header_too_large",
                fmt::format("request header over {} bytes", _srv.settings.max_header_bytes)));
        }
        if (ec == bhttp::error::body_limit) {
            return refuse(error_reply(
                413, "body_too_large",
                fmt::format("request body over {} bytes", _srv.settings.max_body_bytes)));
        }
        if (ec) {
            return refuse(
                error_reply(400, "bad_request", "malformed HTTP request: " + ec.message()));
        }
        _busy = true;
        _request = to_request(_parser->release());
        dispatch_to_worker();
    }

    request to_request(bhttp::request<bhttp::string_body>&& m)
    {
        request q;
        q.method = std::string(m.method_string());
        const std::string_view target(m.target().data(), m.target().size());
        const auto qm = target.find('?');
        q.path = std::string(target.substr(0, qm));
        q.query = qm == std::string_view::npos ? "" : std::string(target.substr(qm + 1));
        q.content_type = std::string(m[bhttp::field::content_type]);
        q.authorization = std::string(m[bhttp::field::authorization]);
        q.request_id = std::string(m["X-Request-Id"]);
        if (q.request_id.empty() || q.request_id.size() > 128) {
            q.request_id = uuid4();
        }
        _keep_alive = m.keep_alive();
        q.body = std::move(m.body());
        return q;
    }

    // Admission: a bounded queue in front of the workers, and a bound on how long one waits.
    void dispatch_to_worker()
    {
        if (_srv.queued.fetch_add(1) >= _srv.settings.max_queue) {
            _srv.queued.fetch_sub(1);
            return write(overloaded("too many requests waiting"));
        }
        asio::post(_srv.workers, [self = shared_from_this()] {
            reply r;
            const auto waited = now_ns() - self->_started_ns;
            if (waited > to_ms(self->_srv.settings.queue_timeout) * ms_ns) {
                r = overloaded("request waited too long for a worker");
            } else {
                try {
                    r = self->_srv.handle(self->_request);
                } catch (const std::exception& e) {
                    r = error_reply(500, "internal", e.what());
                }
            }
            self->_srv.queued.fetch_sub(1);
            asio::post(self->_stream.get_executor(),
                       [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
        });
    }

    static reply overloaded(std::string_view why)
    {
        auto r = error_reply(503, "overloaded", why);
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }

    // A request the server answers itself and then closes: what follows it cannot be trusted.
    void refuse(reply r)
    {
        _keep_alive = false;
        _request = request{};
        write(std::move(r));
    }

    void write(reply r)
    {
        _srv.observe(_request, r, _started_ns);
        auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
        res->version(11);
        res->result(static_cast<unsigned>(r.status));
        res->set(bhttp::field::server, "adsx");
        res->set(bhttp::field::content_type, r.content_type);
        if (!_request.request_id.empty()) {
            res->set("X-Request-Id", _request.request_id);
        }
        for (auto& [name, value] : r.headers) {
            res->set(name, value);
        }
        res->keep_alive(_keep_alive && !_srv.stopping);
        res->body() = std::move(r.body);
        res->prepare_payload();
        _stream.expires_after(_srv.settings.read_timeout);
        bhttp::async_write(_stream, *res,
                           [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                               self->_busy = false;
                               if (ec || !res->keep_alive()) {
                                   return self->close();
                               }
                               self->read();
                           });
    }

    void close()
    {
        beast::error_code ignored;
        _stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        _stream.close();
    }

    beast::tcp_stream _stream;
    beast::flat_buffer _buffer;
    std::optional<bhttp::request_parser<bhttp::string_body>> _parser;
    server::impl& _srv;
    request _request;
    bool _keep_alive = true;
    bool _busy = false;
    std::int64_t _started_ns = 0;
};

}  // namespace

void server::impl::accept()
{
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
        if (stopping || !acceptor.is_open()) {
            return;
        }
        if (!ec) {
            std::make_shared<session>(std::move(s), *this)->start();
        }
        accept();  // a failed accept (EMFILE, a reset) does not stop the server
    });
}

server::server(std::unique_ptr<impl> p) : _impl(std::move(p)) {}

server::~server()
{
    stop(std::chrono::seconds(5));
}

result<std::unique_ptr<server>> server::start(const server_settings& s, handler h,
                                              server_observer* observer, route_namer namer)
{
    if (s.io_threads < 1 || s.workers < 1 || s.max_queue < 1) {
        return fail(error_code::invalid_argument, "io_threads, workers and max_queue must be ≥ 1");
    }
    auto p = std::make_unique<impl>(s, std::move(h), observer, std::move(namer));
    beast::error_code ec;
    const auto address = asio::ip::make_address(s.host, ec);
    if (ec) {
        return fail(error_code::invalid_argument, fmt::format("bad listen address {}", s.host));
    }
    const tcp::endpoint at(address, static_cast<unsigned short>(s.port));
    p->acceptor.open(at.protocol(), ec);
    if (!ec) {
        p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        p->acceptor.bind(at, ec);
    }
    if (!ec) {
        p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return fail(error_code::unavailable,
                    fmt::format("cannot listen on {}:{}: {}", s.host, s.port, ec.message()));
    }
    p->port = p->acceptor.local_endpoint().port();
    p->accept();
    for (int i = 0; i < s.io_threads; ++i) {
        p->io.emplace_back([ioc = &p->ioc] { ioc->run(); });
    }
    return std::unique_ptr<server>(new server(std::move(p)));
}

int server::port() const noexcept
{
    return _impl->port;
}

std::size_t server::queued() const noexcept
{
    return _impl->queued.load();
}

bool server::stop(std::chrono::milliseconds drain)
{
    auto& p = *_impl;
    if (p.stopped) {
        return true;
    }
    p.stopped = true;
    p.stopping = true;
    asio::post(p.ioc, [&p] {
        beast::error_code ignored;
        p.acceptor.close(ignored);
    });
    const auto deadline = std::chrono::steady_clock::now() + drain;
    bool drained = false;
    while (!drained) {
        std::vector<std::shared_ptr<session>> open;
        {
            std::lock_guard lock(p.sessions_mutex);
            for (auto& [_, w] : p.sessions) {
                if (auto s = w.lock()) {
                    open.push_back(std::move(s));
                }
            }
        }
        drained = open.empty();
        for (auto& s : open) {
            s->close_if_idle();
        }
        open.clear();
        if (drained || std::chrono::steady_clock::now() > deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.workers.join();
    p.busy.reset();
    p.ioc.stop();
    for (auto& t : p.io) {
        t.join();
    }
    return drained;
}

}  // namespace adsx::http
