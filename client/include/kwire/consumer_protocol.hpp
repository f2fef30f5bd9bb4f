// The consumer group's embedded protocol (protocol type "consumer"): the bytes
// a member puts in JoinGroup's metadata (ConsumerProtocolSubscription) and the
// bytes the leader hands each member through SyncGroup
// (ConsumerProtocolAssignment). Both start with an int16 version; the bodies
// are Kafka's schemas of the same names, versions 0-3, none flexible.
//
// What the peers do (checked by tests/integration/test_assignors_java.cpp):
// - The Java client (4.4) writes version 3 of both, reads any version >= 0
//   and reads a version above 3 as 3 (the fields it knows; the rest of the
//   bytes are ignored). kwire does the same.
// - kafka-python 3.0.12 decodes versions 0-3 from the same schemas (a newer
//   version as its newest) and writes v0 (range, roundrobin) or v1
//   (cooperative-sticky) subscriptions and v0 assignments.
// So kwire writes version 3, like Java; every peer reads it.
//
// Encoding follows Java's ConsumerProtocol byte for byte, so a kwire leader's
// SyncGroup and a Java leader's carry the same bytes for the same assignment:
// - subscription: topics sorted (Java String order), owned partitions sorted
//   by topic then partition and grouped by topic; empty user data is written
//   as null (what Java writes for the built-in assignors, which have none);
//   an absent rack as null; generation_id only from v2, rack_id from v3 (older
//   versions drop them, as Java does for these ignorable fields).
// - assignment: partitions grouped by topic in the order each topic first
//   appears in the input, partitions in input order (Java's serializeAssignment);
//   empty user data as null.
#pragma once

#include "kwire/assignor.hpp"
#include "kwire/topic_partition.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire {

// The version kwire writes (and the newest it knows): 3, as the Java client.
inline constexpr std::int16_t consumer_protocol_version = 3;

// member_id and group_instance_id are not part of the subscription (they
// travel in JoinGroup itself) and are not written. Throws
// std::invalid_argument for a version outside 0-3 or a value the schema
// cannot carry (a topic or rack name longer than 32767 bytes).
std::vector<std::byte> encode_subscription(const member_subscription& s,
                                           std::int16_t version = consumer_protocol_version);

// Any version >= 0; a version above 3 is read as 3 and the bytes after the
// fields kwire knows are ignored (Kafka's rule for this protocol). Sets
// topics, owned_partitions (in wire order), generation (-1 before v2),
// rack (nullopt before v3, and for a null or empty rack id, as Java) and
// user_data (empty for null); leaves member_id and group_instance_id as they
// were. On error `out` is unchanged and the error is a kwire::proto::wire_errc
// (truncated, unsupported_version for a negative version, ...).
std::error_code decode_subscription(std::span<const std::byte> bytes, member_subscription& out);

// Throws std::invalid_argument for a version outside 0-3 or a topic name
// longer than 32767 bytes.
std::vector<std::byte> encode_assignment(const std::vector<topic_partition>& partitions,
                                         std::span<const std::byte> user_data = {},
                                         std::int16_t version = consumer_protocol_version);

// Any version >= 0 (above 3 read as 3). Empty bytes decode as an empty
// assignment. (The Java consumer itself rejects an assignment shorter than 2
// bytes with IllegalStateException, so a leader must always send every
// member an encoded assignment, even an empty one: encode_assignment({}).)
// On error `out` is unchanged.
std::error_code decode_assignment(std::span<const std::byte> bytes, std::vector<topic_partition>& out);
// The same, also returning the assignment's user data (empty for null).
std::error_code decode_assignment(std::span<const std::byte> bytes, std::vector<topic_partition>& out,
                                  std::vector<std::byte>& user_data);

namespace detail {
// Java's String.compareTo on UTF-8 text: UTF-16 code units compared in order,
// then lengths (a malformed byte counts as U+FFFD). It differs from byte order
// only where a character above U+FFFF meets one in U+E000-U+FFFF. The Java
// client sorts topics and member ids this way.
int java_string_compare(std::string_view a, std::string_view b) noexcept;
} // namespace detail

} // namespace kwire
