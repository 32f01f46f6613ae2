#include "adsx/privacy/erasure_record.h"

#include <fmt/format.h>
#include <simdjson.h>

#include "adsx/base/strings.h"

namespace adsx::privacy {

std::string encode(const erasure_record& r)
{
    return fmt::format(R"({{"request_id":{},"user_id":{},"source":{}}})", json_quote(r.request_id),
                       json_quote(r.user_id), json_quote(r.source));
}

result<erasure_record> decode_erasure_record(std::string_view json)
{
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS) {
        return fail(error_code::invalid_argument, "an erasure record must be a JSON object");
    }
    erasure_record out;
    for (auto [key, value] : obj) {
        std::string_view s;
        if (value.get(s) != simdjson::SUCCESS) {
            return fail(error_code::invalid_argument,
                        fmt::format("erasure record member '{}' must be a string", key));
        }
        if (key == "user_id") {
            out.user_id = s;
        } else if (key == "request_id") {
            out.request_id = s;
        } else if (key == "source") {
            out.source = s;
        }  // others are ignored: producers may add their own context
    }
    if (out.user_id.empty()) {
        return fail(error_code::invalid_argument, "an erasure record needs a non-empty user_id");
    }
    if (out.request_id.size() > 128 || out.source.empty() || out.source.size() > 32) {
        return fail(error_code::invalid_argument,
                    "an erasure record's request_id is at most 128 characters and its source "
                    "1 to 32");
    }
    return out;
}

}  // namespace adsx::privacy
