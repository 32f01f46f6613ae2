#include "adsx/base/error.h"

namespace adsx {

std::string_view code_name(error_code c) noexcept
{
    switch (c) {
        case error_code::invalid_argument:
            return "invalid_argument";
        case error_code::not_found:
            return "not_found";
        case error_code::already_exists:
            return "already_exists";
        case error_code::unavailable:
            return "unavailable";
        case error_code::deadline_exceeded:
            return "deadline_exceeded";
        case error_code::failed_precondition:
            return "failed_precondition";
        case error_code::internal:
            return "internal";
    }
    return "internal";
}

error error::wrap(std::string_view context) const
{
    std::string m;
    m.reserve(context.size() + 2 + message.size());
    m.append(context).append(": ").append(message);
    return error{code, std::move(m)};
}

int exit_code(const error& e) noexcept
{
    return e.code == error_code::invalid_argument ? 2 : 1;
}

}  // namespace adsx
