#include "adsx/models/live_model.h"

#include <fmt/format.h>

namespace adsx::models {

live_model::live_model(registry reg, std::string name, std::string arm)
  : _registry(std::move(reg)), _name(std::move(name)), _arm(std::move(arm))
{
}

result<bool> live_model::reload_if_changed()
{
    std::lock_guard lock(_reload);
    auto version = _registry.current(_name, _arm);
    if (!version) {
        return fail(version.error());
    }
    std::error_code ec;
    const auto manifest = _registry.version_dir(_name, *version) / manifest_file;
    const stamp now{*version, std::filesystem::last_write_time(manifest, ec)};
    if (_loaded == now) {
        return false;
    }
    if (_failed && _failed->first == now) {
        return fail(_failed->second);
    }
    if (ec) {
        return fail(refused(now, error{error_code::not_found,
                                       fmt::format("{}/{} points to version {}, but {} is missing",
                                                   _name, _arm, *version, manifest.string())}));
    }
    auto m = _registry.load(_name, *version);
    if (!m) {
        return fail(refused(now, m.error()));
    }
    _model.store(std::move(*m), std::memory_order_release);
    _loaded = now;
    _failed.reset();
    return true;
}

error live_model::refused(const stamp& s, error e)
{
    _failed.emplace(s, e);
    _failures.fetch_add(1, std::memory_order_relaxed);
    return e;
}

}  // namespace adsx::models
