// Errors of the network layer: reaching a broker and talking to it.
#pragma once

#include <system_error>

namespace kwire::net {

enum class errc {
    resolve_failed = 1,    // the host name did not resolve
    connect_failed,        // every resolved address refused or was unreachable
    connect_timeout,       // no TCP connection within the connect timeout
    request_timeout,       // the broker did not answer a request in time
    connection_closed,     // the broker closed the connection
    connection_poisoned,   // an earlier error broke this connection; in-flight requests fail
    frame_too_large,       // the broker announced a frame over the maximum frame size
    bad_frame,             // a frame shorter than a response header, or not a Kafka response
    tls_on_plaintext,      // the peer answered with a TLS record: this is a TLS port
    http_on_kafka_port,    // the peer answered with HTTP: this is not a Kafka port
    unexpected_response,   // a response whose correlation id matches no request
    unsupported_api,       // the broker does not offer an API kwire needs
    no_common_version,     // kwire and the broker share no version of an API
    shut_down,             // the connection was closed by the application
    internal_error,        // an unexpected failure inside kwire (e.g. out of memory)
    unknown_broker,        // no address is known for a broker id
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

// Whether retrying the same operation (perhaps on a new connection) may succeed.
bool is_retriable(std::error_code ec) noexcept;

} // namespace kwire::net

template <>
struct std::is_error_code_enum<kwire::net::errc> : std::true_type {};
