// CRC32C (Castagnoli), the checksum of Kafka record batches.
//
// Uses the SSE4.2 crc32 instruction on three interleaved streams when the CPU
// has it (chosen once at run time), and a portable slicing-by-8 table
// otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kwire::proto {

// CRC32C of `data` continuing from `previous` (the CRC of the bytes before;
// 0 to start), so a checksum can be computed over several segments.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t previous = 0) noexcept;

// The same, always with the portable implementation (for tests and benchmarks).
std::uint32_t crc32c_portable(std::span<const std::byte> data, std::uint32_t previous = 0) noexcept;

// Whether crc32c() uses the hardware instruction on this machine.
bool crc32c_is_hardware() noexcept;

} // namespace kwire::proto
