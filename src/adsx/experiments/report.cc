#include "adsx/experiments/report.h"

#include <cmath>

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/experiments/report_html.h"

namespace adsx::experiments {

namespace {

// A JSON object under construction: `o.field("p", 0.5).field("arm", "B")`.
class json_object
{
public:
    explicit json_object(std::string& out) : _out(out) { _out.push_back('{'); }
    json_object(const json_object&) = delete;
    json_object& operator=(const json_object&) = delete;
    ~json_object() { _out.push_back('}'); }

    json_object& field(std::string_view key, double v)
    {
        name(key);
        if (std::isfinite(v)) {
            fmt::format_to(std::back_inserter(_out), "{}", v);
        } else {
            _out += "null";
        }
        return *this;
    }
    json_object& field(std::string_view key, std::string_view v)
    {
        name(key);
        _out += json_quote(v);
        return *this;
    }
    json_object& field(std::string_view key, const char* v)
    {
        return field(key, std::string_view(v));  // not the bool overload
    }
    json_object& field(std::string_view key, bool v)
    {
        name(key);
        _out += v ? "true" : "false";
        return *this;
    }
    // Starts a nested value: the caller writes it into out() right after.
    std::string& raw(std::string_view key)
    {
        name(key);
        return _out;
    }

private:
    void name(std::string_view key)
    {
        if (!_first) {
            _out.push_back(',');
        }
        _first = false;
        _out += json_quote(key);
        _out.push_back(':');
    }
    std::string& _out;
    bool _first = true;
};

void write(std::string& out, const counters& c)
{
    json_object(out)
        .field("impressions", c.impressions)
        .field("clicks", c.clicks)
        .field("conversions", c.conversions)
        .field("revenue", c.revenue);
}

void write(std::string& out, const difference& d)
{
    json_object(out)
        .field("estimate", d.estimate)
        .field("std_error", d.std_error)
        .field("statistic", d.statistic)
        .field("df", std::isinf(d.df) ? -1.0 : d.df)
        .field("p", d.p)
        .field("low", d.low)
        .field("high", d.high);
}

void write(std::string& out, const metric_result& m)
{
    json_object o(out);
    o.field("metric", m.metric).field("arm", m.arm).field("control", m.control);
    o.field("treatment", m.treatment);
    write(o.raw("absolute"), m.absolute);
    o.field("lift", m.lift.lift).field("lift_std_error", m.lift.std_error);
    o.field("lift_low", m.lift_low).field("lift_high", m.lift_high);
    o.field("p_adjusted", m.p_adjusted);
    o.field("always_valid_p", m.always.p).field("always_valid_p_adjusted", m.always_adjusted);
    o.field("sequence_low", m.always.low).field("sequence_high", m.always.high);
    o.field("mde", m.mde);
    if (m.variance) {
        json_object(o.raw("cuped"))
            .field("theta", m.variance->theta)
            .field("variance_reduction", m.variance->variance_reduction);
    }
}

template <class T, class F>
void array(std::string& out, const std::vector<T>& items, F&& each)
{
    out.push_back('[');
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i != 0) {
            out.push_back(',');
        }
        each(out, items[i]);
    }
    out.push_back(']');
}

void write(std::string& out, const verdict& v)
{
    json_object(out).field("decision", v.decision).field("arm", v.arm).field("reason", v.reason);
}

std::string num(double x)
{
    return std::isfinite(x) ? fmt::format("{:.4g}", x) : "n/a";
}

}  // namespace

std::string to_json(const report& r, std::string_view name)
{
    std::string out;
    {
        json_object o(out);
        o.field("experiment", name).field("control", r.control);
        o.field("alpha", r.settings.alpha).field("primary", r.settings.primary);
        o.field("correction",
                r.settings.correct == correction::holm ? "holm" : "benjamini_hochberg");
        o.field("sequential_test",
                r.settings.planned_days > 0 ? "group_sequential" : "mixture_sprt");
        o.field("planned_days", static_cast<double>(r.settings.planned_days));
        array(o.raw("arms"), r.arms, [](std::string& s, const arm_summary& a) {
            json_object x(s);
            x.field("name", a.name).field("users", a.users);
            x.field("expected_share", a.expected_share).field("observed_share", a.observed_share);
            write(x.raw("totals"), a.totals);
        });
        json_object(o.raw("srm"))
            .field("chi_square", r.srm.statistic)
            .field("df", r.srm.df)
            .field("p", r.srm.p)
            .field("flagged", r.srm_flagged);
        o.field("revenue_cap", r.revenue_cap);
        array(o.raw("metrics"), r.metrics,
              [](std::string& s, const metric_result& m) { write(s, m); });
        array(o.raw("timeline"), r.timeline, [](std::string& s, const timeline_point& t) {
            json_object(s)
                .field("day", t.day)
                .field("arm", t.arm)
                .field("metric", t.metric)
                .field("users", t.users)
                .field("lift", t.lift)
                .field("low", t.low)
                .field("high", t.high)
                .field("always_valid_p", t.p_always_valid)
                .field("fixed_horizon_p", t.p_fixed);
        });
        array(o.raw("arm_verdicts"), r.arm_verdicts,
              [](std::string& s, const verdict& v) { write(s, v); });
        write(o.raw("verdict"), r.overall);
        o.field("rule", r.rule);
        array(o.raw("segments"), r.segments, [](std::string& s, const segment_result& g) {
            json_object(s)
                .field("dimension", g.dimension)
                .field("label", g.label)
                .field("arm", g.arm)
                .field("control_users", g.control_users)
                .field("treatment_users", g.treatment_users)
                .field("control", g.control)
                .field("treatment", g.treatment)
                .field("lift", g.lift)
                .field("lift_low", g.lift_low)
                .field("lift_high", g.lift_high)
                .field("p", g.p);
        });
    }
    out.push_back('\n');
    return out;
}

