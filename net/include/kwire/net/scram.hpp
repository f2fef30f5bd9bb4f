// SCRAM client (RFC 5802, RFC 7677) for SASL SCRAM-SHA-256 / SCRAM-SHA-512:
// the client-first message, the proof in the client-final message, and the
// check of the server's signature. Needs OpenSSL (KWIRE_WITH_TLS); without it
// every step fails with errc::sasl_mechanism_unsupported.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::net {

enum class scram_hash { sha1, sha256, sha512 };  // sha1 only for RFC 5802's examples

// ',' -> "=2C" and '=' -> "=3D", as saslname requires.
std::string scram_escape_username(std::string_view username);

// Standard base64 with padding.
std::string base64_encode(const void* data, std::size_t size);
// Returns false for malformed input.
bool base64_decode(std::string_view text, std::vector<unsigned char>& out);

class scram_client {
public:
    // `client_nonce` empty: 24 random bytes, base64-encoded.
    scram_client(scram_hash hash, std::string username, std::string password, std::string client_nonce = {});
    ~scram_client();
    scram_client(const scram_client&) = delete;
    scram_client& operator=(const scram_client&) = delete;

    // "n,,n=<escaped user>,r=<client nonce>"
    std::string client_first() const;

    // Takes the server-first message ("r=...,s=...,i=..."); on success fills
    // `client_final` ("c=biws,r=...,p=..."). On failure returns
    // errc::sasl_protocol_error (or sasl_authentication_failed for an "e="
    // answer) with the reason in `detail`; neither contains the password.
    std::error_code handle_server_first(std::string_view server_first, std::string& client_final,
                                        std::string& detail);

    // Checks the server-final message ("v=<signature>").
    std::error_code verify_server_final(std::string_view server_final, std::string& detail) const;

    // Iterations above this are refused (a hostile server could ask for years of work).
    static constexpr long max_iterations = 100'000;

private:
    scram_hash hash_;
    std::string username_;
    std::string password_;
    std::string client_nonce_;
    std::string client_first_bare_;
    std::string expected_server_signature_;  // base64, once the server-first message is handled
};

} // namespace kwire::net
