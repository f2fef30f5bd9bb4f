#include "kwire/proto/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KWIRE_CRC32C_X86 1
#endif

namespace kwire::proto {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78u;  // reflected Castagnoli

using table = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table make_slicing_tables() {
    table t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? polynomial : 0);
        t[0][i] = c;
    }
    for (std::size_t s = 1; s < 8; ++s)
        for (std::size_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    return t;
}

constexpr table slicing = make_slicing_tables();

// Runs the raw CRC register over `n` bytes (no pre/post inversion).
std::uint32_t update_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    while (n >= 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);  // little-endian machines only (x86, arm64 as used)
        const auto lo = static_cast<std::uint32_t>(word) ^ crc;
        const auto hi = static_cast<std::uint32_t>(word >> 32);
        crc = slicing[7][lo & 0xff] ^ slicing[6][(lo >> 8) & 0xff] ^ slicing[5][(lo >> 16) & 0xff] ^
              slicing[4][lo >> 24] ^ slicing[3][hi & 0xff] ^ slicing[2][(hi >> 8) & 0xff] ^
              slicing[1][(hi >> 16) & 0xff] ^ slicing[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ slicing[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(KWIRE_CRC32C_X86)

// The register after feeding `bytes` zero bytes into `crc` is linear in
// `crc`, so it is four table lookups once the tables are built.
struct shift_operator {
    std::array<std::array<std::uint32_t, 256>, 4> t{};

    explicit shift_operator(std::size_t bytes) {
        std::array<std::uint32_t, 32> basis{};
        for (int bit = 0; bit < 32; ++bit) {
            std::uint32_t c = 1u << bit;
            for (std::size_t i = 0; i < bytes; ++i) c = (c >> 8) ^ slicing[0][c & 0xff];
            basis[static_cast<std::size_t>(bit)] = c;
        }
        for (std::size_t k = 0; k < 4; ++k)
            for (std::uint32_t b = 0; b < 256; ++b) {
                std::uint32_t v = 0;
                for (int bit = 0; bit < 8; ++bit)
                    if (b & (1u << bit)) v ^= basis[k * 8 + static_cast<std::size_t>(bit)];
                t[k][b] = v;
            }
    }

    std::uint32_t operator()(std::uint32_t c) const noexcept {
        return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
    }
};

constexpr std::size_t long_block = 4096;
constexpr std::size_t short_block = 256;

__attribute__((target("sse4.2"))) std::uint32_t single_stream(std::uint32_t crc, const unsigned char*& p,
                                                              std::size_t n) noexcept {
    std::uint64_t c = crc;
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

// Three independent streams keep the crc32 unit's pipeline full (latency 3,
// throughput 1 per cycle); their results are merged with shift operators.
__attribute__((target("sse4.2"))) std::uint32_t three_streams(std::uint32_t crc, const unsigned char*& p,
                                                              std::size_t block, const shift_operator& shift) noexcept {
    std::uint64_t c0 = crc, c1 = 0, c2 = 0;
    const unsigned char* a = p;
    const unsigned char* b = p + block;
    const unsigned char* c = p + 2 * block;
    for (std::size_t i = 0; i < block; i += 8) {
        std::uint64_t w0, w1, w2;
        std::memcpy(&w0, a + i, 8);
        std::memcpy(&w1, b + i, 8);
        std::memcpy(&w2, c + i, 8);
        c0 = _mm_crc32_u64(c0, w0);
        c1 = _mm_crc32_u64(c1, w1);
        c2 = _mm_crc32_u64(c2, w2);
    }
    p += 3 * block;
    std::uint32_t r = shift(static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
    return shift(r) ^ static_cast<std::uint32_t>(c2);
}

std::uint32_t update_hardware(std::uint32_t crc, const unsigned char* p, std::size_t n) noexcept {
    static const shift_operator shift_long(long_block);
    static const shift_operator shift_short(short_block);
    while (n >= 3 * long_block) {
        crc = three_streams(crc, p, long_block, shift_long);
        n -= 3 * long_block;
    }
    while (n >= 3 * short_block) {
        crc = three_streams(crc, p, short_block, shift_short);
        n -= 3 * short_block;
    }
    return single_stream(crc, p, n);
}

bool cpu_has_sse42() noexcept {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

#endif

using update_fn = std::uint32_t (*)(std::uint32_t, const unsigned char*, std::size_t) noexcept;

update_fn choose_update() noexcept {
#if defined(KWIRE_CRC32C_X86)
    if (cpu_has_sse42()) return update_hardware;
#endif
    return update_portable;
}

update_fn best_update() noexcept {
    static const update_fn chosen = choose_update();
    return chosen;
}

} // namespace

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t previous) noexcept {
    return ~best_update()(~previous, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::uint32_t crc32c_portable(std::span<const std::byte> data, std::uint32_t previous) noexcept {
    return ~update_portable(~previous, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

bool crc32c_is_hardware() noexcept { return best_update() != update_portable; }

} // namespace kwire::proto
