#include "adsx/redis/client.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace adsx::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds d)
{
    return timeval{static_cast<time_t>(d.count() / 1000),
                   static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// Into `out`, reusing its strings' and vectors' capacity (pipelines convert thousands).
void convert_into(const redisReply* r, reply& out)
{
    out.str.clear();
    out.integer = 0;
    switch (r->type) {
        case REDIS_REPLY_STRING:
            out.type = reply::kind::string;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = reply::kind::status;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = reply::kind::integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = reply::kind::array;
            out.elements.resize(r->elements);
            for (size_t i = 0; i < r->elements; ++i) {
                convert_into(r->element[i], out.elements[i]);
            }
            return;
        case REDIS_REPLY_ERROR:
            out.type = reply::kind::error;
            out.str.assign(r->str, r->len);
            break;
        default:
            out.type = reply::kind::nil;
    }
    out.elements.clear();
}

reply convert(const redisReply* r)
{
    reply out;
    convert_into(r, out);
    return out;
}

}  // namespace

void connection::context_deleter::operator()(redisContext* c) const noexcept
{
    redisFree(c);
}

result<connection> connection::open(const std::string& host, int port,
                                    std::chrono::milliseconds timeout)
{
    auto address = fmt::format("{}:{}", host, port);
    std::unique_ptr<redisContext, context_deleter> ctx(
        redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout)));
    if (!ctx) {
        return fail(error_code::internal, "redis: cannot allocate a context");
    }
    if (ctx->err) {
        return fail(error_code::unavailable, fmt::format("redis {}: {}", address, ctx->errstr));
    }
    if (redisSetTimeout(ctx.get(), to_timeval(timeout)) != REDIS_OK) {
        return fail(error_code::internal, fmt::format("redis {}: cannot set timeout", address));
    }
    return connection(std::move(ctx), address);
}

result<reply> connection::command(const std::vector<std::string>& args)
{
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(_ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!raw) {
        auto code = _ctx->err == REDIS_ERR_IO && errno == EAGAIN ? error_code::deadline_exceeded
                                                                 : error_code::unavailable;
        return fail(code, fmt::format("redis {}: {}", _address, _ctx->errstr));
    }
    std::unique_ptr<redisReply, void (*)(void*)> guard(raw, freeReplyObject);
    if (raw->type == REDIS_REPLY_ERROR) {
        return fail(error_code::failed_precondition,
                    fmt::format("redis {}: {}", _address, std::string(raw->str, raw->len)));
    }
    return convert(raw);
}

result<std::vector<reply>> connection::pipeline(
    const std::vector<std::vector<std::string>>& commands)
{
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& cmd : commands) {
        argv.clear();
        lens.clear();
        for (const auto& a : cmd) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(_ctx.get(), static_cast<int>(argv.size()), argv.data(),
                                   lens.data()) != REDIS_OK) {
            return fail(error_code::unavailable,
                        fmt::format("redis {}: {}", _address, _ctx->errstr));
        }
    }
    std::vector<reply> replies;
    if (auto ok = read_replies(commands.size(), replies); !ok) {
        return fail(ok.error());
    }
    return replies;
}

resp_writer::resp_writer(std::size_t args, std::size_t reserve_bytes)
{
    _buf.reserve(reserve_bytes + 16);
    begin(args);
}

void resp_writer::begin(std::size_t args)
{
    char n[24];
    auto end = std::to_chars(n, n + sizeof n, args).ptr;
    _buf += '*';
    _buf.append(n, end);
    _buf += "\r\n";
    ++_commands;
}

void resp_writer::clear() noexcept
{
    _buf.clear();
    _commands = 0;
}

void resp_writer::arg(std::string_view a)
{
    char len[24];
    auto end = std::to_chars(len, len + sizeof len, a.size()).ptr;
    _buf += '$';
    _buf.append(len, end);
    _buf += "\r\n";
    _buf.append(a);
    _buf += "\r\n";
}

void resp_writer::arg(std::int64_t v)
{
    char num[24];
    auto end = std::to_chars(num, num + sizeof num, v).ptr;
    arg(std::string_view(num, static_cast<std::size_t>(end - num)));
}

