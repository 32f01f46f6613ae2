// Proves the metrics exposer: render writes the Prometheus text format; a started exposer serves
// its registry at /metrics over HTTP, takes another port when the one asked for is taken, and
// writes a target file naming its endpoint and component that goes away with it; registering
// deletes the target files of dead processes and leaves other files alone.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "adsx/http/client.h"
#include "adsx/metrics/exposer.h"

namespace adsx::metrics {
namespace {

TEST(metrics, render_uses_text_exposition_format)
{
    prometheus::Registry registry;
    auto& c = prometheus::BuildCounter()
                  .Name("adsx_test_events_total")
                  .Help("Events seen")
                  .Register(registry)
                  .Add({{"reason", "late"}});
    c.Increment(3);
    auto text = render(registry);
    EXPECT_NE(text.find("# TYPE adsx_test_events_total counter"), std::string::npos) << text;
    EXPECT_NE(text.find("adsx_test_events_total{reason=\"late\"} 3"), std::string::npos) << text;
}

TEST(metrics, exposer_serves_metrics_over_http)
{
    auto srv = exposer::start("127.0.0.1", 0, "unit");
    ASSERT_TRUE(srv) << srv.error().message;
    ASSERT_GT((*srv)->port(), 0);
    auto& h = prometheus::BuildHistogram()
                  .Name("adsx_test_latency_seconds")
                  .Help("Latency")
                  .Register((*srv)->registry())
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.01});
    h.Observe(0.005);
    auto res = http::get("127.0.0.1", (*srv)->port(), "/metrics", std::chrono::seconds(5));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->status, 200);
    EXPECT_NE(res->body.find("adsx_test_latency_seconds_bucket{le=\"0.01\"} 1"), std::string::npos)
        << res->body;
    EXPECT_NE(res->body.find("adsx_test_latency_seconds_count 1"), std::string::npos);
}

TEST(metrics, second_exposer_on_taken_port_moves_to_next_port)
{
    auto first = exposer::start("127.0.0.1", 0, "a");
    ASSERT_TRUE(first);
    auto second = exposer::start("127.0.0.1", (*first)->port(), "b");
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_NE((*second)->port(), (*first)->port());
}

TEST(metrics, target_file_names_endpoint_and_disappears_with_exposer)
{
    auto dir = std::filesystem::temp_directory_path() / "adsx_metrics_targets";
    std::filesystem::remove_all(dir);
    std::filesystem::path file;
    {
        auto srv = exposer::start("127.0.0.1", 0, "unit");
        ASSERT_TRUE(srv);
        ASSERT_TRUE((*srv)->register_with(dir));
        auto it = std::filesystem::directory_iterator(dir);
        ASSERT_NE(it, std::filesystem::directory_iterator());
        file = it->path();
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        EXPECT_NE(text.str().find("\"127.0.0.1:" + std::to_string((*srv)->port()) + "\""),
                  std::string::npos)
            << text.str();
        EXPECT_NE(text.str().find(R"("component":"unit")"), std::string::npos);
    }
    EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(metrics, registering_sweeps_target_files_of_dead_processes)
{
    auto dir = std::filesystem::temp_directory_path() / "adsx_metrics_sweep";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto dead = dir / "stream-999999999.json";  // no such pid
    const auto other = dir / "notes.txt";
    std::ofstream(dead) << "[]";
    std::ofstream(other) << "x";
    auto srv = exposer::start("127.0.0.1", 0, "unit");
    ASSERT_TRUE(srv);
    ASSERT_TRUE((*srv)->register_with(dir));
    EXPECT_FALSE(std::filesystem::exists(dead));
    EXPECT_TRUE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace adsx::metrics
