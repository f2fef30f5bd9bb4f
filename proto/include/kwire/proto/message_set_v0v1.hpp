// The message sets of magic v0 and v1 (Kafka before 0.11), as they can still
// appear in fetch responses from old topics:
//
//   offset int64, message_size int32,
//   crc int32 (CRC-32/IEEE of magic..end), magic int8, attributes int8,
//   [timestamp int64, magic 1 only], key bytes (int32 length, -1 null), value bytes
//
// A compressed message ("wrapper") has a null key and carries an inner message
// set, compressed, as its value. With magic 1 the inner offsets are relative:
// the wrapper's offset is that of the last inner message.
//
// record_batch_reader decodes these transparently; this header exposes the
// per-message parser it uses.
#pragma once

#include "kwire/proto/compression.hpp"
#include "kwire/proto/record.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

namespace kwire::proto {

namespace message_v0v1 {
inline constexpr std::size_t log_overhead = 12;     // offset + message_size
inline constexpr std::size_t min_size_v0 = 14;      // crc, magic, attributes, key and value lengths
inline constexpr std::size_t min_size_v1 = 22;      // + timestamp
inline constexpr std::int8_t attr_compression = 0x07;
inline constexpr std::int8_t attr_log_append_time = 0x08;
} // namespace message_v0v1

struct legacy_message {
    std::int64_t offset = 0;
    std::uint32_t crc = 0;
    std::int8_t magic = 0;
    std::int8_t attributes = 0;
    std::int64_t timestamp = -1;  // -1 for magic 0
    std::optional<std::span<const std::byte>> key;
    std::optional<std::span<const std::byte>> value;

    compression_codec compression() const noexcept {
        return static_cast<compression_codec>(attributes & message_v0v1::attr_compression);
    }
    bool log_append_time() const noexcept { return magic >= 1 && (attributes & message_v0v1::attr_log_append_time); }
};

// Parses one whole entry (offset, size and exactly `size` message bytes),
// checking the CRC when `verify_crc`. Errors: bad_record (structure, magic not
// 0/1, size mismatch), bad_crc.
std::error_code parse_legacy_message(std::span<const std::byte> entry, legacy_message& out,
                                     bool verify_crc = true) noexcept;

// CRC-32 (IEEE, as zlib's crc32), continuing from `previous`.
std::uint32_t crc32_ieee(std::span<const std::byte> data, std::uint32_t previous = 0) noexcept;

} // namespace kwire::proto
