#include "kwire/net/errors.hpp"

#include <string>

namespace kwire::net {
namespace {

class net_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.net"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::resolve_failed: return "host name did not resolve";
        case errc::connect_failed: return "connection refused or host unreachable";
        case errc::connect_timeout: return "timed out connecting";
        case errc::request_timeout: return "timed out waiting for the broker's response";
        case errc::connection_closed: return "the broker closed the connection";
        case errc::connection_poisoned: return "the connection failed earlier and is closed";
        case errc::frame_too_large: return "response frame larger than the maximum frame size";
        case errc::bad_frame: return "malformed response frame";
        case errc::tls_on_plaintext:
            return "the broker answered with TLS: this port expects security.protocol SSL or SASL_SSL";
        case errc::http_on_kafka_port: return "the peer answered with HTTP: this is not a Kafka port";
        case errc::unexpected_response: return "response for no pending request";
        case errc::unsupported_api: return "the broker does not support a required API";
        case errc::no_common_version: return "no API version supported by both kwire and the broker";
        case errc::shut_down: return "the connection was closed by the application";
        case errc::internal_error: return "internal error in kwire";
        case errc::unknown_broker: return "no address is known for this broker";
        case errc::tls_unavailable: return "TLS requested, but kwire was built without TLS (KWIRE_WITH_TLS=OFF)";
        case errc::tls_config_invalid: return "the TLS settings cannot be used (CA, certificate or key)";
        case errc::tls_handshake_timeout: return "timed out during the TLS handshake";
        case errc::tls_handshake_failed: return "the TLS handshake failed";
        case errc::tls_certificate_untrusted:
            return "the broker's certificate is not trusted: check ssl.ca.location / ssl.ca.pem";
        case errc::tls_hostname_mismatch:
            return "the broker's certificate does not match the host name connected to "
                   "(check the address, or ssl.endpoint.identification.algorithm)";
        case errc::tls_not_spoken_by_peer:
            return "the broker did not answer TLS; is this a plaintext port? "
                   "(security.protocol PLAINTEXT or SASL_PLAINTEXT)";
        case errc::sasl_authentication_failed:
            return "SASL authentication failed: wrong user name or password, or an unknown user";
        case errc::sasl_mechanism_unsupported: return "the broker does not enable this SASL mechanism";
        case errc::sasl_not_enabled:
            return "this listener does not use SASL: set security.protocol=PLAINTEXT or SSL (or use the SASL port)";
        case errc::sasl_required:
            return "this listener requires SASL: set security.protocol=SASL_PLAINTEXT/SASL_SSL "
                   "with sasl.mechanism, sasl.username and sasl.password";
        case errc::sasl_protocol_error: return "the broker's SASL exchange was malformed or did not verify";
        }
        return "unknown network error";
    }
};

} // namespace

const std::error_category& net_category() noexcept {
    static const net_category_impl category;
    return category;
}

bool is_retriable(std::error_code ec) noexcept {
    if (ec.category() != net_category()) return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::connect_failed:
    case errc::connect_timeout:
    case errc::request_timeout:
    case errc::connection_closed:
    case errc::connection_poisoned:
        return true;
    default:
        return false;
    }
}

bool is_configuration_failure(std::error_code ec) noexcept {
    if (ec.category() != net_category()) return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::sasl_authentication_failed:
    case errc::sasl_mechanism_unsupported:
    case errc::sasl_not_enabled:
    case errc::sasl_required:
    case errc::sasl_protocol_error:
    case errc::tls_unavailable:
    case errc::tls_config_invalid:
    case errc::tls_certificate_untrusted:
    case errc::tls_hostname_mismatch:
    case errc::tls_not_spoken_by_peer:
    case errc::tls_on_plaintext:
    case errc::http_on_kafka_port:
    case errc::unsupported_api:
    case errc::no_common_version:
        return true;
    default:
        return false;
    }
}

} // namespace kwire::net
