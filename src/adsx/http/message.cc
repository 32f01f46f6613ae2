#include "adsx/http/message.h"

#include "adsx/base/strings.h"

namespace adsx::http {

reply json_reply(int status, std::string body)
{
    reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

reply error_reply(int status, std::string_view code, std::string_view message,
                  std::string_view field)
{
    std::string body =
        R"({"error":{"code":)" + json_quote(code) + ",\"message\":" + json_quote(message);
    if (!field.empty()) {
        body += ",\"field\":" + json_quote(field);
    }
    body += "}}";
    return json_reply(status, std::move(body));
}

reply error_reply(const error& e, std::string_view field)
{
    switch (e.code) {
        case error_code::invalid_argument:
            return error_reply(422, "invalid_argument", e.message, field);
        case error_code::not_found:
            return error_reply(404, "not_found", e.message, field);
        case error_code::unavailable: {
            auto r = error_reply(503, "unavailable", e.message, field);
            r.headers.emplace_back("Retry-After", "1");
            return r;
        }
        case error_code::deadline_exceeded:
            return error_reply(504, "deadline_exceeded", e.message, field);
        case error_code::failed_precondition:
            return error_reply(409, "failed_precondition", e.message, field);
        default:
            return error_reply(500, "internal", e.message, field);
    }
}

std::optional<std::string> url_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) {
            return std::nullopt;
        }
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') {
                return c - '0';
            }
            c = static_cast<char>(c | 0x20);
            return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        };
        const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name)
{
    for (auto pair : split(query, '&')) {
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) != name) {
            continue;
        }
        if (eq == std::string_view::npos) {
            return std::string();
        }
        // A bad escape stays as sent, so that the value's own check refuses it by name.
        const auto raw = pair.substr(eq + 1);
        return url_decode(raw).value_or(std::string(raw));
    }
    return std::nullopt;
}

}  // namespace adsx::http
