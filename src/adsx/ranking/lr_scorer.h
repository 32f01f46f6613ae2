#pragma once
// The logistic-regression scorer of artifact lr.json (format adstreamx-lr/1, docs/models.md):
//   margin = bias + Σ_i w_i·z_i + Σ_j W[h(cat_j)] + Σ_k W[h(cross_k)]
// with z_i the standardised (and for log1p features transformed) numeric value, 0 when missing.
//
//   auto s = adsx::ranking::parse_lr_scorer(lr_json_text, spec);
//   if (!s) return fail(s.error().wrap("lr.json"));
//   (*s)->margins(batch, out);
//
// The hashed weights sit in an open-addressing table (absent indices weigh 0); the "name=" part
// of every hashed string is hashed once at load, so scoring hashes only the values, with no
// allocation. Thread-safety and lifecycle as scorer.h says.
#include <memory>
#include <string_view>

#include "adsx/base/error.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/ranking/scorer.h"

namespace adsx::ranking {

// Parses lr.json against `spec`. invalid_argument when the JSON is malformed, the format is not
// adstreamx-lr/1, hash_bits is outside 1–30, the numeric list's names or order differ from the
// spec's, a scale is 0 or not finite, or the hashed indices are out of range or repeated.
[[nodiscard]] result<std::unique_ptr<const scorer>> parse_lr_scorer(std::string_view lr_json,
                                                                    const feature_spec& spec);

}  // namespace adsx::ranking
