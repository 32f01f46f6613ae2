// Proves the privacy primitives: HMAC-SHA256 against RFC 4231; pseudonyms (key id + first 128
// MAC bits) deterministic per key and user, refusing short keys, bad key ids and bad key files
// without echoing the key; IPv4 /24 and IPv6 /48 truncation, non-addresses refused; bit fields at
// every width and alignment; TCF v2 strings round-tripped and matching published IAB examples,
// bad ones refused with a typed reason; personalisation only with consent to purposes 1, 3, 4.
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "adsx/privacy/bits.h"
#include "adsx/privacy/ip.h"
#include "adsx/privacy/pseudonym.h"
#include "adsx/privacy/tcf.h"

namespace adsx::privacy {
namespace {

namespace fs = std::filesystem;

const std::string key32(32, 'k');

std::string hex(const unsigned char* p, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 0x0f];
    }
    return out;
}

bool contains(const std::string& haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string::npos;
}

// A file under the test's temporary directory, removed when the guard goes.
class temp_file
{
public:
    temp_file(const std::string& name, const std::string& content)
      : _path(fs::temp_directory_path() / (std::to_string(::getpid()) + "-" + name))
    {
        std::ofstream(_path, std::ios::binary) << content;
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { fs::remove(_path); }
    [[nodiscard]] const fs::path& path() const { return _path; }

private:
    fs::path _path;
};

// ---- pseudonyms ------------------------------------------------------------------------------

TEST(hmac_sha256, matches_rfc_4231_test_cases_1_and_2)
{
    auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
    EXPECT_EQ(hex(mac.data(), mac.size()),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    mac = hmac_sha256(std::string(20, '\x0b'), "Hi There");
    EXPECT_EQ(hex(mac.data(), mac.size()),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(pseudonymizer, is_key_id_and_the_first_128_bits_of_the_mac_in_hex)
{
    auto p = pseudonymizer::create(key32, "k1");
    ASSERT_TRUE(p) << p.error().message;
    auto mac = hmac_sha256(key32, "user-42");
    EXPECT_EQ(p->pseudonymize("user-42"), "k1:" + hex(mac.data(), 16));
    EXPECT_EQ(p->pseudonymize("user-42").size(), 3U + 32U);
    EXPECT_EQ(p->key_id(), "k1");
}

TEST(pseudonymizer, is_deterministic_and_separates_users_and_keys)
{
    auto a = pseudonymizer::create(key32, "k1");
    auto a_again = pseudonymizer::create(key32, "k1");
    auto b = pseudonymizer::create(std::string(32, 'j'), "k1");
    ASSERT_TRUE(a && a_again && b);
    EXPECT_EQ(a->pseudonymize("user-42"), a->pseudonymize("user-42"));  // context reuse
    EXPECT_EQ(a->pseudonymize("user-42"), a_again->pseudonymize("user-42"));
    EXPECT_NE(a->pseudonymize("user-42"), a->pseudonymize("user-43"));
    EXPECT_NE(a->pseudonymize("user-42"), b->pseudonymize("user-42"));
    auto copy = a->clone();
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->pseudonymize("user-42"), a->pseudonymize("user-42"));
}

TEST(pseudonymizer, rejects_short_keys_and_bad_key_ids)
{
    auto short_key = pseudonymizer::create(std::string(15, 'k'), "k1");
    ASSERT_FALSE(short_key);
    EXPECT_EQ(short_key.error().code, error_code::invalid_argument);
    EXPECT_TRUE(contains(short_key.error().message, "at least 16")) << short_key.error().message;
    EXPECT_TRUE(pseudonymizer::create(std::string(16, 'k'), "k1"));
    for (const char* id : {"", "k:1", "k 1", "this-key-id-is-longer-than-32-chars"}) {
        auto p = pseudonymizer::create(key32, id);
        ASSERT_FALSE(p) << id;
        EXPECT_EQ(p.error().code, error_code::invalid_argument);
    }
}

TEST(pseudonymizer, reads_a_hex_key_file_and_ignores_the_trailing_newline)
{
    temp_file f("key", "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B6B\n");
    auto from_file = pseudonymizer::from_key_file(f.path(), "k2");
    ASSERT_TRUE(from_file) << from_file.error().message;
    auto direct = pseudonymizer::create(key32, "k2");  // 0x6b is 'k'
    ASSERT_TRUE(direct);
    EXPECT_EQ(from_file->pseudonymize("user-42"), direct->pseudonymize("user-42"));
}

TEST(pseudonymizer, key_file_errors_name_the_file_and_the_problem)
{
    auto missing = pseudonymizer::from_key_file("/nonexistent/adsx.key", "k1");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, error_code::not_found);
    EXPECT_TRUE(contains(missing.error().message, "/nonexistent/adsx.key"));

    temp_file short_file("short", "00112233445566778899aabbccddee\n");  // 15 bytes
    auto too_short = pseudonymizer::from_key_file(short_file.path(), "k1");
    ASSERT_FALSE(too_short);
    EXPECT_EQ(too_short.error().code, error_code::invalid_argument);
    EXPECT_TRUE(contains(too_short.error().message, "15 bytes")) << too_short.error().message;
    EXPECT_TRUE(contains(too_short.error().message, short_file.path().string()));

    temp_file not_hex("not-hex", "this is not a hex key at all, it is prose!\n");
    auto bad = pseudonymizer::from_key_file(not_hex.path(), "k1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, error_code::invalid_argument);
    EXPECT_FALSE(contains(bad.error().message, "prose")) << "the key must not be echoed";
}

// ---- IP truncation ---------------------------------------------------------------------------

TEST(truncate_ip, zeroes_the_last_ipv4_octet)
{
    EXPECT_EQ(truncate_ip("203.0.113.77").value(), "203.0.113.0");
    EXPECT_EQ(truncate_ip("10.1.2.0").value(), "10.1.2.0");
    EXPECT_EQ(truncate_ip("255.255.255.255").value(), "255.255.255.0");
}

TEST(truncate_ip, keeps_the_ipv6_48_bit_prefix_in_canonical_form)
{
    EXPECT_EQ(truncate_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348").value(), "2001:db8:85a3::");
    EXPECT_EQ(truncate_ip("2001:0DB8:0000:0001:0000:0000:0000:0001").value(), "2001:db8::");
    EXPECT_EQ(truncate_ip("2a00:1450:4001:82b::200e").value(), "2a00:1450:4001::");
    EXPECT_EQ(truncate_ip("::1").value(), "::");
    EXPECT_EQ(truncate_ip("::ffff:203.0.113.77").value(), "::ffff:203.0.113.0");
}

TEST(truncate_ip, rejects_what_is_not_an_address)
{
    for (const char* ip : {"", "203.0.113", "256.1.1.1", "203.0.113.77:8080", " 203.0.113.77",
                           "[2001:db8::1]", "fe80::1%eth0", "2001:db8::1::2", "example.com",
                           "2001:db8:85a3:8d3:1319:8a2e:370:7348:1"}) {
        auto r = truncate_ip(ip);
        ASSERT_FALSE(r) << ip;
        EXPECT_EQ(r.error().code, error_code::invalid_argument);
    }
    EXPECT_FALSE(truncate_ip(std::string_view("1.2.3.4\0", 8)));
}

// ---- bit fields ------------------------------------------------------------------------------

TEST(bits, every_width_reads_back_at_every_alignment)
{
    detail::bit_writer w;
    std::vector<std::pair<std::uint64_t, int>> written;
    std::uint64_t x = 0x9e3779b97f4a7c15U;  // fixed pseudo-random pattern
    for (int width = 0; width <= 64; ++width) {
        for (int skew = 0; skew < 6; ++skew) {  // every start position within a character
            x = x * 6364136223846793005U + 1442695040888963407U;
            auto value = width == 64 ? x : x & ((std::uint64_t{1} << width) - 1);
            w.write(value, width);
            w.write(0, skew);
            written.emplace_back(value, width);
            written.emplace_back(0, skew);
        }
    }
    auto text = w.to_base64url();
    auto r = detail::bit_reader::over_base64url(text);
    ASSERT_TRUE(r);
    for (auto [value, width] : written) {
        ASSERT_EQ(r->read(width, "f"), value) << width;
    }
    EXPECT_EQ(r->truncated_at(), nullptr);
    EXPECT_LT(r->size() - r->position(), 14U);  // padding only: to the byte, then the character
    EXPECT_EQ(r->read(14, "past the end"), 0U);
    EXPECT_STREQ(r->truncated_at(), "past the end");
}

// ---- TCF consent strings ---------------------------------------------------------------------

tc_consent sample_consent()
{
    tc_consent c;
    c.created_ds = 17'000'000'000;  // 2023-11-14T22:13:20Z
    c.last_updated_ds = 17'000'864'000;
    c.cmp_id = 300;
    c.cmp_version = 7;
    c.consent_screen = 2;
    c.consent_language = "FR";
    c.vendor_list_version = 215;
    c.tcf_policy_version = 4;
    c.is_service_specific = true;
    c.use_non_standard_texts = true;
    c.special_feature_optins.set(0);
    c.purposes_consent.set(0).set(2).set(3).set(9);
    c.purposes_li.set(1).set(6).set(23);
    c.purpose_one_treatment = false;
    c.publisher_cc = "NL";
    c.max_vendor_id = 755;
    c.vendor_consents.assign(755, false);
    c.vendor_li.assign(755, false);
    for (int v : {1, 23, 755}) {
        c.vendor_consents[static_cast<std::size_t>(v - 1)] = true;
    }
    c.vendor_li[99] = true;
    return c;
}

TEST(tcf, encode_then_decode_gives_back_every_field)
{
    auto c = sample_consent();
    auto s = encode_tc_string(c);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->front(), 'C');  // Version 2 = 000010 -> 'C'
    EXPECT_EQ(
        s->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos);
    auto back = decode_tc_string(*s);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->created_ds, c.created_ds);
    EXPECT_EQ(back->last_updated_ds, c.last_updated_ds);
    EXPECT_EQ(back->cmp_id, 300);
    EXPECT_EQ(back->consent_language, "FR");
    EXPECT_EQ(back->publisher_cc, "NL");
    EXPECT_EQ(back->purposes_consent, c.purposes_consent);
    EXPECT_EQ(back->purposes_li, c.purposes_li);
    EXPECT_TRUE(has_vendor_consent(*back, 755));
    EXPECT_FALSE(has_vendor_consent(*back, 754));
    EXPECT_FALSE(has_vendor_consent(*back, 756));
    EXPECT_EQ(*back, c);  // and every other field
}

TEST(tcf, default_consent_round_trips_and_starts_with_c)
{
    tc_consent c;
    auto s = encode_tc_string(c);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->front(), 'C');
    auto back = decode_tc_string(*s);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, c);
}

