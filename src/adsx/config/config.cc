#include "adsx/config/config.h"

#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <variant>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <unistd.h>

#include "adsx/base/strings.h"

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

std::string show(const raw_value& v)
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
    return fail(error_code::invalid_argument, fmt::format("expected an integer, got {}", show(v)));
}

result<bool> as_bool(const raw_value& v)
{
    if (auto* b = std::get_if<bool>(&v)) {
        return *b;
    }
    if (auto* s = std::get_if<env_text>(&v)) {
        auto l = to_lower(trim(s->text));
        if (l == "true" || l == "1" || l == "yes") {
            return true;
        }
        if (l == "false" || l == "0" || l == "no") {
            return false;
        }
    }
    return fail(error_code::invalid_argument,
                fmt::format("expected true or false, got {}", show(v)));
}

result<std::string> as_string(const raw_value& v)
{
    if (auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    if (auto* s = std::get_if<env_text>(&v)) {
        return s->text;
    }
    return fail(error_code::invalid_argument, fmt::format("expected a string, got {}", show(v)));
}

using check = std::function<std::optional<std::string>(const config&)>;

// One configuration key: where it lives, what it means, how to set it and how to check it.
struct field
{
    std::string section;
    std::string key;
    std::string description;
    std::function<result<void>(config&, const raw_value&)> set;
    std::function<std::string(const config&)> get;
    check validate;  // returns the reason when the value is invalid
};

template <class S>
using section_of = S config::*;

template <class S>
field int_field(std::string sec, std::string key, std::string desc, section_of<S> s, int S::*m,
                std::int64_t lo, std::int64_t hi)
{
    return field{sec,
                 key,
                 std::move(desc),
                 [s, m, lo, hi](config& c, const raw_value& v) -> result<void> {
                     auto i = as_int(v);
                     if (!i) {
                         return fail(i.error());
                     }
                     if (*i < lo || *i > hi) {
                         return fail(error_code::invalid_argument,
                                     fmt::format("{} is out of range [{}, {}]", *i, lo, hi));
                     }
                     (c.*s).*m = static_cast<int>(*i);
                     return {};
                 },
                 [s, m](const config& c) { return std::to_string((c.*s).*m); },
                 nullptr};
}

template <class S>
field bool_field(std::string sec, std::string key, std::string desc, section_of<S> s, bool S::*m)
{
    return field{sec,
                 key,
                 std::move(desc),
                 [s, m](config& c, const raw_value& v) -> result<void> {
                     auto b = as_bool(v);
                     if (!b) {
                         return fail(b.error());
                     }
                     (c.*s).*m = *b;
                     return {};
                 },
                 [s, m](const config& c) { return std::string((c.*s).*m ? "true" : "false"); },
                 nullptr};
}

template <class S, class T>
field text_field(std::string sec, std::string key, std::string desc, section_of<S> s, T S::*m,
                 check validate = nullptr)
{
    return field{sec,
                 key,
                 std::move(desc),
                 [s, m](config& c, const raw_value& v) -> result<void> {
                     auto str = as_string(v);
                     if (!str) {
                         return fail(str.error());
                     }
                     (c.*s).*m = T(*str);
                     return {};
                 },
                 [s, m](const config& c) { return json_quote(std::string((c.*s).*m)); },
                 std::move(validate)};
}

std::optional<std::string> non_empty(const std::string& v)
{
    if (trim(v).empty()) {
        return "must not be empty";
    }
    return std::nullopt;
}

std::optional<std::string> host_port_list(const std::string& v)
{
    if (trim(v).empty()) {
        return "must list at least one host:port";
    }
    for (auto part : split(v, ',')) {
        auto hp = trim(part);
        auto colon = hp.rfind(':');
        if (colon == std::string_view::npos || colon == 0) {
            return fmt::format("'{}' is not host:port", hp);
        }
        auto port = parse_int(hp.substr(colon + 1));
        if (!port || *port < 1 || *port > 65535) {
            return fmt::format("'{}' has no valid port", hp);
        }
    }
    return std::nullopt;
}

std::optional<std::string> one_of(const std::string& v, std::initializer_list<const char*> ok)
{
    for (const char* o : ok) {
        if (v == o) {
            return std::nullopt;
        }
    }
    std::string list;
    for (const char* o : ok) {
        list += list.empty() ? "" : "|";
        list += o;
    }
    return fmt::format("must be one of {}", list);
}

std::optional<std::string> duration(const std::string& v)
{
    // Prometheus durations: a positive integer followed by ms, s, m or h.
    auto t = trim(v);
    std::size_t digits = 0;
    while (digits < t.size() && t[digits] >= '0' && t[digits] <= '9') {
        ++digits;
    }
    auto unit = t.substr(digits);
    if (digits == 0 || parse_int(t.substr(0, digits)).value_or(0) <= 0 ||
        (unit != "ms" && unit != "s" && unit != "m" && unit != "h")) {
        return "must be a positive duration such as 500ms, 2s, 1m";
    }
    return std::nullopt;
}

const std::vector<field>& fields()
{
    using c = config;
    static const std::vector<field> all = {
        text_field("stack", "var_dir", "data, logs and pid files of the local stack", &c::stack,
                   &stack_config::var_dir),
        text_field("stack", "cache_dir", "downloaded jars (empty: $HOME/.cache/adstreamx)",
                   &c::stack, &stack_config::cache_dir),
        text_field("stack", "deploy_dir", "service configuration templates", &c::stack,
                   &stack_config::deploy_dir),
        int_field("stack", "start_timeout_s", "seconds a service may take to become ready",
                  &c::stack, &stack_config::start_timeout_s, 1, 3600),
        int_field("stack", "stop_timeout_s", "seconds to wait for a clean stop before SIGKILL",
                  &c::stack, &stack_config::stop_timeout_s, 1, 3600),

        bool_field("kafka", "managed", "start a local broker (false: use a remote cluster)",
                   &c::kafka, &kafka_config::managed),
        text_field("kafka", "bootstrap_servers", "comma-separated host:port list", &c::kafka,
                   &kafka_config::bootstrap_servers,
                   [](const c& x) { return host_port_list(x.kafka.bootstrap_servers); }),
        int_field("kafka", "controller_port", "KRaft controller port of the local broker",
                  &c::kafka, &kafka_config::controller_port, 1, 65535),
        text_field("kafka", "heap", "JVM heap of the local broker (-Xmx)", &c::kafka,
                   &kafka_config::heap, [](const c& x) { return non_empty(x.kafka.heap); }),

        text_field("kafka", "events_topic", "topic of ad events", &c::kafka,
                   &kafka_config::events_topic,
                   [](const c& x) { return non_empty(x.kafka.events_topic); }),
        text_field("kafka", "dlq_topic", "dead-letter topic of rejected events", &c::kafka,
                   &kafka_config::dlq_topic,
                   [](const c& x) { return non_empty(x.kafka.dlq_topic); }),
        int_field("kafka", "events_partitions", "partitions of the events topic", &c::kafka,
                  &kafka_config::events_partitions, 1, 10'000),
        int_field("kafka", "replication_factor", "replication factor of created topics", &c::kafka,
                  &kafka_config::replication_factor, 1, 16),
        int_field("kafka", "retention_hours", "retention of the events topic", &c::kafka,
                  &kafka_config::retention_hours, 1, 24 * 3650),
        text_field(
            "kafka", "compression", "producer compression", &c::kafka, &kafka_config::compression,
            [](const c& x) {
                return one_of(x.kafka.compression, {"lz4", "zstd", "snappy", "gzip", "none"});
            }),

        text_field("privacy", "hmac_key_file",
                   "secret key of user-id pseudonyms (>= 16 bytes; `adsx stack up` creates a "
                   "local one)",
                   &c::privacy, &privacy_config::hmac_key_file),
        text_field("privacy", "key_id", "id of the current pseudonym key (1-8 of a-z0-9)",
                   &c::privacy, &privacy_config::key_id,
                   [](const c& x) -> std::optional<std::string> {
                       const auto& k = x.privacy.key_id;
                       bool ok = !k.empty() && k.size() <= 8 &&
                                 k.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") ==
                                     std::string::npos;
                       if (ok) {
                           return std::nullopt;
                       }
                       return std::string("must be 1 to 8 characters of a-z and 0-9");
                   }),

        bool_field("redis", "managed", "start a local Redis", &c::redis, &redis_config::managed),
        text_field("redis", "host", "Redis host", &c::redis, &redis_config::host,
                   [](const c& x) { return non_empty(x.redis.host); }),
        int_field("redis", "port", "Redis port", &c::redis, &redis_config::port, 1, 65535),
        text_field("redis", "max_memory", "maxmemory of the local Redis", &c::redis,
                   &redis_config::max_memory,
                   [](const c& x) { return non_empty(x.redis.max_memory); }),
        int_field("redis", "snapshot_s",
                  "seconds between the local Redis's snapshots (RDB) while it is written",
                  &c::redis, &redis_config::snapshot_s, 1, 86'400),

        bool_field("postgres", "managed", "start a local PostgreSQL cluster", &c::postgres,
                   &postgres_config::managed),
        text_field("postgres", "host", "PostgreSQL host", &c::postgres, &postgres_config::host,
                   [](const c& x) { return non_empty(x.postgres.host); }),
        int_field("postgres", "port", "PostgreSQL port", &c::postgres, &postgres_config::port, 1,
                  65535),
        text_field("postgres", "database", "database name", &c::postgres,
                   &postgres_config::database,
                   [](const c& x) { return non_empty(x.postgres.database); }),
        text_field("postgres", "user", "database role", &c::postgres, &postgres_config::user,
                   [](const c& x) { return non_empty(x.postgres.user); }),
        text_field("postgres", "password_file", "file holding the role's password (empty: none)",
                   &c::postgres, &postgres_config::password_file),
        text_field("postgres", "os_user", "OS user the local server runs as", &c::postgres,
                   &postgres_config::os_user,
                   [](const c& x) { return non_empty(x.postgres.os_user); }),
        text_field("postgres", "bin_dir", "directory of initdb and postgres", &c::postgres,
                   &postgres_config::bin_dir),

        bool_field("prometheus", "managed", "start a local Prometheus", &c::prometheus,
                   &prometheus_config::managed),
        text_field("prometheus", "host", "Prometheus host", &c::prometheus,
                   &prometheus_config::host,
                   [](const c& x) { return non_empty(x.prometheus.host); }),
        int_field("prometheus", "port", "Prometheus port", &c::prometheus, &prometheus_config::port,
                  1, 65535),
        text_field("prometheus", "scrape_interval", "how often the local Prometheus scrapes",
                   &c::prometheus, &prometheus_config::scrape_interval,
                   [](const c& x) { return duration(x.prometheus.scrape_interval); }),

        text_field("stream", "group", "consumer group of adsx stream workers", &c::stream,
                   &stream_config::group, [](const c& x) { return non_empty(x.stream.group); }),
        int_field("stream", "batch_size", "records per poll batch", &c::stream,
                  &stream_config::batch_size, 1, 1'000'000),
        int_field("stream", "batch_linger_ms",
                  "milliseconds a poll batch waits for more records after its first", &c::stream,
                  &stream_config::batch_linger_ms, 0, 10'000),
        int_field("stream", "allowed_lateness_s",
                  "seconds behind the watermark an event may arrive and still count", &c::stream,
                  &stream_config::allowed_lateness_s, 0, 7 * 86'400),
        int_field("stream", "ttl_hours", "TTL of every online feature key", &c::stream,
                  &stream_config::ttl_hours, 1, 24 * 365),
        int_field("stream", "session_timeout_s",
                  "seconds before a silent worker's partitions are reassigned", &c::stream,
                  &stream_config::session_timeout_s, 6, 300),
        int_field("stream", "user_cache",
                  "users whose keys a worker remembers between commits instead of reading them",
                  &c::stream, &stream_config::user_cache, 0, 100'000'000),
        int_field("stream", "prefetch_mb",
                  "megabytes of records the consumer fetches ahead of the worker", &c::stream,
                  &stream_config::prefetch_mb, 1, 2047),  // librdkafka's limit: 2 GB
        int_field("stream", "click_window_s",
                  "seconds after its impression a click still counts (older: orphan)", &c::stream,
                  &stream_config::click_window_s, 60, 7 * 86'400),
        int_field("stream", "conversion_window_s",
                  "seconds after its click a conversion still counts (older: orphan)", &c::stream,
                  &stream_config::conversion_window_s, 3600, 30 * 86'400),

        text_field("spark", "master", "Spark master URL of the PySpark jobs", &c::spark,
                   &spark_config::master, [](const c& x) { return non_empty(x.spark.master); }),
        int_field("spark", "shuffle_partitions", "spark.sql.shuffle.partitions", &c::spark,
                  &spark_config::shuffle_partitions, 1, 100'000),
        text_field("spark", "driver_memory", "spark.driver.memory, e.g. 2g", &c::spark,
                   &spark_config::driver_memory,
                   [](const c& x) { return non_empty(x.spark.driver_memory); }),
        text_field("spark", "checkpoint_dir", "checkpoints of the streaming queries", &c::spark,
                   &spark_config::checkpoint_dir),

        text_field("lake", "dir",
                   "the Parquet lake: a directory, or a URL Spark writes to (s3a://, hdfs://)",
                   &c::lake, &lake_config::dir,
                   [](const c& x) { return non_empty(x.lake.dir.string()); }),

        text_field("models", "dir",
                   "the model registry: {name}/{version}/ written by training, "
                   "{name}/current/{arm} pointers read by serving (docs/models.md)",
                   &c::models, &models_config::dir,
                   [](const c& x) { return non_empty(x.models.dir.string()); }),

        text_field("metrics", "host", "address adsx processes expose /metrics on", &c::metrics,
                   &metrics_config::host, [](const c& x) { return non_empty(x.metrics.host); }),
        int_field("metrics", "port", "first /metrics port tried (0: ephemeral)", &c::metrics,
                  &metrics_config::port, 0, 65535),

        text_field("log", "level", "trace|debug|info|warn|error", &c::log, &log_config::level,
                   [](const c& x) {
                       return one_of(x.log.level, {"trace", "debug", "info", "warn", "error"});
                   }),
    };
    return all;
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

result<void> apply_toml(config& c, const toml::table& root, std::string_view origin)
{
    for (const auto& [sec_key, sec_node] : root) {
        const auto* table = sec_node.as_table();
        if (!table) {
            return fail(error_code::invalid_argument,
                        fmt::format("{}: '{}' must be a [section]", origin, sec_key.str()));
        }
        for (const auto& [key, node] : *table) {
            const auto* f = find_field(sec_key.str(), key.str());
            if (!f) {
                return fail(error_code::invalid_argument,
                            fmt::format("{}: unknown key {}.{}", origin, sec_key.str(), key.str()));
            }
            auto v = from_toml(node);
            if (!v) {
                return fail(
                    error_code::invalid_argument,
                    fmt::format("{}: {}.{} must be a scalar value", origin, f->section, f->key));
            }
            if (auto r = f->set(c, *v); !r) {
                return fail(r.error().wrap(fmt::format("{}: {}.{}", origin, f->section, f->key)));
            }
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
            if (auto r = f.set(c, raw_value{env_text{it->second}}); !r) {
                return fail(r.error().wrap(fmt::format("{} ({}.{})", name, f.section, f.key)));
            }
        }
    }
    for (const auto& [name, value] : env) {
        if (name.rfind("ADSX_", 0) == 0 && name.find("__") != std::string::npos &&
            !known.contains(name)) {
            return fail(error_code::invalid_argument,
                        fmt::format("unknown configuration variable {}", name));
        }
    }
    return {};
}

void resolve_paths(config& c)
{
    auto fix = [&](fs::path& p) {
        if (!p.empty() && p.is_relative()) {
            p = (c.root / p).lexically_normal();
        }
    };
    fix(c.stack.var_dir);
    fix(c.stack.deploy_dir);
    fix(c.postgres.password_file);
    fix(c.privacy.hmac_key_file);
    fix(c.spark.checkpoint_dir);
    fix(c.models.dir);
    if (c.lake.dir.string().find("://") == std::string::npos) {
        fix(c.lake.dir);
    }
    if (c.stack.cache_dir.empty()) {
        const char* xdg = std::getenv("XDG_CACHE_HOME");
        const char* home = std::getenv("HOME");
        c.stack.cache_dir = xdg && *xdg
                                ? fs::path(xdg) / "adstreamx"
                                : fs::path(home && *home ? home : "/root") / ".cache" / "adstreamx";
    }
    fix(c.stack.cache_dir);
}

result<void> validate(const config& c)
{
    for (const auto& f : fields()) {
        if (!f.validate) {
            continue;
        }
        if (auto why = f.validate(c)) {
            return fail(error_code::invalid_argument,
                        fmt::format("{}.{} = {}: {} (set it in config/adsx.toml or {})", f.section,
                                    f.key, f.get(c), *why, env_name(f)));
        }
    }
    return {};
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
    if (auto r = validate(c); !r) {
        return fail(r.error());
    }
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
        lines.push_back(fmt::format("{}.{} = {}  # {} [{}]", f.section, f.key, f.get(c),
                                    f.description, env_name(f)));
    }
    return lines;
}

}  // namespace adsx::config
