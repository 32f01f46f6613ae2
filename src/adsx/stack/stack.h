#pragma once
// `adsx stack up|down|status`: the local stack (Kafka KRaft, Redis, PostgreSQL, Prometheus) as
// processes owned by the project, with data under var/, logs under var/log/ and pid files under
// var/run/.
//
//   up      starts what is not running (after checking every port first, so a taken port fails
//           before anything starts), waits until each service passes its probe, and reports.
//           Running it twice is a no-op. Remote services (managed = false) are only probed.
//   down    stops only the processes its pid files name and that are still ours; keeps data.
//           With purge, also removes var/.
//   status  each service's state, address, version and pid.
//
// Lifetime: a `stack` holds a reference to the config it was built from.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "adsx/base/error.h"
#include "adsx/config/config.h"
#include "adsx/stack/services.h"

namespace adsx::stack {

struct service_status
{
    std::string name;
    std::string state;  // running | stopped | remote | not responding | unreachable
    std::string address;
    std::string version;  // "" when unknown
    std::optional<pid_t> pid;
    bool healthy = false;
    std::string detail;  // why it is not healthy
};

class stack
{
public:
    explicit stack(const config::config& cfg);

    // Progress lines go to `out`; the returned statuses describe the stack afterwards.
    [[nodiscard]] result<std::vector<service_status>> up(std::ostream& out);
    [[nodiscard]] result<void> down(bool purge, std::ostream& out);
    [[nodiscard]] std::vector<service_status> status();

    [[nodiscard]] std::filesystem::path pid_file(const service& s) const;

private:
    [[nodiscard]] result<void> preflight(const service& s);
    [[nodiscard]] result<service_status> wait_ready(const service& s, std::optional<pid_t> pid,
                                                    std::chrono::steady_clock::time_point deadline);
    [[nodiscard]] std::optional<pid_t> running_pid(const service& s);

    const config::config& _cfg;
    std::vector<service> _services;
};

// A fixed-width table of statuses, as `adsx stack status` prints it.
[[nodiscard]] std::string format_table(const std::vector<service_status>& rows);

}  // namespace adsx::stack
