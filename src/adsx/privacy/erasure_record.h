#pragma once
// An erasure request as a record of the privacy.requests topic, the one format that
// `POST /admin/privacy/erasures` writes and `adsx privacy worker` reads (users with systems of
// their own produce it too):
//
//   {"request_id": "7c9e…", "user_id": "k1:3f2a…", "source": "http"}
//
// user_id is a pseudonym (a raw id is accepted and pseudonymised by the worker, but then sits
// in the topic until its retention: send pseudonyms); request_id makes the request idempotent
// (a record read twice is one request) and is optional: the worker then names it by its topic
// position. The record's key is the user.
#include <string>
#include <string_view>

#include "adsx/base/error.h"

namespace adsx::privacy {

struct erasure_record
{
    std::string request_id;  // "" when the record has none
    std::string user_id;
    std::string source = "topic";
};

[[nodiscard]] std::string encode(const erasure_record& r);
// invalid_argument naming what is wrong (never quoting the user id).
[[nodiscard]] result<erasure_record> decode_erasure_record(std::string_view json);

}  // namespace adsx::privacy
