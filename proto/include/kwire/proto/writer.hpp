// A writer of Kafka primitive types, appending to a byte vector or only
// counting: the same encode function yields a message's bytes or its size.
//
// Values that cannot be represented (a string longer than its length prefix
// allows, a null where the version has no null) record a sticky error that the
// caller checks once at the end, like `reader`.
#pragma once

#include "kwire/proto/uuid.hpp"
#include "kwire/proto/wire_error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::proto {

// Bytes that go to the socket as they are, between the writer's own bytes:
// `bytes` belongs after the first `offset` bytes of the output vector.
struct external_segment {
    std::size_t offset;
    std::span<const std::byte> bytes;
};

class writer {
public:
    // Counts bytes without storing them.
    writer() noexcept = default;
    // Appends to `out`.
    explicit writer(std::vector<std::byte>& out) noexcept : out_(&out), start_(out.size()) {}
    // Appends to `out`, and records large caller-owned spans in `externals`
    // instead of copying them (see write_external).
    writer(std::vector<std::byte>& out, std::vector<external_segment>& externals) noexcept
        : out_(&out), externals_(&externals), start_(out.size()) {}

    bool ok() const noexcept { return !error_; }
    std::error_code error() const noexcept { return error_; }
    void fail(std::error_code ec) noexcept {
        if (!error_) error_ = ec;
    }
    // Bytes written (or counted) by this writer.
    std::size_t size() const noexcept { return out_ ? out_->size() - start_ + external_bytes_ : counted_; }

    void write_bool(bool v) { write_fixed<std::uint8_t>(v ? 1 : 0); }
    void write_int8(std::int8_t v) { write_fixed(static_cast<std::uint8_t>(v)); }
    void write_int16(std::int16_t v) { write_fixed(static_cast<std::uint16_t>(v)); }
    void write_uint16(std::uint16_t v) { write_fixed(v); }
    void write_int32(std::int32_t v) { write_fixed(static_cast<std::uint32_t>(v)); }
    void write_uint32(std::uint32_t v) { write_fixed(v); }
    void write_int64(std::int64_t v) { write_fixed(static_cast<std::uint64_t>(v)); }
    void write_float64(double v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        write_fixed(bits);
    }

    void write_uvarint(std::uint32_t v) { write_unsigned_varint(v); }
    void write_uvarlong(std::uint64_t v) { write_unsigned_varint(v); }
    void write_varint(std::int32_t v) {
        write_unsigned_varint((static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31));
    }
    void write_varlong(std::int64_t v) {
        write_unsigned_varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }

    void write_uuid(const uuid& u) { write_raw(u.bytes); }

    void write_raw(std::span<const std::byte> b) {
        if (out_) out_->insert(out_->end(), b.begin(), b.end());
        else counted_ += b.size();
    }
    void write_raw(std::string_view s) { write_raw(std::as_bytes(std::span(s.data(), s.size()))); }

    // Bytes that outlive the encoded message (a sealed record batch): recorded
    // by reference when the writer keeps external segments, copied otherwise.
    void write_external(std::span<const std::byte> b) {
        if (!out_ || !externals_ || b.empty()) return write_raw(b);
        externals_->push_back({out_->size(), b});
        external_bytes_ += b.size();
    }

    void write_string(std::string_view s) {
        if (!fits(s.size(), std::numeric_limits<std::int16_t>::max())) return;
        write_int16(static_cast<std::int16_t>(s.size()));
        write_raw(s);
    }
    void write_nullable_string(std::optional<std::string_view> s) {
        if (!s) return write_int16(-1);
        write_string(*s);
    }
    void write_compact_string(std::string_view s) {
        if (!fits(s.size(), std::numeric_limits<std::int32_t>::max() - 1)) return;
        write_uvarint(static_cast<std::uint32_t>(s.size() + 1));
        write_raw(s);
    }
    void write_compact_nullable_string(std::optional<std::string_view> s) {
        if (!s) return write_uvarint(0);
        write_compact_string(*s);
    }

    void write_bytes(std::span<const std::byte> b) {
        if (!fits(b.size(), std::numeric_limits<std::int32_t>::max())) return;
        write_int32(static_cast<std::int32_t>(b.size()));
        write_raw(b);
    }
    void write_nullable_bytes(std::optional<std::span<const std::byte>> b) {
        if (!b) return write_int32(-1);
        write_bytes(*b);
    }
    void write_compact_bytes(std::span<const std::byte> b) {
        if (!fits(b.size(), std::numeric_limits<std::int32_t>::max() - 1)) return;
        write_uvarint(static_cast<std::uint32_t>(b.size() + 1));
        write_raw(b);
    }
    void write_compact_nullable_bytes(std::optional<std::span<const std::byte>> b) {
        if (!b) return write_uvarint(0);
        write_compact_bytes(*b);
    }

    // Array lengths; -1 writes null.
    void write_array_length(std::int64_t n) {
        if (n < -1 || !fits(static_cast<std::size_t>(n < 0 ? 0 : n), std::numeric_limits<std::int32_t>::max()))
            return fail(wire_errc::value_too_large);
        write_int32(static_cast<std::int32_t>(n));
    }
    void write_compact_array_length(std::int64_t n) {
        if (n < -1 || !fits(static_cast<std::size_t>(n < 0 ? 0 : n), std::numeric_limits<std::int32_t>::max() - 1))
            return fail(wire_errc::value_too_large);
        write_uvarint(static_cast<std::uint32_t>(n + 1));
    }

    // Number of bytes a value takes as an unsigned varint.
    static constexpr std::size_t uvarint_size(std::uint64_t v) noexcept {
        std::size_t n = 1;
        while (v >= 0x80) {
            v >>= 7;
            ++n;
        }
        return n;
    }

private:
    bool fits(std::size_t n, std::size_t max) {
        if (n <= max) return true;
        fail(wire_errc::value_too_large);
        return false;
    }

    template <class U>
    void write_fixed(U v) {
        if (!out_) {
            counted_ += sizeof(U);
            return;
        }
        std::byte b[sizeof(U)];
        for (std::size_t i = 0; i < sizeof(U); ++i)
            b[i] = static_cast<std::byte>(v >> (8 * (sizeof(U) - 1 - i)));
        out_->insert(out_->end(), b, b + sizeof(U));
    }

    void write_unsigned_varint(std::uint64_t v) {
        if (!out_) {
            counted_ += uvarint_size(v);
            return;
        }
        std::byte b[10];
        std::size_t n = 0;
        while (v >= 0x80) {
            b[n++] = static_cast<std::byte>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        b[n++] = static_cast<std::byte>(v);
        out_->insert(out_->end(), b, b + n);
    }

    std::vector<std::byte>* out_ = nullptr;
    std::vector<external_segment>* externals_ = nullptr;
    std::size_t start_ = 0;
    std::size_t external_bytes_ = 0;
    std::size_t counted_ = 0;
    std::error_code error_;
};

} // namespace kwire::proto
