#pragma once
// AdStreamX configuration: one TOML file (config/adsx.toml), every key overridable by an
// environment variable ADSX_<SECTION>__<KEY> (upper case, double underscore between section and
// key). Loaded and validated once at start-up into plain typed structs; nothing reads the file or
// the environment afterwards. Every value is checked as it is read, from the file or from the
// environment: an unknown key, a wrong type or an invalid value fails the load with an error
// naming the key, where it came from and why. The keys, defaults and rules are one table
// (fields.cc), which `schema_json` prints for the Python jobs (config/adsx.schema.json).
//
//   auto cfg = adsx::config::load("config/adsx.toml", adsx::config::process_env());
//   if (!cfg) { std::cerr << cfg.error().message; return 2; }
//   connect(cfg->redis.host, cfg->redis.port);
//
// Relative paths are resolved against the project root: the directory above the config file's
// directory (so `var` in <root>/config/adsx.toml means <root>/var).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::config {

struct stack_config
{
    std::filesystem::path var_dir = "var";  // data, logs and pid files of the local stack
    std::filesystem::path cache_dir;  // downloaded jars; empty = $XDG_CACHE_HOME/adstreamx, else
                                      // $HOME/.cache/adstreamx
    std::filesystem::path deploy_dir = "deploy";
    int start_timeout_s = 90;  // per service, until its readiness probe passes
    int stop_timeout_s = 30;   // per service, before SIGKILL
    // "dev": one machine's local stack, whose secrets `adsx stack up` creates; "prod": services
    // refuse to start on a missing, empty or default secret.
    std::string profile = "dev";
};

struct kafka_config
{
    bool managed = true;  // false: a remote cluster we only connect to
    std::string bootstrap_servers = "127.0.0.1:9092";
    int controller_port = 9093;  // local KRaft controller listener
    std::string heap = "1g";     // JVM -Xmx of the local broker
    std::string events_topic = "ad.events";
    std::string dlq_topic = "ad.events.dlq";
    std::string serves_topic =
        "ad.serves";  // adsx serve's decisions (schemas/ad_serve.schema.json)
    std::string privacy_topic = "privacy.requests";  // erasure requests for `adsx privacy worker`
    int events_partitions = 12;
    int replication_factor = 1;
    int retention_hours = 168;        // ad.events retention (the lake keeps history)
    std::string compression = "lz4";  // producer compression: lz4|zstd|snappy|gzip|none
};

struct privacy_config
{
    std::filesystem::path hmac_key_file = "var/secrets/hmac.key";  // secret, never in the repo
    std::string key_id = "k1";      // names the key in every pseudonym, for rotation
    int suppression_refresh_s = 5;  // how stale the stream engine's suppression list may be
    int retention_days = 90;        // personal data older than this is past policy
};

struct redis_config
{
    bool managed = true;
    // "single": one server; "cluster": Redis Cluster, reached through host:port and whatever
    // CLUSTER SLOTS names (the local stack starts three masters: port, port + 1, port + 2).
    std::string mode = "single";
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string max_memory = "2gb";
    int snapshot_s = 300;  // the local Redis writes a snapshot (RDB) this often while written
};

struct postgres_config
{
    bool managed = true;
    std::string host = "127.0.0.1";
    int port = 5432;
    std::string database = "adstreamx";
    std::string user = "adsx";
    std::filesystem::path password_file;  // empty: no password (the local cluster trusts loopback)
    std::string os_user = "postgres";     // the local server runs as this user (it refuses root)
    std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";
};

struct prometheus_config
{
    bool managed = true;
    std::string host = "127.0.0.1";
    int port = 9090;
    std::string scrape_interval = "2s";
};

// Rules of the event contract that the stream engine and the lake job apply alike.
struct events_config
{
    int max_future_s = 300;  // event time ahead of the processing clock by more: dead-lettered
};

struct stream_config
{
    std::string group = "features";  // consumer group of adsx stream workers
    int batch_size = 20000;          // most records per poll batch (one atomic commit)
    int batch_linger_ms = 5;         // how long a batch waits for more records after its first
    int allowed_lateness_s = 300;    // behind the watermark by more: dead-lettered as late
    int ttl_hours = 48;              // TTL of every feature key
    int session_timeout_s = 10;      // a silent worker's partitions move on after this
    int user_cache = 200000;         // users whose keys a worker remembers (0: reads every time)
    int prefetch_mb = 128;           // records fetched ahead of the worker (kafka/stream_consumer)
    // How long after its impression a click counts, and after its click a conversion
    // (features/request_log.h; the lake's daily job uses the same).
    int click_window_s = 3600;
    int conversion_window_s = 86400;
};

