#include "adsx/serving/admin_api.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>
#include <variant>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include "adsx/base/strings.h"

namespace adsx::serving {

namespace {

namespace dom = simdjson::dom;

constexpr std::size_t min_token_chars = 32;

std::string sha256(std::string_view s)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int n = 0;
    EVP_Digest(s.data(), s.size(), md.data(), &n, EVP_sha256(), nullptr);
    return {reinterpret_cast<const char*>(md.data()), n};
}

// Placeholders people leave in secret files: refused outside the dev profile whatever their
// length once repeated ("changemechangeme…").
bool placeholder(std::string_view token)
{
    for (std::string_view p : {"changeme", "change-me", "change_me", "admin", "secret", "password",
                               "token", "default", "example", "x"}) {
        if (token.size() % p.size() != 0) {
            continue;
        }
        bool repeated = true;
        for (std::size_t i = 0; i < token.size() && repeated; i += p.size()) {
            repeated = token.substr(i, p.size()) == p;
        }
        if (repeated) {
            return true;
        }
    }
    return false;
}

// The body as a JSON object with only `members`; a 4xx reply otherwise.
std::variant<dom::object, http::reply> object_of(const http::request& q, std::string_view route,
                                                 std::initializer_list<std::string_view> members,
                                                 dom::parser& parser)
{
    if (!q.content_type.starts_with("application/json")) {
        return http::error_reply(415, "unsupported_media_type",
                                 fmt::format("{} takes Content-Type: application/json", route));
    }
    dom::element doc;
    if (parser.parse(q.body.data(), q.body.size()).get(doc) != simdjson::SUCCESS) {
        return http::error_reply(400, "bad_request", "the body is not valid JSON");
    }
    dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS) {
        return http::error_reply(422, "invalid_argument", "the body must be a JSON object");
    }
    for (auto [key, _] : obj) {
        if (std::find(members.begin(), members.end(), key) == members.end()) {
            return http::error_reply(422, "invalid_argument",
                                     fmt::format("unknown member '{}'", key), key);
        }
    }
    return obj;
}

}  // namespace

result<std::string> load_admin_token(const std::filesystem::path& file, bool dev)
{
    std::error_code ec;
    const auto refuse = [&](std::string why) {
        return fail(error_code::invalid_argument,
                    fmt::format("admin token {}: {} (serve.admin_token_file; outside the dev "
                                "profile the service does not start without a real one: "
                                "`openssl rand -hex 32 > {}`)",
                                file.string(), why, file.string()));
    };
    if (!std::filesystem::exists(file, ec)) {
        if (dev) {
            return fail(error_code::not_found,
                        fmt::format("admin token {} does not exist", file.string()));
        }
        return refuse("does not exist");
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
        return refuse("cannot be read");
    }
    std::string token(trim(text.str()));
    if (token.empty()) {
        return refuse("is empty");
    }
    if (!dev && token.size() < min_token_chars) {
        return refuse(
            fmt::format("holds {} characters, fewer than {}", token.size(), min_token_chars));
    }
    if (!dev && placeholder(token)) {
        return refuse("is a placeholder, not a secret");
    }
    return token;
}

admin_api::admin_api(std::string_view token, admin_actions actions)
  : _digest(sha256(token)), _do(std::move(actions))
{
}

std::optional<http::reply> admin_api::refuse(const http::request& q) const
{
    constexpr std::string_view scheme = "Bearer ";
    const std::string_view h = q.authorization;
    const bool bearer = h.size() > scheme.size() &&
                        std::equal(scheme.begin(), scheme.end(), h.begin(), [](char a, char b) {
                            return std::tolower(static_cast<unsigned char>(a)) ==
                                   std::tolower(static_cast<unsigned char>(b));
                        });
    if (!bearer) {
        auto r = http::error_reply(401, "unauthenticated",
                                   "the /admin routes need an Authorization: Bearer token "
                                   "(serve.admin_token_file)");
        r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="adsx-admin")");
        return r;
    }
    const auto given = sha256(trim(h.substr(scheme.size())));
    if (CRYPTO_memcmp(given.data(), _digest.data(), _digest.size()) != 0) {
        auto r = http::error_reply(403, "forbidden", "the bearer token is not the admin token");
        r.headers.emplace_back("WWW-Authenticate",
                               R"(Bearer realm="adsx-admin", error="invalid_token")");
        return r;
    }
    return std::nullopt;
}

