// A bounds-checked reader of Kafka primitive types with a sticky error.
//
// Every read checks the bytes left; the first failure records an error, empties
// the reader and makes every later read return a zero value, so decoders read a
// whole message straight through and check `error()` once at the end. Lengths
// and element counts are validated against the bytes left before anything is
// allocated, so a hostile length can never cause a large allocation.
#pragma once

#include "kwire/proto/uuid.hpp"
#include "kwire/proto/wire_error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace kwire::proto {

using bytes_view = std::span<const std::byte>;

class reader {
public:
    reader() noexcept = default;
    explicit reader(bytes_view input) noexcept
        : pos_(input.data()), end_(input.data() + input.size()) {}

    // A shared owner of the input, for values that keep views into it (record
    // sets); readers without one copy such values instead.
    void set_owner(const std::shared_ptr<const void>* owner) noexcept { owner_ = owner; }
    const std::shared_ptr<const void>* owner() const noexcept { return owner_; }

    bool ok() const noexcept { return !error_; }
    std::error_code error() const noexcept { return error_; }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
    bytes_view rest() const noexcept { return {pos_, remaining()}; }

    // Records the first error only, and stops all further reading.
    void fail(std::error_code ec) noexcept {
        if (!error_) error_ = ec;
        pos_ = end_;
    }

    bool read_bool() noexcept { return read_fixed<std::uint8_t>() != 0; }
    std::int8_t read_int8() noexcept { return static_cast<std::int8_t>(read_fixed<std::uint8_t>()); }
    std::int16_t read_int16() noexcept { return static_cast<std::int16_t>(read_fixed<std::uint16_t>()); }
    std::uint16_t read_uint16() noexcept { return read_fixed<std::uint16_t>(); }
    std::int32_t read_int32() noexcept { return static_cast<std::int32_t>(read_fixed<std::uint32_t>()); }
    std::uint32_t read_uint32() noexcept { return read_fixed<std::uint32_t>(); }
    std::int64_t read_int64() noexcept { return static_cast<std::int64_t>(read_fixed<std::uint64_t>()); }
    double read_float64() noexcept {
        const std::uint64_t bits = read_fixed<std::uint64_t>();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
    }

    std::uint32_t read_uvarint() noexcept { return static_cast<std::uint32_t>(read_unsigned_varint(5)); }
    std::uint64_t read_uvarlong() noexcept { return read_unsigned_varint(10); }
    std::int32_t read_varint() noexcept {
        const auto u = static_cast<std::uint32_t>(read_unsigned_varint(5));
        return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
    }
    std::int64_t read_varlong() noexcept {
        const std::uint64_t u = read_unsigned_varint(10);
        return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    }

    uuid read_uuid() noexcept {
        uuid u;
        if (take(16)) std::memcpy(u.bytes.data(), pos_ - 16, 16);
        return u;
    }

    // Raw bytes, no length prefix. The view points into the input.
    bytes_view read_raw(std::size_t n) noexcept {
        if (!take(n)) return {};
        return {pos_ - n, n};
    }

    // STRING / NULLABLE_STRING: int16 length, -1 is null.
    std::optional<std::string_view> read_nullable_string() noexcept {
        return as_string(read_sized(read_int16()));
    }
    std::string_view read_string() noexcept { return non_null(read_nullable_string()); }

    // COMPACT_STRING / COMPACT_NULLABLE_STRING: unsigned varint length+1, 0 is null.
    std::optional<std::string_view> read_compact_nullable_string() noexcept {
        return as_string(read_sized(compact_length()));
    }
    std::string_view read_compact_string() noexcept { return non_null(read_compact_nullable_string()); }

    // BYTES / NULLABLE_BYTES: int32 length, -1 is null.
    std::optional<bytes_view> read_nullable_bytes() noexcept { return read_sized(read_int32()); }
    bytes_view read_bytes() noexcept { return non_null(read_nullable_bytes()); }

    std::optional<bytes_view> read_compact_nullable_bytes() noexcept { return read_sized(compact_length()); }
    bytes_view read_compact_bytes() noexcept { return non_null(read_compact_nullable_bytes()); }

