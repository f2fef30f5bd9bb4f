#include "kwire/proto/compression.hpp"
#include "kwire/proto/wire_error.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace kwire::proto;

namespace {

byte_buffer sample(std::size_t n, unsigned seed) {
    // Compressible but not trivial: words from a small vocabulary, plus noise.
    std::mt19937 rng(seed);
    static const char* words[] = {"kafka ", "record ", "batch ", "offset ", "zstd ", "lz4 ", "snappy "};
    byte_buffer v;
    v.reserve(n);
    while (v.size() < n) {
        if (rng() % 5 == 0) {
            v.push_back(static_cast<std::byte>(rng()));
            continue;
        }
        for (const char* w = words[rng() % 7]; *w && v.size() < n; ++w) v.push_back(static_cast<std::byte>(*w));
    }
    return v;
}

const compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

} // namespace

TEST_CASE("compression: names and availability") {
    CHECK(codec_available(compression_codec::none));
    CHECK(codec_available(compression_codec::gzip));
    CHECK(codec_name(compression_codec::zstd) == "zstd");
    CHECK(codec_from_name("lz4") == compression_codec::lz4);
    CHECK_FALSE(codec_from_name("brotli").has_value());
    CHECK_FALSE(codec_available(static_cast<compression_codec>(5)));
    byte_buffer out;
    CHECK(compress(static_cast<compression_codec>(6), sample(10, 1), out) == wire_errc::unsupported_codec);
    CHECK(decompress(static_cast<compression_codec>(6), sample(10, 1), out) == wire_errc::unsupported_codec);
}

TEST_CASE("compression: round trip of every available codec, sizes 0 to 1 MiB, split inputs") {
    compressor c;
    decompressor d;
    for (auto codec : all_codecs) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        for (std::size_t n : {0u, 1u, 100u, 32767u, 32768u, 32769u, 65536u + 7u, 1u << 20}) {
            CAPTURE(n);
            const auto input = sample(n, static_cast<unsigned>(n));
            byte_buffer packed, unpacked;
            REQUIRE_FALSE(c.compress(codec, input, packed));
            REQUIRE_FALSE(d.decompress(codec, packed, unpacked));
            CHECK(unpacked == input);
            if (n >= 1000 && codec != compression_codec::none) CHECK(packed.size() < n);

            // The same data given as several uneven pieces compresses to the same content.
            std::vector<std::span<const std::byte>> pieces;
            std::size_t off = 0, step = 1;
            while (off < n) {
                const std::size_t k = std::min(step, n - off);
                pieces.emplace_back(input.data() + off, k);
                off += k;
                step = step * 3 + 1;
            }
            byte_buffer packed2;
            REQUIRE_FALSE(c.compress(codec, pieces, packed2));
            REQUIRE_FALSE(d.decompress(codec, packed2, unpacked));
            CHECK(unpacked == input);
        }
    }
}

