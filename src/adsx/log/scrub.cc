#include "adsx/log/scrub.h"

#include <array>
#include <cctype>
#include <charconv>

namespace adsx::log {

namespace {

bool digit(char c)
{
    return c >= '0' && c <= '9';
}
bool hex(char c)
{
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool word(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool local_part(char c)
{
    return word(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool domain_char(char c)
{
    return word(c) || c == '.' || c == '-';
}

// An e-mail address with its '@' at `at`: [start, end) of the whole, or false.
bool email_at(std::string_view t, std::size_t at, std::size_t& start, std::size_t& end)
{
    start = at;
    while (start > 0 && local_part(t[start - 1])) {
        --start;
    }
    end = at + 1;
    while (end < t.size() && domain_char(t[end])) {
        ++end;
    }
    while (end > at + 1 && (t[end - 1] == '.' || t[end - 1] == '-')) {
        --end;  // a sentence's full stop is not the domain's
    }
    const auto domain = t.substr(at + 1, end - at - 1);
    const auto dot = domain.rfind('.');
    if (start == at || dot == std::string_view::npos || dot == 0) {
        return false;
    }
    const auto tld = domain.substr(dot + 1);
    if (tld.size() < 2) {
        return false;
    }
    for (char c : tld) {
        if (!std::isalpha(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

// A dotted quad starting at `i` (not inside a longer run of digits and dots): its length, or 0.
std::size_t ipv4_at(std::string_view t, std::size_t i, std::array<int, 4>& octets)
{
    std::size_t p = i;
    for (int k = 0; k < 4; ++k) {
        if (k > 0) {
            if (p >= t.size() || t[p] != '.') {
                return 0;
            }
            ++p;
        }
        const auto begin = p;
        while (p < t.size() && digit(t[p]) && p - begin < 4) {
            ++p;
        }
        if (p == begin || p - begin > 3) {
            return 0;
        }
        std::from_chars(t.data() + begin, t.data() + p, octets[static_cast<std::size_t>(k)]);
        if (octets[static_cast<std::size_t>(k)] > 255) {
            return 0;
        }
    }
    if (p < t.size() && (digit(t[p]) || (t[p] == '.' && p + 1 < t.size() && digit(t[p + 1])))) {
        return 0;  // a version or a longer number, not an address
    }
    return p - i;
}

bool identifies(const std::array<int, 4>& o)
{
    const bool service = o[0] == 127 || o[0] == 10 || (o[0] == 0 && o[1] == 0) ||
                         (o[0] == 172 && o[1] >= 16 && o[1] <= 31) || (o[0] == 192 && o[1] == 168);
    return !service && o[3] != 0;
}

// An IPv6 address starting at `i`: its length when it is a full one (to mask), else 0.
std::size_t ipv6_at(std::string_view t, std::size_t i)
{
    std::size_t p = i;
    int groups = 0;
    bool compressed = false;
    while (p < t.size()) {
        const auto begin = p;
        while (p < t.size() && hex(t[p]) && p - begin < 5) {
            ++p;
        }
        if (p - begin > 4) {
            return 0;  // a hex run longer than a group: a hash or a pseudonym
        }
        groups += p > begin ? 1 : 0;
        if (p < t.size() && t[p] == ':') {
            if (p + 1 < t.size() && t[p + 1] == ':') {
                if (compressed) {
                    return 0;
                }
                compressed = true;
                ++p;
            }
            ++p;
            continue;
        }
        break;
    }
    if (p < t.size() && (word(t[p]) || t[p] == '.')) {
        return 0;
    }
    const auto token = t.substr(i, p - i);
    const bool truncated = token.size() >= 2 && token.substr(token.size() - 2) == "::";
    const bool full = compressed ? groups >= 2 : groups == 8;
    if (!full || truncated || token == "::1") {
        return 0;
    }
    return p - i;
}

// An international phone number at the '+' at `i`: its length, or 0.
std::size_t phone_at(std::string_view t, std::size_t i)
{
    std::size_t p = i + 1;
    int digits = 0;
    std::size_t last_digit = i;
    while (p < t.size() && (digit(t[p]) || t[p] == ' ' || t[p] == '-')) {
        if (digit(t[p])) {
            ++digits;
            last_digit = p;
        } else if (p + 1 >= t.size() || !digit(t[p + 1])) {
            break;  // a separator must sit between digits
        }
        ++p;
    }
    if (digits < 8 || digits > 15 || !digit(t[i + 1])) {
        return 0;
    }
    return last_digit + 1 - i;
}

}  // namespace

std::string scrub(std::string_view t)
{
    std::string out;
    out.reserve(t.size());
    std::size_t i = 0;
    while (i < t.size()) {
        const char c = t[i];
        // Where an address may begin: not inside a word or a number (a ':' before an IPv4 one
        // is an IPv4-mapped IPv6 address's).
        const bool after_word = i > 0 && (word(t[i - 1]) || t[i - 1] == '.');
        const bool boundary = !after_word && (i == 0 || t[i - 1] != ':');
        if (c == '@') {
            std::size_t start = 0;
            std::size_t end = 0;
            if (email_at(t, i, start, end) && out.size() >= i - start) {
                out.resize(out.size() - (i - start));  // the local part was copied already
                out += "<email>";
                i = end;
                continue;
            }
        }
        if (!after_word && digit(c)) {
            std::array<int, 4> octets{};
            if (auto n = ipv4_at(t, i, octets); n > 0) {
                if (identifies(octets)) {
                    out += "<ip>";
                } else {
                    out.append(t.substr(i, n));
                }
                i += n;
                continue;
            }
        }
        if (boundary && (hex(c) || c == ':')) {
            if (auto n = ipv6_at(t, i); n > 0) {
                out += "<ip>";
                i += n;
                continue;
            }
        }
        if (c == '+' && (i == 0 || !word(t[i - 1]))) {
            if (auto n = phone_at(t, i); n > 0) {
                out += "<phone>";
                i += n;
                continue;
            }
        }
        out += c;
        ++i;
    }
    return out;
}

}  // namespace adsx::log
