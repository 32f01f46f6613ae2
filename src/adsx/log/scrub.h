#pragma once
// The last line of defence against personal data in logs: every message and string field that
// log.h writes passes through scrub(), which masks what would identify a person should a caller
// break log.h's rule (never put PII in a log):
//   - e-mail addresses                                   -> <email>
//   - full IPv4 addresses (a /24-truncated one, x.y.z.0, is what the pipeline keeps and stays;
//     so do loopback, unspecified and RFC 1918 private addresses: services, not people)
//                                                        -> <ip>
//   - full IPv6 addresses (a /48-truncated one ends with "::" and stays; so does ::1) -> <ip>
//   - phone numbers in international form (+ then 8 to 15 digits, spaces or dashes between)
//                                                        -> <phone>
// Pseudonyms (k1:<32 hex>) are not personal data without the key and stay, as do times
// (12:30:05), offsets and counts. Pure.
//
//   scrub("login from 203.0.113.7 by ann@example.com")  // "login from <ip> by <email>"
#include <string>
#include <string_view>

namespace adsx::log {

[[nodiscard]] std::string scrub(std::string_view text);

}  // namespace adsx::log
