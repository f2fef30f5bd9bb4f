// kwire's key hashing against what Kafka's Java client computed
// (tests/golden/partitioner/murmur2-vectors.txt, written by
// tools/gen/partition_vectors/PartitionVectors.java) and against published
// values. tests/integration/test_partitioner_peers.cpp runs the peers live.
#include "kwire/partitioner.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef KWIRE_GOLDEN_DIR
#error "KWIRE_GOLDEN_DIR must name the tests/golden directory"
#endif

using kwire::consistent_partition;
using kwire::murmur2;
using kwire::murmur2_partition;

namespace {

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::vector<std::byte> bytes(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

// "-" is the empty key.
std::vector<std::byte> from_hex(const std::string& hex) {
    std::vector<std::byte> out;
    if (hex == "-") return out;
    REQUIRE_MESSAGE(hex.size() % 2 == 0, "odd hex key " << hex);
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

struct vector_line {
    int line_number = 0;
    std::string key_hex;
    std::int32_t hash = 0;
    std::vector<std::int32_t> partitions;  // one per partition count
};

struct vector_file {
    std::vector<std::int32_t> partition_counts;
    std::vector<vector_line> lines;
};

vector_file read_vectors(const std::filesystem::path& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path.string());
    vector_file out;
    std::string text;
    int number = 0;
    while (std::getline(in, text)) {
        ++number;
        if (text.empty() || text[0] == '#') continue;
        std::istringstream fields(text);
        std::string first;
        fields >> first;
        if (first == "partition_counts") {
            std::int32_t n;
            while (fields >> n) out.partition_counts.push_back(n);
            continue;
        }
        vector_line v;
        v.line_number = number;
        v.key_hex = first;
        REQUIRE_MESSAGE(static_cast<bool>(fields >> v.hash), path.string() << ":" << number << ": no hash");
        std::int32_t p;
        while (fields >> p) v.partitions.push_back(p);
        REQUIRE_MESSAGE(v.partitions.size() == out.partition_counts.size(),
                        path.string() << ":" << number << ": " << v.partitions.size() << " partitions for "
                                      << out.partition_counts.size() << " partition counts");
        out.lines.push_back(std::move(v));
    }
    return out;
}

} // namespace

TEST_CASE("murmur2: every key kafka-clients hashed (golden vectors)") {
    const auto path = std::filesystem::path(KWIRE_GOLDEN_DIR) / "partitioner" / "murmur2-vectors.txt";
    const vector_file vectors = read_vectors(path);
    REQUIRE(vectors.partition_counts == std::vector<std::int32_t>{1, 3, 6, 7, 100});
    // Fixed keys (about 70) and the 300 pseudo-random ones: a truncated or
    // emptied file must not pass.
    REQUIRE(vectors.lines.size() >= 350);

    int checked = 0, negative = 0, high_tail = 0;
    for (const auto& v : vectors.lines) {
        const auto key = from_hex(v.key_hex);
        INFO(path.string() << ":" << v.line_number << " key " << v.key_hex);
        CHECK(murmur2(key) == v.hash);
        for (std::size_t i = 0; i < vectors.partition_counts.size(); ++i) {
            INFO("partition count " << vectors.partition_counts[i]);
            CHECK(murmur2_partition(key, vectors.partition_counts[i]) == v.partitions[i]);
        }
        ++checked;
        if (v.hash < 0) ++negative;
        if (key.size() % 4 != 0 && std::to_integer<int>(key.back()) >= 0x80) ++high_tail;
    }
    // The file covers what a naive port gets wrong: negative hashes (the
    // 0x7fffffff mask) and tail bytes >= 0x80 (Java masks them to 0..255).
    CHECK(negative > 50);
    CHECK(high_tail > 20);
    MESSAGE(checked << " keys checked against " << path.string());
}

TEST_CASE("murmur2: values in Kafka's own UtilsTest") {
    CHECK(murmur2(as_bytes("21")) == -973932308);
    CHECK(murmur2(as_bytes("foobar")) == -790332482);
    CHECK(murmur2(as_bytes("a-little-bit-long-string")) == -985981536);
    CHECK(murmur2(as_bytes("a-little-bit-longer-string")) == -1486304829);
    CHECK(murmur2(as_bytes("abc")) == 479470107);
    CHECK(murmur2({}) == 275646681);
}

TEST_CASE("murmur2: tail bytes >= 0x80 count as unsigned, as in Java") {
    // Values kafka-clients 4.4.0 computed (also in the golden vectors). A
    // port that sign-extended a tail byte (C's plain char) would xor
    // 0xffffff80 instead of 0x80 into the hash and get these wrong.
    CHECK(murmur2(bytes({0x80})) == 857690492);
    CHECK(murmur2(bytes({0xff})) == -311467685);
    CHECK(murmur2(bytes({0x7f})) == 21296028);
    CHECK(murmur2(bytes({0x80, 0x7f})) == -894759045);
    CHECK(murmur2(bytes({0x01, 0x80, 0xfe})) == -53513206);
    CHECK(murmur2(bytes({0xff, 0xff, 0xff})) == 1548199422);
}

TEST_CASE("murmur2_partition: the 0x7fffffff mask, not abs()") {
    // "foobar" hashes negative; Java masks the sign bit off (Utils.toPositive).
    const std::int32_t h = murmur2(as_bytes("foobar"));
    REQUIRE(h < 0);
    for (std::int32_t n : {1, 2, 3, 7, 100, 1000, 2147483647}) {
        const std::int32_t p = murmur2_partition(as_bytes("foobar"), n);
        CHECK(p == (h & 0x7fffffff) % n);
        CHECK(p >= 0);
        CHECK(p < n);
    }
    CHECK(murmur2_partition(as_bytes("foobar"), 100) == 66);
    CHECK(murmur2_partition(as_bytes("abc"), 0) == -1);
    CHECK(murmur2_partition(as_bytes("abc"), -3) == -1);
}

TEST_CASE("consistent_partition: CRC-32 of the key, unsigned, modulo the count (librdkafka)") {
    // CRC-32 check value: crc32("123456789") = 0xCBF43926 (3421780262, which
    // is negative as an int32: a signed modulo would give -6 for 7).
    const auto check = as_bytes("123456789");
    CHECK(consistent_partition(check, 1) == 0);
    CHECK(consistent_partition(check, 3) == 2);
    CHECK(consistent_partition(check, 6) == 2);
    CHECK(consistent_partition(check, 7) == 5);
    CHECK(consistent_partition(check, 100) == 62);
    CHECK(consistent_partition(check, 2147483647) == static_cast<std::int32_t>(3421780262u % 2147483647u));
    // crc32("a") = 0xE8B7BE43, crc32("hello") = 0x3610A686.
    CHECK(consistent_partition(as_bytes("a"), 100) == 7);
    CHECK(consistent_partition(as_bytes("a"), 7) == 4);
    CHECK(consistent_partition(as_bytes("hello"), 100) == 70);
    CHECK(consistent_partition(as_bytes("hello"), 7) == 2);
    // Empty key: CRC 0, partition 0, whatever the count.
    for (std::int32_t n : {1, 3, 6, 7, 100}) CHECK(consistent_partition({}, n) == 0);
    CHECK(consistent_partition(check, 0) == -1);
    CHECK(consistent_partition(check, -1) == -1);
}

TEST_CASE("partitioners: every result lies between 0 and partition_count - 1") {
    std::vector<std::byte> key;
    for (int len = 0; len < 64; ++len) {
        for (std::int32_t n : {1, 2, 5, 16, 255, 65536}) {
            const auto m = murmur2_partition(key, n);
            const auto c = consistent_partition(key, n);
            CHECK((m >= 0 && m < n));
            CHECK((c >= 0 && c < n));
        }
        key.push_back(static_cast<std::byte>((0x80 + len * 7) & 0xff));
    }
}