TEST_CASE("compression: formats are the ones Kafka uses") {
    const auto input = sample(100000, 7);
    byte_buffer out;
    REQUIRE_FALSE(compress(compression_codec::gzip, input, out));
    CHECK(out[0] == std::byte{0x1f});  // gzip member header
    CHECK(out[1] == std::byte{0x8b});
    if (codec_available(compression_codec::snappy)) {
        REQUIRE_FALSE(compress(compression_codec::snappy, input, out));
        const unsigned char magic[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
        CHECK(std::memcmp(out.data(), magic, 16) == 0);
    }
    if (codec_available(compression_codec::lz4)) {
        REQUIRE_FALSE(compress(compression_codec::lz4, input, out));
        const unsigned char magic[4] = {0x04, 0x22, 0x4d, 0x18};
        CHECK(std::memcmp(out.data(), magic, 4) == 0);
        // The header checksum is the second byte of xxh32 of the descriptor.
        const auto flg = std::to_integer<unsigned>(out[4]);
        const std::size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
        CHECK(out[4 + desc] ==
              static_cast<std::byte>((detail::xxh32(std::span(out).subspan(4, desc), 0) >> 8) & 0xff));
    }
    if (codec_available(compression_codec::zstd)) {
        REQUIRE_FALSE(compress(compression_codec::zstd, input, out));
        const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
        CHECK(std::memcmp(out.data(), magic, 4) == 0);
    }
}

TEST_CASE("compression: xxh32 reference values") {
    CHECK(detail::xxh32({}, 0) == 0x02CC5D05u);
    const std::string abc = "abc";
    CHECK(detail::xxh32(std::as_bytes(std::span(abc.data(), abc.size())), 0) == 0x32D153FFu);
}

TEST_CASE("compression: snappy decodes raw blocks too") {
    if (!codec_available(compression_codec::snappy)) return;
    // A raw snappy block: varint length 5, then a 5-byte literal (tag (5-1)<<2).
    const unsigned char raw[] = {0x05, 0x10, 'h', 'e', 'l', 'l', 'o'};
    byte_buffer out;
    REQUIRE_FALSE(decompress(compression_codec::snappy, std::as_bytes(std::span(raw)), out));
    CHECK(std::string(reinterpret_cast<const char*>(out.data()), out.size()) == "hello");
    // A declared length far beyond what the bytes can expand to is rejected without allocating it.
    const unsigned char liar[] = {0xff, 0xff, 0xff, 0x1f, 0x10, 'h', 'e', 'l', 'l', 'o'};
    CHECK(decompress(compression_codec::snappy, std::as_bytes(std::span(liar)), out) ==
          wire_errc::decompression_failed);
}

TEST_CASE("compression: LZ4 frames with Kafka's magic v0 header checksum") {
    if (!codec_available(compression_codec::lz4)) return;
    const auto input = sample(5000, 3);
    byte_buffer frame, out;
    REQUIRE_FALSE(compress(compression_codec::lz4, input, frame));
    const auto flg = std::to_integer<unsigned>(frame[4]);
    const std::size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    // Kafka 0.8-0.9 hashed the magic number too.
    frame[4 + desc] = static_cast<std::byte>((detail::xxh32(std::span(frame).first(4 + desc), 0) >> 8) & 0xff);
    decompressor d;
    decompress_options strict;
    CHECK(d.decompress(compression_codec::lz4, frame, out, strict) == wire_errc::decompression_failed);
    decompress_options legacy;
    legacy.lz4_legacy_checksum = true;
    REQUIRE_FALSE(d.decompress(compression_codec::lz4, frame, out, legacy));
    CHECK(out == input);
}

TEST_CASE("compression: corrupt and truncated input fails cleanly") {
    compressor c;
    decompressor d;
    const auto input = sample(200000, 11);
    for (auto codec : all_codecs) {
        if (codec == compression_codec::none || !codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        byte_buffer packed, out;
        REQUIRE_FALSE(c.compress(codec, input, packed));
        for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{5}, packed.size() / 2, packed.size() - 1}) {
            CAPTURE(cut);
            const auto ec = d.decompress(codec, std::span(packed).first(cut), out);
            CHECK(ec);
            CHECK(out.empty());
        }
        // Flipped bytes: either an error or (for formats without checksums) other
        // output, but never a crash or an overrun (the sanitizers watch).
        std::mt19937 rng(5);
        for (int i = 0; i < 200; ++i) {
            auto bad = packed;
            bad[rng() % bad.size()] ^= static_cast<std::byte>(1 + rng() % 255);
            (void)d.decompress(codec, bad, out);
        }
    }
}

TEST_CASE("compression: decompression bomb is capped") {
    // 100 MiB of zeros, given as 100 pieces of the same 1 MiB buffer.
    const byte_buffer mib(1 << 20, std::byte{0});
    std::vector<std::span<const std::byte>> pieces(100, std::span<const std::byte>(mib));
    compressor c;
    decompressor d;
    decompress_options cap;
    cap.max_size = 1 << 20;
    for (auto codec : all_codecs) {
        if (codec == compression_codec::none || !codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        byte_buffer bomb, out;
        REQUIRE_FALSE(c.compress(codec, pieces, bomb));
        CHECK(bomb.size() < (8u << 20));
        CHECK(d.decompress(codec, bomb, out, cap) == wire_errc::decompressed_too_large);
        CHECK(out.capacity() <= (3u << 20));
    }
    // Exactly at the cap is fine.
    byte_buffer packed, out;
    REQUIRE_FALSE(compress(compression_codec::gzip, mib, packed));
    CHECK_FALSE(decompress(compression_codec::gzip, packed, out, 1 << 20));
    CHECK(out.size() == (1u << 20));
    CHECK(decompress(compression_codec::gzip, packed, out, (1 << 20) - 1) == wire_errc::decompressed_too_large);
}
