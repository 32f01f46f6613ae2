#include "adsx/log/log.h"

#include <mutex>

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "adsx/base/strings.h"
#include "adsx/log/scrub.h"

namespace adsx::log {
namespace {

constexpr const char* pattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","component":"%n",%v})";

std::mutex sink_mutex;
spdlog::sink_ptr current_sink;
spdlog::level::level_enum current_level = spdlog::level::info;

spdlog::sink_ptr sink()
{
    std::lock_guard lock(sink_mutex);
    if (!current_sink) {
        current_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    return current_sink;
}

void append_value(std::string& out, const value& v)
{
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
                out += '"';
                append_json_escaped(out, scrub(x));
                out += '"';
            } else if constexpr (std::is_same_v<T, bool>) {
                out += x ? "true" : "false";
            } else {
                fmt::format_to(std::back_inserter(out), "{}", x);
            }
        },
        v);
}

}  // namespace

std::string render(std::string_view message, fields f)
{
    std::string out = "\"message\":\"";
    append_json_escaped(out, scrub(message));
    out += '"';
    if (f.size() > 0) {
        out += ",\"fields\":{";
        bool first = true;
        for (const auto& fld : f) {
            out += first ? "\"" : ",\"";
            first = false;
            append_json_escaped(out, fld.key);
            out += "\":";
            append_value(out, fld.val);
        }
        out += '}';
    }
    return out;
}

bool init(std::string_view level, const std::string& file)
{
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") {
        return false;
    }
    {
        std::lock_guard lock(sink_mutex);
        current_level = lvl;
        if (!file.empty()) {
            current_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);
        }
    }
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
    return true;
}

logger get(const std::string& component)
{
    if (auto existing = spdlog::get(component)) {
        return logger(existing);
    }
    auto l = std::make_shared<spdlog::logger>(component, sink());
    l->set_formatter(
        std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc, "\n"));
    {
        std::lock_guard lock(sink_mutex);
        l->set_level(current_level);
    }
    l->flush_on(spdlog::level::info);
    spdlog::register_logger(l);
    return logger(l);
}

void logger::debug(std::string_view m, fields f) const
{
    if (_impl->should_log(spdlog::level::debug)) {
        _impl->debug(render(m, f));
    }
}
void logger::info(std::string_view m, fields f) const
{
    if (_impl->should_log(spdlog::level::info)) {
        _impl->info(render(m, f));
    }
}
void logger::warn(std::string_view m, fields f) const
{
    if (_impl->should_log(spdlog::level::warn)) {
        _impl->warn(render(m, f));
    }
}
void logger::error(std::string_view m, fields f) const
{
    if (_impl->should_log(spdlog::level::err)) {
        _impl->error(render(m, f));
    }
}

}  // namespace adsx::log
