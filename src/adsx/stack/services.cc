#include "adsx/stack/services.h"

#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "adsx/base/strings.h"
#include "adsx/http/client.h"
#include "adsx/kafka/health.h"
#include "adsx/pg/connection.h"
#include "adsx/redis/client.h"
#include "adsx/redis/cluster.h"

namespace adsx::stack {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

std::string read_file(const fs::path& p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// host and port of the first entry of a "h1:p1,h2:p2" list (validated by the config module).
bound_port first_host_port(const std::string& list, const std::string& key)
{
    auto first = std::string(trim(split(list, ',').front()));
    auto colon = first.rfind(':');
    return {first.substr(0, colon), static_cast<int>(*parse_int(first.substr(colon + 1))), key};
}

// ---- Kafka ---------------------------------------------------------------------------------

fs::path kafka_jars(const config::config& cfg)
{
    return cfg.stack.cache_dir / "jvm" / "kafka";
}

result<std::string> kafka_version(const config::config& cfg)
{
    std::error_code ec;
    static const std::regex jar(R"(kafka_2\.13-([0-9][0-9.]*)\.jar)");
    for (const auto& f : fs::directory_iterator(kafka_jars(cfg), ec)) {
        std::smatch m;
        auto name = f.path().filename().string();
        if (std::regex_match(name, m, jar)) {
            return m[1].str();
        }
    }
    return fail(error_code::failed_precondition,
                fmt::format("no Kafka jars in {}: run `make deps` (deploy/bootstrap.sh) first",
                            kafka_jars(cfg).string()));
}

std::vector<std::string> java_argv(const config::config& cfg, const std::string& main_class)
{
    auto dir = cfg.stack.var_dir / "kafka";
    return {"java",
            "-Xms256m",
            "-Xmx" + cfg.kafka.heap,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            "-Dlog4j.configuration=file:" + (dir / "log4j.properties").string(),
            "-Dkafka.logs.dir=" + (cfg.log_dir() / "kafka").string(),
            "-cp",
            (kafka_jars(cfg) / "*").string(),
            main_class};
}

result<void> kafka_prepare(const config::config& cfg)
{
    if (auto v = kafka_version(cfg); !v) {
        return fail(v.error());
    }
    auto dir = cfg.stack.var_dir / "kafka";
    auto broker = first_host_port(cfg.kafka.bootstrap_servers, "kafka.bootstrap_servers");
    std::vector<std::pair<std::string, std::string>> vars = {
        {"HOST", broker.host},
        {"BROKER_PORT", std::to_string(broker.port)},
        {"CONTROLLER_PORT", std::to_string(cfg.kafka.controller_port)},
        {"DATA_DIR", (dir / "data").string()},
        {"LOG_DIR", (cfg.log_dir() / "kafka").string()},
    };
    auto templates = cfg.stack.deploy_dir / "kafka";
    if (auto r =
            render_template(templates / "server.properties.in", dir / "server.properties", vars);
        !r) {
        return r;
    }
    if (auto r = render_template(templates / "log4j.properties", dir / "log4j.properties", vars);
        !r) {
        return r;
    }
    if (fs::exists(dir / "data" / "meta.properties")) {
        return {};  // storage formatted on an earlier start
    }
    auto argv = java_argv(cfg, "kafka.tools.StorageTool");
    for (const auto& a :
         {std::string("format"), std::string("--ignore-formatted"), std::string("--cluster-id"),
          kafka_cluster_id(), std::string("--config"), (dir / "server.properties").string()}) {
        argv.push_back(a);
    }
    return run_to_completion({argv, cfg.log_dir() / "kafka-format.log", {}, {}},
                             std::chrono::seconds(120));
}

service kafka_service(const config::config& cfg)
{
    service s;
    s.name = "kafka";
    s.managed = cfg.kafka.managed;
    s.address = cfg.kafka.bootstrap_servers;
    auto broker = first_host_port(cfg.kafka.bootstrap_servers, "kafka.bootstrap_servers");
    s.ports = {broker, {broker.host, cfg.kafka.controller_port, "kafka.controller_port"}};
    s.prepare = [&cfg] { return kafka_prepare(cfg); };
    s.command = [&cfg] {
        auto argv = java_argv(cfg, "kafka.Kafka");
        argv.push_back((cfg.stack.var_dir / "kafka" / "server.properties").string());
        return spawn_spec{argv, cfg.log_dir() / "kafka.log", cfg.stack.var_dir, {}};
    };
    s.probe = [&cfg](milliseconds timeout) -> result<std::string> {
        auto rt = kafka::round_trip(cfg.kafka.bootstrap_servers, timeout);
        if (!rt) {
            return fail(rt.error());
        }
        if (!cfg.kafka.managed) {
            return std::string("remote");
        }
        return kafka_version(cfg);
    };
    return s;
}

// ---- Redis ---------------------------------------------------------------------------------

// The local Redis is one server, or in cluster mode ([redis] mode = "cluster") the masters of a
// cluster on port, port + 1, …, each with its cluster bus on port + 10000 (Redis's default),
// without replicas: the stack's cluster is for running and testing the cluster code paths on
// one machine, not for availability.
constexpr int local_cluster_masters = 3;

std::vector<redis::node_address> local_cluster_nodes(const config::config& cfg)
{
    std::vector<redis::node_address> nodes;
    for (int i = 0; i < local_cluster_masters; ++i) {
        nodes.push_back({cfg.redis.host, cfg.redis.port + i});
    }
    return nodes;
}

bool cluster_mode(const config::config& cfg)
{
    return cfg.redis.mode == "cluster";
}

// A write and a read back, not only PING: a read-only replica or a full memory fails.
template <class Client>  // redis::connection or redis::cluster
result<void> write_and_read_back(Client& c)
{
    if (auto w = c.command({"SET", "adsx:healthcheck", "ok", "EX", "60"}); !w) {
        return fail(w.error());
    }
    auto r = c.command({"GET", "adsx:healthcheck"});
    if (!r) {
        return fail(r.error());
    }
    if (r->str != "ok") {
        return fail(error_code::internal, "redis: health-check value not read back");
    }
    return {};
}

// In cluster mode through the slot routing (redis/cluster.h), once every slot has a master.
result<std::string> redis_health(const config::config& cfg, milliseconds timeout)
{
    if (!cluster_mode(cfg)) {
        auto c = redis::connection::open(cfg.redis.host, cfg.redis.port, timeout);
        if (!c) {
            return fail(c.error());
        }
        if (auto ok = write_and_read_back(*c); !ok) {
            return fail(ok.error());
        }
        return c->server_version();
    }
    if (cfg.redis.managed) {
        // The seed's probe runs after every node was started: it makes them one cluster the
        // first time (nothing to do afterwards: the nodes keep it in their nodes.conf).
        const auto nodes = local_cluster_nodes(cfg);
        if (auto made = redis::create_local_cluster(nodes, timeout); !made) {
            return fail(made.error());
        }
        if (auto ready = redis::cluster_ready(nodes, timeout); !ready) {
            return fail(ready.error());
        }
    }
    auto c = redis::cluster::open({{cfg.redis.host, cfg.redis.port}}, timeout);
    if (!c) {
        return fail(c.error());
    }
    if (!c->table().complete()) {
        return fail(error_code::unavailable, "redis cluster: some slots have no master");
    }
    if (auto ok = write_and_read_back(*c); !ok) {
        return fail(ok.error());
    }
    auto masters = c->masters();
    if (!masters) {
        return fail(masters.error());
    }
    auto version = masters->front()->server_version();
    if (!version) {
        return fail(version.error());
    }
    return fmt::format("{} cluster/{}", *version, masters->size());
}

// One redis-server: `name` (its pid file and log), listening on `port`, its files in `dir`.
service redis_node(const config::config& cfg, std::string name, int port, fs::path dir)
{
    service s;
    s.name = std::move(name);
    s.managed = cfg.redis.managed;
    s.address = fmt::format("{}:{}", cfg.redis.host, port);
    s.ports = {{cfg.redis.host, port, "redis.port"}};
    if (cluster_mode(cfg)) {
        s.ports.push_back({cfg.redis.host, port + 10'000, "redis.port"});  // the cluster bus
    }
    s.prepare = [dir]() -> result<void> {
        std::error_code ec;
        fs::create_directories(dir, ec);
        return {};
    };
    s.command = [&cfg, port, dir, log = cfg.log_dir() / (s.name + ".log")] {
        // Persistence is a snapshot (RDB) every [redis] snapshot_s, not an append-only file.
        // The online store is derived from Kafka, and every stream commit writes its
        // partitions' offsets in the same transaction as the features: any snapshot is a
        // consistent point to resume from. After a Redis crash the worker stops on its failed
        // commit; started again, it resumes from the snapshot's offsets and re-reads the rest
        // from Kafka. An AOF bought only a shorter replay, and on 2 cores it cost the stream
        // a quarter of Redis's CPU and, with its rewrites (a fork and a full dump whenever it
        // grew 4×: one to three in a 20 s run at 50k events/s), most of the freshness tail
        // (paired runs at 50k/s: p99 1–2.5 s with it, 0.25–0.4 s without).
        // Snapshots are not compressed: the child's LZF is half its CPU (a 232 MB store: 1.3 s
        // of CPU with it, 0.7 s without; the file grows from 117 to 182 MB), and on 2 cores
        // that CPU is taken from the stream while the snapshot runs.
        std::vector<std::string> args{
            "redis-server", "--bind", cfg.redis.host, "--port", std::to_string(port), "--dir",
            dir.string(), "--save", fmt::format("{} 1", cfg.redis.snapshot_s), "--rdbcompression",
            "no", "--appendonly", "no",
            // A user's hash holds a few packed fields of a few hundred bytes
            // (features/user_state.h): kept as a listpack rather than a hash table, Redis needs
            // 16% less memory for the stream's keys.
            "--hash-max-listpack-value", "1024", "--maxmemory", cfg.redis.max_memory,
            "--maxmemory-policy", "noeviction", "--protected-mode", "no", "--daemonize", "no",
            "--logfile", ""};
        if (cluster_mode(cfg)) {
            // nodes.conf (in `dir`) keeps the node's identity and its view of the cluster.
            args.insert(args.end(), {"--cluster-enabled", "yes", "--cluster-config-file",
                                     "nodes.conf", "--cluster-node-timeout", "5000"});
        }
        return spawn_spec{std::move(args), log, dir, {}};
    };
    s.probe = [&cfg](milliseconds timeout) { return redis_health(cfg, timeout); };
    return s;
}

// The seed node ("redis", at [redis] port) is probed last of the nodes, so that its probe, which
// makes a fresh local cluster, finds the others started.
std::vector<service> redis_services(const config::config& cfg)
{
    const auto var = cfg.stack.var_dir;
    if (!cluster_mode(cfg)) {
        return {redis_node(cfg, "redis", cfg.redis.port, var / "redis")};
    }
    if (!cfg.redis.managed) {  // a remote cluster: only its seed, probed through the routing
        return {redis_node(cfg, "redis", cfg.redis.port, var / "redis")};
    }
    std::vector<service> nodes;
    for (int i = local_cluster_masters - 1; i >= 0; --i) {
        const auto n = i + 1;
        auto s = redis_node(cfg, n == 1 ? "redis" : fmt::format("redis-{}", n), cfg.redis.port + i,
                            var / "redis-cluster" / std::to_string(n));
        if (n != 1) {
            s.probe = [&cfg,
                       port = cfg.redis.port + i](milliseconds timeout) -> result<std::string> {
                auto c = redis::connection::open(cfg.redis.host, port, timeout);
                if (!c) {
                    return fail(c.error());
                }
                return c->server_version();
            };
        }
        nodes.push_back(std::move(s));
    }
    return nodes;
}

// ---- PostgreSQL ----------------------------------------------------------------------------

// The server runs as cfg.postgres.os_user, which must be able to reach its data directory.
// Asked of the kernel as that user (so ACLs count, as `make deps` grants one), not guessed from
// mode bits.
result<void> check_reachable_by(const fs::path& dir, const std::string& user, const fs::path& log)
{
    if (auto ids = lookup_user(user); !ids) {
        return fail(error_code::failed_precondition,
                    fmt::format("{} (install postgresql-15 with `make deps`, or set "
                                "postgres.os_user)",
                                ids.error().message));
    }
    auto probe =
        run_to_completion({{"test", "-x", dir.string()}, log, "/", user}, std::chrono::seconds(10));
    if (!probe) {
        return fail(error_code::failed_precondition,
                    fmt::format("PostgreSQL runs as '{}', who cannot reach {}: run `make deps` "
                                "(it grants that user passage with an ACL), `chmod o+x` the "
                                "directories above it, or set stack.var_dir elsewhere",
                                user, dir.string()));
    }
    return {};
}

result<void> postgres_prepare(const config::config& cfg)
{
    const auto& pg = cfg.postgres;
    auto data = cfg.stack.var_dir / "postgres";
    auto sockets = cfg.run_dir() / "postgres";
    std::error_code ec;
    fs::create_directories(cfg.stack.var_dir, ec);
    if (auto r = check_reachable_by(cfg.stack.var_dir, pg.os_user,
                                    cfg.log_dir() / "postgres-initdb.log");
        !r) {
        return r;
    }
    auto ids = lookup_user(pg.os_user);
    for (const auto& d : {data, sockets}) {
        fs::create_directories(d, ec);
        if (::chown(d.c_str(), ids->uid, ids->gid) != 0) {
            return fail(error_code::failed_precondition,
                        fmt::format("cannot give {} to {}", d.string(), pg.os_user));
        }
    }
    fs::permissions(data, fs::perms::owner_all, ec);
    if (fs::exists(data / "PG_VERSION")) {
        return {};
    }
    return run_to_completion(
        {{(pg.bin_dir / "initdb").string(), "-D", data.string(), "-U", pg.user, "-A", "trust", "-E",
          "UTF8", "--locale=C.UTF-8", "--no-instructions"},
         cfg.log_dir() / "postgres-initdb.log",
         data,
         pg.os_user},
        std::chrono::seconds(120));
}

result<std::string> postgres_probe(const config::config& cfg, milliseconds timeout)
{
    int secs = std::max<int>(1, static_cast<int>(timeout.count() / 1000));
    if (cfg.postgres.managed) {
        // The local cluster starts with only the `postgres` database: create ours once.
        auto admin = pg::connection::open(cfg.postgres, "postgres", secs);
        if (!admin) {
            return fail(admin.error());
        }
        auto exists =
            admin->query("SELECT 1 FROM pg_database WHERE datname = $1", {cfg.postgres.database});
        if (!exists) {
            return fail(exists.error());
        }
        if (exists->empty()) {
            auto q = admin->query(fmt::format("CREATE DATABASE \"{}\"", cfg.postgres.database));
            if (!q) {
                return fail(q.error());
            }
        }
    }
    auto c = pg::connection::open(cfg.postgres, {}, secs);
    if (!c) {
        return fail(c.error());
    }
    auto version = c->scalar("SHOW server_version");  // "15.20 (Debian 15.20-0+deb12u1)"
    if (!version) {
        return version;
    }
    return version->substr(0, version->find(' '));
}

service postgres_service(const config::config& cfg)
{
    service s;
    s.name = "postgres";
    s.managed = cfg.postgres.managed;
    s.address =
        fmt::format("{}:{}/{}", cfg.postgres.host, cfg.postgres.port, cfg.postgres.database);
    s.ports = {{cfg.postgres.host, cfg.postgres.port, "postgres.port"}};
    s.stop_signal = 2;  // SIGINT: PostgreSQL's "fast" shutdown (SIGTERM waits for clients)
    s.prepare = [&cfg] { return postgres_prepare(cfg); };
    s.command = [&cfg] {
        const auto& pg = cfg.postgres;
        auto data = cfg.stack.var_dir / "postgres";
        return spawn_spec{{(pg.bin_dir / "postgres").string(), "-D", data.string(), "-p",
                           std::to_string(pg.port), "-c", "listen_addresses=" + pg.host, "-c",
                           "unix_socket_directories=" + (cfg.run_dir() / "postgres").string(), "-c",
                           "max_connections=200", "-c", "shared_buffers=256MB"},
                          cfg.log_dir() / "postgres.log",
                          data,
                          pg.os_user};
    };
    s.probe = [&cfg](milliseconds timeout) { return postgres_probe(cfg, timeout); };
    return s;
}

// ---- Prometheus ----------------------------------------------------------------------------

result<std::string> prometheus_probe(const config::config& cfg, milliseconds timeout)
{
    const auto& p = cfg.prometheus;
    auto ready = http::get(p.host, p.port, "/-/ready", timeout);
    if (!ready) {
        return fail(ready.error());
    }
    if (ready->status != 200) {
        return fail(error_code::unavailable,
                    fmt::format("prometheus not ready (HTTP {})", ready->status));
    }
    auto info = http::get(p.host, p.port, "/api/v1/status/buildinfo", timeout);
    if (!info) {
        return fail(info.error());
    }
    static const std::regex version(R"re("version"\s*:\s*"([^"]+)")re");
    std::smatch m;
    if (std::regex_search(info->body, m, version)) {
        return m[1].str();
    }
    return std::string("unknown");
}

service prometheus_service(const config::config& cfg)
{
    service s;
    s.name = "prometheus";
    s.managed = cfg.prometheus.managed;
    s.address = fmt::format("{}:{}", cfg.prometheus.host, cfg.prometheus.port);
    s.ports = {{cfg.prometheus.host, cfg.prometheus.port, "prometheus.port"}};
    s.prepare = [&cfg]() -> result<void> {
        auto dir = cfg.stack.var_dir / "prometheus";
        std::error_code ec;
        fs::create_directories(prometheus_targets_dir(cfg), ec);
        return render_template(
            cfg.stack.deploy_dir / "prometheus" / "prometheus.yml", dir / "prometheus.yml",
            {{"SCRAPE_INTERVAL", cfg.prometheus.scrape_interval},
             {"PROMETHEUS_ADDRESS", fmt::format("{}:{}", cfg.prometheus.host, cfg.prometheus.port)},
             {"TARGETS_DIR", prometheus_targets_dir(cfg).string()},
             {"RULES_DIR", (cfg.stack.deploy_dir / "prometheus" / "rules").string()}});
    };
    s.command = [&cfg] {
        auto dir = cfg.stack.var_dir / "prometheus";
        return spawn_spec{
            {"prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
             "--storage.tsdb.path=" + (dir / "data").string(), "--storage.tsdb.retention.time=7d",
             fmt::format("--web.listen-address={}:{}", cfg.prometheus.host, cfg.prometheus.port),
             "--web.enable-lifecycle", "--log.format=json"},
            cfg.log_dir() / "prometheus.log",
            dir,
            {}};
    };
    s.probe = [&cfg](milliseconds timeout) { return prometheus_probe(cfg, timeout); };
    return s;
}

}  // namespace

fs::path prometheus_targets_dir(const config::config& cfg)
{
    return cfg.stack.var_dir / "prometheus" / "targets";
}

result<void> render_template(const fs::path& src, const fs::path& dst,
                             const std::vector<std::pair<std::string, std::string>>& vars)
{
    if (!fs::is_regular_file(src)) {
        return fail(error_code::failed_precondition,
                    fmt::format("template {} is missing", src.string()));
    }
    auto text = read_file(src);
    for (const auto& [k, v] : vars) {
        const auto key = "@" + k + "@";
        for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos)) {
            text.replace(pos, key.size(), v);
            pos += v.size();
        }
    }
    static const std::regex left(R"(@[A-Z_]+@)");
    std::smatch m;
    if (std::regex_search(text, m, left)) {
        return fail(error_code::internal,
                    fmt::format("template {}: {} has no value", src.string(), m.str()));
    }
    std::error_code ec;
    fs::create_directories(dst.parent_path(), ec);
    std::ofstream out(dst, std::ios::trunc);
    out << text;
    if (!out) {
        return fail(error_code::unavailable, fmt::format("cannot write {}", dst.string()));
    }
    return {};
}

std::vector<service> services(const config::config& cfg)
{
    std::vector<service> all{kafka_service(cfg)};
    for (auto& r : redis_services(cfg)) {
        all.push_back(std::move(r));
    }
    all.push_back(postgres_service(cfg));
    all.push_back(prometheus_service(cfg));
    return all;
}

std::string kafka_cluster_id()
{
    // 16 random bytes in URL-safe base64 without padding (22 chars). Like Kafka's own
    // Uuid.randomUuid, never one starting with '-': kafka-storage would read it as an option.
    static const char* alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::random_device rd;
    std::string id;
    do {
        id.clear();
        for (int i = 0; i < 21; ++i) {
            id += alphabet[rd() % 64];
        }
        id += alphabet[(rd() % 4) * 16];  // the last char carries 2 bits of data, 4 of padding
    } while (id.front() == '-');
    return id;
}

}  // namespace adsx::stack
