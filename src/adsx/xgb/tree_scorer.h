#pragma once
// The tree scorer: an XGBoost booster (artifact xgboost.json) behind the ranking::scorer port.
// Per docs/models.md its input row is the float32 vector [x_0 … x_{n−1}, code_0 … code_{m−1}]:
// numeric values as given (NaN when missing, no transform), then each categorical value's
// index in its vocab (NaN when missing or not in the vocab). Crosses are not used by trees.
//
//   auto s = adsx::xgb::load_tree_scorer(dir / "xgboost.json", spec);
//   if (!s) return fail(s.error());      // e.g. the booster's feature names differ
//   (*s)->margins(batch, out);
//
// Thread-safety and allocation as scorer.h says: the float matrix is a thread-local buffer,
// the vocab lookups are hash maps built at load, and booster.h explains why concurrent
// predictions on one booster are safe. Nothing is allocated per row here; XGBoost itself
// allocates a few small objects per call (its proxy matrix, the parsed array interface).
#include <filesystem>
#include <memory>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/ranking/scorer.h"

namespace adsx::xgb {

// Who walks the trees. `native` (the default) is ranking::forest, measured faster on serving
// batches (bench/scoring.py); it is used only after it has reproduced libxgboost's margins bit
// for bit on probe rows built from every split threshold of the model (both sides of every
// split, and NaN), so a model it would score differently fails to load instead. A model it
// does not cover (XGBoost's own categorical splits, which adsx_ml does not train) is walked by
// libxgboost. `native` uses the fastest of ranking::forest's kernels the model and the CPU
// allow; `native_walk` only its portable one (to compare them).
enum class tree_engine
{
    native,
    native_walk,
    libxgboost,
};

// Loads the booster and checks it against `spec`: invalid_argument when its feature count or
// names differ from the spec's numeric names followed by its categorical names (a booster
// without names differs too); not_found / internal from booster::load. `json_text` is the
// file's content (the caller has read it to check its checksum).
[[nodiscard]] result<std::unique_ptr<const ranking::scorer>> load_tree_scorer(
    const std::filesystem::path& json_file, std::string_view json_text,
    const ranking::feature_spec& spec, tree_engine engine = tree_engine::native);

}  // namespace adsx::xgb
