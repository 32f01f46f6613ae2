#include "adsx/experiments/analysis.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "adsx/base/parallel.h"

namespace adsx::experiments {

counters& counters::operator+=(const counters& o)
{
    impressions += o.impressions;
    clicks += o.clicks;
    conversions += o.conversions;
    revenue += o.revenue;
    return *this;
}

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// From this many users a look's independent passes run side by side (below, starting threads
// costs more than it saves: the breakdowns and tests analyse thousands of small samples).
constexpr std::size_t parallel_from_users = 100'000;

// fn(k) for k in [0, n): side by side, or one after the other.
template <typename Fn>
void for_each_part(std::size_t n, bool parallel, Fn&& fn)
{
    if (parallel) {
        side_by_side(n, fn);
        return;
    }
    for (std::size_t k = 0; k < n; ++k) {
        fn(k);
    }
}

struct metric_def
{
    std::string_view name;
    double counters::*numerator;
    double counters::*denominator;  // nullptr: a per-user mean
    bool capped;
};
constexpr metric_def definitions[] = {
    {"ctr", &counters::clicks, &counters::impressions, false},
    {"conversion_rate", &counters::conversions, &counters::clicks, false},
    {"revenue_per_user", &counters::revenue, nullptr, false},
    {"revenue_per_user_capped", &counters::revenue, nullptr, true},
};

// The users' totals up to one look (a day, or all the data).
struct look
{
    unwritten_vector<std::uint32_t> arm;  // per user
    unwritten_vector<counters> value;
    unwritten_vector<counters> pre;
    unwritten_vector<char> seen;
    std::size_t arms = 0;
    double cap = nan;       // the pooled revenue cap at this look
    double pre_cap = nan;   // and the pre-period's
    std::size_t parts = 1;  // user ranges, each added to by a thread of its own

    look(std::size_t users, std::size_t arm_count)
      : arms(arm_count),
        parts(users >= parallel_from_users
                  ? std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8)
                  : 1)
    {
        arm.resize(users);
        value.resize(users);
        pre.resize(users);
        seen.resize(users);
        // Zeroed by the threads that add to each range: each faults in its own pages.
        for_each_part(parts, parts > 1, [&](std::size_t k) {
            const auto [from, to] = range(k);
            std::fill(seen.begin() + from, seen.begin() + to, char{0});
            std::fill(value.begin() + from, value.begin() + to, counters{});
        });
    }
    // Part k's users.
    [[nodiscard]] std::pair<std::ptrdiff_t, std::ptrdiff_t> range(std::size_t k) const
    {
        return {static_cast<std::ptrdiff_t>(seen.size() * k / parts),
                static_cast<std::ptrdiff_t>(seen.size() * (k + 1) / parts)};
    }

    // Adds rows[row(i)] for i in [from, to) to their users' totals; a user's first row gives
    // their arm and pre-period. Each part adds its users' rows, in the same order as one pass.
    template <typename Row>
    void add(const user_data& data, std::size_t from, std::size_t to, Row&& row)
    {
        for_each_part(parts, parts > 1, [&](std::size_t k) {
            const auto [lo, hi] = range(k);
            for (std::size_t i = from; i < to; ++i) {
                const auto& r = data.rows[row(i)];
                const auto u = static_cast<std::ptrdiff_t>(r.user);
                if (u < lo || u >= hi) {
                    continue;
                }
                if (seen[r.user] == 0) {
                    seen[r.user] = 1;
                    arm[r.user] = r.arm;
                    pre[r.user] = r.pre;
                }
                value[r.user] += r.value;
            }
        });
    }
};

// An arm's estimate of a metric: its value and standard error, and for mean metrics the
// sample Welch's test needs.
struct estimate
{
    double value = nan;
    double std_error = nan;
    sample s;
    double users = 0;
    double events = 0;  // Σ numerator (ratio), or users with a non-zero value (mean)
};

