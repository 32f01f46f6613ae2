#pragma once
// IAB Transparency and Consent Framework (TCF v2.2) consent: the core segment of a TC string,
// encoded and decoded bit for bit as the TCF v2 "Consent string and vendor list formats"
// specification lays it out (base64url, no padding characters).
//
//   adsx::privacy::tc_consent c;
//   c.cmp_id = 300;
//   c.purposes_consent.set(0).set(2).set(3);  // purposes 1, 3, 4
//   auto s = adsx::privacy::encode_tc_string(c);          // "C..." (every v2 string starts 'C')
//   auto back = adsx::privacy::decode_tc_string(*s);
//   bool personal = back && adsx::privacy::allows_personalisation(*back);
//
// Only the core segment is read: segments after the first '.' (disclosed vendors, publisher TC)
// are ignored; publisher restrictions are checked for length but not kept. Decoding reads the bits
// straight from the text; the vendor vectors are its only allocations, and the overload that
// decodes into an existing tc_consent reuses their capacity (the per-event path).
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::privacy {

// The core segment. Bit i of a bitset, element i of a vector, stands for purpose, special
// feature or vendor number i + 1 (TCF numbers them from 1). Field widths are the spec's; encode
// rejects values that do not fit.
struct tc_consent
{
    std::uint64_t created_ds = 0;         // Created, 36 bits: deciseconds since the Unix epoch
    std::uint64_t last_updated_ds = 0;    // LastUpdated, 36 bits
    int cmp_id = 0;                       // CmpId, 12 bits: the CMP's IAB registration
    int cmp_version = 0;                  // CmpVersion, 12 bits
    int consent_screen = 0;               // ConsentScreen, 6 bits
    std::string consent_language = "EN";  // ConsentLanguage: two letters A-Z (ISO 639-1)
    int vendor_list_version = 0;          // VendorListVersion, 12 bits: GVL version shown
    int tcf_policy_version = 4;           // TcfPolicyVersion, 6 bits: 4 = TCF v2.2
    bool is_service_specific = true;      // global scope is retired: CMPs set 1
    bool use_non_standard_texts = false;
    std::bitset<12> special_feature_optins;  // SpecialFeatureOptIns (1 = precise geolocation)
    std::bitset<24> purposes_consent;        // PurposesConsent
    std::bitset<24> purposes_li;             // PurposesLITransparency (legitimate interest)
    bool purpose_one_treatment = false;      // 1: Purpose 1 was not disclosed (publisher's CC)
    std::string publisher_cc = "DE";         // PublisherCC: two letters A-Z (ISO 3166-1)
    // MaxVendorId (16 bits) of both vendor sections. Encode accepts shorter vectors (the missing
    // vendors are false); decode returns both vectors with exactly max_vendor_id entries. A
    // string whose two sections have different maxima decodes with the larger one.
    int max_vendor_id = 0;
    std::vector<bool> vendor_consents;  // Vendor Consent Section
    std::vector<bool> vendor_li;        // Vendor Legitimate Interest Section

    bool operator==(const tc_consent&) const = default;
};

// The base64url core segment: Version 2, vendor sections as bitfields, no publisher
// restrictions. invalid_argument if a field does not fit its width, a letter code is not two
// letters A-Z, or a vendor vector is longer than max_vendor_id.
[[nodiscard]] result<std::string> encode_tc_string(const tc_consent& c);

// Parses the core segment (text before the first '.'). invalid_argument with the reason first:
// "bad base64url", "unsupported version", "truncated" (naming the field), "bad field".
[[nodiscard]] result<tc_consent> decode_tc_string(std::string_view tc_string);
// The same into `out`, reusing its vectors' capacity; `out` is unspecified after a failure.
[[nodiscard]] result<void> decode_tc_string(std::string_view tc_string, tc_consent& out);

// Whether personalised advertising may run: consent to Purpose 1 (store and/or access
// information on a device), Purpose 3 (create a personalised ads profile) and Purpose 4 (use
// a personalised ads profile to select ads). Vendor consent is checked separately.
[[nodiscard]] bool allows_personalisation(const tc_consent& c) noexcept;

// Whether vendor `vendor_id` (GVL id, from 1) has the user's consent.
[[nodiscard]] bool has_vendor_consent(const tc_consent& c, int vendor_id) noexcept;

}  // namespace adsx::privacy
