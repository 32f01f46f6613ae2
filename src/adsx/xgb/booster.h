#pragma once
// An XGBoost booster loaded from a JSON model file, through libxgboost's C API (this module is
// its only user). RAII: the handle is freed with the object. Move-only.
//
//   auto b = adsx::xgb::booster::load("var/models/ctr/4/xgboost.json");
//   auto names = b->feature_names();
//   b->predict_margins(values, rows, columns, out);   // float32 row-major, NaN = missing
//
// Configured for serving: one thread per prediction (nthread=1; a request is one thread).
// Thread-safety: predict_margins() may run on many threads at once. XGBoost 1.7 keeps the
// output of in-place prediction per thread and per booster (Learner::GetThreadLocal) and
// configures the learner under its own lock; load() predicts once so that configuration is
// done before the booster is shared. Nothing else may be called concurrently with it. (XGBoost
// frees a booster's per-thread output only on the thread that frees the booster: other threads
// keep a batch-sized buffer per replaced booster until they end, a few KB per hot reload.)
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::xgb {

class booster
{
public:
    // internal for an XGBoost failure (its message included); not_found when the file does
    // not exist.
    [[nodiscard]] static result<booster> load(const std::filesystem::path& json_file);

    booster(booster&&) noexcept = default;
    booster& operator=(booster&&) noexcept = default;
    booster(const booster&) = delete;
    booster& operator=(const booster&) = delete;
    ~booster() = default;

    [[nodiscard]] result<std::uint64_t> num_features() const;
    // The names the booster was trained with; empty when it has none.
    [[nodiscard]] result<std::vector<std::string>> feature_names() const;

    // out[r] = the margin (output_margin, float32) of row r of the row-major `values`
    // (rows × columns; NaN = missing), widened to double.
    [[nodiscard]] result<void> predict_margins(std::span<const float> values, std::size_t rows,
                                               std::size_t columns, std::span<double> out) const;

private:
    struct handle_deleter
    {
        void operator()(void* handle) const noexcept;
    };
    using handle_ptr = std::unique_ptr<void, handle_deleter>;

    explicit booster(handle_ptr h) : _handle(std::move(h)) {}

    handle_ptr _handle;  // BoosterHandle
};

// XGBGetLastError() as an error value: "<what>: <XGBoost's message>".
[[nodiscard]] error last_error(std::string_view what);

}  // namespace adsx::xgb
