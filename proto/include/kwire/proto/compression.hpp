// Compression codecs of Kafka record batches and message sets.
//
//   gzip    zlib, gzip wrapper (always available)
//   snappy  libsnappy; encodes the xerial "snappy-java" framing that the Java
//           client writes, decodes both that framing and raw snappy
//   lz4     liblz4, the standard LZ4 frame format (Kafka's magic v0 messages
//           carry a miscomputed frame-header checksum: see lz4_legacy_checksum)
//   zstd    libzstd frames, decoded as a stream
//
// A codec not compiled into this build fails with wire_errc::unsupported_codec.
// Decompression never trusts sizes declared by the input for allocation: the
// output grows as data is actually produced, up to `max_size`, beyond which it
// fails with wire_errc::decompressed_too_large.
#pragma once

#include "kwire/proto/byte_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::proto {

enum class compression_codec : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// Whether this build can compress and decompress with `codec` (none: always).
bool codec_available(compression_codec codec) noexcept;
// "none", "gzip", "snappy", "lz4", "zstd" ("unknown" otherwise).
std::string_view codec_name(compression_codec codec) noexcept;
// Parses a codec name as used in producer configuration.
std::optional<compression_codec> codec_from_name(std::string_view name) noexcept;

// The default level of each codec (gzip 6, lz4 0 = fast, zstd 3).
inline constexpr int default_compression_level = -1;

struct decompress_options {
    std::size_t max_size = 64 * 1024 * 1024;
    // Magic v0 LZ4 messages: accept the frame-header checksum Kafka computed
    // over the magic number too (KAFKA-3160).
    bool lz4_legacy_checksum = false;
};

// Reusable codec contexts (the zlib, lz4 and zstd states are created once and
// reset between uses). Not thread-safe; one per producer batch or fetch reader.
class compressor {
public:
    compressor();
    ~compressor();
    compressor(compressor&&) noexcept;
    compressor& operator=(compressor&&) noexcept;

    // Compresses the concatenation of `inputs`, replacing `output`'s content
    // (its capacity is reused).
    std::error_code compress(compression_codec codec, std::span<const std::span<const std::byte>> inputs,
                             byte_buffer& output, int level = default_compression_level);
    std::error_code compress(compression_codec codec, std::span<const std::byte> input,
                             byte_buffer& output, int level = default_compression_level) {
        return compress(codec, std::span<const std::span<const std::byte>>(&input, 1), output, level);
    }

private:
    struct state;
    std::unique_ptr<state> state_;
};

class decompressor {
public:
    decompressor();
    ~decompressor();
    decompressor(decompressor&&) noexcept;
    decompressor& operator=(decompressor&&) noexcept;

    // Decompresses `input`, replacing `output`'s content (capacity reused).
    std::error_code decompress(compression_codec codec, std::span<const std::byte> input,
                               byte_buffer& output, const decompress_options& options = {});

private:
    struct state;
    std::unique_ptr<state> state_;
};

// One-shot helpers (create a context per call).
std::error_code compress(compression_codec codec, std::span<const std::byte> input, byte_buffer& output,
                         int level = default_compression_level);
std::error_code decompress(compression_codec codec, std::span<const std::byte> input,
                           byte_buffer& output, std::size_t max_size = 64 * 1024 * 1024);

namespace detail {
// xxHash32 (used for LZ4 frame-header checksums); exposed for tests.
std::uint32_t xxh32(std::span<const std::byte> data, std::uint32_t seed) noexcept;
} // namespace detail

} // namespace kwire::proto
