#include "adsx/privacy/bits.h"

#include <array>
#include <cassert>

#include <fmt/format.h>

namespace adsx::privacy::detail {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr unsigned char not_base64 = 0xff;

constexpr std::array<unsigned char, 256> make_sextets()
{
    std::array<unsigned char, 256> t{};
    t.fill(not_base64);
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<unsigned char>(i);
    }
    return t;
}
constexpr std::array<unsigned char, 256> sextets = make_sextets();

unsigned sextet(char c)
{
    return sextets[static_cast<unsigned char>(c)];
}

}  // namespace

void bit_writer::write(std::uint64_t value, int width)
{
    assert(width >= 0 && width <= 64);
    for (int i = width - 1; i >= 0; --i) {
        _bits.push_back(((value >> i) & 1U) != 0);
    }
}

std::string bit_writer::to_base64url() const
{
    std::size_t padded = (_bits.size() + 7) / 8 * 8;
    std::string out;
    out.reserve((padded + 5) / 6);
    for (std::size_t start = 0; start < padded; start += 6) {
        unsigned v = 0;
        for (std::size_t i = start; i < start + 6; ++i) {
            v = (v << 1) | (i < _bits.size() && _bits[i] ? 1U : 0U);
        }
        out += alphabet[v];
    }
    return out;
}

result<bit_reader> bit_reader::over_base64url(std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (sextet(text[i]) == not_base64) {
            return fail(error_code::invalid_argument,
                        fmt::format("character {} is not base64url", i + 1));
        }
    }
    return bit_reader(text);
}

std::uint64_t bit_reader::read(int width, const char* field) noexcept
{
    assert(width >= 0 && width <= 64);
    auto w = static_cast<std::size_t>(width);
    if (_truncated_field != nullptr || w > size() - _pos) {
        if (_truncated_field == nullptr) {
            _truncated_field = field;
            _truncated_bit = _pos;
        }
        return 0;
    }
    if (w == 0) {
        return 0;
    }
    std::size_t at = _pos / 6;
    std::size_t left = 6 - _pos % 6;  // unread bits of character `at`
    _pos += w;
    std::uint64_t v = sextet(_text[at++]) & ((1U << left) - 1);
    if (w <= left) {
        return v >> (left - w);
    }
    for (w -= left; w >= 6; w -= 6) {
        v = (v << 6) | sextet(_text[at++]);
    }
    return w == 0 ? v : (v << w) | (sextet(_text[at]) >> (6 - w));
}

}  // namespace adsx::privacy::detail
