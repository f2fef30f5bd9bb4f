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

} // namespace kwire::net
