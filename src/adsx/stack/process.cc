#include "adsx/stack/process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace adsx::stack {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

result<user_ids> lookup_user(const std::string& name)
{
    struct passwd pw
    {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
        return fail(error_code::not_found, fmt::format("no OS user named '{}'", name));
    }
    return user_ids{pw.pw_uid, pw.pw_gid};
}

namespace {

// In the child between fork and exec: only async-signal-safe calls, then _exit on failure.
[[noreturn]] void exec_child(const spawn_spec& spec, int log_fd, const user_ids* user,
                             std::vector<char*>& argv)
{
    ::setsid();
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        ::dup2(devnull, STDIN_FILENO);
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
        _exit(126);
    }
    if (user) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0) {
            _exit(126);
        }
    }
    // Close everything else we inherited (sockets of our clients, other logs).
    for (int fd = 3; fd < 1024; ++fd) {
        ::close(fd);
    }
    ::execvp(argv[0], argv.data());
    _exit(127);
}

result<pid_t> fork_exec(const spawn_spec& spec)
{
    if (spec.argv.empty()) {
        return fail(error_code::invalid_argument, "empty command line");
    }
    std::optional<user_ids> user;
    if (!spec.run_as.empty()) {
        auto u = lookup_user(spec.run_as);
        if (!u) {
            return fail(u.error());
        }
        user = *u;
    }
    std::error_code ec;
    fs::create_directories(spec.log_file.parent_path(), ec);
    int log_fd = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        return fail(
            error_code::unavailable,
            fmt::format("cannot open log {}: {}", spec.log_file.string(), std::strerror(errno)));
    }
    std::vector<std::string> args = spec.argv;
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        exec_child(spec, log_fd, user ? &*user : nullptr, argv);
    }
    ::close(log_fd);
    if (pid < 0) {
        return fail(error_code::unavailable, fmt::format("fork: {}", std::strerror(errno)));
    }
    return pid;
}

}  // namespace

result<pid_t> spawn_detached(const spawn_spec& spec)
{
    return fork_exec(spec);
}

result<void> run_to_completion(const spawn_spec& spec, std::chrono::seconds timeout)
{
    auto pid = fork_exec(spec);
    if (!pid) {
        return fail(pid.error());
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
        pid_t r = ::waitpid(*pid, &status, WNOHANG);
        if (r == *pid) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(*pid, SIGKILL);
            ::waitpid(*pid, &status, 0);
            return fail(error_code::deadline_exceeded, fmt::format("{} did not finish within {} s",
                                                                   spec.argv[0], timeout.count()));
        }
        std::this_thread::sleep_for(50ms);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return {};
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return fail(error_code::failed_precondition,
                fmt::format("{} exited with {} (log {}):\n{}", spec.argv[0], code,
                            spec.log_file.string(), tail(spec.log_file, 15)));
}

bool alive(pid_t pid)
{
    if (pid <= 0) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
        return false;  // our child, and it has exited (now reaped)
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
        return false;
    }
    // A zombie that is not our child still answers kill(0): look at its state.
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string content;
    std::getline(stat, content);
    auto close_paren = content.rfind(')');
    return close_paren == std::string::npos || close_paren + 2 >= content.size() ||
           content[close_paren + 2] != 'Z';
}

bool owned_alive(pid_t pid, const std::string& marker)
{
    if (!alive(pid)) {
        return false;
    }
    // Servers may rewrite their command line (redis-server does), so the working directory,
    // which spawn_detached sets inside the stack's directory, counts too.
    std::error_code ec;
    auto cwd = fs::read_symlink(fmt::format("/proc/{}/cwd", pid), ec).string();
    if (!ec && cwd.rfind(marker, 0) == 0) {
        return true;
    }
    std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return cmdline.find(marker) != std::string::npos;
}

result<bool> stop(pid_t pid, int sig, std::chrono::seconds timeout)
{
    if (!alive(pid)) {
        return true;
    }
    if (::kill(pid, sig) != 0 && errno != ESRCH) {
        return fail(error_code::unavailable,
                    fmt::format("cannot signal pid {}: {}", pid, std::strerror(errno)));
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!alive(pid)) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && alive(pid); ++i) {
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

std::optional<pid_t> read_pid_file(const fs::path& file)
{
    std::ifstream in(file);
    long pid = 0;
    if (in >> pid && pid > 0) {
        return static_cast<pid_t>(pid);
    }
    return std::nullopt;
}

result<void> write_pid_file(const fs::path& file, pid_t pid)
{
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::trunc);
    out << pid << '\n';
    if (!out) {
        return fail(error_code::unavailable, fmt::format("cannot write {}", file.string()));
    }
    return {};
}

std::string tail(const fs::path& file, int lines)
{
    std::ifstream in(file);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (static_cast<int>(last.size()) > lines) {
            last.pop_front();
        }
    }
    std::string out;
    for (const auto& l : last) {
        out += "    " + l + "\n";
    }
    return out;
}

}  // namespace adsx::stack
