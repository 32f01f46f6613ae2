// Proves the status page's reading of the Grafana dashboard: only timeseries panels tagged
// "headline" are taken, in order, with their unit, queries and legends; a dashboard without
// panels, a panel without targets or a target without a query is refused naming it; and a
// page is not written when Prometheus cannot be reached.
#include <chrono>

#include <gtest/gtest.h>

#include "adsx/stack/dashboard.h"

namespace adsx::stack {
namespace {

TEST(dashboard, takes_the_headline_timeseries_panels_in_order)
{
    const auto json = R"json({"panels":[
        {"type":"timeseries","title":"Lag","tags":["headline"],
         "fieldConfig":{"defaults":{"unit":"short"}},
         "targets":[{"refId":"A","expr":"sum(lag)","legendFormat":"behind"}]
},
        {"type":"heatmap","title":"Heat","tags":["headline"],"targets":[{"expr":"x"}]},
        {"type":"timeseries","title":"Not headline","targets":[{"expr":"y"}]},
        {"type":"timeseries","title":"Two","tags":["other","headline"],
         "targets":[{"expr":"a"},{"expr":"b","legendFormat":"{{route}}"}]}]
})json";
    auto panels = parse_headline_panels(json);
    ASSERT_TRUE(panels) << panels.error().message;
    ASSERT_EQ(panels->size(), 2u);
    EXPECT_EQ((*panels)[0].title, "Lag");
    EXPECT_EQ((*panels)[0].unit, "short");
    ASSERT_EQ((*panels)[0].targets.size(), 1u);
    EXPECT_EQ((*panels)[0].targets[0].expr, "sum(lag)");
    EXPECT_EQ((*panels)[0].targets[0].legend, "behind");
    EXPECT_EQ((*panels)[1].title, "Two");
    EXPECT_EQ((*panels)[1].unit, "");
    ASSERT_EQ((*panels)[1].targets.size(), 2u);
    EXPECT_EQ((*panels)[1].targets[1].legend, "{{route}}");
}

TEST(dashboard, refuses_what_it_cannot_draw_naming_it)
{
    auto message = [](const char* json) {
        auto p = parse_headline_panels(json);
        return p ? std::string("accepted") : p.error().message;
    };
    EXPECT_EQ(message("not json"), "the dashboard is not JSON");
    EXPECT_EQ(message(R"json({"title":"x"})json"), "the dashboard has no panels array");
    EXPECT_EQ(message(R"json({"panels":[]})json"), "the dashboard has no headline panels");
    EXPECT_EQ(
        message(R"json({"panels":[{"type":"timeseries","title":"P","tags":["headline"]}]})json"),
        "panel 'P' has no targets");
    EXPECT_EQ(message(R"json({"panels":[{"type":"timeseries","title":"P","tags":["headline"],
                         "targets":[{"refId":"A"}]}]})json"),
              "a target of panel 'P' has no expr");
}

TEST(dashboard, no_page_without_prometheus)
{
    const std::vector<panel> panels{{"Lag", "short", "", {{"sum(lag)", ""}}}};
    // Port 1 on loopback: nothing listens there.
    auto page = dashboard_page("127.0.0.1", 1, panels, std::chrono::minutes(5),
                               std::chrono::system_clock::now());
    ASSERT_FALSE(page);
    EXPECT_NE(page.error().message.find("not reached"), std::string::npos) << page.error().message;
}

}  // namespace
}  // namespace adsx::stack
