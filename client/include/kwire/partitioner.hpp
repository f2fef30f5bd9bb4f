// Key hashing of Kafka's producers: the functions that map a record key to a
// partition, bit-for-bit as the peers kwire interoperates with compute them,
// so that a key goes to the same partition whichever client wrote it.
//
//   murmur2             Java's org.apache.kafka.common.utils.Utils.murmur2
//                       (also librdkafka's rd_murmur2, kafka-python's murmur2)
//   murmur2_partition   Java's BuiltInPartitioner.partitionForKey, the
//                       default partitioner for records with a key; kafka-
//                       python's DefaultPartitioner; librdkafka's "murmur2"
//                       and "murmur2_random" partitioners for a key
//   consistent_partition librdkafka's "consistent" partitioner
//                       (rd_kafka_msg_partitioner_consistent), and its
//                       "consistent_random" one for a non-empty key
//
// Pure functions: no I/O, no state. What to do with a record that has no
// key (sticky, random) is the producer's business, not theirs.
//
// Checked against the peers themselves: tests/golden/partitioner/ holds what
// kafka-clients computed (tools/gen/partition_vectors), and
// tests/integration/test_partitioner_peers.cpp compares fresh random keys
// with the Java client and kafka-python at test time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kwire {

// MurmurHash2, 32-bit, seed 0x9747b28c, exactly as Kafka's Java client
// computes it: little-endian 4-byte blocks, then the 1 to 3 tail bytes taken
// as unsigned (Java masks each byte with 0xff, so a byte >= 0x80 counts as
// 128..255, not as a negative number), then the final mix. The result is the
// Java int (it may be negative). Same value as librdkafka's rd_murmur2 and,
// read as a signed 32-bit number, kafka-python's murmur2.
std::int32_t murmur2(std::span<const std::byte> data) noexcept;

// The partition Java's default partitioner chooses for a record with `key`:
// (murmur2(key) & 0x7fffffff) % partition_count, as
// BuiltInPartitioner.partitionForKey (Utils.toPositive, then %), kafka-
// python's DefaultPartitioner and librdkafka's rd_kafka_msg_partitioner_murmur2.
// An empty key (present, zero bytes) hashes like any other key. Returns -1
// when partition_count <= 0.
std::int32_t murmur2_partition(std::span<const std::byte> key, std::int32_t partition_count) noexcept;

// librdkafka's "consistent" partitioner, rd_kafka_msg_partitioner_consistent:
// the CRC-32 of the key (zlib's crc32: IEEE polynomial, reflected, initial
// and final xor 0xffffffff) as an unsigned 32-bit number, modulo
// partition_count. An empty key has CRC 0 and so goes to partition 0, as in
// librdkafka, whose partitioner gets a null key as zero bytes too (for
// records without a key librdkafka's producer uses its sticky partition
// instead of calling the partitioner; "consistent_random" does that for empty
// keys as well). Returns -1 when partition_count <= 0.
std::int32_t consistent_partition(std::span<const std::byte> key, std::int32_t partition_count) noexcept;

} // namespace kwire
