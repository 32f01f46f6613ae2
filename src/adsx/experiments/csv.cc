// parse_csv (analysis.h): per-user experiment data from a CSV export.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <functional>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "adsx/base/hash_index.h"
#include "adsx/base/memory.h"
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
    if (!field.empty() && field.size() <= 15) {
        std::int64_t n = 0;
        bool digits = true;
        for (const char ch : field) {
            const auto d = static_cast<unsigned char>(ch - '0');
            digits = digits && d <= 9;
            n = n * 10 + d;
        }
        if (digits) {
            return static_cast<double>(n);
        }
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
    void reserve(std::size_t n)
    {
        _index.reserve(n);
        _labels.reserve(n);
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

namespace {

// What one stretch of the CSV's lines holds, with users, arms and days numbered in the order
// the stretch first names them.
struct chunk
{
    interner users, arms, days;
    std::vector<std::uint32_t> arm_of;                  // per user: the arm it was first seen in
    std::vector<std::vector<std::string_view>> labels;  // per breakdown column, per user
    std::vector<user_data::row> rows;
};

struct layout
{
    std::array<std::size_t, c_count> at;
    std::size_t needed = 0;        // fields a line must have
    std::vector<column> labelled;  // the breakdown columns present
    bool has_pre = false;
};

std::size_t lines_in(std::string_view text)
{
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

// Parses the lines of `text` (which holds whole lines) into `out`; `line_no` is the file's line
// number of its first line, for errors; `room` the lines to make room for: rows, and users (at
// most one a line), of this text and of the chunks to be merged into this one.
result<void> parse_lines(std::string_view text, const layout& l, std::size_t line_no,
                         std::size_t room, chunk& out)
{
    const auto& at = l.at;
    std::vector<std::string_view> f;
    out.labels.resize(l.labelled.size());
    out.rows.reserve(room);
    prefer_huge_pages(out.rows.data(), room * sizeof(user_data::row));
    out.users.reserve(room);
    for (std::size_t pos = 0; pos < text.size(); ++line_no) {
        auto end = text.find('\n', pos);
        const auto line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        if (line.empty() || line == "\r") {
            continue;
        }
        fields_of(line, f);
        if (f.size() < l.needed) {
            return fail(error_code::invalid_argument,
                        fmt::format("line {}: {} fields, the header names {}", line_no, f.size(),
                                    l.needed));
        }
        user_data::row row;
        row.user = out.users(f[at[c_user]]);
        row.arm = out.arms(f[at[c_arm]]);
        if (at[c_day] != absent) {
            row.day = out.days(f[at[c_day]]);
        }
        if (row.user == out.arm_of.size()) {
            out.arm_of.push_back(row.arm);
            for (std::size_t k = 0; k < l.labelled.size(); ++k) {
                out.labels[k].push_back(f[at[l.labelled[k]]]);
            }
        } else if (out.arm_of[row.user] != row.arm) {
            return fail(error_code::invalid_argument,
                        fmt::format("line {}: user {} is in arm {} and in arm {}: assignment must "
                                    "put each user in one arm",
                                    line_no, out.users[row.user], out.arms[out.arm_of[row.user]],
                                    out.arms[row.arm]));
        }
        auto value = read_counters(f, at, c_impressions, line_no);
        if (!value) {
            return fail(value.error());
        }
        row.value = *value;
        if (l.has_pre) {
            auto pre = read_counters(f, at, c_pre_impressions, line_no);
            if (!pre) {
                return fail(pre.error());
            }
            row.pre = *pre;
        }
        out.rows.push_back(row);
    }
    return {};
}

// Appends `c`'s users, arms, days and rows to `into` (the chunks before it), renumbering them
// into `into`'s numbers. False when a user of `c` is in another arm in `into`.
bool merge(chunk& into, chunk& c)
{
    std::vector<std::uint32_t> arm(c.arms.size()), day(c.days.size()), user(c.users.size());
    for (std::uint32_t i = 0; i < arm.size(); ++i) {
        arm[i] = into.arms(c.arms[i]);
    }
    for (std::uint32_t i = 0; i < day.size(); ++i) {
        day[i] = into.days(c.days[i]);
    }
    for (std::uint32_t i = 0; i < user.size(); ++i) {
        user[i] = into.users(c.users[i]);
        if (user[i] == into.arm_of.size()) {
            into.arm_of.push_back(arm[c.arm_of[i]]);
            for (std::size_t k = 0; k < c.labels.size(); ++k) {
                into.labels[k].push_back(c.labels[k][i]);
            }
        } else if (into.arm_of[user[i]] != arm[c.arm_of[i]]) {
            return false;
        }
    }
    for (auto r : c.rows) {
        r.user = user[r.user];
        r.arm = arm[r.arm];
        r.day = day.empty() ? 0 : day[r.day];
        into.rows.push_back(r);
    }
    return true;
}

// Below this, one thread parses: starting threads costs more than it saves.
constexpr std::size_t parallel_from_bytes = 8u << 20;

}  // namespace

result<user_data> parse_csv(std::string_view text)
{
    const std::size_t threads =
        text.size() < parallel_from_bytes
            ? 1
            : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
    return parse_csv(text, threads);
}

result<user_data> parse_csv(std::string_view text, std::size_t threads)
{
    const auto first_end = text.find('\n');
    auto at = header(text.substr(0, first_end));
    if (!at) {
        return fail(at.error());
    }
    layout l;
    l.at = *at;
    l.has_pre = (*at)[c_pre_impressions] != absent;
    l.needed = *std::max_element(at->begin(), at->end(), [](auto a, auto b) {
        return (a == absent ? 0 : a) < (b == absent ? 0 : b);
    }) + 1;
    for (auto c : {c_device, c_geo}) {
        if ((*at)[c] != absent) {
            l.labelled.push_back(c);
        }
    }
    const auto body =
        first_end == std::string_view::npos ? std::string_view{} : text.substr(first_end + 1);
    // Stretches of whole lines, one per core, parsed side by side and then merged in order, so
    // that users, arms and days are numbered as one pass would number them. Errors are rare:
    // on one, a single pass over the whole body finds the first and its line number.
    threads = std::max<std::size_t>(threads, 1);
    std::vector<std::string_view> parts;
    for (std::size_t from = 0, k = 0; from < body.size(); ++k) {
        auto to = k + 1 == threads ? body.size() : from + (body.size() - from) / (threads - k);
        to = to >= body.size() ? body.size() : body.find('\n', to);
        to = to == std::string_view::npos ? body.size() : to + 1;
        parts.push_back(body.substr(from, to - from));
        from = to;
    }
    std::vector<std::size_t> lines;  // of each part; the first part's chunk takes them all
    for (const auto part : parts) {
        lines.push_back(lines_in(part));
    }
    const std::size_t all_lines = std::accumulate(lines.begin(), lines.end(), std::size_t{0});
    std::vector<chunk> chunks(parts.size());
    std::vector<result<void>> parsed(parts.size());
    {
        std::vector<std::jthread> workers;
        for (std::size_t k = 1; k < parts.size(); ++k) {
            workers.emplace_back(
                [&, k] { parsed[k] = parse_lines(parts[k], l, 0, lines[k], chunks[k]); });
        }
        if (!parts.empty()) {
            parsed[0] = parse_lines(parts[0], l, 2, all_lines, chunks[0]);
        }
    }
    bool ok =
        std::all_of(parsed.begin(), parsed.end(), [](const auto& r) { return r.has_value(); });
    for (std::size_t k = 1; ok && k < chunks.size(); ++k) {
        ok = merge(chunks[0], chunks[k]);
        chunks[k] = {};
    }
    if (!ok) {
        chunk whole;
        if (auto r = parse_lines(body, l, 2, all_lines, whole); !r) {
            return fail(r.error());
        }
        chunks.assign(1, std::move(whole));  // merging found a conflict this pass also finds
    }
    if (chunks.empty() || chunks[0].rows.empty()) {
        return fail(error_code::invalid_argument, "the CSV has a header but no rows");
    }
    auto& c = chunks[0];
    user_data data;
    data.has_pre = l.has_pre;
    data.rows = std::move(c.rows);
    for (std::size_t k = 0; k < l.labelled.size(); ++k) {
        data.segments.emplace_back(
            std::string(names[l.labelled[k]]),
            std::vector<std::string>(c.labels[k].begin(), c.labels[k].end()));
    }
    data.users = c.users.copies();
    data.arms = c.arms.copies();
    data.days = c.days.copies();
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
