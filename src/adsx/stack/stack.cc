#include "adsx/stack/stack.h"

#include <fstream>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "adsx/log/log.h"
#include "adsx/metrics/exposer.h"
#include "adsx/stack/ports.h"

namespace adsx::stack {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds remaining(clock::time_point deadline)
{
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                    std::chrono::milliseconds(0));
}

// A secret of the local stack (the pseudonym key, the admin token): 32 random bytes in hex,
// created once, readable by its owner only. Only a file inside var/ is ours to create; one
// configured elsewhere is the operator's to provide.
result<void> ensure_local_secret(const config::config& cfg, const fs::path& file,
                                 std::string_view what, std::ostream& out)
{
    const auto var = cfg.stack.var_dir.string();
    std::error_code ec;
    if (fs::exists(file, ec) || file.string().rfind(var, 0) != 0) {
        return {};
    }
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    unsigned char key[32];
    if (!urandom.read(reinterpret_cast<char*>(key), sizeof key)) {
        return fail(error_code::unavailable, "cannot read /dev/urandom");
    }
    fs::create_directories(file.parent_path(), ec);
    fs::permissions(file.parent_path(), fs::perms::owner_all, ec);
    {
        std::ofstream f(file, std::ios::trunc);
        for (auto b : key) {
            f << fmt::format("{:02x}", b);
        }
        f << '\n';
        if (!f) {
            return fail(error_code::unavailable, fmt::format("cannot write {}", file.string()));
        }
    }
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
    out << fmt::format("{:<11} created {} in {}\n", "privacy", what, file.string());
    return {};
}

}  // namespace

stack::stack(const config::config& cfg) : _cfg(cfg), _services(services(cfg)) {}

fs::path stack::pid_file(const service& s) const
{
    return _cfg.run_dir() / (s.name + ".pid");
}

std::optional<pid_t> stack::running_pid(const service& s)
{
    auto pid = read_pid_file(pid_file(s));
    if (pid && owned_alive(*pid, _cfg.stack.var_dir.string())) {
        return pid;
    }
    return std::nullopt;
}

result<void> stack::preflight(const service& s)
{
    for (const auto& p : s.ports) {
        if (!port_in_use(p.host, p.port)) {
            continue;
        }
        auto who = listener_of(p.port);
        return fail(error_code::failed_precondition,
                    fmt::format("{}: port {} on {} is already in use{}; stop that process or "
                                "change {} in config/adsx.toml (or set {})",
                                s.name, p.port, p.host, who ? " by " + *who : "", p.config_key,
                                config::env_var(p.config_key)));
    }
    return {};
}

result<service_status> stack::wait_ready(const service& s, std::optional<pid_t> pid,
                                         clock::time_point deadline)
{
    const auto start = clock::now();
    std::string last_error = "no probe ran";
    while (true) {
        if (pid && !alive(*pid)) {
            auto log = _cfg.log_dir() / (s.name + ".log");
            return fail(error_code::unavailable,
                        fmt::format("{} exited during start-up; last lines of {}:\n{}", s.name,
                                    log.string(), tail(log, 20)));
        }
        auto left = remaining(deadline);
        auto version = s.probe(std::clamp(left, 200ms, 5000ms));
        if (version) {
            auto secs = std::chrono::duration<double>(clock::now() - start).count();
            log::get("stack").debug("service ready", {{"service", s.name}, {"seconds", secs}});
            return service_status{
                s.name, s.managed ? "running" : "remote", s.address, *version, pid, true, {}};
        }
        last_error = version.error().message;
        if (left.count() == 0) {
            return fail(error_code::deadline_exceeded,
                        fmt::format("{} at {} not ready after {} s: {}", s.name, s.address,
                                    _cfg.stack.start_timeout_s, last_error));
        }
        std::this_thread::sleep_for(250ms);
    }
}

