#include "adsx/config/config.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>
#include <variant>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include "adsx/base/strings.h"
#include "adsx/config/field.h"

extern char** environ;

namespace adsx::config {
namespace {

namespace fs = std::filesystem;

// A value as it arrives: typed from TOML, always text from the environment. Only environment
// text is converted ("7000" -> 7000); a TOML value of the wrong type is an error.
struct env_text
{
    std::string text;
};
using raw_value = std::variant<std::string, std::int64_t, double, bool, env_text>;

std::string show_raw(const raw_value& v)
{
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return json_quote(x);
            } else if constexpr (std::is_same_v<T, env_text>) {
                return json_quote(x.text);
            } else if constexpr (std::is_same_v<T, bool>) {
                return x ? "true" : "false";
            } else {
                return fmt::format("{}", x);
            }
        },
        v);
}

result<std::int64_t> as_int(const raw_value& v)
{
    if (auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    if (auto* s = std::get_if<env_text>(&v)) {
        if (auto i = parse_int(s->text)) {
            return *i;
        }
    }
    return fail(error_code::invalid_argument,
                fmt::format("expected an integer, got {}", show_raw(v)));
}

result<bool> as_bool(const raw_value& v)
{
    if (auto* b = std::get_if<bool>(&v)) {
        return *b;
    }
    if (auto* s = std::get_if<env_text>(&v)) {
        auto l = to_lower(trim(s->text));
        if (std::ranges::find(detail::env_true, l) != std::end(detail::env_true)) {
            return true;
        }
        if (std::ranges::find(detail::env_false, l) != std::end(detail::env_false)) {
            return false;
        }
    }
    return fail(error_code::invalid_argument,
                fmt::format("expected true or false, got {}", show_raw(v)));
}

result<std::string> as_string(const raw_value& v)
{
    if (auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    if (auto* s = std::get_if<env_text>(&v)) {
        return s->text;
    }
    return fail(error_code::invalid_argument,
                fmt::format("expected a string, got {}", show_raw(v)));
}

using detail::field;
using detail::fields;
using detail::value;
using detail::value_type;

// The raw value as the field's type: only environment text is converted ("7000" -> 7000).
result<value> convert(const field& f, const raw_value& raw)
{
    switch (f.type) {
        case value_type::integer:
            return as_int(raw);
        case value_type::boolean:
            return as_bool(raw);
        case value_type::string:
        case value_type::path:
            return as_string(raw);
    }
    return fail(error_code::internal, "unknown value type");
}

// Sets `f` from `raw` after checking its type and rule; `where` names the value's origin.
result<void> assign(config& c, const field& f, const raw_value& raw, std::string_view where)
{
    auto v = convert(f, raw);
    if (!v) {
        return fail(v.error().wrap(where));
    }
    if (auto why = detail::check(f.valid, *v)) {
        return fail(error_code::invalid_argument,
                    fmt::format("{} = {}: {}", where, detail::show(*v), *why));
    }
    f.put(c, *v);
    return {};
}

std::string env_name(const field& f)
{
    return env_var(f.section + "." + f.key);
}

std::optional<raw_value> from_toml(const toml::node& n)
{
    if (auto s = n.value<std::string>(); s && n.is_string()) {
        return raw_value{*s};
    }
    if (n.is_integer()) {
        return raw_value{*n.value<std::int64_t>()};
    }
    if (n.is_floating_point()) {
        return raw_value{*n.value<double>()};
    }
    if (n.is_boolean()) {
        return raw_value{*n.value<bool>()};
    }
    return std::nullopt;
}

const field* find_field(std::string_view section, std::string_view key)
{
    for (const auto& f : fields()) {
        if (f.section == section && f.key == key) {
            return &f;
        }
    }
    return nullptr;
}

result<void> apply_section(config& c, std::string_view section, const toml::table& table,
                           std::string_view origin)
{
    for (const auto& [key, node] : table) {
        const auto* f = find_field(section, key.str());
        if (!f) {
            return fail(error_code::invalid_argument,
                        fmt::format("{}: unknown key {}.{}", origin, section, key.str()));
        }
        auto where = fmt::format("{}: {}.{}", origin, f->section, f->key);
        auto v = from_toml(node);
        if (!v) {
            return fail(error_code::invalid_argument,
                        fmt::format("{} must be a scalar value", where));
        }
        if (auto r = assign(c, *f, *v, where); !r) {
            return r;
        }
    }
    return {};
}

result<void> apply_toml(config& c, const toml::table& root, std::string_view origin)
{
    for (const auto& [section, node] : root) {
        const auto* table = node.as_table();
        if (!table) {
            return fail(error_code::invalid_argument,
                        fmt::format("{}: '{}' must be a [section]", origin, section.str()));
        }
        if (auto r = apply_section(c, section.str(), *table, origin); !r) {
            return r;
        }
    }
    return {};
}

result<void> apply_env(config& c, const env_map& env)
{
    std::set<std::string> known;
    for (const auto& f : fields()) {
        auto name = env_name(f);
        known.insert(name);
        if (auto it = env.find(name); it != env.end()) {
            auto where = fmt::format("{} ({}.{})", name, f.section, f.key);
            if (auto r = assign(c, f, raw_value{env_text{it->second}}, where); !r) {
                return r;
            }
        }
    }
    for (const auto& [name, text] : env) {
        if (name.rfind("ADSX_", 0) == 0 && name.find("__") != std::string::npos &&
            !known.contains(name)) {
            return fail(error_code::invalid_argument,
                        fmt::format("unknown configuration variable {}", name));
        }
    }
    return {};
}

// $XDG_CACHE_HOME/adstreamx, else $HOME/.cache/adstreamx (/root when HOME is unset).
fs::path user_cache_dir()
{
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) {
        return fs::path(xdg) / "adstreamx";
    }
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : "/root") / ".cache" / "adstreamx";
}

