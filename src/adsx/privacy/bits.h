#pragma once
// Internal to adsx::privacy: MSB-first bit fields in base64url text, the wire shape of IAB TCF
// strings. Not part of the module's API (the TCF codec in tcf.cc is its only user).
//
//   detail::bit_writer w;
//   w.write(2, 6);                        // Version = 2
//   std::string s = w.to_base64url();     // "C..."
//   auto r = detail::bit_reader::over_base64url(s);
//   std::uint64_t version = r->read(6, "Version");
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adsx/base/error.h"

namespace adsx::privacy::detail {

// Collects bits, then encodes them as base64url without padding characters, after padding the
// bits with zeros to a whole number of bytes (as the TCF reference encoders do).
class bit_writer
{
public:
    // The low `width` (<= 64) bits of `value`, most significant first. Callers check ranges.
    void write(std::uint64_t value, int width);
    void write_bool(bool b) { write(b ? 1 : 0, 1); }
    [[nodiscard]] std::size_t size() const noexcept { return _bits.size(); }
    [[nodiscard]] std::string to_base64url() const;

private:
    std::vector<bool> _bits;
};

// Reads bit fields straight from base64url text: no decoded copy, no allocation. Reading past
// the end returns zeros and records the first field that did not fit ("sticky" failure), so a
// decoder reads a whole group of fields and checks truncated_at() once.
class bit_reader
{
public:
    // invalid_argument if `text` holds a character outside the base64url alphabet (A-Z a-z 0-9
    // - _; '=' padding is not part of TCF strings). `text` must outlive the reader.
    [[nodiscard]] static result<bit_reader> over_base64url(std::string_view text);

    // The next `width` (<= 64) bits as an unsigned number, or 0 if fewer remain.
    [[nodiscard]] std::uint64_t read(int width, const char* field) noexcept;
    [[nodiscard]] bool read_bool(const char* field) noexcept { return read(1, field) != 0; }

    // The field that ran past the end, or nullptr; with the bit it started at.
    [[nodiscard]] const char* truncated_at() const noexcept { return _truncated_field; }
    [[nodiscard]] std::size_t truncated_bit() const noexcept { return _truncated_bit; }
    [[nodiscard]] std::size_t position() const noexcept { return _pos; }
    [[nodiscard]] std::size_t size() const noexcept { return _text.size() * 6; }

private:
    explicit bit_reader(std::string_view text) : _text(text) {}

    std::string_view _text;
    std::size_t _pos = 0;
    const char* _truncated_field = nullptr;
    std::size_t _truncated_bit = 0;
};

}  // namespace adsx::privacy::detail
