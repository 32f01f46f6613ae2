#include "adsx/events/pattern.h"

#include <array>
#include <optional>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace adsx::events {

struct pattern::code
{
    pcre2_code* compiled = nullptr;
    bool jit = false;
    // A pattern `^[class]*$` or `^[class]+$` (most of the contract's free-text rules) is
    // matched byte by byte from a table: the same bytes PCRE2 matches (it runs without UTF
    // mode here), at a fraction of a call's cost.
    std::optional<std::array<bool, 256>> bytes;
    bool non_empty = false;
    code() = default;
    code(const code&) = delete;
    code& operator=(const code&) = delete;
    code(code&&) = delete;
    code& operator=(code&&) = delete;
    ~code() { pcre2_code_free(compiled); }
};

namespace {

// One match-data block per thread, enough for any pattern (only whether it matches is asked).
pcre2_match_data* thread_match_data() noexcept
{
    struct holder
    {
        pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
        holder() = default;
        holder(const holder&) = delete;
        holder& operator=(const holder&) = delete;
        holder(holder&&) = delete;
        holder& operator=(holder&&) = delete;
        ~holder() { pcre2_match_data_free(data); }
    };
    thread_local holder h;
    return h.data;
}

// One character of a bracket class at `i`: a literal, an escaped punctuation character or
// \xHH. None for anything else (a class like \d, an escaped letter).
std::optional<unsigned char> class_char(std::string_view body, std::size_t& i)
{
    if (i >= body.size()) {
        return std::nullopt;
    }
    const char c = body[i++];
    if (c != '\\') {
        return static_cast<unsigned char>(c);
    }
    if (i >= body.size()) {
        return std::nullopt;
    }
    const char e = body[i++];
    if (e == 'x' && i + 2 <= body.size()) {
        unsigned v = 0;
        for (int k = 0; k < 2; ++k) {
            const char h = body[i++];
            const int d = h >= '0' && h <= '9'   ? h - '0'
                          : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                 : -1;
            if (d < 0) {
                return std::nullopt;
            }
            v = v * 16 + static_cast<unsigned>(d);
        }
        return static_cast<unsigned char>(v);
    }
    const bool punctuation = (e >= '!' && e <= '/') || (e >= ':' && e <= '@') ||
                             (e >= '[' && e <= '`') || (e >= '{' && e <= '~');
    return punctuation ? std::optional<unsigned char>(static_cast<unsigned char>(e)) : std::nullopt;
}

// The byte table of `^[class]*$` / `^[class]+$`, or none when the pattern has another shape.
std::optional<std::array<bool, 256>> byte_class(std::string_view regex, bool& non_empty)
{
    if (regex.size() < 6 || !regex.starts_with("^[") ||
        !(regex.ends_with("]*$") || regex.ends_with("]+$"))) {
        return std::nullopt;
    }
    non_empty = regex[regex.size() - 2] == '+';
    auto body = regex.substr(2, regex.size() - 5);
    const bool negated = !body.empty() && body.front() == '^';
    if (negated) {
        body.remove_prefix(1);
    }
    std::array<bool, 256> in{};
    for (std::size_t i = 0; i < body.size();) {
        if (body[i] == ']' || body[i] == '[') {
            return std::nullopt;  // a nested or closing bracket: not this simple shape
        }
        auto lo = class_char(body, i);
        if (!lo) {
            return std::nullopt;
        }
        unsigned char hi = *lo;
        if (i + 1 < body.size() && body[i] == '-') {
            ++i;
            auto h = class_char(body, i);
            if (!h || *h < *lo) {
                return std::nullopt;
            }
            hi = *h;
        }
        for (unsigned b = *lo; b <= hi; ++b) {
            in[b] = true;
        }
    }
    if (negated) {
        for (auto& b : in) {
            b = !b;
        }
    }
    return in;
}

}  // namespace

result<pattern> pattern::compile(std::string_view regex)
{
    auto c = std::make_shared<code>();
    int error = 0;
    PCRE2_SIZE offset = 0;
    c->compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(),
                                PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
    if (!c->compiled) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        return fail(error_code::invalid_argument, "pattern '" + std::string(regex) + "' at " +
                                                      std::to_string(offset) + ": " +
                                                      reinterpret_cast<const char*>(message));
    }
    c->jit = pcre2_jit_compile(c->compiled, PCRE2_JIT_COMPLETE) == 0;
    c->bytes = byte_class(regex, c->non_empty);
    return pattern(std::string(regex), std::move(c));
}

bool pattern::matches(std::string_view subject) const noexcept
{
    if (_code->bytes) {
        const auto& in = *_code->bytes;
        for (unsigned char b : subject) {
            if (!in[b]) {
                return false;
            }
        }
        return !_code->non_empty || !subject.empty();
    }
    auto* data = thread_match_data();
    const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    const int rc = _code->jit
                       ? pcre2_jit_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr)
                       : pcre2_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr);
    return rc >= 0;
}

}  // namespace adsx::events
