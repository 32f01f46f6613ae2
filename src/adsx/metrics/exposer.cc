#include "adsx/metrics/exposer.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

namespace adsx::metrics {

namespace fs = std::filesystem;

exposer::exposer(std::string host, int port, std::string component,
                 std::unique_ptr<prometheus::Exposer> impl)
  : _host(std::move(host)), _port(port), _component(std::move(component)),
    _registry(std::make_shared<prometheus::Registry>()), _impl(std::move(impl))
{
    _impl->RegisterCollectable(_registry);
}

exposer::~exposer()
{
    if (!_target_file.empty()) {
        std::error_code ec;
        fs::remove(_target_file, ec);
    }
}

result<std::unique_ptr<exposer>> exposer::start(const std::string& host, int port,
                                                std::string component)
{
    const int last = port == 0 ? 0 : port + 31;
    std::string last_error;
    for (int p = port; p <= last; ++p) {
        try {
            auto impl = std::make_unique<prometheus::Exposer>(fmt::format("{}:{}", host, p), 2);
            auto ports = impl->GetListeningPorts();
            int bound = ports.empty() ? p : ports.front();
            return std::unique_ptr<exposer>(
                new exposer(host, bound, std::move(component), std::move(impl)));
        } catch (const std::exception& e) {
            last_error = e.what();
        }
    }
    return fail(error_code::unavailable,
                fmt::format("cannot listen for /metrics on {} ports {}..{}: {} (set metrics.port "
                            "or ADSX_METRICS__PORT)",
                            host, port, last, last_error));
}

std::string exposer::address() const
{
    return fmt::format("{}:{}", _host, _port);
}

void sweep_dead_targets(const fs::path& dir)
{
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
        const auto stem = f.path().stem().string();
        const auto dash = stem.rfind('-');
        if (f.path().extension() != ".json" || dash == std::string::npos) {
            continue;
        }
        const long pid = std::strtol(stem.c_str() + dash + 1, nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            fs::remove(f.path(), ec);
        }
    }
}

result<void> exposer::register_with(const fs::path& dir)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    sweep_dead_targets(dir);
    auto file = dir / fmt::format("{}-{}.json", _component, ::getpid());
    auto tmp = file;
    tmp += ".tmp";
    {
        std::ofstream out(tmp);
        out << fmt::format(R"([{{"targets":["{}"],"labels":{{"component":"{}"}}}}])", address(),
                           _component)
            << '\n';
        if (!out) {
            return fail(error_code::unavailable,
                        fmt::format("cannot write Prometheus target file {}", tmp.string()));
        }
    }
    fs::rename(tmp, file, ec);  // atomic: Prometheus never reads half a file
    if (ec) {
        return fail(error_code::unavailable,
                    fmt::format("cannot write {}: {}", file.string(), ec.message()));
    }
    _target_file = file;
    return {};
}

probe_registry::probe_registry(std::unique_ptr<exposer> e) : _exposer(std::move(e))
{
    if (_exposer) {
        _registry = &_exposer->registry();
    } else {
        _own = std::make_shared<prometheus::Registry>();
        _registry = _own.get();
    }
}

void catch_up(prometheus::Counter& counter, std::uint64_t& seen, std::uint64_t total)
{
    if (total > seen) {
        counter.Increment(static_cast<double>(total - seen));
        seen = total;
    }
}

std::string render(prometheus::Registry& registry)
{
    return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace adsx::metrics
