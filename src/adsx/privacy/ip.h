#pragma once
// IP address truncation for storage and analytics: the address keeps its network (enough for
// coarse geo and fraud checks) and loses the host part that identifies a household or device.
//
//   adsx::privacy::truncate_ip("203.0.113.77");          // "203.0.113.0"
//   adsx::privacy::truncate_ip("2001:db8:85a3:8d3::7");  // "2001:db8:85a3::"
//
// IPv4 keeps 24 bits (the last octet is zeroed); IPv6 keeps 48 bits (a /48, one site) and zeroes
// the rest. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is truncated as the IPv4 address it
// carries, since its first 48 bits say nothing. The output is canonical: RFC 5952 compressed,
// lower-case IPv6 and dotted-decimal IPv4, so equal networks compare equal as strings.
#include <string>
#include <string_view>

#include "adsx/base/error.h"

namespace adsx::privacy {

// invalid_argument for anything that is not a plain IPv4 or IPv6 address (ports, brackets, zone
// ids, surrounding spaces). The message does not repeat the input: it is personal data.
[[nodiscard]] result<std::string> truncate_ip(std::string_view ip);

}  // namespace adsx::privacy
