// TLS: the OpenSSL client context from a tls_config, per-session SNI and
// hostname checks, and telling apart why a handshake failed.
#include "transport.hpp"

#include "kwire/net/errors.hpp"

#if defined(KWIRE_WITH_TLS)

#include <asio/buffer.hpp>
#include <asio/ip/address.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/verify_context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>

namespace kwire::net {
namespace {

bool readable(const std::string& path, std::string& why) {
    std::ifstream f(path);
    if (f) return true;
    why = "cannot read '" + path + "'";
    return false;
}

std::string ssl_reason(const std::error_code& ec) {
    std::string m = ec.message();
    return m.empty() ? "error " + std::to_string(ec.value()) : m;
}

bool is_ip_address(const std::string& host) {
    std::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

// "DNS:localhost, IP:10.0.0.1" from the peer certificate's subjectAltName.
std::string certificate_names(X509* cert) {
    if (!cert) return {};
    std::string out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
            if (n->type == GEN_DNS) {
                const auto* s = n->d.dNSName;
                out += (out.empty() ? "" : ", ") + std::string("DNS:") +
                       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)));
            } else if (n->type == GEN_IPADD) {
                const auto* s = n->d.iPAddress;
                const unsigned char* p = ASN1_STRING_get0_data(s);
                if (ASN1_STRING_length(s) == 4) {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
                    out += (out.empty() ? "" : ", ") + std::string("IP:") + buf;
                } else {
                    out += (out.empty() ? "" : ", ") + std::string("IP:(v6)");
                }
            }
        }
        GENERAL_NAMES_free(names);
    }
    if (out.empty()) {
        char cn[256] = {};
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
            out = std::string("CN=") + cn;
    }
    return out;
}

} // namespace

std::shared_ptr<tls_context> make_tls_context(const tls_config& config, std::string& detail) {
    auto context = std::make_shared<tls_context>();
    auto& ctx = context->ssl;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    std::error_code ec;
    std::string why;

    if (!config.ca_file.empty()) {
        if (!readable(config.ca_file, why)) {
            detail = "ssl.ca.location: " + why;
            return nullptr;
        }
        ctx.load_verify_file(config.ca_file, ec);
        if (ec) {
            detail = "ssl.ca.location: cannot load CA certificates from '" + config.ca_file + "': " + ssl_reason(ec);
            return nullptr;
        }
    }
    if (!config.ca_pem.empty()) {
        ctx.add_certificate_authority(asio::buffer(config.ca_pem), ec);
        if (ec) {
            detail = "ssl.ca.pem: cannot parse the CA certificate(s): " + ssl_reason(ec);
            return nullptr;
        }
    }
    if (config.ca_file.empty() && config.ca_pem.empty()) {
        ctx.set_default_verify_paths(ec);
        if (ec) {
            detail = "cannot load the system's default CA certificates: " + ssl_reason(ec);
            return nullptr;
        }
    }

    if (config.cert_file.empty() != config.key_file.empty()) {
        detail = "ssl.certificate.location and ssl.key.location must be given together";
        return nullptr;
    }
    if (!config.cert_file.empty()) {
        if (!readable(config.cert_file, why)) {
            detail = "ssl.certificate.location: " + why;
            return nullptr;
        }
        ctx.use_certificate_chain_file(config.cert_file, ec);
        if (ec) {
            detail = "ssl.certificate.location: cannot load the client certificate from '" + config.cert_file +
                     "': " + ssl_reason(ec);
            return nullptr;
        }
        if (!readable(config.key_file, why)) {
            detail = "ssl.key.location: " + why;
            return nullptr;
        }
        if (!config.key_password.empty()) {
            const std::string password = config.key_password;
            ctx.set_password_callback(
                [password](std::size_t, asio::ssl::context_base::password_purpose) { return password; });
        }
        ctx.use_private_key_file(config.key_file, asio::ssl::context::pem, ec);
        if (ec) {
            detail = "ssl.key.location: cannot load the client key from '" + config.key_file + "': " +
                     ssl_reason(ec) + (config.key_password.empty() ? " (encrypted? set ssl.key.password)" : "");
            return nullptr;
        }
        if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
            ERR_clear_error();
            detail = "ssl.key.location: the key in '" + config.key_file + "' does not belong to the certificate in '" +
                     config.cert_file + "'";
            return nullptr;
        }
    }
    ctx.set_verify_mode(config.verify_certificate ? asio::ssl::verify_peer : asio::ssl::verify_none);
    return context;
}

std::string configure_tls_session(SSL* ssl, const tls_config& config, const std::string& server_name) {
    const bool ip = is_ip_address(server_name);
    if (!ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
        ERR_clear_error();
        return "cannot set the TLS server name (SNI) '" + server_name + "'";
    }
    if (config.verify_certificate && config.verify_hostname) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), server_name.size());
        if (ok != 1) {
            ERR_clear_error();
            return "cannot set up the hostname check for '" + server_name + "'";
        }
    }
    return {};
}

void record_certificate_names(asio::ssl::stream<asio::ip::tcp::socket>& stream, std::shared_ptr<std::string> names) {
    stream.set_verify_callback([names](bool preverified, asio::ssl::verify_context& ctx) {
        X509_STORE_CTX* store = ctx.native_handle();
        if (X509_STORE_CTX_get_error_depth(store) == 0) *names = certificate_names(X509_STORE_CTX_get_current_cert(store));
        return preverified;
    });
}

errc classify_tls_failure(std::error_code ec, SSL* ssl, const tls_config& config, const std::string& server_name,
                          const std::string& names, std::string& detail) {
    const long verify = SSL_get_verify_result(ssl);
    if (config.verify_certificate && verify != X509_V_OK) {
        const std::string reason = X509_verify_cert_error_string(verify);
        if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            detail = "certificate verify failed: " + reason + ": connected to '" + server_name +
                     "', the certificate is for " + (names.empty() ? "no host name" : names);
            return errc::tls_hostname_mismatch;
        }
        detail = "certificate verify failed: " + reason + " (trusted CAs: " +
                 (!config.ca_file.empty() ? "'" + config.ca_file + "'"
                  : !config.ca_pem.empty() ? std::string("ssl.ca.pem")
                                           : std::string("the system default")) +
                 ")";
        return errc::tls_certificate_untrusted;
    }
    if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof || ec == asio::error::connection_reset) {
        detail = "the peer closed the connection in the middle of the TLS handshake";
        return errc::tls_not_spoken_by_peer;
    }
    if (ec.category() == asio::error::get_ssl_category()) {
        const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
            reason == SSL_R_HTTP_REQUEST ||
            reason == SSL_R_UNEXPECTED_RECORD) {
            detail = "the peer's reply is not TLS (" + ssl_reason(ec) + ")";
            return errc::tls_not_spoken_by_peer;
        }
    }
    detail = ssl_reason(ec);
    return errc::tls_handshake_failed;
}

std::string describe_tls_session(SSL* ssl) {
    const char* cipher = SSL_get_cipher_name(ssl);
    return std::string(SSL_get_version(ssl)) + " " + (cipher ? cipher : "?");
}

} // namespace kwire::net

#endif
