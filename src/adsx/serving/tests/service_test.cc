// Proves the service's routes: liveness, readiness naming each dependency (503 + Retry-After
// when one fails), the metrics text, the docs page; and that /openapi.json documents exactly the
// routes served and states the ids as the event contract defines them (one definition).
#include <set>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "adsx/events/contract.h"
#include "adsx/serving/service.h"

namespace adsx::serving {
namespace {

class empty_reader final : public features::online_reader
{
public:
    result<std::vector<features::hash_fields>> hashes(const std::vector<std::string>& keys) override
    {
        return std::vector<features::hash_fields>(keys.size());
    }
};

http::request get(std::string path)
{
    http::request q;
    q.method = "GET";
    q.path = std::move(path);
    return q;
}

struct service_test : ::testing::Test
{
    empty_reader reader;
    manual_clock clock{1'764'930'000'000};
    bool redis_up = true;
    service svc{{.reader = reader,
                 .clock = clock,
                 .ready = {{"redis",
                            [this]() -> result<void> {
                                if (redis_up) {
                                    return {};
                                }
                                return fail(error_code::unavailable, "connection refused");
                            }},
                           {"catalog", []() -> result<void> { return {}; }}},
                 .metrics = [] { return std::string("adsx_up 1\n"); },
                 .rank = nullptr,
                 .experiment = [](const std::string& name) -> result<experiments::report> {
                     return fail(error_code::not_found, "no experiment '" + name + "'");
                 }}};
};

TEST_F(service_test, health_readiness_metrics_and_docs)
{
    EXPECT_EQ(svc.handle(get("/healthz")).body, R"({"status":"ok"})");
    auto ok = svc.handle(get("/readyz"));
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, R"({"ready":true,"checks":{"redis":{"ok":true},"catalog":{"ok":true}}})");
    redis_up = false;
    auto down = svc.handle(get("/readyz"));
    EXPECT_EQ(down.status, 503);
    EXPECT_EQ(down.body, R"({"ready":false,"checks":{"redis":{"ok":false,"error":"connection )"
                         R"(refused"},"catalog":{"ok":true}}})");
    auto m = svc.handle(get("/metrics"));
    EXPECT_EQ(m.body, "adsx_up 1\n");
    EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u);
    auto docs = svc.handle(get("/docs"));
    EXPECT_EQ(docs.content_type, "text/html; charset=utf-8");
    EXPECT_NE(docs.body.find("fetch(\"/openapi.json\")"), std::string::npos);
    EXPECT_EQ(docs.body.find("https://"), std::string::npos);  // nothing from a CDN
    EXPECT_EQ(svc.handle(get("/features/ad/87")).status, 404);
    EXPECT_EQ(svc.route_of(get("/features/ad/87")), "/features/ad/{id}");
    auto missing = svc.handle(get("/experiments/nope"));
    EXPECT_EQ(missing.status, 404);
    EXPECT_NE(missing.body.find("no experiment 'nope'"), std::string::npos);
    EXPECT_EQ(svc.route_of(get("/experiments/nope/report.json")),
              "/experiments/{name}/report.json");
}

TEST_F(service_test, openapi_documents_exactly_the_routes_and_the_contract_ids)
{
    simdjson::dom::parser parser;
    const simdjson::padded_string text(openapi_json());
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(text).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(std::string_view(doc["openapi"]), "3.1.0");
    std::set<std::string> documented;
    for (auto [path, item] : simdjson::dom::object(doc["paths"])) {
        for (auto [method, op] : simdjson::dom::object(item)) {
            (void)op;
            documented.insert(std::string(method) + " " + std::string(path));
        }
    }
    const std::set<std::string> served = {"get /features/ad/{id}",
                                          "get /features/user/{id}",
                                          "post /rank_ads",
                                          "get /healthz",
                                          "get /readyz",
                                          "get /metrics",
                                          "get /openapi.json",
                                          "get /docs",
                                          "get /experiments/{name}",
                                          "get /experiments/{name}/report.json",
                                          "post /admin/privacy/erasures",
                                          "get /admin/privacy/erasures/{id}",
                                          "post /admin/privacy/retention",
                                          "get /admin/experiments",
                                          "post /admin/experiments/{name}/start",
                                          "post /admin/experiments/{name}/stop"};
    EXPECT_EQ(documented, served);
    for (const auto& route : served) {
        const auto path = route.substr(route.find(' ') + 1);
        if (route.starts_with("get ") && path.find('{') == std::string::npos &&
            !path.starts_with("/admin")) {
            EXPECT_EQ(svc.handle(get(path)).status, 200) << path;
        }
    }

    const auto& c = events::contract::ad_event();
    const auto& user = c.properties()[*c.index_of("user_id")];
    const auto& ad = c.properties()[*c.index_of("ad_id")];
    auto params = doc["paths"]["/features/user/{id}"]["get"]["parameters"];
    EXPECT_EQ(std::string_view(params.at(0)["schema"]["pattern"]), user.matches->text());
    auto ad_id = doc["components"]["parameters"]["AdId"]["schema"];
    EXPECT_EQ(std::int64_t(ad_id["minimum"]), ad.min_int.value());
    EXPECT_EQ(std::int64_t(ad_id["maximum"]), ad.max_int.value());
    auto rank = doc["components"]["schemas"]["RankRequest"]["properties"];
    EXPECT_EQ(std::string_view(rank["user_id"]["pattern"]), user.matches->text());
    auto context = rank["context"]["properties"];
    for (auto name : {"geo", "placement"}) {
        const auto& rules = c.properties()[*c.index_of(name)];
        EXPECT_EQ(std::string_view(context[name]["pattern"]), rules.matches->text()) << name;
    }
    const auto& consent = c.properties()[*c.index_of("consent")];
    EXPECT_EQ(std::string_view(rank["consent"]["pattern"]), consent.matches->text());
    EXPECT_EQ(std::uint64_t(rank["consent"]["maxLength"]), consent.max_length.value());
    const auto& placement = c.properties()[*c.index_of("placement")];
    EXPECT_EQ(std::uint64_t(context["placement"]["maxLength"]), placement.max_length.value());
    std::vector<std::string> devices;
    for (auto d : simdjson::dom::array(context["device"]["enum"])) {
        devices.emplace_back(std::string_view(d));
    }
    EXPECT_EQ(devices, c.properties()[*c.index_of("device")].one_of);
}

}  // namespace
}  // namespace adsx::serving