// Read by the PySpark jobs (python/adsx_jobs/config.py); validated here with the rest.
struct spark_config
{
    std::string master = "local[*]";  // or spark://host:7077, yarn, k8s://…
    int shuffle_partitions = 4;       // spark.sql.shuffle.partitions (200 drowns 2 cores)
    std::string driver_memory = "4g";
    std::filesystem::path checkpoint_dir = "var/spark/checkpoints";  // streaming queries' state
};

struct lake_config
{
    std::filesystem::path dir = "var/lake";  // Parquet: events/, rejected/, features/ (or a URL)
};

struct models_config
{
    std::filesystem::path dir = "var/models";  // the model registry (docs/models.md)
};

// `adsx serve` (src/adsx/http/server.h, src/adsx/serving).
struct serve_config
{
    std::string host = "127.0.0.1";
    int port = 8080;
    int io_threads = 1;     // threads that read and write sockets
    int workers = 2;        // threads that run handlers (each holds a Redis connection)
    int max_header_kb = 8;  // a larger header block: 431
    int max_body_kb = 256;  // a larger body: 413
    int read_timeout_ms =
        10'000;           // a request must arrive whole within this: else the connection closes
    int max_queue = 512;  // requests waiting for a worker beyond this: 503
    int queue_timeout_ms = 100;  // a request that waited longer for a worker: 503
    int redis_timeout_ms = 50;   // one Redis round trip; slower: degraded (rank) or 503 (features)
    int drain_s = 10;            // on SIGTERM: how long requests in progress may finish
    // Reserve eCPM by placement, "*" for the others.
    std::string reserve_ecpm = "feed=0.5,sidebar=0.25,interstitial=1,video_preroll=2,*=0.25";
    int catalog_refresh_ms = 2000;  // the catalog and spend are read again this often
    int hash_cache_ms = 1000;       // ad and campaign hashes are shared by requests this long
    int model_reload_ms = 5000;     // the registry's pointers are checked this often
    std::string arm = "control";    // the model arm of users in no running experiment
    // The bearer token of the /admin routes (secret; `adsx stack up` creates a local one).
    std::filesystem::path admin_token_file = "var/secrets/admin.token";
};

struct metrics_config
{
    std::string host = "127.0.0.1";  // where adsx processes expose /metrics
    int port = 9464;                 // first port tried; 0 = an ephemeral port
};

struct log_config
{
    std::string level = "info";  // trace|debug|info|warn|error
};

struct config
{
    std::filesystem::path root;  // project root; relative paths below are already resolved
    stack_config stack;
    kafka_config kafka;
    redis_config redis;
    postgres_config postgres;
    prometheus_config prometheus;
    privacy_config privacy;
    events_config events;
    stream_config stream;
    spark_config spark;
    lake_config lake;
    models_config models;
    serve_config serve;
    metrics_config metrics;
    log_config log;

    [[nodiscard]] std::filesystem::path log_dir() const { return stack.var_dir / "log"; }
    [[nodiscard]] std::filesystem::path run_dir() const { return stack.var_dir / "run"; }
};

using env_map = std::map<std::string, std::string>;

// The ADSX_* variables of this process's environment.
[[nodiscard]] env_map process_env();

// Loads `file` (which must exist) with `env` overrides applied, then validates.
[[nodiscard]] result<config> load(const std::filesystem::path& file, const env_map& env);

// Same, from TOML text; `root` is the directory relative paths resolve against.
[[nodiscard]] result<config> load_string(std::string_view toml_text,
                                         const std::filesystem::path& root, const env_map& env);

// Where the config file is: `explicit_path` if given, else $ADSX_CONFIG, else the first
// config/adsx.toml found walking up from the working directory, then from `exe_dir`.
[[nodiscard]] result<std::filesystem::path> locate(const std::filesystem::path& explicit_path,
                                                   const env_map& env,
                                                   const std::filesystem::path& exe_dir);

// The environment variable that overrides a dotted key: "redis.port" -> "ADSX_REDIS__PORT".
[[nodiscard]] std::string env_var(std::string_view dotted_key);

// One line per key: `section.key = value  # description [ADSX_SECTION__KEY]`, for
// `adsx config show`.
[[nodiscard]] std::vector<std::string> describe(const config& c);

// Every key as JSON: section, key, type, compiled default, description, the variable that
// overrides it, and its validation as data (`adsx config schema --json`; the Python jobs read
// the checked-in copy config/adsx.schema.json). The same table the loader checks values with.
[[nodiscard]] std::string schema_json();

}  // namespace adsx::config
