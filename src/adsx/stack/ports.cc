#include "adsx/stack/ports.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace adsx::stack {

namespace fs = std::filesystem;

bool port_in_use(const std::string& host, int port)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) {
        return false;
    }
    bool used = false;
    for (auto* ai = res; ai && !used; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        used = ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        ::close(fd);
    }
    ::freeaddrinfo(res);
    return used;
}

namespace {

// Socket inodes listening on `port`, from /proc/net/tcp and tcp6 (state 0A = LISTEN).
std::vector<std::string> listening_inodes(int port)
{
    std::vector<std::string> inodes;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
            f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
                inode;
            auto colon = local.rfind(':');
            if (state != "0A" || colon == std::string::npos) {
                continue;
            }
            if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
                inodes.push_back(inode);
            }
        }
    }
    return inodes;
}

}  // namespace

std::optional<std::string> listener_of(int port)
{
    auto inodes = listening_inodes(port);
    if (inodes.empty()) {
        return std::nullopt;
    }
    std::error_code ec;
    for (const auto& proc : fs::directory_iterator("/proc", ec)) {
        const auto name = proc.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        for (const auto& fd : fs::directory_iterator(proc.path() / "fd", ec)) {
            auto target = fs::read_symlink(fd.path(), ec).string();
            for (const auto& inode : inodes) {
                if (target == "socket:[" + inode + "]") {
                    std::ifstream comm(proc.path() / "comm");
                    std::string cmd;
                    std::getline(comm, cmd);
                    return fmt::format("pid {} ({})", name, cmd);
                }
            }
        }
    }
    return std::nullopt;
}

}  // namespace adsx::stack
