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

    // TLS (security.protocol SSL or SASL_SSL)
    tls_unavailable,           // kwire was built without TLS (KWIRE_WITH_TLS=OFF)
    tls_config_invalid,        // a CA, certificate or key could not be loaded
    tls_handshake_timeout,     // no TLS handshake within the connection setup timeout
    tls_handshake_failed,      // the TLS handshake failed for another reason (the detail says which)
    tls_certificate_untrusted, // the broker's certificate chain does not verify against the CA
    tls_hostname_mismatch,     // the broker's certificate is for another host name
    tls_not_spoken_by_peer,    // the peer did not answer TLS: a plaintext port

    // SASL (security.protocol SASL_PLAINTEXT or SASL_SSL)
    sasl_authentication_failed, // the broker rejected the user name or password
    sasl_mechanism_unsupported, // the broker does not enable the configured mechanism
    sasl_not_enabled,           // the listener does not use SASL, but kwire was told to
    sasl_required,              // the listener requires SASL, but kwire was not told to
    sasl_protocol_error,        // a malformed or unverifiable SASL exchange (e.g. bad SCRAM signature)
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

// Whether retrying the same operation (perhaps on a new connection) may succeed.
bool is_retriable(std::error_code ec) noexcept;

// Connection failures that mean the configuration is wrong (credentials,
// TLS, the port's protocol): retrying cannot help, so clients report them
// to the application at once.
bool is_configuration_failure(std::error_code ec) noexcept;

} // namespace kwire::net

template <>
struct std::is_error_code_enum<kwire::net::errc> : std::true_type {};