// Ratio Σy / Σx per arm with its delta-method standard error, centred sums in a second pass:
// Var(R) = (s_y² − 2R s_xy + R² s_x²) / (n x̄²).
std::vector<estimate> ratio_estimates(const look& l, const metric_def& m)
{
    std::vector<double> n(l.arms), sx(l.arms), sy(l.arms);
    for (std::size_t u = 0; u < l.arm.size(); ++u) {
        if (l.seen[u] != 0) {
            n[l.arm[u]] += 1;
            sx[l.arm[u]] += l.value[u].*m.denominator;
            sy[l.arm[u]] += l.value[u].*m.numerator;
        }
    }
    std::vector<double> cxx(l.arms), cyy(l.arms), cxy(l.arms);
    for (std::size_t u = 0; u < l.arm.size(); ++u) {
        if (l.seen[u] != 0) {
            const auto a = l.arm[u];
            const double dx = l.value[u].*m.denominator - sx[a] / n[a];
            const double dy = l.value[u].*m.numerator - sy[a] / n[a];
            cxx[a] += dx * dx;
            cyy[a] += dy * dy;
            cxy[a] += dx * dy;
        }
    }
    std::vector<estimate> out(l.arms);
    for (std::size_t a = 0; a < l.arms; ++a) {
        if (n[a] < 2 || sx[a] == 0) {
            continue;
        }
        const double r = sy[a] / sx[a];
        const double mx = sx[a] / n[a];
        const double var = (cyy[a] - 2 * r * cxy[a] + r * r * cxx[a]) / (n[a] - 1);
        out[a].value = r;
        out[a].std_error = std::sqrt(std::max(0.0, var) / (n[a] * mx * mx));
        out[a].users = n[a];
        out[a].events = sy[a];
    }
    return out;
}

double metric_value(const look& l, const metric_def& m, std::size_t u)
{
    const double v = l.value[u].*m.numerator;
    return m.capped ? std::min(v, l.cap) : v;
}

double covariate(const look& l, const metric_def& m, std::size_t u)
{
    const double v = l.pre[u].*m.numerator;
    return m.capped ? std::min(v, l.pre_cap) : v;
}

// Per-user means per arm; with a pre-period, CUPED: y − θ(x − x̄), θ = cov(y, x) / var(x)
// pooled over the arms.
std::vector<estimate> mean_estimates(const look& l, const metric_def& m, bool use_pre,
                                     std::optional<cuped>& variance)
{
    double theta = 0, mean_x = 0;
    if (use_pre) {
        double n = 0, sx = 0, sy = 0;
        for (std::size_t u = 0; u < l.arm.size(); ++u) {
            if (l.seen[u] != 0) {
                n += 1;
                sx += covariate(l, m, u);
                sy += metric_value(l, m, u);
            }
        }
        mean_x = sx / n;
        const double mean_y = sy / n;
        double cxx = 0, cxy = 0, cyy = 0;
        for (std::size_t u = 0; u < l.arm.size(); ++u) {
            if (l.seen[u] != 0) {
                const double dx = covariate(l, m, u) - mean_x;
                const double dy = metric_value(l, m, u) - mean_y;
                cxx += dx * dx;
                cxy += dx * dy;
                cyy += dy * dy;
            }
        }
        theta = cxx > 0 ? cxy / cxx : 0;
        // var(y − θx) = var(y) − 2θ cov + θ² var(x) = var(y) − cov²/var(x) at the optimum.
        variance = cuped{theta, cyy > 0 ? (cxy * theta) / cyy : 0};
    }
    auto adjusted = [&](std::size_t u) {
        return metric_value(l, m, u) - (use_pre ? theta * (covariate(l, m, u) - mean_x) : 0);
    };
    std::vector<double> n(l.arms), sum(l.arms), centred(l.arms), nonzero(l.arms);
    for (std::size_t u = 0; u < l.arm.size(); ++u) {
        if (l.seen[u] != 0) {
            n[l.arm[u]] += 1;
            sum[l.arm[u]] += adjusted(u);
            nonzero[l.arm[u]] += metric_value(l, m, u) != 0 ? 1 : 0;
        }
    }
    for (std::size_t u = 0; u < l.arm.size(); ++u) {
        if (l.seen[u] != 0) {
            const double d = adjusted(u) - sum[l.arm[u]] / n[l.arm[u]];
            centred[l.arm[u]] += d * d;
        }
    }
    std::vector<estimate> out(l.arms);
    for (std::size_t a = 0; a < l.arms; ++a) {
        if (n[a] < 2) {
            continue;
        }
        out[a].s = {sum[a] / n[a], centred[a] / (n[a] - 1), n[a]};
        out[a].value = out[a].s.mean;
        out[a].std_error = std::sqrt(out[a].s.variance / n[a]);
        out[a].users = n[a];
        out[a].events = nonzero[a];
    }
    return out;
}

