#pragma once
// Is a TCP port free, and if not, who holds it? Used before starting a local service so that a
// port taken by something else is a clear error, not a crash loop in a log file.
#include <optional>
#include <string>

namespace adsx::stack {

// True when something accepts connections on host:port.
[[nodiscard]] bool port_in_use(const std::string& host, int port);

// "pid 1234 (redis-server)" for the process listening on `port` (any address), when /proc tells.
[[nodiscard]] std::optional<std::string> listener_of(int port);

}  // namespace adsx::stack
