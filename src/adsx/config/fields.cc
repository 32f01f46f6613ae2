// Every configuration key, declared once: section.key, description, the `config` member it
// sets, and its rule. The defaults are the members' initialisers in config.h.
#include "adsx/config/field.h"

namespace adsx::config::detail {
namespace {

namespace fs = std::filesystem;

template <class S>
using section_of = S config::*;

value to_value(int v)
{
    return std::int64_t{v};
}
value to_value(bool v)
{
    return v;
}
value to_value(const std::string& v)
{
    return v;
}
value to_value(const fs::path& v)
{
    return v.string();
}

// Values reach `put` already converted to the field's type (config.cc), and integers checked
// against the field's range, which lies within int.
void from_value(int& m, const value& v)
{
    m = static_cast<int>(std::get<std::int64_t>(v));
}
void from_value(bool& m, const value& v)
{
    m = std::get<bool>(v);
}
void from_value(std::string& m, const value& v)
{
    m = std::get<std::string>(v);
}
void from_value(fs::path& m, const value& v)
{
    m = std::get<std::string>(v);
}

// A field of `type` at "section.key" stored in member `m` of section `s`.
template <class S, class T>
field make(std::string_view id, std::string desc, value_type type, section_of<S> s, T S::*m,
           rule valid = {}, path_rule paths = {})
{
    auto dot = id.find('.');
    field f;
    f.section = id.substr(0, dot);
    f.key = id.substr(dot + 1);
    f.description = std::move(desc);
    f.type = type;
    f.valid = std::move(valid);
    f.paths = paths;
    f.get = [s, m](const config& c) { return to_value((c.*s).*m); };
    f.put = [s, m](config& c, const value& v) { from_value((c.*s).*m, v); };
    return f;
}

template <class S>
field integer(std::string_view id, std::string desc, section_of<S> s, int S::*m, std::int64_t lo,
              std::int64_t hi)
{
    rule r;
    r.min = lo;
    r.max = hi;
    return make(id, std::move(desc), value_type::integer, s, m, std::move(r));
}

template <class S>
field boolean(std::string_view id, std::string desc, section_of<S> s, bool S::*m)
{
    return make(id, std::move(desc), value_type::boolean, s, m);
}

template <class S>
field text(std::string_view id, std::string desc, section_of<S> s, std::string S::*m,
           rule valid = {})
{
    return make(id, std::move(desc), value_type::string, s, m, std::move(valid));
}

template <class S>
field path(std::string_view id, std::string desc, section_of<S> s, fs::path S::*m, rule valid = {},
           path_rule paths = {})
{
    return make(id, std::move(desc), value_type::path, s, m, std::move(valid), paths);
}

rule formatted(format f)
{
    rule r;
    r.form = f;
    return r;
}

rule one_of(std::vector<std::string> values)
{
    rule r;
    r.one_of = std::move(values);
    return r;
}

rule matching(std::string pattern)
{
    rule r;
    r.pattern = std::move(pattern);
    return r;
}

const rule non_empty = formatted(format::non_empty);

path_rule keep_urls()
{
    path_rule p;
    p.keep_urls = true;
    return p;
}

path_rule user_cache_when_empty()
{
    path_rule p;
    p.user_cache_when_empty = true;
    return p;
}

std::vector<field> stack_fields()
{
    using c = config;
    using s = stack_config;
    return {
        path("stack.var_dir", "data, logs and pid files of the local stack", &c::stack,
             &s::var_dir),
        path("stack.cache_dir",
             "downloaded jars (empty: $XDG_CACHE_HOME/adstreamx or $HOME/.cache/adstreamx)",
             &c::stack, &s::cache_dir, {}, user_cache_when_empty()),
        path("stack.deploy_dir", "service configuration templates", &c::stack, &s::deploy_dir),
        integer("stack.start_timeout_s", "seconds a service may take to become ready", &c::stack,
                &s::start_timeout_s, 1, 3600),
        integer("stack.stop_timeout_s", "seconds to wait for a clean stop before SIGKILL",
                &c::stack, &s::stop_timeout_s, 1, 3600),
        text("stack.profile",
             "dev: the local stack, whose secrets `adsx stack up` creates; prod: services refuse "
             "a missing, empty or default secret",
             &c::stack, &s::profile, one_of({"dev", "prod"})),
    };
}

std::vector<field> kafka_fields()
{
    using c = config;
    using k = kafka_config;
    return {
        boolean("kafka.managed", "start a local broker (false: use a remote cluster)", &c::kafka,
                &k::managed),
        text("kafka.bootstrap_servers", "comma-separated host:port list", &c::kafka,
             &k::bootstrap_servers, formatted(format::host_port_list)),
        integer("kafka.controller_port", "KRaft controller port of the local broker", &c::kafka,
                &k::controller_port, 1, 65535),
        text("kafka.heap", "JVM heap of the local broker (-Xmx)", &c::kafka, &k::heap, non_empty),
        text("kafka.events_topic", "topic of ad events", &c::kafka, &k::events_topic, non_empty),
        text("kafka.dlq_topic", "dead-letter topic of rejected events", &c::kafka, &k::dlq_topic,
             non_empty),
        text("kafka.serves_topic", "topic of adsx serve's decisions (the serve log)", &c::kafka,
             &k::serves_topic, non_empty),
        text("kafka.privacy_topic", "topic of erasure requests (`adsx privacy worker`)", &c::kafka,
             &k::privacy_topic, non_empty),
        integer("kafka.events_partitions", "partitions of the events topic", &c::kafka,
                &k::events_partitions, 1, 10'000),
        integer("kafka.replication_factor", "replication factor of created topics", &c::kafka,
                &k::replication_factor, 1, 16),
        integer("kafka.retention_hours", "retention of the events topic", &c::kafka,
                &k::retention_hours, 1, 24 * 3650),
        text("kafka.compression", "producer compression", &c::kafka, &k::compression,
             one_of({"lz4", "zstd", "snappy", "gzip", "none"})),
    };
}

std::vector<field> store_fields()
{
    using c = config;
    using r = redis_config;
    using p = postgres_config;
    return {
        boolean("redis.managed", "start a local Redis", &c::redis, &r::managed),
        text("redis.mode",
             "single (one server) or cluster (Redis Cluster; the local stack starts three "
             "masters on port, port + 1 and port + 2)",
             &c::redis, &r::mode, one_of({"single", "cluster"})),
        text("redis.host", "Redis host", &c::redis, &r::host, non_empty),
        integer("redis.port", "Redis port", &c::redis, &r::port, 1, 65535),
        text("redis.max_memory", "maxmemory of the local Redis", &c::redis, &r::max_memory,
             non_empty),
        integer("redis.snapshot_s",
                "seconds between the local Redis's snapshots (RDB) while it is written", &c::redis,
                &r::snapshot_s, 1, 86'400),

        boolean("postgres.managed", "start a local PostgreSQL cluster", &c::postgres, &p::managed),
        text("postgres.host", "PostgreSQL host", &c::postgres, &p::host, non_empty),
        integer("postgres.port", "PostgreSQL port", &c::postgres, &p::port, 1, 65535),
        text("postgres.database", "database name", &c::postgres, &p::database, non_empty),
        text("postgres.user", "database role", &c::postgres, &p::user, non_empty),
        path("postgres.password_file", "file holding the role's password (empty: none)",
             &c::postgres, &p::password_file),
        text("postgres.os_user", "OS user the local server runs as", &c::postgres, &p::os_user,
             non_empty),
        path("postgres.bin_dir", "directory of initdb and postgres", &c::postgres, &p::bin_dir),
    };
}

std::vector<field> prometheus_fields()
{
    using c = config;
    using p = prometheus_config;
    return {
        boolean("prometheus.managed", "start a local Prometheus", &c::prometheus, &p::managed),
        text("prometheus.host", "Prometheus host", &c::prometheus, &p::host, non_empty),
        integer("prometheus.port", "Prometheus port", &c::prometheus, &p::port, 1, 65535),
        text("prometheus.scrape_interval", "how often the local Prometheus scrapes", &c::prometheus,
             &p::scrape_interval, formatted(format::duration)),
    };
}

std::vector<field> privacy_fields()
{
    using c = config;
    return {
        path("privacy.hmac_key_file",
             "secret key of user-id pseudonyms (>= 16 bytes; `adsx stack up` creates a local one)",
             &c::privacy, &privacy_config::hmac_key_file),
        text("privacy.key_id", "id of the current pseudonym key (1-8 of a-z0-9)", &c::privacy,
             &privacy_config::key_id, matching("^[a-z0-9]{1,8}$")),
        integer("privacy.suppression_refresh_s",
                "seconds between reloads of the erasure suppression list by the stream engine "
                "(`adsx privacy erase` sweeps Redis again after this long)",
                &c::privacy, &privacy_config::suppression_refresh_s, 1, 3600),
        integer("privacy.retention_days",
                "days personal data is kept: lake event and user-feature partitions, rejected "
                "records, training sets and PostgreSQL user rows older than this are removed by "
                "`adsx privacy retention --apply`",
                &c::privacy, &privacy_config::retention_days, 1, 3650),
    };
}

// The event pipeline: the stream engine's keys and the event rules the lake job shares.
std::vector<field> pipeline_fields()
{
    using c = config;
    using s = stream_config;
    return {
        integer("events.max_future_s",
                "seconds an event's time may run ahead of the processing clock; later events are "
                "dead-lettered as future_timestamp (the stream engine and the lake job)",
                &c::events, &events_config::max_future_s, 0, 86'400),
        text("stream.group", "consumer group of adsx stream workers", &c::stream, &s::group,
             non_empty),
        integer("stream.batch_size", "records per poll batch", &c::stream, &s::batch_size, 1,
                1'000'000),
        integer("stream.batch_linger_ms",
                "milliseconds a poll batch waits for more records after its first", &c::stream,
                &s::batch_linger_ms, 0, 10'000),
        integer("stream.allowed_lateness_s",
                "seconds behind the watermark an event may arrive and still count", &c::stream,
                &s::allowed_lateness_s, 0, 7 * 86'400),
        integer("stream.ttl_hours", "TTL of every online feature key", &c::stream, &s::ttl_hours, 1,
                24 * 365),
        integer("stream.session_timeout_s",
                "seconds before a silent worker's partitions are reassigned", &c::stream,
                &s::session_timeout_s, 6, 300),
        integer("stream.user_cache",
                "users whose keys a worker remembers between commits instead of reading them",
                &c::stream, &s::user_cache, 0, 100'000'000),
        integer("stream.prefetch_mb",
                "megabytes of records the consumer fetches ahead of the worker", &c::stream,
                &s::prefetch_mb, 1, 2047),  // librdkafka's limit: 2 GB
        integer("stream.click_window_s",
                "seconds after its impression a click still counts (older: orphan)", &c::stream,
                &s::click_window_s, 60, 7 * 86'400),
        integer("stream.conversion_window_s",
                "seconds after its click a conversion still counts (older: orphan)", &c::stream,
                &s::conversion_window_s, 3600, 30 * 86'400),
    };
}

std::vector<field> batch_fields()
{
    using c = config;
    using s = spark_config;
    return {
        text("spark.master", "Spark master URL of the PySpark jobs", &c::spark, &s::master,
             non_empty),
        integer("spark.shuffle_partitions", "spark.sql.shuffle.partitions", &c::spark,
                &s::shuffle_partitions, 1, 100'000),
        text("spark.driver_memory", "spark.driver.memory, e.g. 2g", &c::spark, &s::driver_memory,
             non_empty),
        path("spark.checkpoint_dir", "checkpoints of the streaming queries", &c::spark,
             &s::checkpoint_dir),
        path("lake.dir",
             "the Parquet lake: a directory, or a URL Spark writes to (s3a://, hdfs://)", &c::lake,
             &lake_config::dir, non_empty, keep_urls()),
        path("models.dir",
             "the model registry: {name}/{version}/ written by training, "
             "{name}/current/{arm} pointers read by serving (docs/models.md)",
             &c::models, &models_config::dir, non_empty),
    };
}

std::vector<field> serve_fields()
{
    using c = config;
    using s = serve_config;
    return {
        text("serve.host", "address adsx serve listens on", &c::serve, &s::host, non_empty),
        integer("serve.port", "port adsx serve listens on (0: any free port)", &c::serve, &s::port,
                0, 65535),
        integer("serve.io_threads", "threads that read and write the service's sockets", &c::serve,
                &s::io_threads, 1, 64),
        integer("serve.workers", "threads that run request handlers, each with a Redis connection",
                &c::serve, &s::workers, 1, 256),
        integer("serve.max_header_kb", "largest request header block in kB (larger: 431)",
                &c::serve, &s::max_header_kb, 1, 64),
        integer("serve.max_body_kb", "largest request body in kB (larger: 413)", &c::serve,
                &s::max_body_kb, 1, 65536),
        integer("serve.read_timeout_ms",
                "a request must arrive whole within this, else its connection is closed", &c::serve,
                &s::read_timeout_ms, 10, 600'000),
        integer("serve.max_queue", "requests waiting for a worker beyond this are answered 503",
                &c::serve, &s::max_queue, 1, 1'000'000),
        integer("serve.queue_timeout_ms",
                "a request that waited longer than this for a worker is answered 503", &c::serve,
                &s::queue_timeout_ms, 1, 60'000),
        integer("serve.redis_timeout_ms", "deadline of one Redis round trip of a request",
                &c::serve, &s::redis_timeout_ms, 1, 60'000),
        integer("serve.drain_s", "on SIGTERM, how long requests in progress may finish", &c::serve,
                &s::drain_s, 0, 600),
        text("serve.reserve_ecpm",
             "reserve eCPM by placement, e.g. feed=0.5,sidebar=0.25,*=0.25 (* = the others)",
             &c::serve, &s::reserve_ecpm, non_empty),
        integer("serve.catalog_refresh_ms", "how often the catalog and spend are read again",
                &c::serve, &s::catalog_refresh_ms, 100, 3'600'000),
        integer("serve.hash_cache_ms",
                "how long ad and campaign hashes are shared by requests (0: read every time)",
                &c::serve, &s::hash_cache_ms, 0, 60'000),
        integer("serve.model_reload_ms", "how often the model registry's pointers are checked",
                &c::serve, &s::model_reload_ms, 100, 3'600'000),
        text("serve.arm",
             "the model arm ({name}/current/{arm}) serving users in no running experiment",
             &c::serve, &s::arm, non_empty),
        path("serve.admin_token_file",
             "secret bearer token of the /admin routes (>= 32 characters outside the dev profile; "
             "`adsx stack up` creates a local one)",
             &c::serve, &s::admin_token_file),
    };
}

std::vector<field> process_fields()
{
    using c = config;
    return {
        text("metrics.host", "address adsx processes expose /metrics on", &c::metrics,
             &metrics_config::host, non_empty),
        integer("metrics.port", "first /metrics port tried (0: ephemeral)", &c::metrics,
                &metrics_config::port, 0, 65535),
        text("log.level", "trace|debug|info|warn|error", &c::log, &log_config::level,
             one_of({"trace", "debug", "info", "warn", "error"})),
    };
}

}  // namespace

const std::vector<field>& fields()
{
    static const std::vector<field> all = [] {
        std::vector<field> v;
        for (auto group :
             {stack_fields, kafka_fields, privacy_fields, store_fields, prometheus_fields,
              pipeline_fields, batch_fields, serve_fields, process_fields}) {
            auto part = group();
            v.insert(v.end(), std::make_move_iterator(part.begin()),
                     std::make_move_iterator(part.end()));
        }
        return v;
    }();
    return all;
}

}  // namespace adsx::config::detail
