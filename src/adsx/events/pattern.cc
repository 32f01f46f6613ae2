#include "adsx/events/pattern.h"

#include <array>
#include <optional>
#include <vector>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace adsx::events {

namespace {
constexpr std::size_t unbounded = static_cast<std::size_t>(-1);
}  // namespace

// min to max bytes of one class.
struct run
{
    std::array<bool, 256> in{};
    std::size_t min = 1, max = 1;
};

struct pattern::code
{
    pcre2_code* compiled = nullptr;
    bool jit = false;
    // A pattern that is a sequence of runs of one class each (`^[a-z0-9]{1,8}:[0-9a-f]{32}$`,
    // `^[^\x00-\x1f]*$`: most of the contract's) is matched byte by byte from tables: the same
    // bytes PCRE2 matches (it runs without UTF mode here), at a fraction of a call's cost.
    std::vector<run> runs;
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

// A bracket class `[...]` at `i` (past it on return), or none for a shape not handled here.
std::optional<std::array<bool, 256>> bracket(std::string_view regex, std::size_t& i)
{
    const auto close = regex.find(']', i + 1);
    if (regex[i] != '[' || close == std::string_view::npos) {
        return std::nullopt;
    }
    auto body = regex.substr(i + 1, close - i - 1);
    // An escaped ']' would end the class later than find() says: leave it to PCRE2.
    if (!body.empty() && body.back() == '\\') {
        return std::nullopt;
    }
    i = close + 1;
    const bool negated = !body.empty() && body.front() == '^';
    if (negated) {
        body.remove_prefix(1);
    }
    std::array<bool, 256> in{};
    for (std::size_t k = 0; k < body.size();) {
        if (body[k] == '[') {
            return std::nullopt;
        }
        auto lo = class_char(body, k);
        if (!lo) {
            return std::nullopt;
        }
        unsigned char hi = *lo;
        if (k + 1 < body.size() && body[k] == '-') {
            ++k;
            auto h = class_char(body, k);
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

// A quantifier at `i` (*, +, {n}, {m,n}; none: exactly one), into `r`; false for another.
bool quantifier(std::string_view regex, std::size_t& i, run& r)
{
    if (i >= regex.size() || (regex[i] != '*' && regex[i] != '+' && regex[i] != '{')) {
        return true;
    }
    if (regex[i] != '{') {
        r.min = regex[i++] == '+' ? 1 : 0;
        r.max = unbounded;
        return true;
    }
    const auto close = regex.find('}', i);
    if (close == std::string_view::npos) {
        return false;
    }
    const auto inside = regex.substr(i + 1, close - i - 1);
    const auto comma = inside.find(',');
    auto number = [](std::string_view t) -> std::optional<std::size_t> {
        if (t.empty() || t.size() > 4) {
            return std::nullopt;
        }
        std::size_t v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            v = v * 10 + static_cast<std::size_t>(c - '0');
        }
        return v;
    };
    auto lo = number(inside.substr(0, comma));
    auto hi = comma == std::string_view::npos ? lo : number(inside.substr(comma + 1));
    if (!lo || !hi || *hi < *lo) {
        return false;
    }
    r.min = *lo;
    r.max = *hi;
    i = close + 1;
    return true;
}

// The runs of `^run…run$`, or none when the pattern has another shape, or when a run of
// variable length could take a byte a later run needs (matching takes each run greedily, so
// the next run must need at least one byte, none of which the variable one takes).
std::vector<run> runs_of(std::string_view regex)
{
    if (regex.size() < 3 || regex.front() != '^' || regex.back() != '$') {
        return {};
    }
    const auto body = regex.substr(0, regex.size() - 1);
    std::vector<run> out;
    for (std::size_t i = 1; i < body.size();) {
        run r;
        if (body[i] == '[') {
            auto in = bracket(body, i);
            if (!in) {
                return {};
            }
            r.in = *in;
        } else {
            constexpr std::string_view special = "^$.|?*+()[]{}";
            const bool escaped = body[i] == '\\';
            auto c = class_char(body, i);
            if (!c || (!escaped && special.find(static_cast<char>(*c)) != std::string_view::npos)) {
                return {};
            }
            r.in[*c] = true;
        }
        if (!quantifier(body, i, r)) {
            return {};
        }
        out.push_back(r);
    }
    for (std::size_t k = 0; k + 1 < out.size(); ++k) {
        if (out[k].min == out[k].max) {
            continue;
        }
        if (out[k + 1].min == 0) {
            return {};  // the byte after could belong to a run after that one
        }
        for (std::size_t b = 0; b < 256; ++b) {
            if (out[k].in[b] && out[k + 1].in[b]) {
                return {};
            }
        }
    }
    return out;
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
    c->runs = runs_of(regex);
    return pattern(std::string(regex), std::move(c));
}

bool pattern::matches(std::string_view subject) const noexcept
{
    if (!_code->runs.empty()) {
        const auto* s = reinterpret_cast<const unsigned char*>(subject.data());
        const std::size_t size = subject.size();
        std::size_t at = 0;
        for (const auto& r : _code->runs) {
            if (r.min == r.max) {
                // A fixed run (a UUID's 8-4-4-4-12): one bounds check, then every byte without
                // a branch on each.
                if (size - at < r.min) {
                    return false;
                }
                bool all = true;
                for (std::size_t k = 0; k < r.min; ++k) {
                    all &= r.in[s[at + k]];
                }
                if (!all) {
                    return false;
                }
                at += r.min;
                continue;
            }
            const std::size_t end = size - at > r.max ? at + r.max : size;
            const std::size_t from = at;
            while (at < end && r.in[s[at]]) {
                ++at;
            }
            if (at - from < r.min) {
                return false;
            }
        }
        return at == size;
    }
    auto* data = thread_match_data();
    const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    const int rc = _code->jit
                       ? pcre2_jit_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr)
                       : pcre2_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr);
    return rc >= 0;
}

}  // namespace adsx::events
