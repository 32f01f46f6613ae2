#pragma once
// Structured logging: one JSON object per line on stderr (or a file), with the fields
// time (UTC, ms), level, component, message and optional typed fields:
//
//   {"time":"2026-11-26T15:20:01.123Z","level":"info","component":"stack",
//    "message":"service ready","fields":{"service":"kafka","seconds":4.2}}
//
//   adsx::log::init("info");
//   auto log = adsx::log::get("stack");
//   log.info("service ready", {{"service", "kafka"}, {"seconds", 4.2}});
//
// Never put PII (raw user ids, IPs) in a message or a field; should one slip in, e-mail
// addresses, full IPs and phone numbers are masked (scrub.h). Thread-safe (spdlog underneath).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace spdlog {
class logger;
}

namespace adsx::log {

using value = std::variant<std::string_view, std::int64_t, double, bool>;

struct field
{
    std::string_view key;
    value val;
    field(std::string_view k, std::string_view v) : key(k), val(v) {}
    field(std::string_view k, const char* v) : key(k), val(std::string_view(v)) {}
    field(std::string_view k, const std::string& v) : key(k), val(std::string_view(v)) {}
    field(std::string_view k, double v) : key(k), val(v) {}
    field(std::string_view k, bool v) : key(k), val(v) {}
    template <class I>
    requires std::is_integral_v<I> field(std::string_view k, I v)
      : key(k), val(static_cast<std::int64_t>(v))
    {
    }
};

using fields = std::initializer_list<field>;

// Sets the level and the destination (empty path: stderr) of every component logger.
// Returns false for an unknown level (the config module validates levels before this).
bool init(std::string_view level, const std::string& file = {});

// The JSON body after the standard fields: `"message":"...","fields":{...}` (exposed for tests).
[[nodiscard]] std::string render(std::string_view message, fields f);

class logger
{
public:
    explicit logger(std::shared_ptr<spdlog::logger> impl) : _impl(std::move(impl)) {}
    void debug(std::string_view message, fields f = {}) const;
    void info(std::string_view message, fields f = {}) const;
    void warn(std::string_view message, fields f = {}) const;
    void error(std::string_view message, fields f = {}) const;

private:
    std::shared_ptr<spdlog::logger> _impl;
};

// The logger of one component ("stack", "generate", …), created on first use.
[[nodiscard]] logger get(const std::string& component);

}  // namespace adsx::log
