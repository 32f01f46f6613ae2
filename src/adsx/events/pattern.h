#pragma once
// A regular expression of the event contract (JSON Schema `pattern`, ECMA-262 syntax for the
// subset the schema uses), compiled once with PCRE2's JIT. `$` matches only at the end of the
// subject, as in ECMA-262 (PCRE2's default would also match before a final newline). Matching
// is a search, as JSON Schema's is: anchor with ^ and $.
//
//   auto p = pattern::compile("^[A-Z]{2}(-[A-Z0-9]{1,3})?$");
//   p->matches("US-CA");   // true
//
// Immutable after compile; matches() is thread-safe (each thread has its own match data).
#include <memory>
#include <string>
#include <string_view>

#include "adsx/base/error.h"

namespace adsx::events {

class pattern
{
public:
    // invalid_argument naming the pattern and PCRE2's message when it does not compile.
    [[nodiscard]] static result<pattern> compile(std::string_view regex);

    [[nodiscard]] bool matches(std::string_view subject) const noexcept;
    [[nodiscard]] const std::string& text() const noexcept { return _text; }

private:
    struct code;
    pattern(std::string text, std::shared_ptr<const code> c)
      : _text(std::move(text)), _code(std::move(c))
    {
    }

    std::string _text;
    std::shared_ptr<const code> _code;  // shared: copies of a contract share compiled code
};

}  // namespace adsx::events
