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
#include "adsx/base/parallel.h"
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
void sort_labels(std::vector<std::string>& labels, decltype(user_data::rows)& rows,
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

struct layout
{
    std::array<std::size_t, c_count> at;
    std::size_t needed = 0;        // fields a line must have
    std::vector<column> labelled;  // the breakdown columns present
    bool has_pre = false;
};

// A row's user as the text names it, and the name's hash.
struct user_name
{
    std::string_view name;
    std::size_t hash;
};

// The rows of the whole CSV, filled by stretches of lines side by side: row i's user is named
// by users[i], and labels[k][i] is its label in the k-th breakdown column.
struct table
{
    unwritten_vector<user_data::row> rows;
    unwritten_vector<user_name> users;
    std::vector<unwritten_vector<std::string_view>> labels;
};

// A stretch of whole lines, parsed by one thread into rows [begin, end) of the table (its user
// numbers come later), with arms and days numbered in the order the stretch first names them.
struct stretch
{
    std::string_view text;
    std::size_t first_line = 0;  // the file's line number of its first line (0: not known)
    std::size_t room = 0;        // its lines: the most rows it can hold
    std::size_t begin = 0, end = 0;
    interner arms, days;
    std::vector<std::uint32_t> arm_number, day_number;  // the whole file's, of its own
    result<void> parsed;
};

// Lines in a text of whole lines (the last one ended by a newline or not): its most rows.
std::size_t lines_in(std::string_view text)
{
    const auto ends = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    return ends + (!text.empty() && text.back() != '\n' ? 1 : 0);
}

// The line of `text` starting at `pos` (without its '\n'); moves `pos` past it.
std::string_view next_line(std::string_view text, std::size_t& pos)
{
    const auto end = text.find('\n', pos);
    const auto line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    return line;
}

result<void> parse_stretch(stretch& s, const layout& l, table& t)
{
    const auto& at = l.at;
    std::vector<std::string_view> f;
    std::size_t line_no = s.first_line;
    s.end = s.begin;
    for (std::size_t pos = 0; pos < s.text.size(); ++line_no) {
        const auto line = next_line(s.text, pos);
        if (line.empty() || line == "\r") {
            continue;
        }
        fields_of(line, f);
        if (f.size() < l.needed) {
            return fail(error_code::invalid_argument,
                        fmt::format("line {}: {} fields, the header names {}", line_no, f.size(),
                                    l.needed));
        }
        auto value = read_counters(f, at, c_impressions, line_no);
        if (!value) {
            return fail(value.error());
        }
        counters pre;
        if (l.has_pre) {
            auto read = read_counters(f, at, c_pre_impressions, line_no);
            if (!read) {
                return fail(read.error());
            }
            pre = *read;
        }
        const auto day = at[c_day] == absent ? 0 : s.days(f[at[c_day]]);
        t.rows[s.end] = user_data::row{0, s.arms(f[at[c_arm]]), day, *value, pre};
        const auto user = f[at[c_user]];
        t.users[s.end] = {user, std::hash<std::string_view>{}(user)};
        for (std::size_t k = 0; k < l.labelled.size(); ++k) {
            t.labels[k][s.end] = f[at[l.labelled[k]]];
        }
        ++s.end;
    }
    return {};
}

// Which thread numbers a user: by the hash's high bits (hash_index places names by the low
// ones, which then stay uniform within each thread's share).
std::size_t owner_of(std::size_t hash, std::size_t threads)
{
    return (hash >> 40) % threads;
}

// One thread's share of the users: those it owns, in the order the rows first name them.
struct owned_users
{
    hash_index index;
    std::vector<std::uint32_t> first_row;  // per user: the row first naming them (their arm)
    std::vector<std::uint32_t> arm;        // per user: that row's arm, the file's number
    std::vector<std::uint32_t> user_of;    // per row it owns, in row order: the row's user
    std::vector<std::size_t> rows_before;  // per stretch: the rows it owns in the ones before
    std::vector<std::uint32_t> number;     // per user: their number in the file, given later
    std::optional<std::size_t> conflict;   // the first row naming a user in another arm

    // The user a row names, if this share holds them.
    [[nodiscard]] std::optional<std::uint32_t> find(const table& t, const user_name& u) const
    {
        return index.find(u.hash,
                          [&](std::uint32_t x) { return t.users[first_row[x]].name == u.name; });
    }
};

// Thread `me` of `threads`: goes through every row in file order, numbers the users whose hash
// it owns as it first meets them, and checks that each of them stays in their first row's arm.
void find_users(const table& t, const std::vector<stretch>& parts, std::size_t me,
                std::size_t threads, owned_users& o)
{
    o.index.reserve(t.rows.size() / threads + 1);
    for (const auto& s : parts) {
        o.rows_before.push_back(o.user_of.size());
        for (std::size_t i = s.begin; i < s.end; ++i) {
            const auto& u = t.users[i];
            if (owner_of(u.hash, threads) != me) {
                continue;
            }
            const auto arm = s.arm_number[t.rows[i].arm];
            auto at = o.find(t, u);
            if (!at) {
                at = static_cast<std::uint32_t>(o.first_row.size());
                o.index.insert(u.hash, *at);
                o.first_row.push_back(static_cast<std::uint32_t>(i));
                o.arm.push_back(arm);
            } else if (o.arm[*at] != arm) {
                o.conflict = i;
                return;
            }
            o.user_of.push_back(*at);
        }
    }
}

// Numbers the users in the order the file first names them (the owners' lists are each in that
// order: a merge), and keeps each one's first labels.
void number_users(const table& t, std::vector<owned_users>& owners, const layout& l,
                  user_data& data)
{
    std::size_t total = 0;
    for (const auto& o : owners) {
        total += o.first_row.size();
    }
    data.user_count = total;
    data.segments.resize(l.labelled.size());
    for (std::size_t k = 0; k < l.labelled.size(); ++k) {
        data.segments[k].first = std::string(names[l.labelled[k]]);
        data.segments[k].second.reserve(total);
    }
    std::vector<std::size_t> next(owners.size(), 0);
    for (std::uint32_t n = 0; n < total; ++n) {
        std::size_t from = owners.size();
        for (std::size_t o = 0; o < owners.size(); ++o) {
            if (next[o] < owners[o].first_row.size() &&
                (from == owners.size() ||
                 owners[o].first_row[next[o]] < owners[from].first_row[next[from]])) {
                from = o;
            }
        }
        const auto row = owners[from].first_row[next[from]++];
        owners[from].number.push_back(n);
        for (std::size_t k = 0; k < l.labelled.size(); ++k) {
            data.segments[k].second.emplace_back(t.labels[k][row]);
        }
    }
}

// Gives stretch k's rows the file's numbers of their users, arms and days.
void renumber(table& t, const stretch& s, std::size_t k, const std::vector<owned_users>& owners)
{
    std::vector<std::size_t> cursor;
    for (const auto& o : owners) {
        cursor.push_back(o.rows_before[k]);
    }
    for (std::size_t i = s.begin; i < s.end; ++i) {
        auto& row = t.rows[i];
        const auto owner = owner_of(t.users[i].hash, owners.size());
        row.user = owners[owner].number[owners[owner].user_of[cursor[owner]++]];
        row.arm = s.arm_number[row.arm];
        row.day = s.day_number.empty() ? 0 : s.day_number[row.day];
    }
}

// The file's line number of row `row` (rows skip blank lines) of a body starting at line 2.
std::size_t line_of_row(std::string_view body, std::size_t row)
{
    std::size_t line_no = 2;
    for (std::size_t pos = 0; pos < body.size(); ++line_no) {
        const auto line = next_line(body, pos);
        if (!line.empty() && line != "\r" && row-- == 0) {
            break;
        }
    }
    return line_no;
}

layout layout_of(const std::array<std::size_t, c_count>& at)
{
    layout l;
    l.at = at;
    l.has_pre = at[c_pre_impressions] != absent;
    l.needed = *std::max_element(at.begin(), at.end(), [](auto a, auto b) {
        return (a == absent ? 0 : a) < (b == absent ? 0 : b);
    }) + 1;
    for (auto c : {c_device, c_geo}) {
        if (at[c] != absent) {
            l.labelled.push_back(c);
        }
    }
    return l;
}

// Numbers the arms and days of the whole file from the stretches' own, in stretch order.
void number_labels(std::vector<stretch>& parts, interner& arms, interner& days)
{
    for (auto& s : parts) {
        for (std::uint32_t i = 0; i < s.arms.size(); ++i) {
            s.arm_number.push_back(arms(s.arms[i]));
        }
        for (std::uint32_t i = 0; i < s.days.size(); ++i) {
            s.day_number.push_back(days(s.days[i]));
        }
    }
}

// Splits the body into `threads` stretches of whole lines, each given room for its rows after
// the stretches before it.
std::vector<stretch> stretches(std::string_view body, std::size_t threads)
{
    std::vector<stretch> parts;
    for (std::size_t from = 0, k = 0; from < body.size(); ++k) {
        auto to = k + 1 == threads ? body.size() : from + (body.size() - from) / (threads - k);
        to = to >= body.size() ? body.size() : body.find('\n', to);
        to = to == std::string_view::npos ? body.size() : to + 1;
        auto& s = parts.emplace_back();
        s.text = body.substr(from, to - from);
        s.first_line = from == 0 ? 2 : 0;
        from = to;
    }
    side_by_side(parts.size(), [&](std::size_t k) { parts[k].room = lines_in(parts[k].text); });
    for (std::size_t k = 1; k < parts.size(); ++k) {
        parts[k].begin = parts[k - 1].begin + parts[k - 1].room;
    }
    return parts;
}
// The error of a row naming a user already seen in another arm (one stretch: `whole`).
error conflict_error(std::string_view body, const table& t, const stretch& whole,
                     const std::vector<owned_users>& owners, const interner& arms, std::size_t row)
{
    const auto& u = t.users[row];
    const auto& o = owners[owner_of(u.hash, owners.size())];
    const auto first = *o.find(t, u);
    return {error_code::invalid_argument,
            fmt::format("line {}: user {} is in arm {} and in arm {}: assignment must put each "
                        "user in one arm",
                        line_of_row(body, row), u.name, arms[o.arm[first]],
                        arms[whole.arm_number[t.rows[row].arm]])};
}

// Blank lines leave room unused at the end of their stretch: moves the rows after it down.
void close_gaps(unwritten_vector<user_data::row>& rows, const std::vector<stretch>& parts)
{
    std::size_t kept = 0;
    for (const auto& s : parts) {
        if (s.begin != kept) {
            std::copy(rows.begin() + static_cast<std::ptrdiff_t>(s.begin),
                      rows.begin() + static_cast<std::ptrdiff_t>(s.end),
                      rows.begin() + static_cast<std::ptrdiff_t>(kept));
        }
        kept += s.end - s.begin;
    }
    rows.resize(kept);
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
    const auto l = layout_of(*at);
    const auto body =
        first_end == std::string_view::npos ? std::string_view{} : text.substr(first_end + 1);
    // Stretches of whole lines, one per thread, each parsed into its own rows of one table
    // (each thread faults in its own pages). The users are then numbered by threads that each
    // own a share of them by hash, and the stretches' rows renumbered, so that users, arms and
    // days get the numbers one pass gives. Errors are rare: on one, a single pass over the
    // whole body finds the first and its line number.
    threads = std::max<std::size_t>(threads, 1);
    auto parts = stretches(body, threads);
    const std::size_t rows = parts.empty() ? 0 : parts.back().begin + parts.back().room;
    table t;
    t.rows.resize(rows);
    prefer_huge_pages(t.rows.data(), rows * sizeof(user_data::row));
    t.users.resize(rows);
    t.labels.resize(l.labelled.size());
    for (auto& labels : t.labels) {
        labels.resize(rows);
    }
    side_by_side(parts.size(),
                 [&](std::size_t k) { parts[k].parsed = parse_stretch(parts[k], l, t); });
    const bool serial = parts.size() <= 1;
    const auto failed =
        std::find_if(parts.begin(), parts.end(), [](const auto& s) { return !s.parsed; });
    if (failed != parts.end() && !serial) {
        return parse_csv(text, 1);
    }
    interner arms, days;
    number_labels(parts, arms, days);
    std::vector<owned_users> owners(threads);
    side_by_side(threads, [&](std::size_t o) { find_users(t, parts, o, threads, owners[o]); });
    std::optional<std::size_t> conflict;
    for (const auto& o : owners) {
        if (o.conflict && (!conflict || *o.conflict < *conflict)) {
            conflict = o.conflict;
        }
    }
    if (conflict && !serial) {
        return parse_csv(text, 1);
    }
    if (conflict) {  // before the parse error, if any: that is the first
        return fail(conflict_error(body, t, parts[0], owners, arms, *conflict));
    }
    if (failed != parts.end()) {
        return fail(failed->parsed.error());
    }
    user_data data;
    data.has_pre = l.has_pre;
    number_users(t, owners, l, data);
    side_by_side(parts.size(), [&](std::size_t k) { renumber(t, parts[k], k, owners); });
    close_gaps(t.rows, parts);
    if (t.rows.empty()) {
        return fail(error_code::invalid_argument, "the CSV has a header but no rows");
    }
    data.rows = std::move(t.rows);
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
