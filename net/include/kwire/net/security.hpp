// How a connection is secured: TLS settings and SASL credentials, as plain
// values (no OpenSSL types: the TLS machinery stays inside the library).
#pragma once

#include <string>

namespace kwire::net {

// TLS for security.protocol SSL and SASL_SSL.
struct tls_config {
    bool enabled = false;
    std::string ca_file;        // PEM file of trusted CAs (ssl.ca.location)
    std::string ca_pem;         // PEM text of trusted CAs (ssl.ca.pem)
    // Neither given: the system's default trust store.
    std::string cert_file;      // client certificate chain, PEM (ssl.certificate.location)
    std::string key_file;       // client private key, PEM (ssl.key.location)
    std::string key_password;   // passphrase of key_file (ssl.key.password); a secret
    bool verify_certificate = true;  // enable.ssl.certificate.verification
    bool verify_hostname = true;     // ssl.endpoint.identification.algorithm=https
    std::string server_name;    // SNI and hostname-check name; empty: the host connected to
};

// SASL for security.protocol SASL_PLAINTEXT and SASL_SSL.
struct sasl_config {
    std::string mechanism;  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL
    std::string username;
    std::string password;   // a secret: never logged, never in an error message

    bool enabled() const noexcept { return !mechanism.empty(); }
};

} // namespace kwire::net
