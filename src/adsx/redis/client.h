#pragma once
// A synchronous Redis connection (hiredis), RAII, with a timeout on connect and on every command.
//
//   auto c = adsx::redis::connection::open("127.0.0.1", 6379, std::chrono::seconds(2));
//   auto pong = c->command({"PING"});          // result<reply>
//
// Not thread-safe: one connection per thread. The feature store (feature_store.h) builds on it.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adsx/base/error.h"

struct redisContext;

namespace adsx::redis {

struct reply
{
    enum class kind
    {
        string,
        status,
        integer,
        nil,
        array,
        error  // inside a transaction's EXEC reply; elsewhere an error reply fails the call
    } type = kind::nil;
    std::string str;  // string, status and error replies
    std::int64_t integer = 0;
    std::vector<reply> elements;
};

// Builds RESP commands in a single buffer, one or many (a pipeline):
//   resp_writer w;  w.begin(3); w.arg("SET"); w.arg(k); w.arg(v);  w.begin(2); …;  w.str()
// Each command's argument count must be known up front (RESP writes it first).
class resp_writer
{
public:
    resp_writer() = default;
    explicit resp_writer(std::size_t args, std::size_t reserve_bytes = 0);
    void begin(std::size_t args);
    void arg(std::string_view a);
    void arg(std::int64_t v);
    void reserve(std::size_t bytes) { _buf.reserve(bytes); }
    void clear() noexcept;
    [[nodiscard]] const std::string& str() const noexcept { return _buf; }
    [[nodiscard]] std::size_t commands() const noexcept { return _commands; }

private:
    std::string _buf;
    std::size_t _commands = 0;
};

// The value of `field` in an INFO (or CLUSTER INFO) reply's "field:value" lines.
[[nodiscard]] result<std::string> info_field(const std::string& info, const std::string& field);

class connection
{
public:
    [[nodiscard]] static result<connection> open(const std::string& host, int port,
                                                 std::chrono::milliseconds timeout);
    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() = default;

    // Sends one command (binary-safe arguments) and waits for its reply; an error reply from
    // the server is an error value.
    [[nodiscard]] result<reply> command(const std::vector<std::string>& args);

    // Sends every command before reading any reply (one round trip); replies in order. An error
    // reply fails the whole call.
    [[nodiscard]] result<std::vector<reply>> pipeline(
        const std::vector<std::vector<std::string>>& commands);

    // Sends a command already encoded in RESP (see resp_writer) and waits for its reply: for
    // huge commands (a commit script with 100k arguments) without per-argument copies.
    [[nodiscard]] result<reply> command_resp(const std::string& resp);

    // Sends every command of `w` before reading any reply (one round trip); replies in order
    // into `replies`, whose elements are reused (no allocation in steady state). An error reply
    // fails the whole call (errors inside an EXEC reply are its elements).
    [[nodiscard]] result<void> pipeline(const resp_writer& w, std::vector<reply>& replies);

    // The two halves of pipeline(): send every command of `w` without waiting for a reply (the
    // server works meanwhile), then read `n` replies. Nothing else may use the connection in
    // between.
    [[nodiscard]] result<void> send(const resp_writer& w);
    [[nodiscard]] result<void> receive(std::size_t n, std::vector<reply>& replies);

    // All fields of a hash (empty when the key does not exist).
    [[nodiscard]] result<std::map<std::string, std::string>> hgetall(const std::string& key);

    // INFO server's redis_version.
    [[nodiscard]] result<std::string> server_version();

    // INFO memory's used_memory and maxmemory (0: no limit), in bytes.
    struct memory_use
    {
        double used_bytes = 0;
        double max_bytes = 0;
    };
    [[nodiscard]] result<memory_use> memory();

private:
    [[nodiscard]] result<void> read_replies(std::size_t n, std::vector<reply>& replies);

    struct context_deleter
    {
        void operator()(redisContext* c) const noexcept;
    };
    explicit connection(std::unique_ptr<redisContext, context_deleter> ctx, std::string address)
      : _ctx(std::move(ctx)), _address(std::move(address))
    {
    }
    std::unique_ptr<redisContext, context_deleter> _ctx;
    std::string _address;
};

}  // namespace adsx::redis
