#pragma once
// The analysis of one experiment from per-user data: per-arm totals, the sample-ratio check, every
// metric of every treatment arm against the control (fixed-horizon and always-valid), the
// corrections across arms × metrics, a timeline of the cumulative lift when the data has days,
// and a verdict from a stated decision rule. Pure: the caller reads the data (`parse_csv`, or the
// PostgreSQL aggregates) and renders the report (report.h).
//
// Metrics (the user is the unit of analysis):
//   ctr                      clicks / impressions, a ratio metric (delta method, z-test)
//   conversion_rate          conversions / clicks, a ratio metric
//   revenue_per_user         mean revenue (Welch), CUPED on the pre-period revenue when present
//   revenue_per_user_capped  the same with revenue capped at the pooled `cap_percentile`
//
//   auto data = parse_csv(text);            //
//   user,arm[,day],impressions,clicks,conversions,revenue… auto r = analyze(*data, options{.control
//   = "A"});
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"
#include "adsx/base/memory.h"
#include "adsx/experiments/stats.h"

namespace adsx::experiments {

// The counters every metric is built from.
struct counters
{
    double impressions = 0;
    double clicks = 0;
    double conversions = 0;
    double revenue = 0;

    counters& operator+=(const counters& o);
};

// Per-user data: one row per user, or per user and day. `pre` is the user's value before the
// experiment (CUPED's covariate), the same on each of a user's rows.
struct user_data
{
    struct row
    {
        std::uint32_t user = 0;  // index into users
        std::uint32_t arm = 0;   // index into arms
        std::uint32_t day = 0;   // index into days (0 when there are none)
        counters value;
        counters pre;
    };
    std::size_t user_count = 0;  // the rows' users are numbered 0 .. user_count − 1
    std::vector<std::string> arms;
    std::vector<std::string> days;  // sorted; empty when the data has no day column
    bool has_pre = false;
    // Unwritten when resized: parse_csv's threads each fill their own stretch.
    unwritten_vector<row> rows;
    // Optional labels for breakdowns: (dimension, label of each user by index), e.g.
    // ("device", {"ios", "desktop", …}).
    std::vector<std::pair<std::string, std::vector<std::string>>> segments;
};

// Reads a CSV with a header naming its columns: user, arm, impressions, clicks, conversions,
// revenue (required); day (YYYY-MM-DD or any sortable label) and pre_impressions, pre_clicks,
// pre_conversions, pre_revenue (optional; all four or none); device and geo (optional: the
// breakdowns, a user's first row's label). Other columns are ignored.
// Large inputs are parsed in stretches of lines, one thread each; the result is the same as
// one pass's (the second overload sets the thread count).
[[nodiscard]] result<user_data> parse_csv(std::string_view text);
[[nodiscard]] result<user_data> parse_csv(std::string_view text, std::size_t threads);
// Renumbers arms and days into name order (what parse_csv gives): for data read elsewhere.
void sort_labels(user_data& data);

struct options
{
    std::string control;          // empty = the first arm in name order
    std::vector<double> weights;  // expected share of each arm (in arm order); empty = equal
    double alpha = 0.05;
    correction correct = correction::holm;
    std::string primary = "ctr";
    std::vector<std::string> guardrails = {"revenue_per_user"};
    double srm_alpha = 0.001;
    double cap_percentile = 99.9;
    double tau = 0.05;  // the always-valid mixture's scale, as a relative lift
    // The planned horizon in days (looks). 0: the sequential test is the open-ended mixture
    // SPRT; N: a group-sequential test spending α over N days, which holds α exactly under daily
    // looks where the mixture SPRT is conservative (stats.h), but spends nothing after day N.
    std::uint32_t planned_days = 0;
    double min_users = 100;    // per arm, before a look counts for the sequential test
    double min_events = 50;    // per arm: Σ numerator of a ratio, non-zero users of a mean
    double min_effect = 0.01;  // the smallest relative lift worth shipping
    double power = 0.8;
};

struct arm_summary
{
    std::string name;
    double users = 0;
    double expected_share = 0;
    double observed_share = 0;
    counters totals;
};

struct cuped
{
    double theta = 0;
    double variance_reduction = 0;  // 1 − var(adjusted) / var(raw), pooled over arms
};

// One metric of one treatment arm against the control.
struct metric_result
{
    std::string metric;
    std::string arm;
    double control = 0;  // the control's value (ratio or mean; CUPED-adjusted when applied)
    double treatment = 0;
    difference absolute;  // treatment − control: fixed-horizon test and interval
    relative_lift lift;   // treatment / control − 1
    double lift_low = 0;  // its fixed-horizon interval
    double lift_high = 0;
    double p_adjusted = 1;  // `absolute.p` adjusted across arms × metrics
    sequential always;      // always-valid p and confidence sequence on the relative lift
    double always_adjusted = 1;
    double mde = 0;  // relative lift detectable with `power` at this sample size
    std::optional<cuped> variance;
};

struct timeline_point
{
    std::string day;
    std::string arm;
    std::string metric;
    double users = 0;
    double lift = 0;
    double low = 0;  // the confidence sequence at that day
    double high = 0;
    double p_always_valid = 1;
    double p_fixed = 1;  // the fixed-horizon p of this look alone: what peeking would read
};

// The primary metric of one treatment arm within one segment (users of one device, one geo):
// descriptive, fixed-horizon and unadjusted (many segments are many tests: read them as where
// to look, not as verdicts).
struct segment_result
{
    std::string dimension;
    std::string label;
    std::string arm;
    double control_users = 0;
    double treatment_users = 0;
    double control = 0;
    double treatment = 0;
    double lift = 0;
    double lift_low = 0;
    double lift_high = 0;
    double p = 1;
};

struct verdict
{
    std::string decision;  // ship | dont_ship | keep_running | invalid
    std::string arm;       // the arm it is about (empty for the experiment as a whole)
    std::string reason;    // one plain sentence with the numbers behind it
};

struct report
{
    options settings;
    std::string control;
    std::vector<arm_summary> arms;
    chi_square_result srm;
    bool srm_flagged = false;
    double revenue_cap = 0;
    std::vector<metric_result> metrics;
    std::vector<timeline_point> timeline;
    std::vector<verdict> arm_verdicts;
    verdict overall;
    std::string rule;                      // the decision rule, in words
    std::vector<segment_result> segments;  // segments with min_users per arm, by dimension
};

[[nodiscard]] result<report> analyze(const user_data& data, const options& o);

// A relative value as signed percent text ("+1.23%"), "n/a" when undefined: the one spelling of
// the verdicts' reasons and the reports.
[[nodiscard]] std::string percent_text(double x);

// The metric names analyze() knows, in report order.
[[nodiscard]] const std::vector<std::string>& metric_names();

}  // namespace adsx::experiments
