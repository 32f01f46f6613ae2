// adsx_loadgen: an open-loop HTTP/1.1 load generator for bench/serve.py, independent of the
// server's code (plain sockets and epoll, one thread). Requests are scheduled at a fixed rate
// (or as fast as replies come, --rate 0) over keep-alive connections; a request's latency is
// counted from the time it was scheduled to go, not from when a connection was free, so a
// server that falls behind shows its queueing (no coordinated omission).
//
//   adsx_loadgen --port 8080 --connections 32 --rate 1000 --duration 10 --requests reqs.jsonl
//   reqs.jsonl: one {"method": "POST", "path": "/rank_ads", "body": "{...}"} per line, cycled
//
// Prints one JSON object: sent, ok (2xx), by status, errors (no reply: sent on a connection the
// server closed, or missing a minute after the end), closed (connections the server closed, each
// replaced by a fresh one), seconds, rate (replies during those seconds), latency percentiles
// (µs, of the requests sent after the warm-up), and how late the generator itself was
// (late_us_p99: when it exceeds the latencies, the generator, not the server, was the
// bottleneck).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct options
{
    std::string host = "127.0.0.1";
    int port = 8080;
    int connections = 16;
    double rate = 0;  // requests/s; 0 = closed loop, as fast as replies come
    double duration = 10, warmup = 1;
    std::string requests;
};

struct connection
{
    int fd = -1;
    bool busy = false;
    clock_type::time_point scheduled;
    std::string in;
    bool counted = true;  // false during warm-up
};

// A JSON string member of one line, unescaped for the escapes json.dumps writes.
std::string member(const std::string& line, const std::string& key)
{
    const auto k = line.find("\"" + key + "\"");
    if (k == std::string::npos) {
        return "";
    }
    auto i = line.find('"', line.find(':', k) + 1) + 1;
    std::string out;
    for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            out += line[i] == 'n' ? '\n' : line[i];
        } else {
            out += line[i];
        }
    }
    return out;
}

std::vector<std::string> load_requests(const options& o)
{
    std::ifstream in(o.requests);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) {
            continue;
        }
        const auto method = member(line, "method"), path = member(line, "path");
        const auto body = member(line, "body");
        std::string r = method + " " + path + " HTTP/1.1\r\nHost: " + o.host + "\r\n";
        if (!body.empty()) {
            r +=
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n";
        }
        out.push_back(r + "\r\n" + body);
    }
    return out;
}

int open_connection(const options& o)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::perror("connect");
        std::exit(1);
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// The length of one whole response at the front of `in`, and its status; 0 when incomplete.
std::size_t response_length(const std::string& in, int& status)
{
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) {
        return 0;
    }
    status = std::atoi(in.c_str() + 9);
    std::size_t body = 0;
    for (std::size_t p = 0; p < end;) {
        const auto eol = in.find("\r\n", p);
        if (strncasecmp(in.c_str() + p, "content-length:", 15) == 0) {
            body = std::strtoul(in.c_str() + p + 15, nullptr, 10);
        }
        p = eol + 2;
    }
    const auto total = end + 4 + body;
    return in.size() >= total ? total : 0;
}

