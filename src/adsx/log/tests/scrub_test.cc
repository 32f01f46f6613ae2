// Proves the log scrubber: e-mail addresses, full IPv4 and IPv6 addresses and international
// phone numbers are masked wherever they sit in a line; what the pipeline keeps on purpose
// (/24 and /48 truncated IPs, pseudonyms) and what operators need (service addresses, times,
// versions, offsets) stays; and a rendered log line carries the masked text.
#include <gtest/gtest.h>

#include "adsx/log/log.h"
#include "adsx/log/scrub.h"

namespace adsx::log {
namespace {

TEST(scrub, masks_personal_data_wherever_it_sits)
{
    EXPECT_EQ(scrub("login from 203.0.113.7 by ann.lee+ads@example.co.uk."),
              "login from <ip> by <email>.");
    EXPECT_EQ(scrub("peer=198.51.100.23:443"), "peer=<ip>:443");
    EXPECT_EQ(scrub("(2001:db8:85a3::8a2e:370:7334)"), "(<ip>)");
    EXPECT_EQ(scrub("v6 2001:0db8:0000:0000:0000:ff00:0042:8329 end"), "v6 <ip> end");
    EXPECT_EQ(scrub("mapped ::ffff:203.0.113.9"), "mapped ::ffff:<ip>");
    EXPECT_EQ(scrub("call +44 20 7946 0958 now"), "call <phone> now");
    EXPECT_EQ(scrub("call +1-202-555-0143"), "call <phone>");
    EXPECT_EQ(scrub("x@y.z a@b"), "x@y.z a@b");  // not addresses: a one-letter TLD, no TLD
}

TEST(scrub, keeps_what_the_pipeline_and_operators_need)
{
    for (const char* kept : {
             "user k1:8df26510c6847ced44a0a3af6bff1bea",  // a pseudonym
             "ip 203.0.113.0 and 2001:db8:85a3::",        // truncated on purpose
             "kafka at 127.0.0.1:9092, redis 10.1.2.3, pg 192.168.1.20, 172.20.0.5, ::1",
             "at 2026-11-26T15:20:01.123Z took 12:30:05",
             "redis 7.0.15, libpq 15.1.2.3.4",
             "offset 1234567890123 partition 3 +5 records",
             "a+b=c +123",
         }) {
        EXPECT_EQ(scrub(kept), kept);
    }
}

TEST(scrub, a_rendered_line_holds_the_masked_text)
{
    const auto line = render("bad request from 203.0.113.7", {{"who", "ann@example.com"}});
    EXPECT_EQ(line, R"("message":"bad request from <ip>","fields":{"who":"<email>"})");
}

}  // namespace
}  // namespace adsx::log
