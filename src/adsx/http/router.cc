#include "adsx/http/router.h"

#include <fmt/format.h>

#include "adsx/base/strings.h"

namespace adsx::http {

namespace {

std::vector<std::string_view> segments_of(std::string_view path)
{
    if (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    return split(path, '/');
}

}  // namespace

void router::add(std::string method, std::string_view pattern, route_handler h)
{
    entry e{std::move(method), std::string(pattern), {}, std::move(h)};
    for (auto s : segments_of(pattern)) {
        const bool param = s.size() > 2 && s.front() == '{' && s.back() == '}';
        e.segments.emplace_back(param ? "{}" : std::string(s));
    }
    _routes.push_back(std::move(e));
}

bool router::match(const entry& e, const std::vector<std::string_view>& path, path_params* params)
{
    if (e.segments.size() != path.size()) {
        return false;
    }
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (e.segments[i] == "{}") {
            if (path[i].empty()) {
                return false;
            }
        } else if (e.segments[i] != path[i]) {
            return false;
        }
    }
    if (params) {
        params->clear();
        for (std::size_t i = 0; i < path.size(); ++i) {
            if (e.segments[i] == "{}") {
                params->push_back(url_decode(path[i]).value_or(std::string(path[i])));
            }
        }
    }
    return true;
}

reply router::route(const request& q) const
{
    const auto path = segments_of(q.path);
    std::string allowed;
    path_params params;
    for (const auto& e : _routes) {
        if (!match(e, path, &params)) {
            continue;
        }
        if (e.method == q.method) {
            return e.handler(q, params);
        }
        allowed += (allowed.empty() ? "" : ", ") + e.method;
    }
    if (allowed.empty()) {
        return error_reply(404, "not_found", fmt::format("no route {}", q.path));
    }
    auto r =
        error_reply(405, "method_not_allowed",
                    fmt::format("{} does not take {} (allowed: {})", q.path, q.method, allowed));
    r.headers.emplace_back("Allow", allowed);
    return r;
}

std::string_view router::pattern_of(const request& q) const
{
    const auto path = segments_of(q.path);
    for (const auto& e : _routes) {
        if (match(e, path, nullptr)) {
            return e.pattern;
        }
    }
    return "unmatched";
}

}  // namespace adsx::http
