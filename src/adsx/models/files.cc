#include "adsx/models/files.h"

#include <array>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "adsx/base/strings.h"

namespace adsx::models {

namespace {

struct md_ctx_deleter
{
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

result<std::ifstream> open_file(const std::filesystem::path& file)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        return fail(error_code::not_found, fmt::format("{} does not exist", file.string()));
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        return fail(error_code::failed_precondition,
                    fmt::format("{} cannot be read (permissions?)", file.string()));
    }
    return in;
}

}  // namespace

result<std::string> read_text(const std::filesystem::path& file)
{
    auto in = open_file(file);
    if (!in) {
        return fail(in.error());
    }
    std::ostringstream text;
    text << in->rdbuf();
    if (in->bad()) {
        return fail(error_code::failed_precondition, fmt::format("{}: read error", file.string()));
    }
    return std::move(text).str();
}

result<std::string> file_sha256(const std::filesystem::path& file)
{
    auto opened = open_file(file);
    if (!opened) {
        return fail(opened.error());
    }
    auto& in = *opened;
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        return fail(error_code::internal, "OpenSSL cannot set up SHA-256");
    }
    std::array<char, 1 << 16> buf{};
    while (in) {
        in.read(buf.data(), buf.size());
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), n) != 1) {
            return fail(error_code::internal, "OpenSSL SHA-256 failed");
        }
    }
    if (in.bad()) {
        return fail(error_code::failed_precondition, fmt::format("{}: read error", file.string()));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1) {
        return fail(error_code::internal, "OpenSSL SHA-256 failed");
    }
    std::string hex;
    append_hex(hex, digest.data(), len);
    return hex;
}

}  // namespace adsx::models
