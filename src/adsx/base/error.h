#pragma once
// Errors as values. Every expected failure in AdStreamX is a `result<T>`: either a T or an
// `error` with a small code set. The code set is deliberately small so that mapping to a CLI
// exit code (`exit_code`) or an HTTP status is one switch.
//
//   adsx::result<int> parse_port(std::string_view s);
//   if (auto p = parse_port("80"); !p) log(p.error().message);
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace adsx {

enum class error_code
{
    invalid_argument,  // the caller's input is wrong: bad config value, bad request, bad flag
    not_found,
    already_exists,
    unavailable,          // a dependency (broker, store, process) cannot be reached right now
    deadline_exceeded,    // it did not answer in time
    failed_precondition,  // the world is not in the state this needs (port taken, not initialised)
    internal,             // a bug or an unexpected failure of ours
};

[[nodiscard]] std::string_view code_name(error_code c) noexcept;

struct error
{
    error_code code;
    std::string message;

    // The same error with context in front: "starting kafka: port 9092 is taken".
    [[nodiscard]] error wrap(std::string_view context) const;
};

template <class T>
using result = tl::expected<T, error>;

// Shorthand for the failure side: `return fail(error_code::not_found, "no such ad");`.
[[nodiscard]] inline tl::unexpected<error> fail(error_code code, std::string message)
{
    return tl::unexpected<error>(error{code, std::move(message)});
}
[[nodiscard]] inline tl::unexpected<error> fail(error e)
{
    return tl::unexpected<error>(std::move(e));
}

// What a command-line front end returns for an error: 2 for usage errors, 1 otherwise.
[[nodiscard]] int exit_code(const error& e) noexcept;

}  // namespace adsx