double percentile(std::vector<double>& v, double q)
{
    if (v.empty()) {
        return 0;
    }
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

options parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--host") {
            o.host = v;
        } else if (k == "--port") {
            o.port = std::atoi(v.c_str());
        } else if (k == "--connections") {
            o.connections = std::atoi(v.c_str());
        } else if (k == "--rate") {
            o.rate = std::atof(v.c_str());
        } else if (k == "--duration") {
            o.duration = std::atof(v.c_str());
        } else if (k == "--warmup") {
            o.warmup = std::atof(v.c_str());
        } else if (k == "--requests") {
            o.requests = v;
        } else {
            std::fprintf(stderr, "adsx_loadgen: unknown option %s\n", k.c_str());
            std::exit(2);
        }
    }
    if (o.requests.empty() || o.connections < 1) {
        std::fprintf(stderr, "usage: adsx_loadgen --requests FILE [--host H --port P "
                             "--connections C --rate R --duration S --warmup S]\n");
        std::exit(2);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv)
{
    const auto o = parse(argc, argv);
    const auto requests = load_requests(o);
    if (requests.empty()) {
        std::fprintf(stderr, "adsx_loadgen: no requests in %s\n", o.requests.c_str());
        return 2;
    }
    const int ep = ::epoll_create1(0);
    std::vector<connection> conns(static_cast<std::size_t>(o.connections));
    auto open = [&](std::size_t i) {
        conns[i].fd = open_connection(o);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    };
    for (std::size_t i = 0; i < conns.size(); ++i) {
        open(i);
    }
    const auto start = clock_type::now();
    const auto measure_from = start + std::chrono::duration_cast<clock_type::duration>(
                                          std::chrono::duration<double>(o.warmup));
    const auto stop = measure_from + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(o.duration));
    std::deque<clock_type::time_point> backlog;  // scheduled, no free connection yet
    std::vector<double> latency_us, late_us;
    std::map<int, long> statuses;
    long sent = 0, errors = 0, next_request = 0, scheduled = 0;
    auto send_on = [&](connection& c, clock_type::time_point when) {
        const auto& r =
            requests[static_cast<std::size_t>(next_request++ % static_cast<long>(requests.size()))];
        c.busy = true;
        c.scheduled = when;
        c.counted = when >= measure_from;
        if (c.counted) {
            late_us.push_back(
                std::chrono::duration<double, std::micro>(clock_type::now() - when).count());
        }
        // A request larger than the socket buffer does not occur here; a send that fails
        // meets the connection's close below, which counts the error.
        (void)::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL);
        sent += c.counted;
    };
    auto free_connection = [&]() -> connection* {
        for (auto& c : conns) {
            if (!c.busy) {
                return &c;
            }
        }
        return nullptr;
    };
    // The server may close a connection: one idle for its read timeout (a connection this
    // generator did not need for a while), or after refusing a request. Its request in flight,
    // if any, counts as an error, and a fresh connection takes its place.
    long closed = 0;
    // Replies that came during the measured seconds, whenever their request was sent: the
    // rate. (A slow server's first replies answer requests of the warm-up: counting only the
    // requests sent after it, a server slower than 32 replies in the warm-up got no rate.)
    long answered = 0;
    auto reopen = [&](std::size_t i) {
        auto& c = conns[i];
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        if (c.busy && c.counted) {
            ++errors;
        }
        c.busy = false;
        c.in.clear();
        ++closed;
        open(i);
    };
    // Replies still missing a minute after the end count as errors: a server that stopped
    // answering must not keep the benchmark waiting, but a slow one (the FastAPI peer drains
    // 32 requests in several seconds) must finish, or its backlog would slow its next run.
    const auto give_up = stop + std::chrono::seconds(60);
    epoll_event events[256];
    while (true) {
        const auto now = clock_type::now();
        const bool idle =
            std::none_of(conns.begin(), conns.end(), [](const connection& c) { return c.busy; });
        if (now >= stop && (idle || now >= give_up)) {
            for (const auto& c : conns) {
                errors += c.busy && c.counted;
            }
            break;
        }
        if (now < stop) {
            if (o.rate > 0) {
                // Every request due by now joins the backlog, then goes out on a free connection.
                while (true) {
                    const auto due =
                        start +
                        std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(static_cast<double>(scheduled) / o.rate));
                    if (due > now) {
                        break;
                    }
                    backlog.push_back(due);
                    ++scheduled;
                }
                while (!backlog.empty()) {
                    auto* c = free_connection();
                    if (!c) {
                        break;
                    }
                    send_on(*c, backlog.front());
                    backlog.pop_front();
                }
            } else {
                while (auto* c = free_connection()) {
                    send_on(*c, now);
                }
            }
        }
        // Sleep until the next request is due (or a reply comes), at most a millisecond.
        auto wait = std::chrono::nanoseconds(1'000'000);
        if (o.rate > 0 && backlog.empty()) {
            const auto due =
                start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(static_cast<double>(scheduled) / o.rate));
            wait = std::clamp(std::chrono::duration_cast<std::chrono::nanoseconds>(due - now),
                              std::chrono::nanoseconds(0), wait);
        }
        const timespec ts{0, static_cast<long>(wait.count())};
        const int n = ::epoll_pwait2(ep, events, 256, &ts, nullptr);
        for (int k = 0; k < n; ++k) {
            auto& c = conns[events[k].data.u64];
            char buf[65536];
            bool eof = false;
            while (true) {
                const auto got = ::recv(c.fd, buf, sizeof buf, 0);
                if (got <= 0) {
                    eof = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
                    break;
                }
                c.in.append(buf, static_cast<std::size_t>(got));
            }
            int status = 0;
            while (const auto len = response_length(c.in, status)) {
                c.in.erase(0, len);
                const auto at = clock_type::now();
                answered += at >= measure_from && at < stop;
                if (c.counted) {
                    latency_us.push_back(
                        std::chrono::duration<double, std::micro>(at - c.scheduled).count());
                    ++statuses[status];
                }
                c.busy = false;
            }
            if (eof) {
                reopen(events[k].data.u64);
            }
        }
    }
    const double seconds = o.duration;
    long ok = 0;
    std::string by_status;
    for (const auto& [s, n] : statuses) {
        ok += s >= 200 && s < 300 ? n : 0;
        by_status +=
            (by_status.empty() ? "\"" : ",\"") + std::to_string(s) + "\":" + std::to_string(n);
    }
    std::printf("{\"sent\":%ld,\"ok\":%ld,\"status\":{%s},\"errors\":%ld,\"closed\":%ld,"
                "\"seconds\":%.3f,"
                "\"rate\":%.1f,\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
                "\"p999\":%.1f,\"max\":%.1f},\"late_us_p99\":%.1f}\n",
                sent, ok, by_status.c_str(), errors, closed, seconds,
                static_cast<double>(answered) / seconds, percentile(latency_us, 0.5),
                percentile(latency_us, 0.9), percentile(latency_us, 0.99),
                percentile(latency_us, 0.999),
                latency_us.empty() ? 0.0 : *std::max_element(latency_us.begin(), latency_us.end()),
                percentile(late_us, 0.99));
    for (auto& c : conns) {
        ::close(c.fd);
    }
    return 0;
}
