#include "adsx/events/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace adsx::events {

struct pattern::code
{
    pcre2_code* compiled = nullptr;
    bool jit = false;
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
    return pattern(std::string(regex), std::move(c));
}

bool pattern::matches(std::string_view subject) const noexcept
{
    auto* data = thread_match_data();
    const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    const int rc = _code->jit
                       ? pcre2_jit_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr)
                       : pcre2_match(_code->compiled, s, subject.size(), 0, 0, data, nullptr);
    return rc >= 0;
}

}  // namespace adsx::events
