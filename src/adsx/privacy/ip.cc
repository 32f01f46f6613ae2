#include "adsx/privacy/ip.h"

#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

namespace adsx::privacy {
namespace {

constexpr std::size_t ipv6_kept_bytes = 6;  // /48
constexpr std::array<unsigned char, 12> v4_mapped_prefix = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};

result<std::string> invalid(std::string_view ip)
{
    return fail(error_code::invalid_argument,
                fmt::format("not an IPv4 or IPv6 address ({} characters)", ip.size()));
}

result<std::string> to_text(int family, const void* addr)
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (inet_ntop(family, addr, text.data(), text.size()) == nullptr) {
        return fail(error_code::internal, "inet_ntop failed on a parsed address");
    }
    return std::string(text.data());
}

}  // namespace

result<std::string> truncate_ip(std::string_view ip)
{
    std::array<char, INET6_ADDRSTRLEN> z{};  // inet_pton wants a NUL-terminated string
    if (ip.empty() || ip.size() >= z.size() || ip.find('\0') != std::string_view::npos) {
        return invalid(ip);
    }
    std::memcpy(z.data(), ip.data(), ip.size());
    if (ip.find(':') == std::string_view::npos) {
        std::array<unsigned char, 4> v4{};
        if (inet_pton(AF_INET, z.data(), v4.data()) != 1) {
            return invalid(ip);
        }
        v4[3] = 0;
        return to_text(AF_INET, v4.data());
    }
    std::array<unsigned char, 16> v6{};
    if (inet_pton(AF_INET6, z.data(), v6.data()) != 1) {
        return invalid(ip);
    }
    if (std::memcmp(v6.data(), v4_mapped_prefix.data(), v4_mapped_prefix.size()) == 0) {
        v6[15] = 0;
    } else {
        std::memset(v6.data() + ipv6_kept_bytes, 0, v6.size() - ipv6_kept_bytes);
    }
    return to_text(AF_INET6, v6.data());
}

}  // namespace adsx::privacy
