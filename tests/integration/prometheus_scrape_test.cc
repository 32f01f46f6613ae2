// Prometheus started by `adsx stack up` discovers an adsx /metrics endpoint (file_sd target
// written by metrics::exposer::register_with), scrapes it, and a PromQL query over its HTTP API
// returns the counter value this test set. Needs the local stack running.
#include <chrono>
#include <random>
#include <regex>
#include <thread>

#include "test_config.h"
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "adsx/config/config.h"
#include "adsx/http/client.h"
#include "adsx/metrics/exposer.h"
#include "adsx/stack/services.h"

namespace adsx {
namespace {

using namespace std::chrono_literals;

using integration::load_config;

TEST(prometheus_scrape, promql_returns_the_counter_value_we_set)
{
    auto cfg = load_config();
    auto srv = metrics::exposer::start(cfg.metrics.host, 0, "integration-test");
    ASSERT_TRUE(srv) << srv.error().message;
    ASSERT_TRUE((*srv)->register_with(stack::prometheus_targets_dir(cfg)));

    // A value no earlier run could have left behind.
    std::random_device rd;
    const auto run_id = std::to_string(rd());
    const double value = 1000 + rd() % 100000;
    prometheus::BuildCounter()
        .Name("adsx_integration_probe_total")
        .Help("Set by prometheus_scrape_test")
        .Register((*srv)->registry())
        .Add({{"run", run_id}})
        .Increment(value);

    const auto query = "/api/v1/query?query=" +
                       http::url_encode("adsx_integration_probe_total{run=\"" + run_id + "\"}");
    const std::regex sample(R"re("value":\[[0-9.]+,"([0-9.e+]+)"\])re");
    std::string last;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
        auto res = http::get(cfg.prometheus.host, cfg.prometheus.port, query, 5s);
        ASSERT_TRUE(res) << res.error().message;
        last = res->body;
        std::smatch m;
        if (res->status == 200 && std::regex_search(last, m, sample)) {
            EXPECT_DOUBLE_EQ(std::stod(m[1].str()), value) << last;
            EXPECT_NE(last.find("\"component\":\"integration-test\""), std::string::npos) << last;
            return;
        }
        std::this_thread::sleep_for(500ms);
    }
    FAIL() << "Prometheus never returned the counter; last answer: " << last;
}

}  // namespace
}  // namespace adsx