result<reply> connection::command_resp(const std::string& resp)
{
    if (redisAppendFormattedCommand(_ctx.get(), resp.data(), resp.size()) != REDIS_OK) {
        return fail(error_code::unavailable, fmt::format("redis {}: {}", _address, _ctx->errstr));
    }
    void* raw = nullptr;
    if (redisGetReply(_ctx.get(), &raw) != REDIS_OK || !raw) {
        return fail(error_code::unavailable, fmt::format("redis {}: {}", _address, _ctx->errstr));
    }
    std::unique_ptr<redisReply, void (*)(void*)> guard(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
    if (guard->type == REDIS_REPLY_ERROR) {
        return fail(error_code::failed_precondition,
                    fmt::format("redis {}: {}", _address, std::string(guard->str, guard->len)));
    }
    return convert(guard.get());
}

result<void> connection::pipeline(const resp_writer& w, std::vector<reply>& replies)
{
    if (auto ok = send(w); !ok) {
        return ok;
    }
    return read_replies(w.commands(), replies);
}

result<void> connection::send(const resp_writer& w)
{
    // Written from the writer's buffer, not copied into hiredis's first (a batch's transaction
    // is megabytes). Whatever hiredis still holds goes out first, to keep the order.
    for (int done = 0; !done;) {
        if (redisBufferWrite(_ctx.get(), &done) != REDIS_OK) {
            return fail(error_code::unavailable,
                        fmt::format("redis {}: {}", _address, _ctx->errstr));
        }
    }
    std::string_view left = w.str();
    while (!left.empty()) {  // blocking socket
        const auto n = ::send(_ctx->fd, left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(error_code::unavailable,
                        fmt::format("redis {}: {}", _address, std::strerror(errno)));
        }
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

result<void> connection::receive(std::size_t n, std::vector<reply>& replies)
{
    return read_replies(n, replies);
}

result<void> connection::read_replies(std::size_t n, std::vector<reply>& replies)
{
    if (replies.size() < n) {
        replies.resize(n);
    }
    std::string first_error;
    for (std::size_t i = 0; i < n; ++i) {
        void* raw = nullptr;
        if (redisGetReply(_ctx.get(), &raw) != REDIS_OK || !raw) {
            return fail(error_code::unavailable,
                        fmt::format("redis {}: {}", _address, _ctx->errstr));
        }
        std::unique_ptr<redisReply, void (*)(void*)> guard(static_cast<redisReply*>(raw),
                                                           freeReplyObject);
        if (guard->type == REDIS_REPLY_ERROR && first_error.empty()) {
            first_error.assign(guard->str, guard->len);
        }
        convert_into(guard.get(), replies[i]);
    }
    replies.resize(n);
    if (!first_error.empty()) {
        return fail(error_code::failed_precondition,
                    fmt::format("redis {}: {}", _address, first_error));
    }
    return {};
}

result<std::map<std::string, std::string>> connection::hgetall(const std::string& key)
{
    auto r = command({"HGETALL", key});
    if (!r) {
        return fail(r.error());
    }
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
        out.emplace(r->elements[i].str, r->elements[i + 1].str);
    }
    return out;
}

// The value of `field` in an INFO reply's "field:value" lines.
result<std::string> info_field(const std::string& info, const std::string& field)
{
    const auto key = "\n" + field + ":";
    auto pos = info.starts_with(field + ":") ? 0 : info.find(key);
    if (pos == std::string::npos) {
        return fail(error_code::internal, fmt::format("redis INFO has no {}", field));
    }
    pos = info.find(':', pos) + 1;
    return info.substr(pos, info.find_first_of("\r\n", pos) - pos);
}

result<std::string> connection::server_version()
{
    auto info = command({"INFO", "server"});
    if (!info) {
        return fail(info.error());
    }
    return info_field(info->str, "redis_version");
}

result<connection::memory_use> connection::memory()
{
    auto info = command({"INFO", "memory"});
    if (!info) {
        return fail(info.error());
    }
    auto used = info_field(info->str, "used_memory");
    auto max = info_field(info->str, "maxmemory");
    if (!used || !max) {
        return fail(used ? max.error() : used.error());
    }
    return memory_use{std::stod(*used), std::stod(*max)};
}

}  // namespace adsx::redis