// The pooled caps of revenue (and pre-period revenue) at this look.
void set_caps(look& l, double q, bool has_pre)
{
    auto cap = [&](const unwritten_vector<counters>& totals) {
        std::vector<double> v;
        v.reserve(l.arm.size());
        for (std::size_t u = 0; u < l.arm.size(); ++u) {
            if (l.seen[u] != 0) {
                v.push_back(totals[u].revenue);
            }
        }
        return percentile(v, q);
    };
    for_each_part(has_pre ? 2 : 1, l.arm.size() >= parallel_from_users, [&](std::size_t k) {
        (k == 0 ? l.cap : l.pre_cap) = cap(k == 0 ? l.value : l.pre);
    });
}

// A later look's sequential result given the earlier ones: p never rises, the interval never
// widens (an undefined bound leaves the other side's).
sequential running(const sequential& before, const sequential& now)
{
    sequential s = now;
    s.p = std::min(before.p, now.p);
    if (std::isfinite(before.low)) {
        s.low = std::isfinite(now.low) ? std::max(before.low, now.low) : before.low;
        s.high = std::isfinite(now.high) ? std::min(before.high, now.high) : before.high;
    }
    return s;
}

// What one (metric, arm) pair's sequential test carries from look to look.
struct sequential_state
{
    sequential so_far{1, nan, nan};  // p (a running minimum), interval (a running intersection)
    std::optional<group_sequential> test;  // with a planned horizon: boundaries at α
    std::vector<double> z, info, t;        // and the looks that counted
};

// The group-sequential result of a look on the relative lift; `elapsed` is the share of the
// planned horizon.
sequential group_sequential_look(sequential_state& s, const relative_lift& lift, double elapsed,
                                 double alpha)
{
    if (!s.test) {
        s.test.emplace(alpha);
    }
    const double info = 1 / (lift.std_error * lift.std_error);
    s.z.push_back(lift.lift / lift.std_error);
    s.info.push_back(info);
    s.t.push_back(elapsed);
    const double c = s.test->next(info, elapsed);
    const double half = std::isfinite(c) ? c * lift.std_error : nan;
    return {group_sequential_p(s.z, s.info, s.t, s.so_far.p), lift.lift - half, lift.lift + half};
}

// Every metric of every treatment arm at one look. `state` carries each pair's sequential test
// across looks, keyed by result order, which is the same at every look; `elapsed` is the share
// of the planned horizon (with one).
std::vector<metric_result> compare(const look& l, const user_data& data, std::size_t control,
                                   const options& o, double elapsed,
                                   std::vector<sequential_state>& state)
{
    // Each metric's estimates are passes of their own over the users: side by side when
    // there are enough users for threads to pay.
    constexpr std::size_t metrics = std::size(definitions);
    std::array<std::vector<estimate>, metrics> estimates;
    std::array<std::optional<cuped>, metrics> variances;
    for_each_part(metrics, l.arm.size() >= parallel_from_users, [&](std::size_t k) {
        const auto& m = definitions[k];
        estimates[k] = m.denominator != nullptr ? ratio_estimates(l, m)
                                                : mean_estimates(l, m, data.has_pre, variances[k]);
    });
    std::vector<metric_result> out;
    for (std::size_t k = 0; k < metrics; ++k) {
        const auto& m = definitions[k];
        const auto& est = estimates[k];
        const auto& variance = variances[k];
        for (std::size_t a = 0; a < l.arms; ++a) {
            if (a == control) {
                continue;
            }
            metric_result r;
            r.metric = std::string(m.name);
            r.arm = data.arms[a];
            const auto& c = est[control];
            const auto& t = est[a];
            r.control = c.value;
            r.treatment = t.value;
            r.absolute =
                m.denominator != nullptr
                    ? z_test(t.value - c.value, std::hypot(t.std_error, c.std_error), o.alpha)
                    : welch(c.s, t.s, o.alpha);
            r.lift = relative(c.value, c.std_error, t.value, t.std_error);
            const double z = z_two_sided(o.alpha);
            r.lift_low = r.lift.lift - z * r.lift.std_error;
            r.lift_high = r.lift.lift + z * r.lift.std_error;
            // The sequential test counts a look only once both arms hold enough data for the
            // normal approximation it rests on; earlier looks would spend its error on noise.
            const bool enough = std::min(c.users, t.users) >= o.min_users &&
                                std::min(c.events, t.events) >= o.min_events;
            if (state.size() <= out.size()) {
                state.resize(out.size() + 1);
            }
            auto& s = state[out.size()];
            const bool usable = enough && r.lift.std_error > 0 && std::isfinite(r.lift.lift);
            r.always = !usable              ? sequential{1, nan, nan}
                       : o.planned_days > 0 ? group_sequential_look(s, r.lift, elapsed, o.alpha)
                                            : msprt(r.lift.lift, r.lift.std_error, o.tau, o.alpha);
            r.always = running(s.so_far, r.always);
            s.so_far = r.always;
            r.mde = minimum_detectable_effect(r.absolute.std_error, o.alpha, o.power) /
                    std::abs(c.value);
            r.variance = variance;
            out.push_back(std::move(r));
        }
    }
    return out;
}

