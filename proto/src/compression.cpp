#include "kwire/proto/compression.hpp"

#include "kwire/proto/wire_error.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

#if KWIRE_HAVE_LZ4
#include <lz4frame.h>
#endif
#if KWIRE_HAVE_ZSTD
#include <zstd.h>
#endif
#if KWIRE_HAVE_SNAPPY
#include <snappy.h>
#endif

namespace kwire::proto {

using bytes_view = std::span<const std::byte>;

namespace detail {

std::uint32_t xxh32(bytes_view data, std::uint32_t seed) noexcept {
    constexpr std::uint32_t p1 = 2654435761u, p2 = 2246822519u, p3 = 3266489917u, p4 = 668265263u,
                            p5 = 374761393u;
    auto rotl = [](std::uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
    auto read32 = [](const std::byte* q) {
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint32_t>(q[i]);
        return v;
    };
    const std::byte* p = data.data();
    const std::byte* const end = p + data.size();
    std::uint32_t h;
    if (data.size() >= 16) {
        std::uint32_t v1 = seed + p1 + p2, v2 = seed + p2, v3 = seed, v4 = seed - p1;
        auto round = [&](std::uint32_t acc, std::uint32_t in) { return rotl(acc + in * p2, 13) * p1; };
        while (end - p >= 16) {
            v1 = round(v1, read32(p));
            v2 = round(v2, read32(p + 4));
            v3 = round(v3, read32(p + 8));
            v4 = round(v4, read32(p + 12));
            p += 16;
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    } else {
        h = seed + p5;
    }
    h += static_cast<std::uint32_t>(data.size());
    while (end - p >= 4) {
        h = rotl(h + read32(p) * p3, 17) * p4;
        p += 4;
    }
    while (p < end) {
        h = rotl(h + std::to_integer<std::uint32_t>(*p) * p5, 11) * p1;
        ++p;
    }
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

} // namespace detail

namespace {

#if KWIRE_HAVE_SNAPPY
constexpr bool have_snappy = true;
#else
constexpr bool have_snappy = false;
#endif
#if KWIRE_HAVE_LZ4
constexpr bool have_lz4 = true;
#else
constexpr bool have_lz4 = false;
#endif
#if KWIRE_HAVE_ZSTD
constexpr bool have_zstd = true;
#else
constexpr bool have_zstd = false;
#endif

constexpr std::size_t min_growth = 64 * 1024;

std::size_t total_size(std::span<const bytes_view> inputs) {
    std::size_t n = 0;
    for (auto in : inputs) n += in.size();
    return n;
}

// Makes room after `used` bytes of `out`, doubling, up to `limit` bytes in
// all. False when `out` is already at the limit.
bool grow(byte_buffer& out, std::size_t used, std::size_t limit) {
    if (used < out.size()) return true;
    if (out.size() >= limit) return false;
    std::size_t n = std::max(out.size() * 2, min_growth);
    out.resize(std::min(n, limit));
    return true;
}

// Makes sure at least `need` bytes follow `used` (compression output; lz4).
[[maybe_unused]] void ensure_room(byte_buffer& out, std::size_t used, std::size_t need) {
    if (out.size() - used < need) out.resize(std::max(used + need, out.size() + out.size() / 2));
}

// Big-endian int32 helpers for the xerial framing (snappy).
[[maybe_unused]] void put_be32(std::byte* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (24 - 8 * i));
}
[[maybe_unused]] std::uint32_t get_be32(const std::byte* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
    return v;
}

[[maybe_unused]] constexpr unsigned char xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
[[maybe_unused]] constexpr std::size_t xerial_header_size = 16;
[[maybe_unused]] constexpr std::size_t xerial_block_size = 32 * 1024;

} // namespace

// ---------------------------------------------------------------------------

struct compressor::state {
    z_stream deflate_stream{};
    bool deflate_ready = false;
    int deflate_level = 0;
#if KWIRE_HAVE_LZ4
    LZ4F_cctx* lz4 = nullptr;
#endif
#if KWIRE_HAVE_ZSTD
    ZSTD_CCtx* zstd = nullptr;
#endif
    byte_buffer gather;  // snappy blocks that span input pieces

    ~state() {
        if (deflate_ready) deflateEnd(&deflate_stream);
#if KWIRE_HAVE_LZ4
        if (lz4) LZ4F_freeCompressionContext(lz4);
#endif
#if KWIRE_HAVE_ZSTD
        if (zstd) ZSTD_freeCCtx(zstd);
#endif
    }

    std::error_code gzip(std::span<const bytes_view> inputs, byte_buffer& out, int level) {
        if (level < 0) level = 6;
        if (level > 9) level = 9;
        if (deflate_ready && deflate_level != level) {
            deflateEnd(&deflate_stream);
            deflate_ready = false;
        }
        if (!deflate_ready) {
            deflate_stream = z_stream{};
            if (deflateInit2(&deflate_stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return wire_errc::decompression_failed;
            deflate_ready = true;
            deflate_level = level;
        } else {
            deflateReset(&deflate_stream);
        }
        z_stream& zs = deflate_stream;
        out.resize(deflateBound(&zs, static_cast<uLong>(total_size(inputs))));
        std::size_t used = 0;
        auto run = [&](const std::byte* data, std::size_t size, int flush) -> int {
            zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data));
            std::size_t left = size;
            for (;;) {
                const std::size_t chunk = std::min<std::size_t>(left, UINT_MAX);
                zs.avail_in = static_cast<uInt>(chunk);
                const bool last = chunk == left;
                if (used == out.size()) out.resize(out.size() * 2 + 64);
                const std::size_t room = std::min<std::size_t>(out.size() - used, UINT_MAX);
                zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
                zs.avail_out = static_cast<uInt>(room);
                const int rc = deflate(&zs, last ? flush : Z_NO_FLUSH);
                used += room - zs.avail_out;
                left -= chunk - zs.avail_in;
                if (rc == Z_STREAM_END) return rc;
                if (rc != Z_OK && rc != Z_BUF_ERROR) return rc;
                if (left == 0 && zs.avail_out != 0 && flush == Z_NO_FLUSH) return Z_OK;
            }
        };
        for (auto in : inputs)
            if (!in.empty() && run(in.data(), in.size(), Z_NO_FLUSH) != Z_OK) return wire_errc::decompression_failed;
        if (run(nullptr, 0, Z_FINISH) != Z_STREAM_END) return wire_errc::decompression_failed;
        out.resize(used);
        return {};
    }

#if KWIRE_HAVE_LZ4
    std::error_code lz4_frame(std::span<const bytes_view> inputs, byte_buffer& out, int level) {
        if (!lz4 && LZ4F_isError(LZ4F_createCompressionContext(&lz4, LZ4F_VERSION)))
            return wire_errc::decompression_failed;
        LZ4F_preferences_t prefs;
        std::memset(&prefs, 0, sizeof prefs);
        prefs.frameInfo.blockSizeID = LZ4F_max64KB;
        prefs.frameInfo.blockMode = LZ4F_blockIndependent;
        prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
        prefs.compressionLevel = level < 0 ? 0 : level;
        out.resize(LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(total_size(inputs), &prefs));
        std::size_t r = LZ4F_compressBegin(lz4, out.data(), out.size(), &prefs);
        if (LZ4F_isError(r)) return wire_errc::decompression_failed;
        std::size_t used = r;
        for (auto in : inputs) {
            std::size_t off = 0;
            while (off < in.size()) {
                const std::size_t n = std::min<std::size_t>(in.size() - off, 1u << 20);
                ensure_room(out, used, LZ4F_compressBound(n, &prefs));
                r = LZ4F_compressUpdate(lz4, out.data() + used, out.size() - used, in.data() + off, n, nullptr);
                if (LZ4F_isError(r)) return wire_errc::decompression_failed;
                used += r;
                off += n;
            }
        }
        ensure_room(out, used, LZ4F_compressBound(0, &prefs));
        r = LZ4F_compressEnd(lz4, out.data() + used, out.size() - used, nullptr);
        if (LZ4F_isError(r)) return wire_errc::decompression_failed;
        out.resize(used + r);
        return {};
    }
#endif

#if KWIRE_HAVE_ZSTD
    std::error_code zstd_frame(std::span<const bytes_view> inputs, byte_buffer& out, int level) {
        if (!zstd && !(zstd = ZSTD_createCCtx())) return wire_errc::decompression_failed;
        ZSTD_CCtx_reset(zstd, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, level < 0 ? ZSTD_CLEVEL_DEFAULT : level);
        const std::size_t total = total_size(inputs);
        ZSTD_CCtx_setPledgedSrcSize(zstd, total);
        out.resize(ZSTD_compressBound(total));
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        for (auto in : inputs) {
            ZSTD_inBuffer i{in.data(), in.size(), 0};
            while (i.pos < i.size) {
                if (o.pos == o.size) {
                    out.resize(out.size() * 2 + 64);
                    o.dst = out.data();
                    o.size = out.size();
                }
                const std::size_t r = ZSTD_compressStream2(zstd, &o, &i, ZSTD_e_continue);
                if (ZSTD_isError(r)) return wire_errc::decompression_failed;
            }
        }
        for (;;) {
            ZSTD_inBuffer i{nullptr, 0, 0};
            const std::size_t r = ZSTD_compressStream2(zstd, &o, &i, ZSTD_e_end);
            if (ZSTD_isError(r)) return wire_errc::decompression_failed;
            if (r == 0) break;
            out.resize(out.size() * 2 + 64);
            o.dst = out.data();
            o.size = out.size();
        }
        out.resize(o.pos);
        return {};
    }
#endif

#if KWIRE_HAVE_SNAPPY
    // xerial snappy-java framing: magic, version 1, compatible version 1, then
    // blocks of (int32 compressed length, raw snappy data) of 32 KiB input each.
    std::error_code snappy_xerial(std::span<const bytes_view> inputs, byte_buffer& out) {
        const std::size_t total = total_size(inputs);
        const std::size_t blocks = (total + xerial_block_size - 1) / xerial_block_size;
        out.resize(xerial_header_size + blocks * (4 + snappy::MaxCompressedLength(xerial_block_size)));
        std::memcpy(out.data(), xerial_magic, 8);
        put_be32(out.data() + 8, 1);
        put_be32(out.data() + 12, 1);
        std::size_t used = xerial_header_size;
        std::size_t piece = 0, off = 0;  // position in inputs
        std::size_t left = total;
        while (left > 0) {
            const std::size_t n = std::min(left, xerial_block_size);
            while (off == inputs[piece].size()) {
                ++piece;
                off = 0;
            }
            const char* src;
            if (inputs[piece].size() - off >= n) {
                src = reinterpret_cast<const char*>(inputs[piece].data() + off);
                off += n;
            } else {
                gather.resize(n);
                std::size_t got = 0;
                while (got < n) {
                    while (off == inputs[piece].size()) {
                        ++piece;
                        off = 0;
                    }
                    const std::size_t k = std::min(n - got, inputs[piece].size() - off);
                    std::memcpy(gather.data() + got, inputs[piece].data() + off, k);
                    got += k;
                    off += k;
                }
                src = reinterpret_cast<const char*>(gather.data());
            }
            std::size_t clen = 0;
            snappy::RawCompress(src, n, reinterpret_cast<char*>(out.data() + used + 4), &clen);
            put_be32(out.data() + used, static_cast<std::uint32_t>(clen));
            used += 4 + clen;
            left -= n;
        }
        out.resize(used);
        return {};
    }
#endif
};

compressor::compressor() : state_(std::make_unique<state>()) {}
compressor::~compressor() = default;
compressor::compressor(compressor&&) noexcept = default;
compressor& compressor::operator=(compressor&&) noexcept = default;

std::error_code compressor::compress(compression_codec codec, std::span<const bytes_view> inputs,
                                     byte_buffer& output, int level) {
    output.clear();
    switch (codec) {
    case compression_codec::none:
        for (auto in : inputs) output.insert(output.end(), in.begin(), in.end());
        return {};
    case compression_codec::gzip: return state_->gzip(inputs, output, level);
#if KWIRE_HAVE_SNAPPY
    case compression_codec::snappy: return state_->snappy_xerial(inputs, output);
#endif
#if KWIRE_HAVE_LZ4
    case compression_codec::lz4: return state_->lz4_frame(inputs, output, level);
#endif
#if KWIRE_HAVE_ZSTD
    case compression_codec::zstd: return state_->zstd_frame(inputs, output, level);
#endif
    default: return wire_errc::unsupported_codec;
    }
}

// ---------------------------------------------------------------------------

struct decompressor::state {
    z_stream inflate_stream{};
    bool inflate_ready = false;
#if KWIRE_HAVE_LZ4
    LZ4F_dctx* lz4 = nullptr;
#endif
#if KWIRE_HAVE_ZSTD
    ZSTD_DCtx* zstd = nullptr;
#endif

    ~state() {
        if (inflate_ready) inflateEnd(&inflate_stream);
#if KWIRE_HAVE_LZ4
        if (lz4) LZ4F_freeDecompressionContext(lz4);
#endif
#if KWIRE_HAVE_ZSTD
        if (zstd) ZSTD_freeDCtx(zstd);
#endif
    }

    // The output may grow to max_size + 1 bytes, so that data beyond the cap
    // is detected without allocating more than the cap.
    std::error_code gzip(bytes_view in, byte_buffer& out, std::size_t max_size) {
        if (!inflate_ready) {
            inflate_stream = z_stream{};
            if (inflateInit2(&inflate_stream, 15 + 32) != Z_OK) return wire_errc::decompression_failed;
            inflate_ready = true;
        } else {
            inflateReset(&inflate_stream);
        }
        if (in.size() > UINT_MAX) return wire_errc::decompression_failed;
        z_stream& zs = inflate_stream;
        zs.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
        zs.avail_in = static_cast<uInt>(in.size());
        const std::size_t limit = max_size + 1;
        out.resize(std::min(limit, std::max(min_growth, in.size() * 4)));
        std::size_t used = 0;
        for (;;) {
            if (!grow(out, used, limit)) return wire_errc::decompressed_too_large;
            const std::size_t room = std::min<std::size_t>(out.size() - used, UINT_MAX);
            zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            zs.avail_out = static_cast<uInt>(room);
            const int rc = inflate(&zs, Z_NO_FLUSH);
            used += room - zs.avail_out;
            if (used > max_size) return wire_errc::decompressed_too_large;
            if (rc == Z_STREAM_END) {
                // Concatenated gzip members are one stream; trailing zero padding is ignored.
                const auto* rest = reinterpret_cast<const std::byte*>(zs.next_in);
                if (std::all_of(rest, rest + zs.avail_in, [](std::byte b) { return b == std::byte{0}; })) break;
                inflateReset(&zs);
                continue;
            }
            if (rc == Z_OK) continue;
            if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;
            return wire_errc::decompression_failed;  // corrupt, or input ended inside the stream
        }
        out.resize(used);
        return {};
    }

#if KWIRE_HAVE_LZ4
    std::error_code lz4_frame(bytes_view in, byte_buffer& out, std::size_t max_size, bool legacy) {
        if (!lz4 && LZ4F_isError(LZ4F_createDecompressionContext(&lz4, LZ4F_VERSION)))
            return wire_errc::decompression_failed;
        LZ4F_resetDecompressionContext(lz4);
        // Kafka's magic v0 LZ4 framing computed the header checksum over the
        // magic number as well: replace it with the standard one.
        std::byte fixed_header[LZ4F_HEADER_SIZE_MAX];
        std::size_t header_len = 0;
        if (legacy && in.size() >= 7) {
            const auto flg = std::to_integer<unsigned>(in[4]);
            const std::size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
            if (in.size() > 4 + desc) {
                const auto hc_std = static_cast<std::byte>((detail::xxh32(in.subspan(4, desc), 0) >> 8) & 0xff);
                const auto hc_kafka = static_cast<std::byte>((detail::xxh32(in.first(4 + desc), 0) >> 8) & 0xff);
                if (in[4 + desc] != hc_std && in[4 + desc] == hc_kafka) {
                    header_len = 4 + desc + 1;
                    std::memcpy(fixed_header, in.data(), header_len);
                    fixed_header[4 + desc] = hc_std;
                }
            }
        }
        const std::size_t limit = max_size + 1;
        out.resize(std::min(limit, std::max(min_growth, in.size() * 4)));
        std::size_t used = 0;
        bytes_view src = header_len ? bytes_view(fixed_header, header_len) : in;
        std::size_t rest_after_header = header_len;  // where to continue in `in`
        std::size_t hint = 1;
        for (;;) {
            if (src.empty() && header_len) {
                src = in.subspan(rest_after_header);
                header_len = 0;
            }
            if (!grow(out, used, limit)) return wire_errc::decompressed_too_large;
            std::size_t dst_n = out.size() - used, src_n = src.size();
            hint = LZ4F_decompress(lz4, out.data() + used, &dst_n, src.data(), &src_n, nullptr);
            if (LZ4F_isError(hint)) return wire_errc::decompression_failed;
            used += dst_n;
            src = src.subspan(src_n);
            if (used > max_size) return wire_errc::decompressed_too_large;
            const bool output_full = used == out.size();
            if (src.empty() && !header_len) {
                if (hint == 0) break;                                      // frame complete
                if (!output_full) return wire_errc::decompression_failed;  // input ended inside the frame
            } else if (src_n == 0 && dst_n == 0 && !output_full) {
                return wire_errc::decompression_failed;
            }
        }
        out.resize(used);
        return {};
    }
#endif

#if KWIRE_HAVE_ZSTD
    std::error_code zstd_frame(bytes_view in, byte_buffer& out, std::size_t max_size) {
        if (!zstd && !(zstd = ZSTD_createDCtx())) return wire_errc::decompression_failed;
        ZSTD_DCtx_reset(zstd, ZSTD_reset_session_and_parameters);
        // No window larger than the output cap can be useful, but frames
        // written as streams of unknown size declare up to 8 MiB (level 19).
        int window_log = 23;
        while (window_log < 31 && (std::size_t{1} << window_log) < max_size) ++window_log;
        ZSTD_DCtx_setParameter(zstd, ZSTD_d_windowLogMax, window_log);
        const std::size_t limit = max_size + 1;
        out.resize(std::min(limit, std::max(min_growth, in.size() * 4)));
        ZSTD_inBuffer i{in.data(), in.size(), 0};
        std::size_t used = 0;
        for (;;) {
            if (!grow(out, used, limit)) return wire_errc::decompressed_too_large;
            ZSTD_outBuffer o{out.data(), out.size(), used};
            const std::size_t before_in = i.pos;
            const std::size_t r = ZSTD_decompressStream(zstd, &o, &i);
            if (ZSTD_isError(r)) return wire_errc::decompression_failed;
            const bool progress = o.pos != used || i.pos != before_in;
            used = o.pos;
            if (used > max_size) return wire_errc::decompressed_too_large;
            const bool output_full = used == out.size();
            if (i.pos == i.size) {
                if (r == 0) break;  // frame complete
                if (!output_full) return wire_errc::decompression_failed;
            } else if (!progress && !output_full) {
                return wire_errc::decompression_failed;
            }
        }
        out.resize(used);
        return {};
    }
#endif

#if KWIRE_HAVE_SNAPPY
    static std::error_code snappy_block(bytes_view block, byte_buffer& out, std::size_t max_size) {
        const char* p = reinterpret_cast<const char*>(block.data());
        std::size_t n = 0;
        if (!snappy::GetUncompressedLength(p, block.size(), &n)) return wire_errc::decompression_failed;
        // A valid snappy block expands at most ~22x (a 3-byte copy tag yields
        // 64 bytes): a larger declared length is a lie, not worth allocating.
        if (n > block.size() * 22 + 64) return wire_errc::decompression_failed;
        const std::size_t used = out.size();
        if (n > max_size - used) return wire_errc::decompressed_too_large;
        out.resize(used + n);
        if (!snappy::RawUncompress(p, block.size(), reinterpret_cast<char*>(out.data() + used)))
            return wire_errc::decompression_failed;
        return {};
    }

    static std::error_code snappy_any(bytes_view in, byte_buffer& out, std::size_t max_size) {
        out.clear();
        if (in.size() < 8 || std::memcmp(in.data(), xerial_magic, 8) != 0) return snappy_block(in, out, max_size);
        if (in.size() < xerial_header_size) return wire_errc::decompression_failed;
        std::size_t pos = xerial_header_size;
        while (pos < in.size()) {
            if (in.size() - pos < 4) return wire_errc::decompression_failed;
            const std::uint32_t len = get_be32(in.data() + pos);
            pos += 4;
            if (len > in.size() - pos) return wire_errc::decompression_failed;
            if (len == 0) continue;
            if (auto ec = snappy_block(in.subspan(pos, len), out, max_size)) return ec;
            pos += len;
        }
        return {};
    }
#endif
};

decompressor::decompressor() : state_(std::make_unique<state>()) {}
decompressor::~decompressor() = default;
decompressor::decompressor(decompressor&&) noexcept = default;
decompressor& decompressor::operator=(decompressor&&) noexcept = default;

std::error_code decompressor::decompress(compression_codec codec, bytes_view input, byte_buffer& output,
                                         const decompress_options& options) {
    std::error_code ec;
    switch (codec) {
    case compression_codec::none:
        if (input.size() > options.max_size) return wire_errc::decompressed_too_large;
        output.assign(input.begin(), input.end());
        return {};
    case compression_codec::gzip: ec = state_->gzip(input, output, options.max_size); break;
#if KWIRE_HAVE_SNAPPY
    case compression_codec::snappy: ec = state::snappy_any(input, output, options.max_size); break;
#endif
#if KWIRE_HAVE_LZ4
    case compression_codec::lz4:
        ec = state_->lz4_frame(input, output, options.max_size, options.lz4_legacy_checksum);
        break;
#endif
#if KWIRE_HAVE_ZSTD
    case compression_codec::zstd: ec = state_->zstd_frame(input, output, options.max_size); break;
#endif
    default: return wire_errc::unsupported_codec;
    }
    if (ec) output.clear();
    return ec;
}

// ---------------------------------------------------------------------------

bool codec_available(compression_codec codec) noexcept {
    switch (codec) {
    case compression_codec::none:
    case compression_codec::gzip: return true;
    case compression_codec::snappy: return have_snappy;
    case compression_codec::lz4: return have_lz4;
    case compression_codec::zstd: return have_zstd;
    }
    return false;
}

std::string_view codec_name(compression_codec codec) noexcept {
    switch (codec) {
    case compression_codec::none: return "none";
    case compression_codec::gzip: return "gzip";
    case compression_codec::snappy: return "snappy";
    case compression_codec::lz4: return "lz4";
    case compression_codec::zstd: return "zstd";
    }
    return "unknown";
}

std::optional<compression_codec> codec_from_name(std::string_view name) noexcept {
    for (auto c : {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                   compression_codec::lz4, compression_codec::zstd})
        if (codec_name(c) == name) return c;
    return std::nullopt;
}

std::error_code compress(compression_codec codec, bytes_view input, byte_buffer& output, int level) {
    compressor c;
    return c.compress(codec, input, output, level);
}

std::error_code decompress(compression_codec codec, bytes_view input, byte_buffer& output,
                           std::size_t max_size) {
    decompressor d;
    decompress_options o;
    o.max_size = max_size;
    return d.decompress(codec, input, output, o);
}

} // namespace kwire::proto
