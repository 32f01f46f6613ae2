#pragma once
// Keyed pseudonyms for user ids: HMAC-SHA256 of the raw id under a secret key, truncated to 128
// bits, in hex, behind the key id. The same user gets the same pseudonym under one key (so joins
// and frequency caps keep working); without the key nobody can compute or reverse it, and a new
// key id (rotation) gives unrelated pseudonyms.
//
//   auto p = adsx::privacy::pseudonymizer::from_key_file("/etc/adsx/pseudonym.key", "k1");
//   if (!p) return fail(p.error());
//   std::string uid = p->pseudonymize("user-42");  // "k1:" + 32 lowercase hex digits
//
// Why 128 of the 256 MAC bits are enough: a pseudonym only has to be unforgeable without the key
// and collision-free across our users. Truncated HMAC stays a pseudorandom function (RFC 2104
// section 5 recommends keeping at least half the hash output, which 128 bits is; NIST SP 800-107
// allows truncation down to 32 bits); guessing the pseudonym of an id without the key is a 2^-128
// shot; and by the birthday bound even 10^10 distinct users collide with probability about
// n^2 / 2^129 = 1.5e-19. Shorter pseudonyms mean smaller keys in Kafka, Redis and Postgres.
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "adsx/base/error.h"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX; OpenSSL stays out of our headers

namespace adsx::privacy {

// Shortest secret accepted by pseudonymizer: 128 bits, the strength of the truncated output.
inline constexpr std::size_t min_key_bytes = 16;

// Plain HMAC-SHA256 (RFC 2104) of `data` under `key`, any key length. For tests and tools: the
// per-event path is pseudonymizer, which keys its context once.
[[nodiscard]] std::array<unsigned char, 32> hmac_sha256(std::string_view key,
                                                        std::string_view data);

// Turns raw user ids into pseudonyms. Built once per process (or per thread) from the secret key;
// keeps a keyed OpenSSL HMAC context so a call costs two SHA-256 block runs and no key set-up.
//
// Thread-safety: NOT thread-safe, although pseudonymize() is const: it re-initialises and
// feeds the cached context. Give each thread its own object (clone()). Move-only; the key bytes
// live only inside the OpenSSL context, which frees (and cleanses) them on destruction.
class pseudonymizer
{
public:
    // `key` is raw secret bytes (>= min_key_bytes, else invalid_argument); `key_id` names the key
    // in every pseudonym ("k1"): letters, digits, '.', '_' or '-', at most 32 characters.
    [[nodiscard]] static result<pseudonymizer> create(std::string_view key, std::string key_id);
    // Reads the key from a file holding it as hex (what `openssl rand -hex 32 > file` writes);
    // surrounding whitespace such as the trailing newline is ignored. Hex rather than raw bytes
    // so that a trailing newline is never mistaken for key material. not_found if the file does
    // not exist; invalid_argument if it is not hex or the key is shorter than min_key_bytes.
    [[nodiscard]] static result<pseudonymizer> from_key_file(const std::filesystem::path& path,
                                                             std::string key_id);

    pseudonymizer(pseudonymizer&&) noexcept = default;
    pseudonymizer& operator=(pseudonymizer&&) noexcept = default;
    pseudonymizer(const pseudonymizer&) = delete;
    pseudonymizer& operator=(const pseudonymizer&) = delete;
    ~pseudonymizer() = default;

    // An independent copy with the same key, for another thread.
    [[nodiscard]] result<pseudonymizer> clone() const;

    // "<key_id>:" + hex of the first 16 bytes of HMAC-SHA256(key, raw_user_id). Allocates only
    // the returned string. Aborts if OpenSSL fails, which it only does when out of memory.
    [[nodiscard]] std::string pseudonymize(std::string_view raw_user_id) const;

    [[nodiscard]] const std::string& key_id() const noexcept { return _key_id; }

private:
    struct ctx_deleter
    {
        void operator()(evp_mac_ctx_st* c) const noexcept;
    };
    using ctx_ptr = std::unique_ptr<evp_mac_ctx_st, ctx_deleter>;

    pseudonymizer(ctx_ptr ctx, std::string key_id)
      : _ctx(std::move(ctx)), _key_id(std::move(key_id))
    {
    }

    ctx_ptr _ctx;  // keyed HMAC-SHA256, re-initialised (same key) per call
    std::string _key_id;
};

}  // namespace adsx::privacy
