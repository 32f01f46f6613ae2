// Proves the consent cache answers as decoding each string would (personalisation needs
// purposes 1, 3 and 4; an undecodable string allows nothing), and remembers each distinct
// string once, up to its bound.
#include <gtest/gtest.h>

#include "adsx/privacy/consent_cache.h"
#include "adsx/privacy/tcf.h"

namespace adsx::privacy {
namespace {

std::string consent_to(std::initializer_list<int> purposes)
{
    tc_consent c;
    for (int p : purposes) {
        c.purposes_consent.set(static_cast<std::size_t>(p - 1));
    }
    return *encode_tc_string(c);
}

TEST(consent_cache, answers_as_the_decoder_and_remembers_each_string_once)
{
    consent_cache cache;
    const auto all = consent_to({1, 3, 4});
    const auto some = consent_to({1, 3});
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(cache(all));
        EXPECT_FALSE(cache(some));
        EXPECT_FALSE(cache("not a TC string"));
        EXPECT_FALSE(cache(""));
    }
    EXPECT_EQ(cache.size(), 4u);
}

TEST(consent_cache, stops_remembering_at_its_bound_but_still_answers)
{
    consent_cache cache;
    for (int i = 0; i < 10'005; ++i) {
        EXPECT_FALSE(cache("junk-" + std::to_string(i)));
    }
    EXPECT_EQ(cache.size(), 10'000u);
    EXPECT_TRUE(cache(consent_to({1, 3, 4})));
    EXPECT_EQ(cache.size(), 10'000u);
}

}  // namespace
}  // namespace adsx::privacy
