#include "kwire/connection_config.hpp"

#include <cctype>
#include <stdexcept>

namespace kwire {
namespace {

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

net::connection_options make_connection_options(const config& cfg, net::log_callback log) {
    net::connection_options o;
    o.client_id = cfg.get_or_default("client.id");
    o.connect_timeout = cfg.get_ms("socket.connection.setup.timeout.ms");
    o.request_timeout = cfg.get_ms("request.timeout.ms");
    o.max_frame_size = static_cast<std::size_t>(cfg.get_int("receive.message.max.bytes"));
    try {
        o.pins = net::version_pins::parse(cfg.get_or_default("api.version.pin"));
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("api.version.pin: ") + e.what());
    }

    const std::string protocol = upper(cfg.get_or_default("security.protocol"));
    if (protocol != "PLAINTEXT" && protocol != "SSL" && protocol != "SASL_PLAINTEXT" && protocol != "SASL_SSL")
        throw config_error("security.protocol: '" + protocol + "' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");

    if (protocol == "SSL" || protocol == "SASL_SSL") {
#if !defined(KWIRE_WITH_TLS)
        throw config_error("security.protocol=" + protocol + " needs TLS, but kwire was built with KWIRE_WITH_TLS=OFF");
#endif
        o.tls.enabled = true;
        o.tls.ca_file = cfg.get_or_default("ssl.ca.location");
        o.tls.ca_pem = cfg.get_or_default("ssl.ca.pem");
        o.tls.cert_file = cfg.get_or_default("ssl.certificate.location");
        o.tls.key_file = cfg.get_or_default("ssl.key.location");
        o.tls.key_password = cfg.get_or_default("ssl.key.password");
        o.tls.verify_certificate = cfg.get_bool("enable.ssl.certificate.verification");
        o.tls.verify_hostname = upper(cfg.get_or_default("ssl.endpoint.identification.algorithm")) == "HTTPS";
        if (o.tls.cert_file.empty() != o.tls.key_file.empty())
            throw config_error("ssl.certificate.location and ssl.key.location must be set together");
    }
    // The connection setup budget covers the TLS handshake too (counted anew after TCP).
    o.tls_handshake_timeout = o.connect_timeout;

    if (protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL") {
        o.sasl.mechanism = upper(cfg.get_or_default("sasl.mechanism"));
        o.sasl.username = cfg.get_or_default("sasl.username");
        o.sasl.password = cfg.get_or_default("sasl.password");
        if (o.sasl.username.empty())
            throw config_error("sasl.username is required with security.protocol=" + protocol);
        if (o.sasl.password.empty())
            throw config_error("sasl.password is required with security.protocol=" + protocol);
#if !defined(KWIRE_WITH_TLS)
        if (o.sasl.mechanism != "PLAIN")
            throw config_error("sasl.mechanism " + o.sasl.mechanism + " needs OpenSSL, but kwire was built with KWIRE_WITH_TLS=OFF");
#endif
    }

    if (log) {
        try {
            o.log = net::logger(std::move(log), net::logger::parse_level(cfg.get_or_default("log_level")),
                                net::logger::parse_debug(cfg.get_or_default("debug")));
        } catch (const std::invalid_argument& e) {
            throw config_error(e.what());
        }
    }
    return o;
}

} // namespace kwire
