// Raw-pointer varint encoding and decoding (the Protobuf-style varints of
// Kafka records), for hot loops that have already sized their output.
//
// Encoders write into memory the caller has sized with the *_size functions.
// Decoders take an end pointer and return nullptr on truncated or overlong
// input, never reading past `end`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kwire::proto {

constexpr std::uint32_t zigzag32(std::int32_t v) noexcept {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
constexpr std::uint64_t zigzag64(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int32_t unzigzag32(std::uint32_t u) noexcept {
    return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
}
constexpr std::int64_t unzigzag64(std::uint64_t u) noexcept {
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

// Bytes taken by an unsigned varint: 1 + floor(bits / 7).
constexpr std::size_t uvarint_size(std::uint64_t v) noexcept {
    const int bits = 64 - __builtin_clzll(v | 1);
    return static_cast<std::size_t>((bits + 6) / 7);
}
constexpr std::size_t varint_size(std::int32_t v) noexcept { return uvarint_size(zigzag32(v)); }
constexpr std::size_t varlong_size(std::int64_t v) noexcept { return uvarint_size(zigzag64(v)); }

inline std::byte* encode_uvarint(std::byte* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<std::byte>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<std::byte>(v);
    return p;
}
inline std::byte* encode_varint(std::byte* p, std::int32_t v) noexcept { return encode_uvarint(p, zigzag32(v)); }
inline std::byte* encode_varlong(std::byte* p, std::int64_t v) noexcept { return encode_uvarint(p, zigzag64(v)); }

// Decodes an unsigned varint of at most `max_bytes` bytes (5 for 32-bit
// values, 10 for 64-bit ones); the last byte may only carry the bits that fit.
inline const std::byte* decode_uvarint(const std::byte* p, const std::byte* end, std::uint64_t& out,
                                       int max_bytes) noexcept {
    if (p != end && std::to_integer<std::uint8_t>(*p) < 0x80) {
        out = std::to_integer<std::uint8_t>(*p);
        return p + 1;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < max_bytes; ++i) {
        if (p == end) return nullptr;
        const auto b = std::to_integer<std::uint8_t>(*p++);
        if (i == max_bytes - 1 && ((b & 0x7f) >> (max_bytes == 5 ? 4 : 1)) != 0) return nullptr;
        v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            out = v;
            return p;
        }
    }
    return nullptr;
}
inline const std::byte* decode_varint(const std::byte* p, const std::byte* end, std::int32_t& out) noexcept {
    std::uint64_t u = 0;
    p = decode_uvarint(p, end, u, 5);
    out = unzigzag32(static_cast<std::uint32_t>(u));
    return p;
}
inline const std::byte* decode_varlong(const std::byte* p, const std::byte* end, std::int64_t& out) noexcept {
    std::uint64_t u = 0;
    p = decode_uvarint(p, end, u, 10);
    out = unzigzag64(u);
    return p;
}

// Big-endian fixed-width stores and loads.
template <class U>
inline std::byte* store_be(std::byte* p, U v) noexcept {
    for (std::size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<std::byte>(v >> (8 * (sizeof(U) - 1 - i)));
    return p + sizeof(U);
}
template <class U>
inline U load_be(const std::byte* p) noexcept {
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
        v = static_cast<U>((v << 8) | static_cast<U>(std::to_integer<std::uint8_t>(p[i])));
    return v;
}

} // namespace kwire::proto
