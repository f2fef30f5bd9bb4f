// Errors of the client layer (producer, consumer): what happened to a record
// or a call, as opposed to a broker's answer (kafka_errc) or a connection's
// fate (net::errc).
#pragma once

#include <system_error>

namespace kwire {

enum class client_errc {
    delivery_timeout = 1,  // not acknowledged within delivery.timeout.ms (the cause, if known, is logged)
    buffer_full,           // buffer.memory stayed full for max.block.ms
    record_too_large,      // the record alone exceeds max.request.size (or batch limits)
    unknown_partition,     // an explicit partition the topic does not have
    producer_closed,       // the producer was closed (or destroyed) before the record was delivered
    flush_timeout,         // flush() or close() ran out of time with records still pending
    partitioner_failed,    // a user partitioner threw or returned a partition out of range
    fatal_producer_error,  // idempotence broke beyond repair (e.g. fenced); the producer stops
    would_block,           // a blocking call on the client's own I/O thread (it would deadlock)
    consumer_closed,       // the consumer was closed
    not_assigned,          // the partition is not assigned to this consumer
    no_group,              // the call needs group.id
    no_offset,             // no committed offset and auto.offset.reset=none
    partitions_lost,       // commit refused: the member lost its partitions (left the group); poll() rejoins
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }

} // namespace kwire

template <>
struct std::is_error_code_enum<kwire::client_errc> : std::true_type {};
