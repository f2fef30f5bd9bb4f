#include "kwire/net/scram.hpp"

#include "kwire/net/errors.hpp"

#if defined(KWIRE_WITH_TLS)
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#endif

#include <charconv>

namespace kwire::net {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// The value of attribute `name` ("r", "s", ...) in "a=1,b=2"; empty view if absent.
bool attribute(std::string_view message, char name, std::string_view& value) {
    while (!message.empty()) {
        const auto comma = message.find(',');
        const std::string_view item = message.substr(0, comma);
        if (item.size() >= 2 && item[0] == name && item[1] == '=') {
            value = item.substr(2);
            return true;
        }
        if (comma == std::string_view::npos) break;
        message.remove_prefix(comma + 1);
    }
    return false;
}

#if defined(KWIRE_WITH_TLS)
const EVP_MD* digest(scram_hash h) {
    switch (h) {
    case scram_hash::sha1: return EVP_sha1();
    case scram_hash::sha256: return EVP_sha256();
    case scram_hash::sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

using bytes = std::vector<unsigned char>;

bytes hmac(const EVP_MD* md, const bytes& key, std::string_view data) {
    bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out.data(), &len);
    out.resize(len);
    return out;
}

bytes hash(const EVP_MD* md, const bytes& data) {
    bytes out(EVP_MAX_MD_SIZE);
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr);
    out.resize(len);
    return out;
}
#endif

} // namespace

std::string scram_escape_username(std::string_view username) {
    std::string out;
    out.reserve(username.size());
    for (char c : username) {
        if (c == ',') out += "=2C";
        else if (c == '=') out += "=3D";
        else out += c;
    }
    return out;
}

std::string base64_encode(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (std::size_t i = 0; i < size; i += 3) {
        const unsigned v = (unsigned(p[i]) << 16) | (i + 1 < size ? unsigned(p[i + 1]) << 8 : 0u) |
                           (i + 2 < size ? unsigned(p[i + 2]) : 0u);
        out += b64_alphabet[(v >> 18) & 63];
        out += b64_alphabet[(v >> 12) & 63];
        out += i + 1 < size ? b64_alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < size ? b64_alphabet[v & 63] : '=';
    }
    return out;
}

bool base64_decode(std::string_view text, std::vector<unsigned char>& out) {
    out.clear();
    if (text.size() % 4 != 0) return false;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + static_cast<std::size_t>(k)];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else {
                if (pad) return false;  // data after padding
                v[k] = b64_value(c);
                if (v[k] < 0) return false;
            }
        }
        const unsigned n = (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
        out.push_back(static_cast<unsigned char>(n >> 16));
        if (pad < 2) out.push_back(static_cast<unsigned char>((n >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<unsigned char>(n & 0xff));
    }
    return true;
}

scram_client::scram_client(scram_hash hash, std::string username, std::string password, std::string client_nonce)
    : hash_(hash), username_(std::move(username)), password_(std::move(password)), client_nonce_(std::move(client_nonce)) {
    if (client_nonce_.empty()) {
        unsigned char random[24] = {};
#if defined(KWIRE_WITH_TLS)
        if (RAND_bytes(random, sizeof random) != 1) throw std::system_error(make_error_code(errc::internal_error));
#endif
        client_nonce_ = base64_encode(random, sizeof random);
    }
    client_first_bare_ = "n=" + scram_escape_username(username_) + ",r=" + client_nonce_;
}

scram_client::~scram_client() {
#if defined(KWIRE_WITH_TLS)
    if (!password_.empty()) OPENSSL_cleanse(password_.data(), password_.size());
#endif
}

std::string scram_client::client_first() const { return "n,," + client_first_bare_; }

std::error_code scram_client::handle_server_first(std::string_view server_first, std::string& client_final,
                                                  std::string& detail) {
#if defined(KWIRE_WITH_TLS)
    std::string_view value;
    if (attribute(server_first, 'e', value)) {
        detail = "the broker refused the SCRAM exchange: " + std::string(value);
        return errc::sasl_authentication_failed;
    }
    std::string_view nonce, salt_b64, iterations_text;
    if (server_first.starts_with("m=") || !attribute(server_first, 'r', nonce) ||
        !attribute(server_first, 's', salt_b64) || !attribute(server_first, 'i', iterations_text)) {
        detail = "malformed SCRAM server-first message";
        return errc::sasl_protocol_error;
    }
    if (nonce.size() <= client_nonce_.size() || !nonce.starts_with(client_nonce_)) {
        detail = "the broker's SCRAM nonce does not extend kwire's";
        return errc::sasl_protocol_error;
    }
    long iterations = 0;
    const auto [end, ec] =
        std::from_chars(iterations_text.data(), iterations_text.data() + iterations_text.size(), iterations);
    if (ec != std::errc{} || end != iterations_text.data() + iterations_text.size() || iterations < 1 ||
        iterations > max_iterations) {
        detail = "SCRAM iteration count '" + std::string(iterations_text) + "' out of range";
        return errc::sasl_protocol_error;
    }
    bytes salt;
    if (!base64_decode(salt_b64, salt) || salt.empty()) {
        detail = "malformed SCRAM salt";
        return errc::sasl_protocol_error;
    }

    const EVP_MD* md = digest(hash_);
    bytes salted(static_cast<std::size_t>(EVP_MD_get_size(md)));
    if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()), salt.data(),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                          static_cast<int>(salted.size()), salted.data()) != 1) {
        detail = "PBKDF2 failed";
        return errc::internal_error;
    }
    const bytes client_key = hmac(md, salted, "Client Key");
    const bytes stored_key = hash(md, client_key);
    const std::string without_proof = "c=biws,r=" + std::string(nonce);
    const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    const bytes client_signature = hmac(md, stored_key, auth_message);
    bytes proof(client_key.size());
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ client_signature[i];
    const bytes server_key = hmac(md, salted, "Server Key");
    const bytes server_signature = hmac(md, server_key, auth_message);
    expected_server_signature_ = base64_encode(server_signature.data(), server_signature.size());
    OPENSSL_cleanse(salted.data(), salted.size());

    client_final = without_proof + ",p=" + base64_encode(proof.data(), proof.size());
    return {};
#else
    (void)server_first;
    (void)client_final;
    detail = "SCRAM needs OpenSSL; kwire was built with KWIRE_WITH_TLS=OFF";
    return errc::sasl_mechanism_unsupported;
#endif
}

std::error_code scram_client::verify_server_final(std::string_view server_final, std::string& detail) const {
    std::string_view value;
    if (attribute(server_final, 'e', value)) {
        detail = "the broker refused the SCRAM proof: " + std::string(value);
        return errc::sasl_authentication_failed;
    }
    if (!attribute(server_final, 'v', value)) {
        detail = "malformed SCRAM server-final message";
        return errc::sasl_protocol_error;
    }
    if (expected_server_signature_.empty() || value != expected_server_signature_) {
        detail = "the broker's SCRAM server signature does not verify: it does not know this user's credentials";
        return errc::sasl_protocol_error;
    }
    return {};
}

} // namespace kwire::net
