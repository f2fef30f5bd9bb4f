#include "kwire/proto/crc32c.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

using kwire::proto::crc32c;
using kwire::proto::crc32c_portable;

namespace {
std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }
} // namespace

TEST_CASE("crc32c: published check values") {
    CHECK(crc32c(as_bytes("123456789")) == 0xE3069283u);
    CHECK(crc32c_portable(as_bytes("123456789")) == 0xE3069283u);
    CHECK(crc32c({}) == 0u);

    // RFC 3720 (iSCSI) appendix B.4 vectors.
    std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xff}), up(32), down(32);
    for (int i = 0; i < 32; ++i) {
        up[static_cast<std::size_t>(i)] = static_cast<std::byte>(i);
        down[static_cast<std::size_t>(i)] = static_cast<std::byte>(31 - i);
    }
    CHECK(crc32c(zeros) == 0x8A9136AAu);
    CHECK(crc32c(ones) == 0x62A8AB43u);
    CHECK(crc32c(up) == 0x46DD794Eu);
    CHECK(crc32c(down) == 0x113FDB5Cu);
}

TEST_CASE("crc32c: hardware and portable agree at every length and alignment, and chain across segments") {
    std::mt19937 rng(42);
    std::vector<std::byte> data(3 * 4096 * 2 + 3 * 256 + 100);
    for (auto& b : data) b = static_cast<std::byte>(rng());
    for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 255u, 767u, 768u, 769u, 4095u, 12287u, 12288u, 12289u,
                            static_cast<unsigned>(data.size() - 3)}) {
        for (std::size_t offset = 0; offset < 3; ++offset) {
            std::span<const std::byte> s(data.data() + offset, len);
            const auto whole = crc32c(s);
            CHECK(whole == crc32c_portable(s));
            const std::size_t cut = len / 3;
            CHECK(crc32c(s.subspan(cut), crc32c(s.first(cut))) == whole);
        }
    }
}
