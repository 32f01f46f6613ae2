#include "adsx/models/loader.h"

#include <fmt/format.h>

#include "adsx/models/files.h"
#include "adsx/ranking/lr_scorer.h"
#include "adsx/xgb/tree_scorer.h"

namespace adsx::models {

namespace {

result<void> check_sha256(const std::filesystem::path& artifact, const std::string& expected)
{
    auto actual = file_sha256(artifact);
    if (!actual) {
        return fail(actual.error());
    }
    if (*actual != expected) {
        return fail(error_code::failed_precondition,
                    fmt::format("{}: checksum mismatch: its SHA-256 is {}, model.json says {} "
                                "(a partial copy, or edited after training?)",
                                artifact.string(), *actual, expected));
    }
    return {};
}

result<std::unique_ptr<const ranking::scorer>> load_scorer(const std::filesystem::path& artifact,
                                                           const manifest& m,
                                                           xgb::tree_engine engine)
{
    auto text = read_text(artifact);
    if (!text) {
        return fail(text.error());
    }
    result<std::unique_ptr<const ranking::scorer>> s = fail(error_code::internal, "no family");
    switch (m.family) {
        case ranking::model_family::lr:
            s = ranking::parse_lr_scorer(*text, m.features);
            break;
        case ranking::model_family::xgboost:
            s = xgb::load_tree_scorer(artifact, *text, m.features, engine);
            break;
    }
    if (!s) {
        return fail(s.error().wrap(artifact.string()));
    }
    return s;
}

}  // namespace

result<std::shared_ptr<const ranking::model>> load_model(const std::filesystem::path& version_dir,
                                                         manifest m, xgb::tree_engine engine)
{
    const auto artifact = version_dir / m.artifact.file;
    if (auto r = check_sha256(artifact, m.artifact.sha256); !r) {
        return fail(r.error());
    }
    auto s = load_scorer(artifact, m, engine);
    if (!s) {
        return fail(s.error());
    }
    return std::make_shared<const ranking::model>(m.info(), std::move(m.features), std::move(*s),
                                                  m.negative_rate, std::move(m.calibration));
}

result<std::shared_ptr<const ranking::model>> load_model(const std::filesystem::path& version_dir,
                                                         xgb::tree_engine engine)
{
    auto m = read_manifest(version_dir / manifest_file);
    if (!m) {
        return fail(m.error());
    }
    return load_model(version_dir, std::move(*m), engine);
}

}  // namespace adsx::models
