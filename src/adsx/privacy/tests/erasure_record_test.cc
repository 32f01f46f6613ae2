// The privacy.requests record: what the admin route writes the worker reads back, and records
// a worker cannot act on are refused with a reason that does not quote the user.
#include <gtest/gtest.h>

#include "adsx/privacy/erasure_record.h"

namespace adsx::privacy {
namespace {

TEST(erasure_record, round_trips)
{
    const erasure_record r{.request_id = "7c9e-1", .user_id = "k1:00ff", .source = "http"};
    const auto back = decode_erasure_record(encode(r));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->request_id, "7c9e-1");
    EXPECT_EQ(back->user_id, "k1:00ff");
    EXPECT_EQ(back->source, "http");
}

TEST(erasure_record, request_id_and_source_are_optional)
{
    const auto r = decode_erasure_record(R"({"user_id":"k1:ab","note":"ticket 42"})");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->request_id, "");
    EXPECT_EQ(r->source, "topic");
}

TEST(erasure_record, refuses_what_no_worker_can_act_on)
{
    for (const char* bad : {"", "[]", "{}", R"({"user_id":""})", R"({"user_id":42})",
                            R"({"user_id":"alice@example.com","source":""})", "not json"}) {
        const auto r = decode_erasure_record(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, error_code::invalid_argument);
        EXPECT_EQ(r.error().message.find("alice"), std::string::npos);
    }
}

}  // namespace
}  // namespace adsx::privacy
