// libFuzzer target: the parsers of a model version's files (docs/models.md), which `adsx serve`
// runs on whatever the registry holds: the manifest (models/manifest.h), the LR artifact
// (ranking/lr_scorer.h) and the XGBoost JSON the native tree kernels read (ranking/forest.h).
// The first byte chooses the parser, the rest is the file. Each parses or names what is wrong.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adsx/models/manifest.h"
#include "adsx/ranking/feature_spec.h"
#include "adsx/ranking/forest.h"
#include "adsx/ranking/lr_scorer.h"

namespace {

// A spec with each kind of feature, for the LR parser to check an artifact against.
const adsx::ranking::feature_spec& spec()
{
    static const auto s = [] {
        auto r = adsx::ranking::parse_feature_spec(
            R"({"numeric":[{"name":"a","transform":"log1p"},{"name":"b","transform":"none"}],)"
            R"("categorical":[{"name":"device","vocab":["ios","android"]},)"
            R"({"name":"geo","vocab":["US-CA","DE-BE"]}],"crosses":[["device","geo"]]})");
        if (!r) {
            std::abort();  // the harness's own spec: a bug here, not a finding
        }
        return *r;
    }();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0:
            (void)adsx::models::parse_manifest(text);
            break;
        case 1:
            (void)adsx::ranking::parse_lr_scorer(text, spec());
            break;
        default:
            (void)adsx::ranking::parse_forest(text, 8);
            break;
    }
    return 0;
}
