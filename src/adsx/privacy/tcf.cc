#include "adsx/privacy/tcf.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "adsx/base/store_layout.h"
#include "adsx/privacy/bits.h"

namespace adsx::privacy {
namespace {

using detail::bit_reader;
using detail::bit_writer;

constexpr std::uint64_t tcf_version = 2;
constexpr int letters = 26;  // a letter code is two 6-bit numbers, A = 0 ... Z = 25

// ---- encoding -------------------------------------------------------------------------------

struct field_value
{
    const char* name;
    std::int64_t value;
    int width;
};

result<void> check_widths(const tc_consent& c)
{
    const field_value fields[] = {
        {"created_ds", static_cast<std::int64_t>(c.created_ds), 36},
        {"last_updated_ds", static_cast<std::int64_t>(c.last_updated_ds), 36},
        {"cmp_id", c.cmp_id, 12},
        {"cmp_version", c.cmp_version, 12},
        {"consent_screen", c.consent_screen, 6},
        {"vendor_list_version", c.vendor_list_version, 12},
        {"tcf_policy_version", c.tcf_policy_version, 6},
        {"max_vendor_id", c.max_vendor_id, 16},
    };
    for (const auto& f : fields) {
        if (f.value < 0 || f.value >= (std::int64_t{1} << f.width)) {
            return fail(error_code::invalid_argument,
                        fmt::format("tc consent: {} = {} does not fit in {} bits", f.name, f.value,
                                    f.width));
        }
    }
    return {};
}

bool is_letter_code(std::string_view s)
{
    return s.size() == 2 &&
           std::all_of(s.begin(), s.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

result<void> check(const tc_consent& c)
{
    if (auto ok = check_widths(c); !ok) {
        return ok;
    }
    for (auto [name, code] : {std::pair{"consent_language", &c.consent_language},
                              std::pair{"publisher_cc", &c.publisher_cc}}) {
        if (!is_letter_code(*code)) {
            return fail(error_code::invalid_argument,
                        fmt::format("tc consent: {} must be two letters A-Z", name));
        }
    }
    auto max = static_cast<std::size_t>(c.max_vendor_id);
    if (c.vendor_consents.size() > max || c.vendor_li.size() > max) {
        return fail(error_code::invalid_argument,
                    fmt::format("tc consent: {} vendor consents and {} vendor legitimate "
                                "interests but max_vendor_id is {}",
                                c.vendor_consents.size(), c.vendor_li.size(), max));
    }
    return {};
}

void write_letters(bit_writer& w, std::string_view code)
{
    for (char ch : code) {
        w.write(static_cast<std::uint64_t>(ch - 'A'), 6);
    }
}

template <std::size_t N>
void write_bitset(bit_writer& w, const std::bitset<N>& b)
{
    for (std::size_t i = 0; i < N; ++i) {
        w.write_bool(b[i]);
    }
}

void write_core_fields(bit_writer& w, const tc_consent& c)
{
    w.write(tcf_version, 6);
    w.write(c.created_ds, 36);
    w.write(c.last_updated_ds, 36);
    w.write(static_cast<std::uint64_t>(c.cmp_id), 12);
    w.write(static_cast<std::uint64_t>(c.cmp_version), 12);
    w.write(static_cast<std::uint64_t>(c.consent_screen), 6);
    write_letters(w, c.consent_language);
    w.write(static_cast<std::uint64_t>(c.vendor_list_version), 12);
    w.write(static_cast<std::uint64_t>(c.tcf_policy_version), 6);
    w.write_bool(c.is_service_specific);
    w.write_bool(c.use_non_standard_texts);
    write_bitset(w, c.special_feature_optins);
    write_bitset(w, c.purposes_consent);
    write_bitset(w, c.purposes_li);
    w.write_bool(c.purpose_one_treatment);
    write_letters(w, c.publisher_cc);
}

// MaxVendorId, IsRangeEncoding = 0, then one bit per vendor 1..MaxVendorId.
void write_vendor_bitfield(bit_writer& w, int max_vendor_id, const std::vector<bool>& vendors)
{
    auto max = static_cast<std::size_t>(max_vendor_id);
    w.write(max, 16);
    w.write_bool(false);
    for (std::size_t i = 0; i < max; ++i) {
        w.write_bool(i < vendors.size() && vendors[i]);
    }
}

// ---- decoding -------------------------------------------------------------------------------

result<void> bad_field(std::string detail)
{
    return fail(error_code::invalid_argument, "tc string: bad field: " + std::move(detail));
}

result<void> check_truncated(const bit_reader& r, std::string_view where)
{
    if (r.truncated_at() == nullptr) {
        return {};
    }
    return fail(error_code::invalid_argument,
                fmt::format("tc string: truncated: {} field {} starts at bit {} but the string "
                            "has only {} bits",
                            where, r.truncated_at(), r.truncated_bit(), r.size()));
}

// Two 6-bit letters; false if either is beyond 'Z'. Two characters fit the string's SSO buffer.
bool read_letters(bit_reader& r, std::string& out, const char* field)
{
    auto first = r.read(6, field);
    auto second = r.read(6, field);
    out.assign({static_cast<char>('A' + first % 64), static_cast<char>('A' + second % 64)});
    return first < letters && second < letters;
}

template <std::size_t N>
void read_bitset(bit_reader& r, std::bitset<N>& b, const char* field)
{
    for (std::size_t i = 0; i < N; ++i) {
        b[i] = r.read_bool(field);
    }
}

int read_int(bit_reader& r, int width, const char* field)
{
    return static_cast<int>(r.read(width, field));
}

// Every field after Version up to PublisherCC.
result<void> read_core_fields(bit_reader& r, tc_consent& c)
{
    c.created_ds = r.read(36, "Created");
    c.last_updated_ds = r.read(36, "LastUpdated");
    c.cmp_id = read_int(r, 12, "CmpId");
    c.cmp_version = read_int(r, 12, "CmpVersion");
    c.consent_screen = read_int(r, 6, "ConsentScreen");
    bool language_ok = read_letters(r, c.consent_language, "ConsentLanguage");
    c.vendor_list_version = read_int(r, 12, "VendorListVersion");
    c.tcf_policy_version = read_int(r, 6, "TcfPolicyVersion");
    c.is_service_specific = r.read_bool("IsServiceSpecific");
    c.use_non_standard_texts = r.read_bool("UseNonStandardTexts");
    read_bitset(r, c.special_feature_optins, "SpecialFeatureOptIns");
    read_bitset(r, c.purposes_consent, "PurposesConsent");
    read_bitset(r, c.purposes_li, "PurposesLITransparency");
    c.purpose_one_treatment = r.read_bool("PurposeOneTreatment");
    bool country_ok = read_letters(r, c.publisher_cc, "PublisherCC");
    if (auto ok = check_truncated(r, "core"); !ok) {
        return ok;
    }
    if (!language_ok || !country_ok) {
        return bad_field(fmt::format("{} has a letter beyond Z",
                                     language_ok ? "PublisherCC" : "ConsentLanguage"));
    }
    return {};
}

// NumEntries, then entries of IsARange, StartOrOnlyVendorId and (for a range) EndVendorId;
// calls on_range(start, end) for each until it returns false. Returns whether all were accepted.
template <class F>
bool read_range_entries(bit_reader& r, F on_range)
{
    auto entries = r.read(12, "NumEntries");
    for (std::uint64_t i = 0; i < entries && r.truncated_at() == nullptr; ++i) {
        bool is_range = r.read_bool("IsARange");
        auto start = r.read(16, "StartOrOnlyVendorId");
        auto end = is_range ? r.read(16, "EndVendorId") : start;
        if (r.truncated_at() == nullptr && !on_range(start, end)) {
            return false;
        }
    }
    return true;
}

// One bit per vendor into an all-false `vendors`, 60 at a time. Setting vector<bool> bits one by
// one dominates decoding, so all-ones chunks are filled word-wise and zeros are skipped: accept
// all, reject all and sparse consent (the usual profiles) cost a fraction of a bit-by-bit loop.
void read_bitfield(bit_reader& r, std::vector<bool>& vendors)
{
    constexpr std::size_t chunk = 60;
    for (std::size_t i = 0; i < vendors.size(); i += chunk) {
        auto n = std::min(chunk, vendors.size() - i);
        auto bits = r.read(static_cast<int>(n), "BitField");
        auto first = vendors.begin() + static_cast<std::ptrdiff_t>(i);
        if (bits == (std::uint64_t{1} << n) - 1) {
            std::fill(first, first + static_cast<std::ptrdiff_t>(n), true);
            continue;
        }
        for (; bits != 0; bits &= bits - 1) {  // the first vendor of the chunk is the top bit
            auto from_end = static_cast<std::size_t>(std::countr_zero(bits));
            vendors[i + n - 1 - from_end] = true;
        }
    }
}

// A vendor section as a bitfield or as ranges; `vendors` gets exactly MaxVendorId entries.
result<void> read_vendor_section(bit_reader& r, std::vector<bool>& vendors, const char* where)
{
    auto max = r.read(16, "MaxVendorId");
    bool is_range_encoding = r.read_bool("IsRangeEncoding");
    if (auto ok = check_truncated(r, where); !ok) {
        return ok;
    }
    vendors.assign(max, false);
    bool ranges_ok = true;
    if (!is_range_encoding) {
        read_bitfield(r, vendors);
    } else {
        ranges_ok = read_range_entries(r, [&](std::uint64_t start, std::uint64_t end) {
            if (start < 1 || start > end || end > max) {
                return false;
            }
            std::fill(vendors.begin() + static_cast<std::ptrdiff_t>(start - 1),
                      vendors.begin() + static_cast<std::ptrdiff_t>(end), true);
            return true;
        });
    }
    if (auto ok = check_truncated(r, where); !ok) {
        return ok;
    }
    if (!ranges_ok) {
        return bad_field(fmt::format("{} has a vendor range outside 1..{}", where, max));
    }
    return {};
}

// Publisher restrictions are not kept, but must be there in full.
result<void> skip_publisher_restrictions(bit_reader& r)
{
    auto restrictions = r.read(12, "NumPubRestrictions");
    for (std::uint64_t i = 0; i < restrictions && r.truncated_at() == nullptr; ++i) {
        (void)r.read(6, "PurposeId");
        (void)r.read(2, "RestrictionType");
        (void)read_range_entries(r, [](std::uint64_t, std::uint64_t) { return true; });
    }
    return check_truncated(r, "publisher restrictions");
}

result<void> read_vendor_sections(bit_reader& r, tc_consent& c)
{
    if (auto ok = read_vendor_section(r, c.vendor_consents, "vendor consent section"); !ok) {
        return ok;
    }
    if (auto ok = read_vendor_section(r, c.vendor_li, "vendor legitimate interest section"); !ok) {
        return ok;
    }
    auto max = std::max(c.vendor_consents.size(), c.vendor_li.size());
    c.max_vendor_id = static_cast<int>(max);
    c.vendor_consents.resize(max, false);
    c.vendor_li.resize(max, false);
    return {};
}

}  // namespace

result<std::string> encode_tc_string(const tc_consent& c)
{
    if (auto ok = check(c); !ok) {
        return fail(ok.error());
    }
    bit_writer w;
    write_core_fields(w, c);
    write_vendor_bitfield(w, c.max_vendor_id, c.vendor_consents);
    write_vendor_bitfield(w, c.max_vendor_id, c.vendor_li);
    w.write(0, 12);  // NumPubRestrictions
    return w.to_base64url();
}

result<void> decode_tc_string(std::string_view tc_string, tc_consent& out)
{
    auto core = tc_string.substr(0, tc_string.find('.'));
    if (core.empty()) {
        return fail(error_code::invalid_argument,
                    "tc string: truncated: the core segment is empty");
    }
    auto reader = bit_reader::over_base64url(core);
    if (!reader) {
        return fail(reader.error().wrap("tc string: bad base64url"));
    }
    bit_reader& r = *reader;
    if (auto version = r.read(6, "Version"); version != tcf_version) {
        return fail(error_code::invalid_argument,
                    fmt::format("tc string: unsupported version {} (only TCF v2 strings, which "
                                "start with 'C', are read)",
                                version));
    }
    if (auto ok = read_core_fields(r, out); !ok) {
        return ok;
    }
    if (auto ok = read_vendor_sections(r, out); !ok) {
        return ok;
    }
    return skip_publisher_restrictions(r);
}

result<tc_consent> decode_tc_string(std::string_view tc_string)
{
    tc_consent c;
    if (auto ok = decode_tc_string(tc_string, c); !ok) {
        return fail(ok.error());
    }
    return c;
}

bool allows_personalisation(const tc_consent& c) noexcept
{
    // Bit i is purpose i + 1; the purposes are schemas/online_store.json's (1 store/access,
    // 3 build a profile, 4 use it), which the PySpark jobs read too.
    for (const auto purpose : store_layout::consent_personalisation_purposes) {
        if (!c.purposes_consent[static_cast<std::size_t>(purpose - 1)]) {
            return false;
        }
    }
    return true;
}

bool has_vendor_consent(const tc_consent& c, int vendor_id) noexcept
{
    return vendor_id >= 1 && static_cast<std::size_t>(vendor_id) <= c.vendor_consents.size() &&
           c.vendor_consents[static_cast<std::size_t>(vendor_id - 1)];
}

}  // namespace adsx::privacy