std::string to_markdown(const report& r, std::string_view name)
{
    std::string out = fmt::format("# Experiment {}\n\n**Verdict: {}.** {}\n\n", name,
                                  r.overall.decision, r.overall.reason);
    fmt::format_to(std::back_inserter(out),
                   "Sample ratio: chi-square {} (p = {}){}\n\n"
                   "| arm | users | share (expected) | impressions | clicks | CTR | conversions | "
                   "revenue |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
                   num(r.srm.statistic), num(r.srm.p),
                   r.srm_flagged ? ": **MISMATCH, the verdict is withheld**" : ", no mismatch");
    for (const auto& a : r.arms) {
        fmt::format_to(std::back_inserter(out),
                       "| {}{} | {:.0f} | {:.2f}% ({:.2f}%) | {:.0f} | {:.0f} | {:.3f}% | {:.0f} | "
                       "{:.2f} |\n",
                       a.name, a.name == r.control ? " (control)" : "", a.users,
                       100 * a.observed_share, 100 * a.expected_share, a.totals.impressions,
                       a.totals.clicks, 100 * a.totals.clicks / a.totals.impressions,
                       a.totals.conversions, a.totals.revenue);
    }
    out += "\n| metric | arm | control | treatment | lift | 95% CI | p (adj.) | always-valid p "
           "(adj.) | always-valid CI | MDE |\n|---|---|---:|---:|---:|---|---:|---:|---|---:|\n";
    for (const auto& m : r.metrics) {
        fmt::format_to(std::back_inserter(out),
                       "| {}{} | {} | {} | {} | {} | {} to {} | {} | {} | "
                       "{} to {} | {} |\n",
                       m.metric, m.variance ? " (CUPED)" : "", m.arm, num(m.control),
                       num(m.treatment), percent_text(m.lift.lift), percent_text(m.lift_low),
                       percent_text(m.lift_high), num(m.p_adjusted), num(m.always_adjusted),
                       percent_text(m.always.low), percent_text(m.always.high),
                       percent_text(m.mde).substr(1));
    }
    out += "\n";
    for (const auto& v : r.arm_verdicts) {
        fmt::format_to(std::back_inserter(out), "- **{}**: {}. {}\n", v.arm, v.decision, v.reason);
    }
    fmt::format_to(std::back_inserter(out), "\nDecision rule: {}\n", r.rule);
    if (!r.segments.empty()) {
        fmt::format_to(
            std::back_inserter(out),
            "\n## Breakdown of {} (fixed-horizon, unadjusted: where to look, not "
            "verdicts)\n\n| by | segment | arm | users (control / arm) | control | "
            "treatment | lift | 95% CI | p |\n|---|---|---|---:|---:|---:|---:|---|---:|\n",
            r.settings.primary);
        for (const auto& g : r.segments) {
            fmt::format_to(std::back_inserter(out),
                           "| {} | {} | {} | {:.0f} / {:.0f} | {} | {} | {} | {} to {} | {} |\n",
                           g.dimension, g.label, g.arm, g.control_users, g.treatment_users,
                           num(g.control), num(g.treatment), percent_text(g.lift),
                           percent_text(g.lift_low), percent_text(g.lift_high), num(g.p));
        }
    }
    return out;
}

std::string to_html(const report& r, std::string_view name, std::string_view live_url)
{
    const std::string json = json_for_script(to_json(r, name));
    std::string page(report_page);
    constexpr std::string_view slot = "/*REPORT_JSON*/";
    page.replace(page.find(slot), slot.size(), json);
    constexpr std::string_view live = "data-live=\"\"";
    std::string attribute = "data-live=\"";
    for (const char c : live_url) {
        switch (c) {
            case '&':
                attribute += "&amp;";
                break;
            case '"':
                attribute += "&quot;";
                break;
            case '<':
                attribute += "&lt;";
                break;
            default:
                attribute += c;
        }
    }
    attribute += '"';
    page.replace(page.find(live), live.size(), attribute);
    return page;
}

}  // namespace adsx::experiments
