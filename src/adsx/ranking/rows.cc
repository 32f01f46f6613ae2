#include "adsx/ranking/rows.h"

#include <cassert>
#include <unordered_map>

#include <fmt/format.h>
#include <simdjson.h>

namespace adsx::ranking {

namespace {

namespace dom = simdjson::dom;

// Where a feature name goes: a numeric (true) or categorical (false) column.
struct column
{
    bool numeric = true;
    std::size_t index = 0;
};

tl::unexpected<error> bad_line(std::size_t line, std::string_view what)
{
    return fail(error_code::invalid_argument, fmt::format("line {}: {}", line, what));
}

result<void> read_number(std::size_t line, std::string_view key, dom::element v, double& out)
{
    if (!v.is_null() && (!v.is_number() || v.get_double().get(out))) {
        return bad_line(line, fmt::format("\"{}\" is a numeric feature: a number or null", key));
    }
    return {};
}

result<void> read_string(std::size_t line, std::string_view key, dom::element v, std::string& out)
{
    std::string_view s;
    if (!v.is_null() && v.get_string().get(s)) {
        return bad_line(line,
                        fmt::format("\"{}\" is a categorical feature: a string or null", key));
    }
    out.assign(s);
    return {};
}

}  // namespace

result<row_set> row_set::parse_jsonl(std::string_view text, const feature_spec& spec)
{
    std::unordered_map<std::string_view, column> columns;
    for (std::size_t i = 0; i < spec.numeric.size(); ++i) {
        columns[spec.numeric[i].name] = column{true, i};
    }
    for (std::size_t j = 0; j < spec.categorical.size(); ++j) {
        columns[spec.categorical[j].name] = column{false, j};
    }
    row_set rows;
    rows._numeric_columns = spec.numeric.size();
    rows._categorical_columns = spec.categorical.size();
    dom::parser parser;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        dom::object obj;
        if (auto err = parser.parse(line.data(), line.size()).get_object().get(obj)) {
            return bad_line(line_no,
                            err == simdjson::INCORRECT_TYPE
                                ? "not a JSON object"
                                : fmt::format("not valid JSON ({})", simdjson::error_message(err)));
        }
        const std::size_t base_n = rows._numeric.size();
        const std::size_t base_c = rows._categorical.size();
        rows._numeric.resize(base_n + rows._numeric_columns, batch::missing);
        rows._categorical.resize(base_c + rows._categorical_columns);
        for (auto [key, v] : obj) {
            auto it = columns.find(key);
            if (it == columns.end()) {
                continue;
            }
            const auto c = it->second;
            auto r = c.numeric ? read_number(line_no, key, v, rows._numeric[base_n + c.index])
                               : read_string(line_no, key, v, rows._categorical[base_c + c.index]);
            if (!r) {
                return fail(r.error());
            }
        }
        ++rows._rows;
    }
    return rows;
}

void row_set::fill(batch& b, std::size_t first, std::size_t count) const
{
    assert(_rows > 0 || count == 0);
    assert(b.numeric_columns() == _numeric_columns &&
           b.categorical_columns() == _categorical_columns);
    b.reset(count);
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t src = (first + r) % _rows;
        for (std::size_t i = 0; i < _numeric_columns; ++i) {
            b.set_numeric(r, i, _numeric[src * _numeric_columns + i]);
        }
        for (std::size_t j = 0; j < _categorical_columns; ++j) {
            b.set_categorical(r, j, _categorical[src * _categorical_columns + j]);
        }
    }
}

}  // namespace adsx::ranking
