// parse_csv (analysis.h): per-user experiment data from a CSV export.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "adsx/base/hash_index.h"
#include "adsx/base/strings.h"
#include "adsx/experiments/analysis.h"

namespace adsx::experiments {

namespace {

enum column : std::size_t
{
    c_user,
    c_arm,
    c_day,
    c_impressions,
    c_clicks,
    c_conversions,
    c_revenue,
    c_device,
    c_geo,
    c_pre_impressions,
    c_pre_clicks,
    c_pre_conversions,
    c_pre_revenue,
    c_count,
};
constexpr std::array<std::string_view, c_count> names = {
    "user",       "arm",    "day", "impressions",     "clicks",     "conversions",
    "revenue",    "device", "geo", "pre_impressions", "pre_clicks", "pre_conversions",
    "pre_revenue"};
constexpr std::size_t absent = static_cast<std::size_t>(-1);

// Splits one line at commas into `out` (views into the line); a trailing \r is not a field's.
void fields_of(std::string_view line, std::vector<std::string_view>& out)
{
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    split(line, ',', out);
}

result<std::array<std::size_t, c_count>> header(std::string_view line)
{
    std::vector<std::string_view> fields;
    fields_of(line, fields);
    std::array<std::size_t, c_count> at;
    at.fill(absent);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto* it = std::find(names.begin(), names.end(), fields[i]);
        if (it != names.end()) {
            at[static_cast<std::size_t>(it - names.begin())] = i;
        }
    }
    for (auto c : {c_user, c_arm, c_impressions, c_clicks, c_conversions, c_revenue}) {
        if (at[c] == absent) {
            return fail(error_code::invalid_argument,
                        fmt::format("the CSV header has no '{}' column (it needs user, arm, "
                                    "impressions, clicks, conversions, revenue)",
                                    names[c]));
        }
    }
    const auto pre =
        std::count_if(at.begin() + c_pre_impressions, at.end(), [](auto i) { return i != absent; });
    if (pre != 0 && pre != 4) {
        return fail(error_code::invalid_argument,
                    "the pre-period columns come as a set: pre_impressions, pre_clicks, "
                    "pre_conversions and pre_revenue, all or none");
    }
    return at;
}

result<double> number(std::string_view field, column c, std::size_t line)
{
    // Most fields are counts: digits only, read exactly without from_chars' generality.
    if (!field.empty() && field.size() <= 15 &&
        std::all_of(field.begin(), field.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        std::int64_t n = 0;
        for (const char ch : field) {
            n = n * 10 + (ch - '0');
        }
        return static_cast<double>(n);
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec != std::errc{} || end != field.data() + field.size() || field.empty()) {
        return fail(error_code::invalid_argument,
                    fmt::format("line {}: column {}: '{}' is not a number", line, names[c], field));
    }
    if (!(v >= 0) || !std::isfinite(v)) {
        return fail(error_code::invalid_argument,
                    fmt::format("line {}: column {}: {} is not a finite non-negative number", line,
                                names[c], field));
    }
    return v;
}

result<counters> read_counters(const std::vector<std::string_view>& f,
                               const std::array<std::size_t, c_count>& at, column first,
                               std::size_t line)
{
    std::array<double, 4> v{};
    for (std::size_t k = 0; k < 4; ++k) {
        const auto c = static_cast<column>(first + k);
        auto x = number(f[at[c]], c, line);
        if (!x) {
            return fail(x.error());
        }
        v[k] = *x;
    }
    return counters{v[0], v[1], v[2], v[3]};
}

// Interns labels (views into the CSV text): a label's index, given on first sight.
class interner
{
public:
    std::uint32_t operator()(std::string_view label)
    {
        const auto h = std::hash<std::string_view>{}(label);
        if (auto at = _index.find(h, [&](std::uint32_t i) { return _labels[i] == label; })) {
            return *at;
        }
        const auto at = static_cast<std::uint32_t>(_labels.size());
        _index.insert(h, at);
        _labels.push_back(label);
        return at;
    }
    [[nodiscard]] std::string_view operator[](std::uint32_t i) const { return _labels[i]; }
    [[nodiscard]] std::size_t size() const { return _labels.size(); }
    [[nodiscard]] std::vector<std::string> copies() const
    {
        return {_labels.begin(), _labels.end()};
    }

private:
    hash_index _index;
    std::vector<std::string_view> _labels;
};

// Renumbers `labels` into name order and rewrites the rows' indices through `field`.
void sort_labels(std::vector<std::string>& labels, std::vector<user_data::row>& rows,
                 std::uint32_t user_data::row::*field)
{
    std::vector<std::uint32_t> order(labels.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return labels[a] < labels[b]; });
    std::vector<std::uint32_t> rank(labels.size());
    std::vector<std::string> sorted(labels.size());
    for (std::uint32_t r = 0; r < order.size(); ++r) {
        rank[order[r]] = r;
        sorted[r] = std::move(labels[order[r]]);
    }
    labels = std::move(sorted);
    for (auto& row : rows) {
        row.*field = rank[row.*field];
    }
}

}  // namespace