void correct(std::vector<metric_result>& results, correction c)
{
    std::vector<double> fixed, always;
    for (const auto& r : results) {
        fixed.push_back(std::isnan(r.absolute.p) ? 1.0 : r.absolute.p);
        always.push_back(r.always.p);
    }
    const auto f = adjust(fixed, c);
    const auto s = adjust(always, c);
    for (std::size_t i = 0; i < results.size(); ++i) {
        results[i].p_adjusted = f[i];
        results[i].always_adjusted = s[i];
    }
}

const metric_result* find(const std::vector<metric_result>& rs, std::string_view metric,
                          std::string_view arm)
{
    for (const auto& r : rs) {
        if (r.metric == metric && r.arm == arm) {
            return &r;
        }
    }
    return nullptr;
}

std::string summary(const metric_result& r)
{
    return fmt::format("{} {} (always-valid interval {} to {}, adjusted p = {:.3g})", r.metric,
                       percent_text(r.lift.lift), percent_text(r.always.low),
                       percent_text(r.always.high), r.always_adjusted);
}

verdict decide_arm(const report& rep, const std::string& arm, const options& o)
{
    if (rep.srm_flagged) {
        return {"invalid", arm, "sample-ratio mismatch: no verdict"};
    }
    for (const auto& g : o.guardrails) {
        const auto* r = find(rep.metrics, g, arm);
        if (r != nullptr && r->always_adjusted < o.alpha && r->lift.lift < 0) {
            return {"dont_ship", arm, fmt::format("guardrail breached: {}", summary(*r))};
        }
    }
    const auto* p = find(rep.metrics, o.primary, arm);
    if (p == nullptr || std::isnan(p->lift.lift)) {
        return {"keep_running", arm, fmt::format("no estimate of {} yet", o.primary)};
    }
    if (p->always_adjusted < o.alpha) {
        return {p->lift.lift > 0 ? "ship" : "dont_ship", arm, summary(*p)};
    }
    if (p->always.low > -o.min_effect && p->always.high < o.min_effect) {
        return {"dont_ship", arm,
                fmt::format("no effect as large as {}: {}", percent_text(o.min_effect).substr(1),
                            summary(*p))};
    }
    return {"keep_running", arm, fmt::format("not conclusive yet: {}", summary(*p))};
}

verdict decide(const report& rep)
{
    if (rep.srm_flagged) {
        return {"invalid", "",
                fmt::format("sample-ratio mismatch (chi-square p = {:.3g} < {}): assignment or "
                            "logging lost users of some arm; fix it before reading any metric",
                            rep.srm.p, rep.settings.srm_alpha)};
    }
    const verdict* best = nullptr;
    double best_lift = -std::numeric_limits<double>::infinity();
    bool running = false;
    for (const auto& v : rep.arm_verdicts) {
        running = running || v.decision == "keep_running";
        const auto* p = find(rep.metrics, rep.settings.primary, v.arm);
        if (v.decision == "ship" && p != nullptr && p->lift.lift > best_lift) {
            best = &v;
            best_lift = p->lift.lift;
        }
    }
    if (best != nullptr) {
        return {"ship", best->arm, fmt::format("ship {}: {}", best->arm, best->reason)};
    }
    if (running) {
        return {"keep_running", "", "no arm is conclusive yet"};
    }
    return {"dont_ship", "", fmt::format("keep {}: no arm beats it", rep.control)};
}

