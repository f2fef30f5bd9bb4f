// kwire's key hashing against the peers themselves, live, on keys drawn fresh
// for every run: Kafka's Java client (kafka-clients of the tested Kafka, run
// through tools/gen/partition_vectors/PartitionVectors.java) and kafka-python
// (kafka.partitioner.default: murmur2 and DefaultPartitioner, the producer's
// default). The run's seed is printed, so a mismatch can be reproduced with
//   java -cp "$KWIRE_KAFKA_CLASSPATH" tools/gen/partition_vectors/PartitionVectors.java --seed S --random 500
#include "support/broker_env.hpp"
#include "support/run_command.hpp"

#include "kwire/partitioner.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace kwire::test;

namespace {

namespace fs = std::filesystem;

const std::string source_dir = KWIRE_SOURCE_DIR;
constexpr int random_keys = 500;

struct key_vector {
    std::string key_hex;  // "-" for the empty key
    std::vector<std::byte> key;
    std::int32_t hash = 0;
    std::vector<std::int32_t> partitions;  // one per partition count
};

struct peer_vectors {
    std::uint64_t seed = 0;
    std::vector<std::int32_t> partition_counts;
    std::vector<key_vector> keys;
};

std::vector<std::byte> from_hex(const std::string& hex) {
    std::vector<std::byte> out;
    if (hex == "-") return out;
    REQUIRE_MESSAGE(hex.size() % 2 == 0, "odd hex key " << hex);
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A file in the temp directory, removed when the test is done with it.
struct temp_file {
    fs::path path;
    explicit temp_file(const std::string& name) : path(fs::temp_directory_path() / name) {}
    ~temp_file() {
        std::error_code ec;
        fs::remove(path, ec);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

std::string unique_name(std::uint64_t seed, const char* what) {
    return "kwire-partitioner-" + std::to_string(seed) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" + what + ".txt";
}

// Runs PartitionVectors.java (the fixed keys and `random_keys` keys from a
// fresh seed) with the broker's classpath, once per test run.
const peer_vectors& java_vectors() {
    static std::optional<peer_vectors> cached;
    if (cached) return *cached;

    const std::string classpath = broker_env("KWIRE_KAFKA_CLASSPATH");
    peer_vectors out;
    std::random_device rd;
    out.seed = ((std::uint64_t{rd()} << 32) ^ rd() ^
                static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) &
               0x7fffffffffffffffull;
    MESSAGE("PartitionVectors seed " << out.seed);

    temp_file stdout_file(unique_name(out.seed, "java"));
    const std::string program = source_dir + "/tools/gen/partition_vectors/PartitionVectors.java";
    const auto r = run_command("java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp " +
                                   shell_quote(classpath) + " " + shell_quote(program) + " --seed " +
                                   std::to_string(out.seed) + " --random " + std::to_string(random_keys) + " > " +
                                   shell_quote(stdout_file.path.string()),
                               180);
    INFO("java output (stderr): " << r.output);
    REQUIRE(r.exit_code == 0);

    std::istringstream lines(read_all(stdout_file.path));
    std::string text;
    int number = 0;
    while (std::getline(lines, text)) {
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
        key_vector v;
        v.key_hex = first;
        v.key = from_hex(first);
        REQUIRE_MESSAGE(static_cast<bool>(fields >> v.hash), "java output line " << number << ": " << text);
        std::int32_t p;
        while (fields >> p) v.partitions.push_back(p);
        REQUIRE_MESSAGE(v.partitions.size() == out.partition_counts.size(),
                        "java output line " << number << ": " << text);
        out.keys.push_back(std::move(v));
    }
    REQUIRE(!out.partition_counts.empty());
    // The fixed keys (about 70) and every random one.
    REQUIRE(out.keys.size() >= static_cast<std::size_t>(random_keys) + 50);
    cached = std::move(out);
    return *cached;
}

// kafka-python on the same keys: per key, its murmur2 (read as a signed
// 32-bit number), DefaultPartitioner's choice for each partition count (with
// a stand-in for ClusterMetadata that offers partitions 0..n-1), and
// zlib.crc32(key) % n, librdkafka's consistent formula.
constexpr const char* python_script = R"PY(
import sys, zlib
from kafka.partitioner.default import DefaultPartitioner, murmur2

class Cluster:
    def __init__(self, n): self.n = n
    def topics(self): return {'t'}
    def partitions_for_topic(self, topic): return set(range(self.n))
    def available_partitions_for_topic(self, topic): return set(range(self.n))

counts = [int(c) for c in sys.argv[2].split(',')]
clusters = [Cluster(n) for n in counts]
partitioner = DefaultPartitioner()
out = []
for line in open(sys.argv[1]):
    hexkey = line.strip()
    if not hexkey:
        continue
    key = b'' if hexkey == '-' else bytes.fromhex(hexkey)
    h = murmur2(key)
    if h >= 1 << 31:
        h -= 1 << 32
    parts = [partitioner.partition('t', key, key, None, None, c) for c in clusters]
    crc = [zlib.crc32(key) % n for n in counts]
    out.append(' '.join([hexkey, str(h)] + [str(p) for p in parts] + [str(c) for c in crc]))
print('\n'.join(out))
)PY";

} // namespace

TEST_CASE("partitioner peers: kwire's murmur2 and partitions equal the Java client's on fresh random keys") {
    const peer_vectors& java = java_vectors();
    INFO("PartitionVectors seed " << java.seed);
    int negative = 0;
    for (const auto& v : java.keys) {
        INFO("key " << v.key_hex);
        CHECK(kwire::murmur2(v.key) == v.hash);
        for (std::size_t i = 0; i < java.partition_counts.size(); ++i) {
            INFO("partition count " << java.partition_counts[i]);
            CHECK(kwire::murmur2_partition(v.key, java.partition_counts[i]) == v.partitions[i]);
        }
        if (v.hash < 0) ++negative;
    }
    CHECK(negative > 0);
    MESSAGE(java.keys.size() << " keys compared with kafka-clients (" << random_keys << " random, seed "
                             << java.seed << ")");
}

TEST_CASE("partitioner peers: kafka-python's murmur2 and DefaultPartitioner agree on the same keys") {
    const std::string python = broker_env("KWIRE_PYTHON");
    const peer_vectors& java = java_vectors();
    INFO("PartitionVectors seed " << java.seed);

    temp_file keys_file(unique_name(java.seed, "keys"));
    {
        std::ofstream keys(keys_file.path);
        for (const auto& v : java.keys) keys << v.key_hex << '\n';
        REQUIRE(keys.good());
    }
    std::string counts;
    for (auto n : java.partition_counts) counts += (counts.empty() ? "" : ",") + std::to_string(n);

    temp_file stdout_file(unique_name(java.seed, "python"));
    const auto r = run_command(shell_quote(python) + " -c " + shell_quote(python_script) + " " +
                                   shell_quote(keys_file.path.string()) + " " + counts + " > " +
                                   shell_quote(stdout_file.path.string()),
                               180);
    INFO("python output (stderr): " << r.output);
    REQUIRE(r.exit_code == 0);

    std::istringstream lines(read_all(stdout_file.path));
    std::string text;
    std::size_t index = 0;
    const std::size_t n_counts = java.partition_counts.size();
    while (std::getline(lines, text)) {
        if (text.empty()) continue;
        REQUIRE(index < java.keys.size());
        const key_vector& v = java.keys[index++];
        INFO("key " << v.key_hex);
        std::istringstream fields(text);
        std::string key_hex;
        std::int32_t hash = 0;
        fields >> key_hex >> hash;
        REQUIRE(key_hex == v.key_hex);
        CHECK(kwire::murmur2(v.key) == hash);
        CHECK(hash == v.hash);  // and the peers agree with each other
        for (std::size_t i = 0; i < n_counts; ++i) {
            std::int32_t p = -1;
            fields >> p;
            INFO("DefaultPartitioner, partition count " << java.partition_counts[i]);
            CHECK(kwire::murmur2_partition(v.key, java.partition_counts[i]) == p);
        }
        for (std::size_t i = 0; i < n_counts; ++i) {
            std::int32_t p = -1;
            fields >> p;
            INFO("zlib.crc32(key) % n, partition count " << java.partition_counts[i]);
            CHECK(kwire::consistent_partition(v.key, java.partition_counts[i]) == p);
        }
        REQUIRE_FALSE(fields.fail());
    }
    CHECK(index == java.keys.size());
    MESSAGE(index << " keys compared with kafka-python (seed " << java.seed << ")");
}
