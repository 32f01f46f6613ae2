// The /admin routes' guard and contract: 401 without a bearer token (with WWW-Authenticate),
// 403 with a wrong one, the action reached only with the right one; bodies validated before any
// action runs; and the token file's rules (outside the dev profile: present, long enough, not a
// placeholder).
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "adsx/serving/admin_api.h"

namespace adsx::serving {
namespace {

constexpr std::string_view token = "3f9a0c1b7d2e4f6a8b0c1d2e3f4a5b6c";

http::request admin(std::string method, std::string path, std::string authorization,
                    std::string body = {})
{
    http::request q;
    q.method = std::move(method);
    q.path = std::move(path);
    q.authorization = std::move(authorization);
    q.content_type = "application/json";
    q.body = std::move(body);
    q.request_id = "req-1";
    return q;
}

struct admin_api_test : ::testing::Test
{
    std::vector<std::string> calls;
    admin_api api{
        token,
        {.erase = [this](const std::string& user, const std::string& key) -> result<std::string> {
             calls.push_back("erase " + user + " " + key);
             return std::string(R"({"request_id":7})");
         },
         .erasure = [this](std::int64_t id) -> result<std::string> {
             calls.push_back("erasure " + std::to_string(id));
             if (id != 7) {
                 return fail(error_code::not_found, "no erasure request");
             }
             return std::string(R"({"request_id":7})");
         },
         .retention = [this](bool apply, const std::string& as_of) -> result<std::string> {
             calls.push_back(fmt::format("retention {} {}", apply, as_of));
             return std::string("{}");
         },
         .experiments = [this]() -> result<std::string> {
             calls.push_back("experiments");
             return std::string(R"({"experiments":[]})");
         },
         .set_experiment_status = [this](const std::string& name,
                                         const std::string& status) -> result<void> {
             calls.push_back("status " + name + " " + status);
             if (name == "done") {
                 return fail(error_code::failed_precondition, "it is stopped");
             }
             return {};
         }}};
    http::router router;
    void SetUp() override { api.add_routes(router); }
    std::string bearer() const { return "Bearer " + std::string(token); }
};

TEST_F(admin_api_test, every_route_is_401_without_a_token_and_403_with_a_wrong_one)
{
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"POST", "/admin/privacy/erasures"},      {"GET", "/admin/privacy/erasures/7"},
        {"POST", "/admin/privacy/retention"},     {"GET", "/admin/experiments"},
        {"POST", "/admin/experiments/exp/start"}, {"POST", "/admin/experiments/exp/stop"}};
    for (const auto& [method, path] : routes) {
        for (const auto* missing : {"", "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer "}) {
            const auto r = router.route(admin(method, path, missing, R"({"user":"u1"})"));
            EXPECT_EQ(r.status, 401) << method << " " << path << " [" << missing << "]";
            ASSERT_EQ(r.headers.size(), 1u);
            EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
            EXPECT_NE(r.body.find(R"("code":"unauthenticated")"), std::string::npos);
        }
        for (const auto& wrong : {std::string("Bearer nope"), bearer() + "x",
                                  "Bearer " + std::string(token.substr(1))}) {
            const auto r = router.route(admin(method, path, wrong, R"({"user":"u1"})"));
            EXPECT_EQ(r.status, 403) << method << " " << path;
            EXPECT_NE(r.body.find(R"("code":"forbidden")"), std::string::npos);
        }
    }
    EXPECT_TRUE(calls.empty()) << "an action ran without the token";
}

TEST_F(admin_api_test, the_right_token_reaches_each_action)
{
    EXPECT_EQ(
        router.route(admin("POST", "/admin/privacy/erasures", bearer(), R"({"user":"u1"})")).status,
        202);
    // The scheme is case-insensitive (RFC 7235).
    EXPECT_EQ(
        router.route(admin("GET", "/admin/privacy/erasures/7", "bearer " + std::string(token)))
            .status,
        200);
    EXPECT_EQ(router.route(admin("GET", "/admin/privacy/erasures/8", bearer())).status, 404);
    EXPECT_EQ(router
                  .route(admin("POST", "/admin/privacy/retention", bearer(),
                               R"({"apply":true,"as_of":"2026-01-02"})"))
                  .status,
              200);
    EXPECT_EQ(router.route(admin("GET", "/admin/experiments", bearer())).status, 200);
    EXPECT_EQ(router.route(admin("POST", "/admin/experiments/exp/start", bearer())).status, 200);
    EXPECT_EQ(router.route(admin("POST", "/admin/experiments/done/stop", bearer())).status, 409);
    EXPECT_EQ(calls, (std::vector<std::string>{"erase u1 req-1", "erasure 7", "erasure 8",
                                               "retention true 2026-01-02", "experiments",
                                               "status exp running", "status done stopped"}));
}

TEST_F(admin_api_test, bad_bodies_are_4xx_before_any_action)
{
    auto not_json = admin("POST", "/admin/privacy/erasures", bearer(), R"({"user":"u1"})");
    not_json.content_type = "text/plain";
    EXPECT_EQ(router.route(not_json).status, 415);
    EXPECT_EQ(router.route(admin("POST", "/admin/privacy/erasures", bearer(), "{")).status, 400);
    for (const auto* body :
         {R"({})", R"({"user":""})", R"({"user":3})", R"([])", R"({"user":"u1","why":"x"})"}) {
        EXPECT_EQ(router.route(admin("POST", "/admin/privacy/erasures", bearer(), body)).status,
                  422)
            << body;
    }
    for (const auto* body : {R"({"apply":"yes"})", R"({"as_of":20260102})", R"({"force":true})"}) {
        EXPECT_EQ(router.route(admin("POST", "/admin/privacy/retention", bearer(), body)).status,
                  422)
            << body;
    }
    EXPECT_EQ(router.route(admin("GET", "/admin/privacy/erasures/x", bearer())).status, 422);
    EXPECT_EQ(router.route(admin("GET", "/admin/privacy/erasures/0", bearer())).status, 422);
    EXPECT_TRUE(calls.empty());
}

struct token_file : ::testing::Test
{
    std::filesystem::path file =
        std::filesystem::temp_directory_path() /
        ("adsx-admin-token-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    void write(std::string_view text) { std::ofstream(file, std::ios::trunc) << text; }
    void TearDown() override { std::filesystem::remove(file); }
};

TEST_F(token_file, outside_dev_a_missing_empty_short_or_placeholder_token_is_refused)
{
    std::filesystem::remove(file);
    EXPECT_EQ(load_admin_token(file, false).error().code, error_code::invalid_argument);
    EXPECT_EQ(load_admin_token(file, true).error().code, error_code::not_found);
    for (const auto* bad :
         {"", "  \n", "short-token", "changeme", "changemechangemechangemechangeme",
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}) {
        write(bad);
        const auto r = load_admin_token(file, false);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, error_code::invalid_argument);
        EXPECT_EQ(r.error().message.find(bad[0] ? bad : "\x01"), std::string::npos)
            << "the message quotes the secret";
    }
    write(std::string(token) + "\n");
    EXPECT_EQ(load_admin_token(file, false).value(), token);
    write("changeme");
    EXPECT_EQ(load_admin_token(file, true).value(), "changeme");  // dev takes what it is given
    write("");
    EXPECT_FALSE(load_admin_token(file, true));  // but never an empty one
}

}  // namespace
}  // namespace adsx::serving
