#include "kwire/partitioner.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace kwire {

namespace {

constexpr std::uint32_t murmur2_seed = 0x9747b28cu;
constexpr std::uint32_t murmur2_m = 0x5bd1e995u;
constexpr int murmur2_r = 24;

inline std::uint32_t byte_at(std::span<const std::byte> data, std::size_t i) noexcept {
    return static_cast<std::uint32_t>(std::to_integer<std::uint8_t>(data[i]));
}

} // namespace

std::int32_t murmur2(std::span<const std::byte> data) noexcept {
    // All arithmetic on uint32_t: it wraps like Java's int multiplication,
    // and >> on it is Java's >>>. Java takes the length as an int, so only
    // its low 32 bits enter the initial value.
    const std::size_t length = data.size();
    std::uint32_t h = murmur2_seed ^ static_cast<std::uint32_t>(length);

    const std::size_t blocks = length / 4;
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::size_t i4 = i * 4;
        std::uint32_t k = byte_at(data, i4) | (byte_at(data, i4 + 1) << 8) | (byte_at(data, i4 + 2) << 16) |
                          (byte_at(data, i4 + 3) << 24);
        k *= murmur2_m;
        k ^= k >> murmur2_r;
        k *= murmur2_m;
        h *= murmur2_m;
        h ^= k;
    }

    // The tail, as Java's fall-through switch: every byte masked to 0..255.
    const std::size_t tail = length & ~static_cast<std::size_t>(3);
    switch (length % 4) {
    case 3:
        h ^= byte_at(data, tail + 2) << 16;
        [[fallthrough]];
    case 2:
        h ^= byte_at(data, tail + 1) << 8;
        [[fallthrough]];
    case 1:
        h ^= byte_at(data, tail);
        h *= murmur2_m;
        break;
    default:
        break;
    }

    h ^= h >> 13;
    h *= murmur2_m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);  // two's complement: Java's int
}

std::int32_t murmur2_partition(std::span<const std::byte> key, std::int32_t partition_count) noexcept {
    if (partition_count <= 0) return -1;
    const std::int32_t positive = murmur2(key) & 0x7fffffff;  // Utils.toPositive
    return positive % partition_count;
}

std::int32_t consistent_partition(std::span<const std::byte> key, std::int32_t partition_count) noexcept {
    if (partition_count <= 0) return -1;
    // zlib's crc32 takes at most UINT_MAX bytes a call; chain longer keys.
    uLong crc = crc32(0L, Z_NULL, 0);
    const auto* p = reinterpret_cast<const Bytef*>(key.data());
    std::size_t left = key.size();
    while (left > 0) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
        crc = crc32(crc, p, n);
        p += n;
        left -= n;
    }
    // librdkafka: rd_crc32 (uint32_t) % partition_cnt, in unsigned arithmetic.
    const auto c = static_cast<std::uint32_t>(crc);
    return static_cast<std::int32_t>(c % static_cast<std::uint32_t>(partition_count));
}

} // namespace kwire
