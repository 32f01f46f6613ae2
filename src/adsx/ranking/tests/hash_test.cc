// Proves the feature hash: xxh64 with seed 0 equals xxHash's published digests, and hashed_index
// keeps the digest's low bits.
#include <gtest/gtest.h>

#include "adsx/ranking/hash.h"

namespace adsx::ranking {
namespace {

// Reference values of XXH64 with seed 0, as published with xxHash.
TEST(xxh64, matches_the_reference_digests)
{
    EXPECT_EQ(xxh64(""), 0xEF46DB3751D8E999ull);
    EXPECT_EQ(xxh64("a"), 0xD24EC4F1A98C6E5Bull);
    EXPECT_EQ(xxh64("abc"), 0x44BC2CF5AD770999ull);
}

TEST(hashed_index, keeps_the_low_bits)
{
    EXPECT_EQ(hashed_index("abc", 8), 0x99u);
    EXPECT_EQ(hashed_index("abc", 12), 0x999u);
    EXPECT_EQ(hashed_index("abc", 30), 0x44BC2CF5AD770999ull & 0x3fffffffu);
}

}  // namespace
}  // namespace adsx::ranking
