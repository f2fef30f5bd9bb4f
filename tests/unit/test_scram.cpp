// SCRAM client math against the RFCs' worked examples, and its refusals.
#include "kwire/net/errors.hpp"
#include "kwire/net/sasl.hpp"
#include "kwire/net/scram.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace kwire::net;

TEST_CASE("scram: user names escape ',' and '=' as RFC 5802 requires") {
    CHECK(scram_escape_username("user") == "user");
    CHECK(scram_escape_username("a,b=c") == "a=2Cb=3Dc");
    CHECK(scram_escape_username("==,") == "=3D=3D=2C");
    CHECK(scram_escape_username("ckafka-abc123#alice") == "ckafka-abc123#alice");
    scram_client c(scram_hash::sha256, "x=y,z", "pw", "nonce");
    CHECK(c.client_first() == "n,,n=x=3Dy=2Cz,r=nonce");
}

TEST_CASE("scram: base64 round trip and malformed input") {
    const std::string text = "any carnal pleas";
    for (std::size_t n = 0; n <= text.size(); ++n) {
        const std::string enc = base64_encode(text.data(), n);
        std::vector<unsigned char> dec;
        REQUIRE(base64_decode(enc, dec));
        CHECK(std::string(dec.begin(), dec.end()) == text.substr(0, n));
    }
    CHECK(base64_encode("pleasure.", 9) == "cGxlYXN1cmUu");
    CHECK(base64_encode("leasure.", 8) == "bGVhc3VyZS4=");
    std::vector<unsigned char> out;
    CHECK_FALSE(base64_decode("abc", out));
    CHECK_FALSE(base64_decode("ab=c", out));
    CHECK_FALSE(base64_decode("a*bc", out));
}

#if defined(KWIRE_WITH_TLS)
TEST_CASE("scram: RFC 7677 SCRAM-SHA-256 example") {
    scram_client c(scram_hash::sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    CHECK(c.client_first() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    std::string client_final, detail;
    const auto ec = c.handle_server_first(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", client_final, detail);
    REQUIRE_MESSAGE(!ec, detail);
    CHECK(client_final ==
          "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    CHECK(!c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", detail));
    // A server that does not know the password cannot produce the signature.
    CHECK(c.verify_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", detail) ==
          make_error_code(errc::sasl_protocol_error));
    CHECK(detail.find("signature") != std::string::npos);
    CHECK(c.verify_server_final("e=invalid-proof", detail) == make_error_code(errc::sasl_authentication_failed));
}

TEST_CASE("scram: RFC 5802 SCRAM-SHA-1 example (same structure, SHA-1)") {
    scram_client c(scram_hash::sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
    CHECK(c.client_first() == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    std::string client_final, detail;
    REQUIRE(!c.handle_server_first("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                                   client_final, detail));
    CHECK(client_final == "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    CHECK(!c.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", detail));
}

TEST_CASE("scram: SCRAM-SHA-512 proof has SHA-512's length — random nonces differ") {
    scram_client a(scram_hash::sha512, "u", "p"), b(scram_hash::sha512, "u", "p");
    CHECK(a.client_first() != b.client_first());
    const std::string nonce = a.client_first().substr(a.client_first().find("r=") + 2);
    CHECK(nonce.size() == 32);  // 24 random bytes, base64
    std::string client_final, detail;
    REQUIRE(!a.handle_server_first("r=" + nonce + "srv,s=c2FsdA==,i=4096", client_final, detail));
    const std::string proof = client_final.substr(client_final.find(",p=") + 3);
    std::vector<unsigned char> raw;
    REQUIRE(base64_decode(proof, raw));
    CHECK(raw.size() == 64);
}

TEST_CASE("scram: a hostile or broken server-first message is refused") {
    std::string client_final, detail;
    auto try_server_first = [&](const std::string& msg) {
        scram_client c(scram_hash::sha256, "user", "pencil-SECRET", "abc");
        const auto ec = c.handle_server_first(msg, client_final, detail);
        CHECK(detail.find("pencil-SECRET") == std::string::npos);
        return ec;
    };
    const auto protocol = make_error_code(errc::sasl_protocol_error);
    CHECK(try_server_first("r=xyz123,s=c2FsdA==,i=4096") == protocol);          // nonce not extended
    CHECK(try_server_first("r=abc,s=c2FsdA==,i=4096") == protocol);             // nonce not extended
    CHECK(try_server_first("r=abcdef,s=c2FsdA==,i=100000000") == protocol);     // absurd work factor
    CHECK(try_server_first("r=abcdef,s=c2FsdA==,i=0") == protocol);
    CHECK(try_server_first("r=abcdef,s=!!!,i=4096") == protocol);               // bad salt
    CHECK(try_server_first("r=abcdef,i=4096") == protocol);                      // no salt
    CHECK(try_server_first("m=ext,r=abcdef,s=c2FsdA==,i=4096") == protocol);    // mandatory extension
    CHECK(try_server_first("e=unknown-user") == make_error_code(errc::sasl_authentication_failed));
}
#endif

TEST_CASE("sasl: PLAIN message is authzid NUL user NUL password") {
    const std::string m = sasl_plain_message("ckafka-abc123#alice", "pw");
    CHECK(m == std::string("\0ckafka-abc123#alice\0pw", 23));
}
