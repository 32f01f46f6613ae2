// Proves the process helpers: a detached process logs to its file, is recognised by pid and
// command line, and stops on SIGTERM, or by SIGKILL when it ignores TERM; run_to_completion
// reports the exit code and log tail; pid files round-trip and garbage or absence reads as none;
// an unknown user is not_found; a listening port is seen as in use and attributed to our pid.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adsx/stack/ports.h"
#include "adsx/stack/process.h"

namespace adsx::stack {
namespace {

namespace fs = std::filesystem;

fs::path scratch(const std::string& name)
{
    auto d = fs::temp_directory_path() / ("adsx_stack_test_" + std::to_string(::getpid())) / name;
    fs::create_directories(d.parent_path());
    return d;
}

TEST(process, spawned_process_writes_its_log_and_stops_on_sigterm)
{
    auto log = scratch("sleep.log");
    auto pid = spawn_detached({{"sh", "-c", "echo hello; exec sleep 30"}, log, {}, {}});
    ASSERT_TRUE(pid) << pid.error().message;
    EXPECT_TRUE(alive(*pid));
    // The child's line reaches its log: on a loaded machine (ctest runs this beside the stack
    // suites) that can take a while, and a SIGTERM before it would kill the shell first. (Its
    // command line names "sleep" from the start, so owned_alive cannot tell that the shell ran.)
    bool written = false;
    for (int i = 0; i < 250 && !(written = tail(log, 5).find("hello") != std::string::npos); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(written);
    EXPECT_TRUE(owned_alive(*pid, "sleep"));
    EXPECT_FALSE(owned_alive(*pid, "not-in-cmdline"));
    auto clean = stop(*pid, SIGTERM, std::chrono::seconds(5));
    ASSERT_TRUE(clean);
    EXPECT_TRUE(*clean);
    EXPECT_FALSE(alive(*pid));
    EXPECT_NE(tail(log, 5).find("hello"), std::string::npos);
}

TEST(process, stop_escalates_to_sigkill_when_term_is_ignored)
{
    auto pid = spawn_detached(
        {{"sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"}, scratch("t.log"), {}, {}});
    ASSERT_TRUE(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto clean = stop(*pid, SIGTERM, std::chrono::seconds(1));
    ASSERT_TRUE(clean);
    EXPECT_FALSE(*clean);
    EXPECT_FALSE(alive(*pid));
}

TEST(process, run_to_completion_reports_exit_code_and_log_tail)
{
    auto ok = run_to_completion({{"true"}, scratch("ok.log"), {}, {}}, std::chrono::seconds(5));
    EXPECT_TRUE(ok);
    auto bad =
        run_to_completion({{"sh", "-c", "echo boom >&2; exit 3"}, scratch("bad.log"), {}, {}},
                          std::chrono::seconds(5));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("exited with 3"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("boom"), std::string::npos);
}

TEST(process, pid_file_round_trip_and_garbage)
{
    auto f = scratch("x.pid");
    ASSERT_TRUE(write_pid_file(f, 4242));
    EXPECT_EQ(read_pid_file(f), 4242);
    std::ofstream(f) << "garbage";
    EXPECT_FALSE(read_pid_file(f));
    EXPECT_FALSE(read_pid_file(scratch("missing.pid")));
}

TEST(process, unknown_user_is_not_found)
{
    auto u = lookup_user("no-such-user-adsx");
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().code, error_code::not_found);
}

TEST(ports, listening_socket_is_seen_and_attributed_to_us)
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    EXPECT_TRUE(port_in_use("127.0.0.1", port));
    auto who = listener_of(port);
    ASSERT_TRUE(who);
    EXPECT_NE(who->find("pid " + std::to_string(::getpid())), std::string::npos) << *who;
    ::close(fd);
    EXPECT_FALSE(port_in_use("127.0.0.1", port));
}

}  // namespace
}  // namespace adsx::stack
