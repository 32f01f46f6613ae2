#include "adsx/privacy/pseudonym.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adsx/base/strings.h"

namespace adsx::privacy {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t pseudonym_bytes = 16;  // 128 of the 256 MAC bits; see pseudonym.h
constexpr std::size_t max_key_id_chars = 32;
constexpr std::size_t max_key_file_bytes = 4096;

// OpenSSL fails on a keyed context only when it cannot allocate; like bad_alloc, that is not an
// expected failure a caller could handle, and pseudonymize() has no error channel.
[[noreturn]] void die(const char* what)
{
    std::fprintf(stderr, "adsx::privacy: OpenSSL %s failed\n", what);
    std::abort();
}

const unsigned char* bytes_of(std::string_view s)
{
    static const unsigned char empty = 0;  // OpenSSL wants a pointer even for 0 bytes
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

bool valid_key_id(std::string_view id)
{
    if (id.empty() || id.size() > max_key_id_chars) {
        return false;
    }
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Hex text (surrounding whitespace ignored) -> key bytes. Messages never quote the text: it is
// a secret.
result<std::string> parse_hex_key(std::string_view text)
{
    text = trim(text);
    if (text.size() % 2 != 0) {
        return fail(error_code::invalid_argument,
                    fmt::format("odd number of hex digits ({}); expected hex such as the output "
                                "of `openssl rand -hex 32`",
                                text.size()));
    }
    std::string key(text.size() / 2, '\0');
    for (std::size_t i = 0; i < key.size(); ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key.data(), key.size());
            return fail(error_code::invalid_argument,
                        fmt::format("character {} is not a hex digit; expected hex such as the "
                                    "output of `openssl rand -hex 32`",
                                    2 * i + (hi < 0 ? 1 : 2)));
        }
        key[i] = static_cast<char>(hi * 16 + lo);
    }
    return key;
}

result<std::string> read_key_file(const fs::path& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return fail(error_code::not_found, "does not exist");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(error_code::invalid_argument, "cannot be read (permissions?)");
    }
    std::string text(max_key_file_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_key_file_bytes) {
        OPENSSL_cleanse(text.data(), text.size());
        return fail(error_code::invalid_argument,
                    fmt::format("is larger than {} bytes; expected a hex key", max_key_file_bytes));
    }
    return text;
}

}  // namespace

std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data)
{
    std::array<unsigned char, 32> mac{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), bytes_of(key), static_cast<int>(key.size()), bytes_of(data), data.size(),
             mac.data(), &len) == nullptr ||
        len != mac.size()) {
        die("HMAC");
    }
    return mac;
}

void pseudonymizer::ctx_deleter::operator()(evp_mac_ctx_st* c) const noexcept
{
    EVP_MAC_CTX_free(c);
}

result<pseudonymizer> pseudonymizer::create(std::string_view key, std::string key_id)
{
    if (key.size() < min_key_bytes) {
        return fail(error_code::invalid_argument,
                    fmt::format("pseudonym key is {} bytes; at least {} are needed (generate one "
                                "with `openssl rand -hex 32`)",
                                key.size(), min_key_bytes));
    }
    if (!valid_key_id(key_id)) {
        return fail(error_code::invalid_argument,
                    fmt::format("pseudonym key id {} must be 1 to {} letters, digits, '.', '_' "
                                "or '-'",
                                json_quote(key_id), max_key_id_chars));
    }
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) {
        return fail(error_code::internal, "OpenSSL provides no HMAC");
    }
    ctx_ptr ctx(EVP_MAC_CTX_new(mac));
    EVP_MAC_free(mac);  // the context holds its own reference
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params) != 1) {
        return fail(error_code::internal, "OpenSSL cannot set up HMAC-SHA256");
    }
    return pseudonymizer(std::move(ctx), std::move(key_id));
}

result<pseudonymizer> pseudonymizer::from_key_file(const fs::path& path, std::string key_id)
{
    auto context = fmt::format("pseudonym key file {}", path.string());
    auto text = read_key_file(path);
    if (!text) {
        return fail(text.error().wrap(context));
    }
    auto key = parse_hex_key(*text);
    OPENSSL_cleanse(text->data(), text->size());
    if (!key) {
        return fail(key.error().wrap(context));
    }
    auto p = create(*key, std::move(key_id));
    OPENSSL_cleanse(key->data(), key->size());
    if (!p) {
        return fail(p.error().wrap(context));
    }
    return p;
}

result<pseudonymizer> pseudonymizer::clone() const
{
    ctx_ptr ctx(EVP_MAC_CTX_dup(_ctx.get()));
    if (!ctx) {
        return fail(error_code::internal, "OpenSSL cannot copy the HMAC context");
    }
    return pseudonymizer(std::move(ctx), _key_id);
}

std::string pseudonymizer::pseudonymize(std::string_view raw_user_id) const
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    std::size_t len = 0;
    // A null key re-initialises with the key set in create(): no key schedule per call.
    if (EVP_MAC_init(_ctx.get(), nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(_ctx.get(), bytes_of(raw_user_id), raw_user_id.size()) != 1 ||
        EVP_MAC_final(_ctx.get(), mac.data(), &len, mac.size()) != 1 || len < pseudonym_bytes) {
        die("HMAC-SHA256");
    }
    std::string out;
    out.reserve(_key_id.size() + 1 + 2 * pseudonym_bytes);
    out += _key_id;
    out += ':';
    append_hex(out, mac.data(), pseudonym_bytes);
    return out;
}

}  // namespace adsx::privacy
