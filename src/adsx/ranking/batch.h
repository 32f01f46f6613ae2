#pragma once
// The candidates of one scoring call, column by column: N rows × the spec's numeric features
// (double; NaN = missing) and N rows × its categorical features (string views; empty =
// missing, which docs/models.md makes the same value as ""). Crosses are not columns: scorers
// derive them.
//
//   batch b(spec.numeric.size(), spec.categorical.size());
//   b.reset(500);                       // 500 rows, every value missing
//   b.set_numeric(row, 0, 3.5);
//   b.set_categorical(row, 1, "ios");   // a view: the text must outlive the scoring call
//
// Reusable: reset() keeps its memory, so a batch kept per thread (or per request handler)
// allocates only when a call has more rows than any before. Not thread-safe; not owning the
// categorical text.
#include <cstddef>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

namespace adsx::ranking {

class batch
{
public:
    batch() = default;
    batch(std::size_t numeric_columns, std::size_t categorical_columns)
      : _numeric_columns(numeric_columns), _categorical_columns(categorical_columns)
    {
    }

    // `rows` rows with every value missing.
    void reset(std::size_t rows);

    [[nodiscard]] std::size_t rows() const noexcept { return _rows; }
    [[nodiscard]] std::size_t numeric_columns() const noexcept { return _numeric_columns; }
    [[nodiscard]] std::size_t categorical_columns() const noexcept { return _categorical_columns; }

    void set_numeric(std::size_t row, std::size_t column, double v) noexcept
    {
        _numeric[column * _rows + row] = v;
    }
    void set_categorical(std::size_t row, std::size_t column, std::string_view v) noexcept
    {
        _categorical[column * _rows + row] = v;
    }
    [[nodiscard]] double numeric(std::size_t row, std::size_t column) const noexcept
    {
        return _numeric[column * _rows + row];
    }
    [[nodiscard]] std::string_view categorical(std::size_t row, std::size_t column) const noexcept
    {
        return _categorical[column * _rows + row];
    }
    [[nodiscard]] std::span<const double> numeric_column(std::size_t column) const noexcept
    {
        return {_numeric.data() + column * _rows, _rows};
    }
    [[nodiscard]] std::span<const std::string_view> categorical_column(
        std::size_t column) const noexcept
    {
        return {_categorical.data() + column * _rows, _rows};
    }

    static constexpr double missing = std::numeric_limits<double>::quiet_NaN();

private:
    std::size_t _rows = 0;
    std::size_t _numeric_columns = 0;
    std::size_t _categorical_columns = 0;
    std::vector<double> _numeric;                // column c holds [c * rows, (c + 1) * rows)
    std::vector<std::string_view> _categorical;  // same layout
};

}  // namespace adsx::ranking
