#pragma once
// Process supervision for the local stack: start a server detached from the terminal with its
// output in a log file, remember it in a pid file, tell whether it still runs, stop it.
//
// A pid file alone is not trusted: a pid can be reused after a reboot or a crash, so
// `owned_alive` also checks that the process's command line contains a marker (the stack's
// var directory), and `adsx stack down` never signals a process that is not ours.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "adsx/base/error.h"

namespace adsx::stack {

struct spawn_spec
{
    std::vector<std::string> argv;   // argv[0] is looked up in PATH when it has no slash
    std::filesystem::path log_file;  // stdout and stderr, appended
    std::filesystem::path cwd;
    std::string run_as;  // user name to switch to (empty: stay who we are)
};

// Starts the process in a new session (it outlives us) and returns its pid.
[[nodiscard]] result<pid_t> spawn_detached(const spawn_spec& spec);

// Runs a command to completion (same spec rules) and fails unless it exits 0; the error carries
// the tail of its log file.
[[nodiscard]] result<void> run_to_completion(const spawn_spec& spec, std::chrono::seconds timeout);

// True while `pid` exists and is not a zombie. Reaps it when it is our exited child.
[[nodiscard]] bool alive(pid_t pid);

// alive(pid) and its working directory lies under `marker` or its command line contains it.
[[nodiscard]] bool owned_alive(pid_t pid, const std::string& marker);

// Sends `sig`, waits up to `timeout` for the process to end, then SIGKILLs it.
// Returns whether it ended on its own (false: it needed SIGKILL).
[[nodiscard]] result<bool> stop(pid_t pid, int sig, std::chrono::seconds timeout);

[[nodiscard]] std::optional<pid_t> read_pid_file(const std::filesystem::path& file);
[[nodiscard]] result<void> write_pid_file(const std::filesystem::path& file, pid_t pid);

// The last `lines` lines of a text file ("" if unreadable), for error messages.
[[nodiscard]] std::string tail(const std::filesystem::path& file, int lines);

// uid/gid of a user name; not_found if there is no such user.
struct user_ids
{
    uid_t uid;
    gid_t gid;
};
[[nodiscard]] result<user_ids> lookup_user(const std::string& name);

}  // namespace adsx::stack