result<std::vector<service_status>> stack::up(std::ostream& out)
{
    // 1. Decide what to start and check all its ports before starting anything.
    std::vector<std::optional<pid_t>> pids(_services.size());
    std::vector<bool> start(_services.size(), false);
    for (size_t i = 0; i < _services.size(); ++i) {
        const auto& s = _services[i];
        if (!s.managed) {
            continue;
        }
        pids[i] = running_pid(s);
        if (pids[i]) {
            continue;
        }
        std::error_code ec;
        fs::remove(pid_file(s), ec);  // stale: the process it named is gone or not ours
        if (auto r = preflight(s); !r) {
            return fail(r.error());
        }
        start[i] = true;
    }
    metrics::sweep_dead_targets(prometheus_targets_dir(_cfg));
    for (const auto& [file, what] : {std::pair{_cfg.privacy.hmac_key_file, "a pseudonym key"},
                                     std::pair{_cfg.serve.admin_token_file, "an admin token"}}) {
        if (auto r = ensure_local_secret(_cfg, file, what, out); !r) {
            return fail(r.error());
        }
    }
    // 2. Prepare all (a failure here leaves nothing half-started), then start them: they boot
    //    in parallel.
    for (size_t i = 0; i < _services.size(); ++i) {
        if (start[i]) {
            if (auto r = _services[i].prepare(); !r) {
                return fail(r.error().wrap("preparing " + _services[i].name));
            }
        }
    }
    for (size_t i = 0; i < _services.size(); ++i) {
        if (!start[i]) {
            continue;
        }
        const auto& s = _services[i];
        out << fmt::format("{:<11} starting on {}\n", s.name, s.address) << std::flush;
        auto pid = spawn_detached(s.command());
        if (!pid) {
            return fail(pid.error().wrap("starting " + s.name));
        }
        if (auto r = write_pid_file(pid_file(s), *pid); !r) {
            return fail(r.error());
        }
        pids[i] = *pid;
    }
    // 3. Wait until each passes its probe.
    std::vector<service_status> statuses;
    const auto deadline = clock::now() + std::chrono::seconds(_cfg.stack.start_timeout_s);
    for (size_t i = 0; i < _services.size(); ++i) {
        const auto& s = _services[i];
        auto st = wait_ready(s, pids[i], deadline);
        if (!st) {
            return fail(st.error());
        }
        st->detail = start[i] ? "started" : (s.managed ? "already running" : "remote");
        out << fmt::format("{:<11} {:<15} {} {}\n", s.name, st->detail, s.address, st->version)
            << std::flush;
        statuses.push_back(std::move(*st));
    }
    return statuses;
}

result<void> stack::down(bool purge, std::ostream& out)
{
    for (auto it = _services.rbegin(); it != _services.rend(); ++it) {
        const auto& s = *it;
        if (!s.managed) {
            out << fmt::format("{:<11} remote, not ours to stop\n", s.name);
            continue;
        }
        auto pid = running_pid(s);
        std::error_code ec;
        if (!pid) {
            fs::remove(pid_file(s), ec);
            out << fmt::format("{:<11} not running\n", s.name);
            continue;
        }
        auto clean = stop(*pid, s.stop_signal, std::chrono::seconds(_cfg.stack.stop_timeout_s));
        if (!clean) {
            return fail(clean.error().wrap("stopping " + s.name));
        }
        fs::remove(pid_file(s), ec);
        out << fmt::format("{:<11} stopped (pid {}{})\n", s.name, *pid,
                           *clean ? "" : ", needed SIGKILL")
            << std::flush;
    }
    if (purge) {
        std::error_code ec;
        fs::remove_all(_cfg.stack.var_dir, ec);
        if (ec) {
            return fail(
                error_code::unavailable,
                fmt::format("cannot remove {}: {}", _cfg.stack.var_dir.string(), ec.message()));
        }
        out << "removed " << _cfg.stack.var_dir.string() << "\n";
    }
    return {};
}

std::vector<service_status> stack::status()
{
    std::vector<service_status> rows;
    for (const auto& s : _services) {
        service_status st{s.name, "", s.address, "", std::nullopt, false, {}};
        if (s.managed) {
            st.pid = running_pid(s);
            if (!st.pid) {
                st.state = "stopped";
                rows.push_back(std::move(st));
                continue;
            }
        }
        auto version = s.probe(3s);
        st.healthy = version.has_value();
        st.state = s.managed ? (st.healthy ? "running" : "not responding")
                             : (st.healthy ? "remote" : "unreachable");
        if (version) {
            st.version = *version;
        } else {
            st.detail = version.error().message;
        }
        rows.push_back(std::move(st));
    }
    return rows;
}

std::string format_table(const std::vector<service_status>& rows)
{
    std::string out = fmt::format("{:<11} {:<15} {:<28} {:<22} {}\n", "SERVICE", "STATE", "ADDRESS",
                                  "VERSION", "PID");
    for (const auto& r : rows) {
        out +=
            fmt::format("{:<11} {:<15} {:<28} {:<22} {}\n", r.name, r.state, r.address,
                        r.version.empty() ? "-" : r.version, r.pid ? std::to_string(*r.pid) : "-");
        if (!r.detail.empty()) {
            out += fmt::format("{:<11} ! {}\n", "", r.detail);
        }
    }
    return out;
}

}  // namespace adsx::stack