// Published by IAB Tech Lab's iabtcf-java (CoreStringDecoderTest), made with iabtcf.com/#/encode.
TEST(tcf, matches_the_published_iabtcf_example_both_ways)
{
    const std::string published = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA";
    auto d = decode_tc_string(published);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->created_ds, 15'800'580'600U);       // 2020-01-26T17:01:00Z
    EXPECT_EQ(d->last_updated_ds, 16'122'852'600U);  // 2021-02-02T17:01:00Z
    EXPECT_EQ(d->cmp_id, 675);
    EXPECT_EQ(d->cmp_version, 2);
    EXPECT_EQ(d->consent_screen, 1);
    EXPECT_EQ(d->consent_language, "EN");
    EXPECT_EQ(d->vendor_list_version, 15);
    EXPECT_EQ(d->tcf_policy_version, 2);
    EXPECT_FALSE(d->is_service_specific);
    EXPECT_FALSE(d->use_non_standard_texts);
    EXPECT_EQ(d->special_feature_optins, std::bitset<12>(0b1));
    EXPECT_EQ(d->purposes_consent, std::bitset<24>((1U << 1) | (1U << 9)));  // purposes 2, 10
    EXPECT_EQ(d->purposes_li, std::bitset<24>((1U << 1) | (1U << 8)));       // purposes 2, 9
    EXPECT_TRUE(d->purpose_one_treatment);
    EXPECT_EQ(d->publisher_cc, "AA");
    EXPECT_EQ(d->max_vendor_id, 0);
    auto again = encode_tc_string(*d);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, published);
}