result<user_data> parse_csv(std::string_view text)
{
    const auto first_end = text.find('\n');
    auto at = header(text.substr(0, first_end));
    if (!at) {
        return fail(at.error());
    }
    user_data data;
    data.has_pre = (*at)[c_pre_impressions] != absent;
    const std::size_t needed = *std::max_element(at->begin(), at->end(), [](auto a, auto b) {
        return (a == absent ? 0 : a) < (b == absent ? 0 : b);
    }) + 1;
    interner users, arms, days;
    std::vector<std::uint32_t> arm_of;  // per user: the arm it was first seen in
    std::vector<std::string_view> f;
    std::vector<column> labelled;  // the breakdown columns present
    for (auto c : {c_device, c_geo}) {
        if ((*at)[c] != absent) {
            labelled.push_back(c);
        }
    }
    std::vector<std::vector<std::string>> labels(labelled.size());
    data.rows.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
    std::size_t line_no = 1;
    for (std::size_t pos = first_end == std::string_view::npos ? text.size() : first_end + 1;
         pos < text.size(); ++line_no) {
        auto end = text.find('\n', pos);
        const auto line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        if (line.empty() || line == "\r") {
            continue;
        }
        fields_of(line, f);
        if (f.size() < needed) {
            return fail(error_code::invalid_argument,
                        fmt::format("line {}: {} fields, the header names {}", line_no + 1,
                                    f.size(), needed));
        }
        user_data::row row;
        row.user = users(f[(*at)[c_user]]);
        row.arm = arms(f[(*at)[c_arm]]);
        if ((*at)[c_day] != absent) {
            row.day = days(f[(*at)[c_day]]);
        }
        if (row.user == arm_of.size()) {
            arm_of.push_back(row.arm);
            for (std::size_t k = 0; k < labelled.size(); ++k) {
                labels[k].emplace_back(f[(*at)[labelled[k]]]);
            }
        } else if (arm_of[row.user] != row.arm) {
            return fail(error_code::invalid_argument,
                        fmt::format("line {}: user {} is in arm {} and in arm {}: assignment must "
                                    "put each user in one arm",
                                    line_no + 1, users[row.user], arms[arm_of[row.user]],
                                    arms[row.arm]));
        }
        auto value = read_counters(f, *at, c_impressions, line_no + 1);
        if (!value) {
            return fail(value.error());
        }
        row.value = *value;
        if (data.has_pre) {
            auto pre = read_counters(f, *at, c_pre_impressions, line_no + 1);
            if (!pre) {
                return fail(pre.error());
            }
            row.pre = *pre;
        }
        data.rows.push_back(row);
    }
    if (data.rows.empty()) {
        return fail(error_code::invalid_argument, "the CSV has a header but no rows");
    }
    for (std::size_t k = 0; k < labelled.size(); ++k) {
        data.segments.emplace_back(std::string(names[labelled[k]]), std::move(labels[k]));
    }
    data.users = users.copies();
    data.arms = arms.copies();
    data.days = days.copies();
    sort_labels(data);
    return data;
}

void sort_labels(user_data& data)
{
    sort_labels(data.arms, data.rows, &user_data::row::arm);
    if (!data.days.empty()) {  // else every row's day is 0, and stays so
        sort_labels(data.days, data.rows, &user_data::row::day);
    }
}

}  // namespace adsx::experiments