std::string rule_text(const options& o)
{
    std::string guards;
    for (const auto& g : o.guardrails) {
        guards += (guards.empty() ? "" : ", ") + g;
    }
    return fmt::format(
        "Users are the unit. No verdict when the sample-ratio test gives p < {}. An arm ships when "
        "its {} lift is positive with always-valid p < {} after {} adjustment across arms x "
        "metrics, and no guardrail ({}) is significantly worse; it does not when the lift is "
        "significantly negative or the always-valid interval excludes effects of {} either way; "
        "otherwise keep running. {}",
        o.srm_alpha, o.primary, o.alpha,
        o.correct == correction::holm ? "Holm" : "Benjamini-Hochberg",
        guards.empty() ? "none" : guards, percent_text(o.min_effect).substr(1),
        o.planned_days > 0
            ? fmt::format("Always-valid p-values are group-sequential (O'Brien-Fleming-type "
                          "alpha spending over the planned {} days): valid however often the "
                          "report is read within them; no further alpha is spent after them.",
                          o.planned_days)
            : fmt::format("Always-valid p-values (mixture SPRT, tau = {} relative) stay valid "
                          "however often the report is read.",
                          o.tau));
}

result<std::size_t> control_index(const user_data& data, const options& o)
{
    if (o.control.empty()) {
        return 0;
    }
    const auto it = std::find(data.arms.begin(), data.arms.end(), o.control);
    if (it == data.arms.end()) {
        return fail(error_code::invalid_argument,
                    fmt::format("control arm '{}' is not in the data", o.control));
    }
    return static_cast<std::size_t>(it - data.arms.begin());
}

result<void> check(const user_data& data, const options& o)
{
    if (data.arms.size() < 2) {
        return fail(error_code::invalid_argument, "the data has fewer than two arms");
    }
    if (!o.weights.empty() && o.weights.size() != data.arms.size()) {
        return fail(error_code::invalid_argument,
                    fmt::format("{} weights for {} arms", o.weights.size(), data.arms.size()));
    }
    const auto& known = metric_names();
    for (const auto& m : o.guardrails) {
        if (std::find(known.begin(), known.end(), m) == known.end()) {
            return fail(error_code::invalid_argument,
                        fmt::format("unknown guardrail metric '{}'", m));
        }
    }
    if (std::find(known.begin(), known.end(), o.primary) == known.end()) {
        return fail(error_code::invalid_argument, fmt::format("unknown metric '{}'", o.primary));
    }
    if (!(o.alpha > 0 && o.alpha < 1) || !(o.tau > 0) || !(o.power > 0 && o.power < 1) ||
        !(o.cap_percentile > 0 && o.cap_percentile <= 100)) {
        return fail(
            error_code::invalid_argument,
            "alpha and power must lie in (0, 1), tau above 0, the cap percentile in (0, 100]");
    }
    // The rows index the users (user_count of them), arms and days the data holds.
    const auto stray = std::find_if(data.rows.begin(), data.rows.end(), [&](const auto& r) {
        return r.user >= data.user_count || r.arm >= data.arms.size() ||
               (data.days.empty() ? r.day != 0 : r.day >= data.days.size());
    });
    if (stray != data.rows.end()) {
        return fail(error_code::invalid_argument,
                    fmt::format("row {} names a user, arm or day beyond the data's",
                                stray - data.rows.begin()));
    }
    return {};
}

void summarise_arms(report& rep, const look& l, const user_data& data, const options& o)
{
    rep.arms.resize(data.arms.size());
    for (std::size_t a = 0; a < data.arms.size(); ++a) {
        rep.arms[a].name = data.arms[a];
    }
    for (std::size_t u = 0; u < l.arm.size(); ++u) {
        if (l.seen[u] != 0) {
            rep.arms[l.arm[u]].users += 1;
            rep.arms[l.arm[u]].totals += l.value[u];
        }
    }
    std::vector<double> observed, weights;
    for (std::size_t a = 0; a < rep.arms.size(); ++a) {
        observed.push_back(rep.arms[a].users);
        weights.push_back(o.weights.empty() ? 1.0 : o.weights[a]);
    }
    const double total_users = std::accumulate(observed.begin(), observed.end(), 0.0);
    const double total_weight = std::accumulate(weights.begin(), weights.end(), 0.0);
    for (std::size_t a = 0; a < rep.arms.size(); ++a) {
        rep.arms[a].expected_share = weights[a] / total_weight;
        rep.arms[a].observed_share = observed[a] / total_users;
    }
    rep.srm = chi_square(observed, weights);
    rep.srm_flagged = rep.srm.p < o.srm_alpha;
}

}  // namespace

