#include "adsx/models/registry.h"

#include <algorithm>

#include <fmt/format.h>

#include "adsx/base/strings.h"
#include "adsx/models/files.h"
#include "adsx/models/loader.h"

namespace adsx::models {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view pointers_dir = "current";

// A version directory's name: a positive integer without sign or leading zero.
std::optional<std::int64_t> version_of(const std::string& dir_name)
{
    if (dir_name.empty() || dir_name[0] == '0' ||
        dir_name.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return parse_int(dir_name);
}

result<std::vector<fs::directory_entry>> list_dir(const fs::path& dir)
{
    std::error_code ec;
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        entries.push_back(*it);
    }
    if (ec) {
        return fail(ec == std::errc::no_such_file_or_directory ? error_code::not_found
                                                               : error_code::failed_precondition,
                    fmt::format("{}: {}", dir.string(), ec.message()));
    }
    return entries;
}

}  // namespace

result<void> check_model_name(std::string_view name)
{
    const bool ok =
        !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z' &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos;
    if (!ok) {
        return fail(error_code::invalid_argument,
                    fmt::format("model name \"{}\" must match ^[a-z][a-z0-9_]{{0,63}}$", name));
    }
    return {};
}

result<void> check_arm_name(std::string_view arm)
{
    const bool ok =
        !arm.empty() && arm.size() <= 64 && arm[0] != '.' &&
        arm.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string_view::npos;
    if (!ok) {
        return fail(error_code::invalid_argument,
                    fmt::format("arm \"{}\" must be 1 to 64 of A-Z a-z 0-9 _ . - and not start "
                                "with '.'",
                                arm));
    }
    return {};
}

fs::path registry::version_dir(std::string_view name, std::int64_t version) const
{
    return _root / name / std::to_string(version);
}

fs::path registry::pointer_file(std::string_view name, std::string_view arm) const
{
    return _root / name / pointers_dir / arm;
}

result<std::vector<std::string>> registry::names() const
{
    auto entries = list_dir(_root);
    if (!entries) {
        return fail(entries.error().wrap("model registry"));
    }
    std::vector<std::string> names;
    for (const auto& e : *entries) {
        auto name = e.path().filename().string();
        if (e.is_directory() && check_model_name(name) &&
            !versions(name).value_or(std::vector<std::int64_t>{}).empty()) {
            names.push_back(std::move(name));
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

result<std::vector<std::int64_t>> registry::versions(std::string_view name) const
{
    if (auto r = check_model_name(name); !r) {
        return fail(r.error());
    }
    auto entries = list_dir(_root / name);
    if (!entries) {
        return fail(entries.error());
    }
    std::vector<std::int64_t> out;
    for (const auto& e : *entries) {
        std::error_code ec;
        auto v = version_of(e.path().filename().string());
        if (v && *v > 0 && fs::is_regular_file(e.path() / manifest_file, ec)) {
            out.push_back(*v);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

result<std::int64_t> registry::newest(std::string_view name) const
{
    auto vs = versions(name);
    if (vs && vs->empty()) {
        return fail(error_code::not_found,
                    fmt::format("no versions of {} in {}", name, _root.string()));
    }
    return vs ? result<std::int64_t>(vs->back()) : fail(vs.error());
}

result<std::int64_t> registry::current(std::string_view name, std::string_view arm) const
{
    if (auto r = check_model_name(name).and_then([&] { return check_arm_name(arm); }); !r) {
        return fail(r.error());
    }
    const auto file = pointer_file(name, arm);
    auto text = read_text(file);
    if (!text) {
        return fail(text.error());
    }
    auto v = parse_int(trim(*text));
    if (!v || *v < 1) {
        return fail(error_code::failed_precondition,
                    fmt::format("{}: expected one line with a version number, found \"{}\"",
                                file.string(), trim(*text).substr(0, 40)));
    }
    return *v;
}

result<std::map<std::string, std::int64_t>> registry::arms(std::string_view name) const
{
    if (auto r = check_model_name(name); !r) {
        return fail(r.error());
    }
    std::map<std::string, std::int64_t> out;
    auto entries = list_dir(_root / name / pointers_dir);
    if (!entries && entries.error().code == error_code::not_found) {
        return out;  // no arm points anywhere yet
    }
    if (!entries) {
        return fail(entries.error());
    }
    for (const auto& e : *entries) {
        auto arm = e.path().filename().string();
        if (!e.is_regular_file() || !check_arm_name(arm)) {
            continue;  // a pointer being replaced (temporary name), or not ours
        }
        auto v = current(name, arm);
        if (!v) {
            return fail(v.error());
        }
        out.emplace(std::move(arm), *v);
    }
    return out;
}

result<manifest> registry::read(std::string_view name, std::int64_t version) const
{
    if (auto r = check_model_name(name); !r) {
        return fail(r.error());
    }
    const auto file = version_dir(name, version) / manifest_file;
    auto m = read_manifest(file);
    if (m && (m->name != name || m->version != version)) {
        return fail(error_code::failed_precondition,
                    fmt::format("{}: names {} version {}, but sits in {}/{}", file.string(),
                                m->name, m->version, name, version));
    }
    return m;
}

result<std::shared_ptr<const ranking::model>> registry::load(std::string_view name,
                                                             std::int64_t version) const
{
    auto m = read(name, version);
    if (!m) {
        return fail(m.error());
    }
    return load_model(version_dir(name, version), std::move(*m));
}

}  // namespace adsx::models
