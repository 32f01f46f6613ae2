// Proves the router sends each method and path to its handler with the path's parameters
// decoded, answers 404 for unknown paths and 405 (with Allow) for a known path asked with
// another method, and that message.h's error shape and query helpers hold.
#include <gtest/gtest.h>

#include "adsx/http/router.h"

namespace adsx::http {
namespace {

request get(std::string path, std::string query = "")
{
    request q;
    q.method = "GET";
    q.path = std::move(path);
    q.query = std::move(query);
    return q;
}

router sample()
{
    router r;
    r.add("GET", "/features/ad/{id}",
          [](const request&, const path_params& p) { return json_reply(200, "ad " + p.at(0)); });
    r.add("GET", "/features/user/{id}",
          [](const request&, const path_params& p) { return json_reply(200, "user " + p.at(0)); });
    r.add("POST", "/rank_ads",
          [](const request&, const path_params&) { return json_reply(200, "ranked"); });
    return r;
}

TEST(router, sends_each_route_to_its_handler_with_decoded_params)
{
    const auto r = sample();
    EXPECT_EQ(r.route(get("/features/ad/87")).body, "ad 87");
    EXPECT_EQ(r.route(get("/features/user/k1%3Aab")).body, "user k1:ab");
    auto post = get("/rank_ads");
    post.method = "POST";
    EXPECT_EQ(r.route(post).body, "ranked");
    EXPECT_EQ(r.pattern_of(get("/features/ad/9")), "/features/ad/{id}");
}

TEST(router, unknown_path_is_404_and_wrong_method_is_405_with_allow)
{
    const auto r = sample();
    auto nf = r.route(get("/features/ad"));
    EXPECT_EQ(nf.status, 404);
    EXPECT_NE(nf.body.find(R"("code":"not_found")"), std::string::npos);
    EXPECT_EQ(r.route(get("/features/ad/")).status, 404);  // an empty parameter is no match
    EXPECT_EQ(r.pattern_of(get("/nope")), "unmatched");

    auto wrong = r.route(get("/rank_ads"));
    EXPECT_EQ(wrong.status, 405);
    ASSERT_EQ(wrong.headers.size(), 1u);
    EXPECT_EQ(wrong.headers[0].first, "Allow");
    EXPECT_EQ(wrong.headers[0].second, "POST");
}

TEST(message, error_shape_names_code_message_and_field)
{
    auto e = error_reply(422, "invalid_argument", "slots must be \"1..50\"", "slots");
    EXPECT_EQ(e.status, 422);
    EXPECT_EQ(e.body, R"({"error":{"code":"invalid_argument","message":"slots must be \"1..50\"",)"
                      R"("field":"slots"}})");
    auto u = error_reply(error{error_code::unavailable, "redis down"});
    EXPECT_EQ(u.status, 503);
    ASSERT_EQ(u.headers.size(), 1u);
    EXPECT_EQ(u.headers[0].first, "Retry-After");
    EXPECT_EQ(error_reply(error{error_code::not_found, "x"}).status, 404);
    EXPECT_EQ(error_reply(error{error_code::internal, "x"}).status, 500);
}

TEST(message, query_params_are_found_and_decoded)
{
    EXPECT_EQ(query_param("as_of=17&x=a%20b", "x"), "a b");
    EXPECT_EQ(query_param("as_of=17&x=a%20b", "as_of"), "17");
    EXPECT_EQ(query_param("flag&x=1", "flag"), "");
    EXPECT_FALSE(query_param("as_of=17", "as").has_value());
    EXPECT_EQ(query_param("x=%zz", "x"), "%zz");  // left as sent, for the value's check to refuse
    EXPECT_FALSE(url_decode("%4").has_value());
    EXPECT_EQ(url_decode("k1%3A%41"), "k1:A");
}

}  // namespace
}  // namespace adsx::http
