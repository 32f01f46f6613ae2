#pragma once
// Routes by method and path pattern to handlers, with path parameters; the answer for a path no
// route knows (404) and for a known path asked with another method (405 with Allow) is the
// router's, in the one error shape (message.h). Built once at start-up, then read-only: safe to
// call from any number of threads.
//
//   http::router r;
//   r.add("GET", "/features/ad/{id}", [&](const http::request& q, const http::path_params& p) {
//       return features_of_ad(p.at(0), q);
//   });
//   http::reply out = r.route(request);
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/http/message.h"

namespace adsx::http {

// The values of a pattern's {name} segments, in order, percent-decoded.
using path_params = std::vector<std::string>;
using route_handler = std::function<reply(const request&, const path_params&)>;

class router
{
public:
    // `pattern`: segments separated by '/', each literal or "{name}" (one whole segment).
    void add(std::string method, std::string_view pattern, route_handler h);
    [[nodiscard]] reply route(const request& q) const;
    // The pattern `q` matches ("/features/ad/{id}"), for metrics labels; "unmatched" when none.
    [[nodiscard]] std::string_view pattern_of(const request& q) const;

private:
    struct entry
    {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;  // "{}" marks a parameter
        route_handler handler;
    };
    [[nodiscard]] static bool match(const entry& e, const std::vector<std::string_view>& path,
                                    path_params* params);
    std::vector<entry> _routes;
};

}  // namespace adsx::http