std::string percent_text(double x)
{
    return std::isfinite(x) ? fmt::format("{:+.2f}%", 100 * x) : "n/a";
}

const std::vector<std::string>& metric_names()
{
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const auto& m : definitions) {
            n.emplace_back(m.name);
        }
        return n;
    }();
    return names;
}

namespace {

// The primary metric in each segment of each dimension with at least min_users users per arm:
// the analysis again on the segment's users, on their totals (no days, no segments).
std::vector<segment_result> breakdown(const user_data& data, const options& o,
                                      const std::string& control)
{
    std::vector<segment_result> out;
    for (const auto& [dimension, labels] : data.segments) {
        std::vector<std::string> values(labels.begin(), labels.end());
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        for (const auto& value : values) {
            user_data sub;
            sub.user_count = data.user_count;
            sub.arms = data.arms;
            sub.has_pre = data.has_pre;
            for (auto row : data.rows) {
                if (labels[row.user] == value) {
                    row.day = 0;
                    sub.rows.push_back(row);
                }
            }
            options so = o;
            so.control = control;
            auto r = analyze(sub, so);
            if (!r) {
                continue;
            }
            auto users_of = [&](const std::string& arm) {
                for (const auto& a : r->arms) {
                    if (a.name == arm) {
                        return a.users;
                    }
                }
                return 0.0;
            };
            for (const auto& m : r->metrics) {
                if (m.metric != o.primary || users_of(control) < o.min_users ||
                    users_of(m.arm) < o.min_users) {
                    continue;
                }
                out.push_back({dimension, value, m.arm, users_of(control), users_of(m.arm),
                               m.control, m.treatment, m.lift.lift, m.lift_low, m.lift_high,
                               m.absolute.p});
            }
        }
    }
    return out;
}

}  // namespace

result<report> analyze(const user_data& data, const options& o)
{
    if (auto ok = check(data, o); !ok) {
        return fail(ok.error());
    }
    auto control = control_index(data, o);
    if (!control) {
        return fail(control.error());
    }
    report rep;
    rep.settings = o;
    rep.control = data.arms[*control];
    rep.rule = rule_text(o);

    look l(data.user_count, data.arms.size());
    // Rows in day order (without days, as they are); a look after each day (one look when the
    // data has no days).
    std::vector<std::size_t> order;
    if (!data.days.empty()) {
        order.resize(data.rows.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](auto a, auto b) { return data.rows[a].day < data.rows[b].day; });
    }
    std::vector<sequential_state> state;
    std::size_t k = 0;
    const std::size_t looks = std::max<std::size_t>(1, data.days.size());
    for (std::uint32_t day = 0; day < looks; ++day) {
        if (order.empty()) {
            l.add(data, 0, data.rows.size(), [](std::size_t i) { return i; });
        } else {
            const auto from = k;
            while (k < order.size() && data.rows[order[k]].day == day) {
                ++k;
            }
            l.add(data, from, k, [&](std::size_t i) { return order[i]; });
        }
        set_caps(l, o.cap_percentile, data.has_pre);
        // Without days the one look is the whole experiment.
        const double elapsed = o.planned_days == 0 ? 0
                               : data.days.empty()
                                   ? 1
                                   : (day + 1.0) / static_cast<double>(o.planned_days);
        auto results = compare(l, data, *control, o, elapsed, state);
        const auto users = static_cast<double>(std::count(l.seen.begin(), l.seen.end(), 1));
        for (const auto& r : results) {
            if (!data.days.empty()) {
                rep.timeline.push_back({data.days[day], r.arm, r.metric, users, r.lift.lift,
                                        r.always.low, r.always.high, r.always.p, r.absolute.p});
            }
        }
        if (day + 1 == looks) {
            rep.metrics = std::move(results);
        }
    }
    rep.revenue_cap = l.cap;
    summarise_arms(rep, l, data, o);
    correct(rep.metrics, o.correct);
    for (std::size_t a = 0; a < data.arms.size(); ++a) {
        if (a != *control) {
            rep.arm_verdicts.push_back(decide_arm(rep, data.arms[a], o));
        }
    }
    rep.overall = decide(rep);
    rep.segments = breakdown(data, o, rep.control);
    return rep;
}

}  // namespace adsx::experiments