// Relative path keys resolve against the project root; absolute ones, URLs of keys that take
// them and empty values stay as they are (after an empty user-cache key takes its default).
void resolve_paths(config& c)
{
    for (const auto& f : fields()) {
        if (f.type != value_type::path) {
            continue;
        }
        fs::path p = std::get<std::string>(f.get(c));
        if (p.empty() && f.paths.user_cache_when_empty) {
            p = user_cache_dir();
        }
        bool url = f.paths.keep_urls && p.string().find("://") != std::string::npos;
        if (!url && !p.empty() && p.is_relative()) {
            p = (c.root / p).lexically_normal();
        }
        f.put(c, p.string());
    }
}

}  // namespace

std::string env_var(std::string_view dotted_key)
{
    std::string n = "ADSX_";
    for (char ch : dotted_key) {
        if (ch == '.') {
            n += "__";
        } else {
            n += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        }
    }
    return n;
}

env_map process_env()
{
    env_map env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string_view::npos && kv.rfind("ADSX_", 0) == 0) {
            env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
        }
    }
    return env;
}

namespace {

result<config> load_table(const toml::table& table, const fs::path& root, const env_map& env,
                          std::string_view origin)
{
    config c;
    c.root = root;
    if (auto r = apply_toml(c, table, origin); !r) {
        return fail(r.error());
    }
    if (auto r = apply_env(c, env); !r) {
        return fail(r.error());
    }
    resolve_paths(c);
    return c;
}

}  // namespace

result<config> load_string(std::string_view toml_text, const fs::path& root, const env_map& env)
{
    try {
        return load_table(toml::parse(toml_text), root, env, "config");
    } catch (const toml::parse_error& e) {
        return fail(error_code::invalid_argument,
                    fmt::format("line {}: {}", e.source().begin.line, e.description()));
    }
}

result<config> load(const fs::path& file, const env_map& env)
{
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        return fail(error_code::invalid_argument,
                    fmt::format("config file {} does not exist", file.string()));
    }
    toml::table table;
    try {
        table = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        return fail(
            error_code::invalid_argument,
            fmt::format("{}: line {}: {}", file.string(), e.source().begin.line, e.description()));
    }
    auto root = fs::absolute(file).lexically_normal().parent_path().parent_path();
    return load_table(table, root, env, file.string());
}

result<fs::path> locate(const fs::path& explicit_path, const env_map& env, const fs::path& exe_dir)
{
    if (!explicit_path.empty()) {
        return explicit_path;
    }
    if (auto it = env.find("ADSX_CONFIG"); it != env.end() && !it->second.empty()) {
        return fs::path(it->second);
    }
    std::error_code ec;
    for (fs::path start : {fs::current_path(ec), exe_dir}) {
        for (auto dir = start; !dir.empty(); dir = dir.parent_path()) {
            auto candidate = dir / "config" / "adsx.toml";
            if (fs::is_regular_file(candidate, ec)) {
                return candidate;
            }
            if (dir == dir.parent_path()) {
                break;
            }
        }
    }
    return fail(error_code::invalid_argument,
                "no config file: pass --config, set ADSX_CONFIG, or run inside the project");
}

std::vector<std::string> describe(const config& c)
{
    std::vector<std::string> lines;
    for (const auto& f : fields()) {
        lines.push_back(fmt::format("{}.{} = {}  # {} [{}]", f.section, f.key,
                                    detail::show(f.get(c)), f.description, env_name(f)));
    }
    return lines;
}

}  // namespace adsx::config