// A published v2 string with vendor sections (IAB-TCF-V2 Swift DecodeTests).
TEST(tcf, decodes_published_vendor_sections)
{
    auto d = decode_tc_string("COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQ"
                              "AQAAAACAAAABAAA.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA");
    ASSERT_TRUE(d) << d.error().message;
    for (int p = 3; p <= 9; ++p) {
        EXPECT_TRUE(d->purposes_consent[static_cast<std::size_t>(p - 1)]) << p;
    }
    for (int v : {23, 37, 47, 48, 53, 65, 98}) {
        EXPECT_TRUE(has_vendor_consent(*d, v)) << v;
    }
    for (int v : {37, 47, 48, 53, 65, 98, 129}) {
        EXPECT_TRUE(d->vendor_li[static_cast<std::size_t>(v - 1)]) << v;
    }
    EXPECT_FALSE(has_vendor_consent(*d, 24));
}

// The fixed fields of a core string up to PublisherCC, for hand-built strings.
void write_header(detail::bit_writer& w, std::uint64_t version = 2)
{
    w.write(version, 6);
    w.write(16'000'000'000, 36);
    w.write(16'000'000'000, 36);
    w.write(10, 12);                          // CmpId
    w.write(1, 12);                           // CmpVersion
    w.write(0, 6);                            // ConsentScreen
    w.write(4, 6);                            // 'E'
    w.write(13, 6);                           // 'N'
    w.write(100, 12);                         // VendorListVersion
    w.write(4, 6);                            // TcfPolicyVersion
    w.write(1, 1);                            // IsServiceSpecific
    w.write(0, 1);                            // UseNonStandardTexts
    w.write(0, 12);                           // SpecialFeatureOptIns
    w.write(0b101100000000000000000000, 24);  // PurposesConsent: 1, 3, 4
    w.write(0, 24);                           // PurposesLITransparency
    w.write(0, 1);                            // PurposeOneTreatment
    w.write(3, 6);                            // 'D'
    w.write(4, 6);                            // 'E'
}

TEST(tcf, decodes_range_encoded_vendor_sections_and_skips_restrictions)
{
    detail::bit_writer w;
    write_header(w);
    w.write(20, 16);  // MaxVendorId
    w.write(1, 1);    // IsRangeEncoding
    w.write(2, 12);   // NumEntries
    w.write(0, 1);    // a single vendor
    w.write(3, 16);
    w.write(1, 1);  // a range
    w.write(10, 16);
    w.write(12, 16);
    w.write(5, 16);  // LI: MaxVendorId 5, bitfield 00001
    w.write(0, 1);
    w.write(0b00001, 5);
    w.write(1, 12);  // NumPubRestrictions
    w.write(2, 6);   // PurposeId
    w.write(1, 2);   // RestrictionType
    w.write(1, 12);  // NumEntries
    w.write(0, 1);   // single vendor
    w.write(7, 16);
    auto d = decode_tc_string(w.to_base64url());
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_TRUE(allows_personalisation(*d));
    EXPECT_EQ(d->max_vendor_id, 20);
    ASSERT_EQ(d->vendor_consents.size(), 20U);
    ASSERT_EQ(d->vendor_li.size(), 20U);
    for (int v = 1; v <= 20; ++v) {
        EXPECT_EQ(has_vendor_consent(*d, v), v == 3 || (v >= 10 && v <= 12)) << v;
        EXPECT_EQ(d->vendor_li[static_cast<std::size_t>(v - 1)], v == 5) << v;
    }
}

TEST(tcf, rejects_vendor_ranges_outside_max_vendor_id)
{
    detail::bit_writer w;
    write_header(w);
    w.write(5, 16);
    w.write(1, 1);
    w.write(1, 12);
    w.write(1, 1);
    w.write(4, 16);
    w.write(6, 16);  // 4-6 but MaxVendorId is 5
    w.write(0, 17);
    w.write(0, 12);
    auto d = decode_tc_string(w.to_base64url());
    ASSERT_FALSE(d);
    EXPECT_TRUE(contains(d.error().message, "bad field")) << d.error().message;
}

TEST(tcf, allows_personalisation_needs_purposes_1_3_and_4)
{
    tc_consent c;
    EXPECT_FALSE(allows_personalisation(c));
    c.purposes_consent.set(0).set(2).set(3);
    EXPECT_TRUE(allows_personalisation(c));
    for (std::size_t missing : {0U, 2U, 3U}) {
        auto without = c;
        without.purposes_consent.reset(missing);
        EXPECT_FALSE(allows_personalisation(without)) << "purpose " << missing + 1;
    }
    c.purposes_consent.reset(3);
    c.purposes_li.set(3);  // legitimate interest is not consent
    EXPECT_FALSE(allows_personalisation(c));
}

TEST(tcf, decode_ignores_segments_after_the_core)
{
    auto s = encode_tc_string(sample_consent()).value();
    auto d = decode_tc_string(s + ".IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(*d, sample_consent());
}

TEST(tcf, decode_into_an_existing_consent_replaces_everything)
{
    tc_consent out = sample_consent();
    tc_consent small;
    small.purposes_consent.set(4);
    ASSERT_TRUE(decode_tc_string(encode_tc_string(small).value(), out));
    EXPECT_EQ(out, small);
}

TEST(tcf, rejects_garbage_with_a_typed_reason)
{
    struct bad_case
    {
        std::string input;
        std::string reason;
    };
    auto valid = encode_tc_string(sample_consent()).value();
    const bad_case cases[] = {
        {"", "truncated"},
        {".abc", "truncated"},
        {"C!tybn4PA", "bad base64url"},
        {"COtybn4PA+zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA", "bad base64url"},
        {"COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA==", "bad base64url"},
        {"BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "unsupported version 1"},
        {"AAAA", "unsupported version 0"},
        {"C", "truncated: core field Created"},
        {valid.substr(0, 30), "truncated: core"},
        {valid.substr(0, 60), "truncated: vendor consent section field BitField"},
        {valid.substr(0, valid.size() - 100), "truncated: vendor legitimate interest section"},
    };
    for (const auto& c : cases) {
        auto d = decode_tc_string(c.input);
        ASSERT_FALSE(d) << c.input;
        EXPECT_EQ(d.error().code, error_code::invalid_argument);
        EXPECT_TRUE(contains(d.error().message, "tc string: " + c.reason))
            << c.input << " -> " << d.error().message;
    }
}

TEST(tcf, rejects_a_letter_beyond_z)
{
    // ConsentLanguage starts at bit 6+36+36+12+12+6 = 108; write 63 (beyond 'Z') there.
    detail::bit_writer bad;
    bad.write(2, 6);
    bad.write(0, 36);
    bad.write(0, 36);
    bad.write(0, 12 + 12 + 6);
    bad.write(63, 6);
    for (int i = 0; i < 5; ++i) {
        bad.write(0, 60);
    }
    auto d = decode_tc_string(bad.to_base64url());
    ASSERT_FALSE(d);
    EXPECT_TRUE(contains(d.error().message, "bad field: ConsentLanguage")) << d.error().message;
}

TEST(tcf, encode_rejects_values_that_do_not_fit)
{
    auto check = [](auto mutate, std::string_view what) {
        auto c = sample_consent();
        mutate(c);
        auto s = encode_tc_string(c);
        ASSERT_FALSE(s) << what;
        EXPECT_EQ(s.error().code, error_code::invalid_argument);
        EXPECT_TRUE(contains(s.error().message, what)) << s.error().message;
    };
    check([](tc_consent& c) { c.cmp_id = 4096; }, "cmp_id");
    check([](tc_consent& c) { c.cmp_version = -1; }, "cmp_version");
    check([](tc_consent& c) { c.created_ds = std::uint64_t{1} << 36; }, "created_ds");
    check([](tc_consent& c) { c.max_vendor_id = 70'000; }, "max_vendor_id");
    check([](tc_consent& c) { c.consent_language = "en"; }, "consent_language");
    check([](tc_consent& c) { c.publisher_cc = "DEU"; }, "publisher_cc");
    check([](tc_consent& c) { c.vendor_li.push_back(true); }, "max_vendor_id is 755");
}

}  // namespace
}  // namespace adsx::privacy