    // ARRAY: int32 count, -1 is null. Returns -1 for null. A count larger than
    // the bytes left is an error (every element takes at least one byte).
    std::int32_t read_array_length() noexcept { return checked_count(read_int32()); }
    // COMPACT_ARRAY: unsigned varint count+1, 0 is null.
    std::int32_t read_compact_array_length() noexcept { return checked_count(compact_length()); }

    // Reads a tagged-field section, calling `on_field(tag, reader_of_value)`
    // for each field. Tags must be strictly increasing.
    template <class OnField>
    void read_tagged_fields(OnField&& on_field) {
        const std::uint32_t count = read_uvarint();
        if (count > remaining()) return fail(wire_errc::length_exceeds_input);
        std::int64_t previous = -1;
        for (std::uint32_t i = 0; i < count && ok(); ++i) {
            const std::uint32_t tag = read_uvarint();
            const std::uint32_t size = read_uvarint();
            if (!ok()) return;
            if (static_cast<std::int64_t>(tag) <= previous) return fail(wire_errc::bad_tagged_fields);
            previous = tag;
            if (size > remaining()) return fail(wire_errc::length_exceeds_input);
            reader value(bytes_view{pos_, size});
            pos_ += size;
            on_field(tag, value);
            if (!value.ok()) return fail(value.error());
        }
    }

private:
    bool take(std::size_t n) noexcept {
        if (remaining() < n) {
            fail(wire_errc::truncated);
            return false;
        }
        pos_ += n;
        return true;
    }

    template <class U>
    U read_fixed() noexcept {
        if (!take(sizeof(U))) return 0;
        const std::byte* p = pos_ - sizeof(U);
        U v = 0;
        for (std::size_t i = 0; i < sizeof(U); ++i)
            v = static_cast<U>((v << 8) | static_cast<U>(std::to_integer<std::uint8_t>(p[i])));
        return v;
    }

    std::uint64_t read_unsigned_varint(int max_bytes) noexcept {
        std::uint64_t value = 0;
        for (int i = 0; i < max_bytes; ++i) {
            if (pos_ == end_) {
                fail(wire_errc::truncated);
                return 0;
            }
            const auto b = std::to_integer<std::uint8_t>(*pos_++);
            // The last byte may only carry the bits that still fit: 4 of a
            // 32-bit value (5 bytes), 1 of a 64-bit value (10 bytes).
            if (i == max_bytes - 1 && (b & 0x7f) >> (max_bytes == 5 ? 4 : 1) != 0) break;
            value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0) return value;
        }
        fail(wire_errc::varint_too_long);
        return 0;
    }

    // Compact lengths are N+1 with 0 for null; returns -1 for null.
    std::int64_t compact_length() noexcept {
        return static_cast<std::int64_t>(read_unsigned_varint(5)) - 1;
    }

    std::optional<bytes_view> read_sized(std::int64_t length) noexcept {
        if (!ok()) return bytes_view{};
        if (length == -1) return std::nullopt;
        if (length < -1) {
            fail(wire_errc::negative_length);
            return bytes_view{};
        }
        if (static_cast<std::uint64_t>(length) > remaining()) {
            fail(wire_errc::length_exceeds_input);
            return bytes_view{};
        }
        pos_ += length;
        return bytes_view{pos_ - length, static_cast<std::size_t>(length)};
    }

    std::int32_t checked_count(std::int64_t count) noexcept {
        if (!ok()) return 0;
        if (count < -1) {
            fail(wire_errc::negative_length);
            return 0;
        }
        if (count > static_cast<std::int64_t>(remaining())) {
            fail(wire_errc::length_exceeds_input);
            return 0;
        }
        return static_cast<std::int32_t>(count);
    }

    static std::optional<std::string_view> as_string(std::optional<bytes_view> b) noexcept {
        if (!b) return std::nullopt;
        return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
    }

    template <class T>
    T non_null(std::optional<T> v) noexcept {
        if (!v) {
            fail(wire_errc::null_not_allowed);
            return T{};
        }
        return *v;
    }

    const std::byte* pos_ = nullptr;
    const std::byte* end_ = nullptr;
    const std::shared_ptr<const void>* owner_ = nullptr;
    std::error_code error_;
};

} // namespace kwire::proto