void admin_api::add_routes(http::router& r) const
{
    // Every handler runs behind the token check.
    const auto guarded = [this](http::route_handler h) {
        return [this, h = std::move(h)](const http::request& q, const http::path_params& p) {
            if (auto no = refuse(q)) {
                return *no;
            }
            return h(q, p);
        };
    };
    r.add("POST", "/admin/privacy/erasures", guarded([this](const auto& q, const auto&) {
              thread_local dom::parser parser;
              auto body = object_of(q, "POST /admin/privacy/erasures", {"user"}, parser);
              if (auto* bad = std::get_if<http::reply>(&body)) {
                  return *bad;
              }
              std::string_view user;
              if (std::get<dom::object>(body)["user"].get(user) != simdjson::SUCCESS ||
                  user.empty()) {
                  return http::error_reply(422, "invalid_argument",
                                           "user must be a non-empty string (a raw id or a "
                                           "pseudonym)",
                                           "user");
              }
              auto row = _do.erase(std::string(user), q.request_id);
              if (!row) {
                  return http::error_reply(row.error(), "user");
              }
              return http::json_reply(202, std::move(*row));
          }));
    r.add("GET", "/admin/privacy/erasures/{id}", guarded([this](const auto&, const auto& p) {
              const auto id = parse_int(p[0]);
              if (!id || *id < 1) {
                  return http::error_reply(422, "invalid_argument",
                                           "id must be a request id (a positive integer)", "id");
              }
              auto row = _do.erasure(*id);
              return row ? http::json_reply(200, std::move(*row)) : http::error_reply(row.error());
          }));
    r.add("POST", "/admin/privacy/retention", guarded([this](const auto& q, const auto&) {
              thread_local dom::parser parser;
              auto body = object_of(q, "POST /admin/privacy/retention", {"apply", "as_of"}, parser);
              if (auto* bad = std::get_if<http::reply>(&body)) {
                  return *bad;
              }
              const auto& obj = std::get<dom::object>(body);
              bool apply = false;
              std::string_view as_of;
              dom::element e;
              if (obj["apply"].get(e) == simdjson::SUCCESS && e.get(apply) != simdjson::SUCCESS) {
                  return http::error_reply(422, "invalid_argument", "apply must be a boolean",
                                           "apply");
              }
              if (obj["as_of"].get(e) == simdjson::SUCCESS && e.get(as_of) != simdjson::SUCCESS) {
                  return http::error_reply(422, "invalid_argument",
                                           "as_of must be a date YYYY-MM-DD", "as_of");
              }
              auto out = _do.retention(apply, std::string(as_of));
              return out ? http::json_reply(200, std::move(*out))
                         : http::error_reply(out.error(), "as_of");
          }));
    r.add("GET", "/admin/experiments", guarded([this](const auto&, const auto&) {
              auto out = _do.experiments();
              return out ? http::json_reply(200, std::move(*out)) : http::error_reply(out.error());
          }));
    for (const auto& [verb, status] : {std::pair{"start", "running"}, {"stop", "stopped"}}) {
        r.add("POST", fmt::format("/admin/experiments/{{name}}/{}", verb),
              guarded([this, status = std::string(status)](const auto&, const auto& p) {
                  if (auto done = _do.set_experiment_status(p[0], status); !done) {
                      return http::error_reply(done.error(), "name");
                  }
                  return http::json_reply(200, fmt::format(R"({{"name":{},"status":{}}})",
                                                           json_quote(p[0]), json_quote(status)));
              }));
    }
}

}  // namespace adsx::serving
