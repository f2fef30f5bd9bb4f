// Every way a secured connection goes wrong, against the real broker (and a
// silent listener): each ends within its timeout with its own error code and
// a one-line message naming the broker and the step -- and never shows the
// password.
#include "support/security_probe.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <doctest/doctest.h>

#include <functional>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

// Distinctive, so any leak is found by a plain search.
const std::string secret = "Zq9-kwire-S3CRET-pw";
constexpr auto budget = 3000ms;  // the connect and request timeouts of every scenario

struct scenario {
    std::string name;
    std::string host;
    std::string port;
    net::connection_options options;
    net::errc expected;
    std::string step;       // as it appears in "broker H:P: <step> failed: ..."
    std::string also;       // another text the failure line must contain
};

std::string free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return std::to_string(a.local_endpoint().port());
}

net::connection_options sasl_options(const std::string& protocol, const std::string& mechanism,
                                     const std::string& user, const std::string& password) {
    return options_from({{"security.protocol", protocol},
                         {"sasl.mechanism", mechanism},
                         {"sasl.username", user},
                         {"sasl.password", password},
                         {"ssl.ca.location", broker_env("KWIRE_CA_FILE")},
                         {"ssl.key.password", secret}});
}

std::vector<scenario> scenarios() {
    const std::string plain = port_of("KWIRE_BOOTSTRAP"), sasl = port_of("KWIRE_SASL_BOOTSTRAP"),
                      sasl_ssl = port_of("KWIRE_SSL_BOOTSTRAP"), ssl = port_of("KWIRE_TLS_BOOTSTRAP");
    const std::string alice = broker_env("KWIRE_SASL_USER"), scram = broker_env("KWIRE_SCRAM_USER");
    std::vector<scenario> s;
    s.push_back({"wrong password, PLAIN", "localhost", sasl, sasl_options("SASL_PLAINTEXT", "PLAIN", alice, secret),
                 net::errc::sasl_authentication_failed, "SASL PLAIN authentication", "user '" + alice + "'"});
    s.push_back({"wrong password, SCRAM-SHA-256 over TLS", "localhost", sasl_ssl,
                 sasl_options("SASL_SSL", "SCRAM-SHA-256", scram, secret), net::errc::sasl_authentication_failed,
                 "SASL SCRAM-SHA-256 authentication", "user '" + scram + "'"});
    s.push_back({"unknown user, PLAIN", "localhost", sasl_ssl,
                 sasl_options("SASL_SSL", "PLAIN", "no-such-user", secret), net::errc::sasl_authentication_failed,
                 "SASL PLAIN authentication", "user 'no-such-user'"});
    s.push_back({"unknown user, SCRAM-SHA-512", "localhost", sasl,
                 sasl_options("SASL_PLAINTEXT", "SCRAM-SHA-512", "no-such-user", secret),
                 net::errc::sasl_authentication_failed, "SASL SCRAM-SHA-512 authentication", "user 'no-such-user'"});
    {
        auto o = sasl_options("SASL_PLAINTEXT", "PLAIN", alice, secret);
        o.sasl.mechanism = "OAUTHBEARER";  // the config refuses it; the broker does not enable it either
        s.push_back({"mechanism the broker does not enable", "localhost", sasl, o,
                     net::errc::sasl_mechanism_unsupported, "SASL handshake",
                     "the broker offers: PLAIN, SCRAM-SHA-512, SCRAM-SHA-256"});
    }
    s.push_back({"SASL client on the PLAINTEXT listener", "localhost", plain,
                 sasl_options("SASL_PLAINTEXT", "PLAIN", alice, secret), net::errc::sasl_not_enabled,
                 "SASL handshake", "security.protocol=PLAINTEXT"});
    s.push_back({"plain client on the SASL_PLAINTEXT listener", "localhost", sasl,
                 sasl_options("PLAINTEXT", "PLAIN", alice, secret), net::errc::sasl_required, "Metadata",
                 "set security.protocol=SASL_PLAINTEXT/SASL_SSL"});
    s.push_back({"SSL client on the SASL_SSL listener", "localhost", sasl_ssl,
                 sasl_options("SSL", "PLAIN", alice, secret), net::errc::sasl_required, "Metadata",
                 "requires SASL"});
    s.push_back({"TLS client on the PLAINTEXT port", "localhost", plain,
                 sasl_options("SASL_SSL", "PLAIN", alice, secret), net::errc::tls_not_spoken_by_peer,
                 "TLS handshake", "is this a plaintext port?"});
    s.push_back({"plaintext client on the SSL port", "localhost", ssl,
                 sasl_options("PLAINTEXT", "PLAIN", alice, secret), net::errc::tls_on_plaintext, "read",
                 "expects security.protocol SSL or SASL_SSL"});
    s.push_back({"SASL_PLAINTEXT client on the SASL_SSL port", "localhost", sasl_ssl,
                 sasl_options("SASL_PLAINTEXT", "PLAIN", alice, secret), net::errc::tls_on_plaintext, "read",
                 "expects security.protocol SSL or SASL_SSL"});
    {
        auto o = sasl_options("SASL_SSL", "PLAIN", alice, secret);
        o.tls.ca_file = broker_env("KWIRE_OTHER_CA_FILE");
        s.push_back({"untrusted CA", "localhost", sasl_ssl, o, net::errc::tls_certificate_untrusted, "TLS handshake",
                     "certificate verify failed: "});
    }
    s.push_back({"hostname mismatch (127.0.0.1, certificate for localhost)", "127.0.0.1", sasl_ssl,
                 sasl_options("SASL_SSL", "PLAIN", alice, secret), net::errc::tls_hostname_mismatch, "TLS handshake",
                 "the certificate is for DNS:localhost"});
    {
        auto o = sasl_options("SASL_SSL", "PLAIN", alice, secret);
        o.tls.ca_file = "/no/such/ca.pem";
        s.push_back({"unreadable CA file", "localhost", sasl_ssl, o, net::errc::tls_config_invalid, "TLS setup",
                     "ssl.ca.location: cannot read '/no/such/ca.pem'"});
    }
    const std::string refused = free_port();
    s.push_back({"refused connection", "127.0.0.1", refused, sasl_options("SASL_SSL", "PLAIN", alice, secret),
                 net::errc::connect_failed, "connect", "refused"});
    s.push_back({"unresolvable host", "no-such-broker.invalid", "9092",
                 sasl_options("SASL_SSL", "PLAIN", alice, secret), net::errc::resolve_failed, "resolve",
                 "no-such-broker.invalid"});
    return s;
}

void check_scenario(const scenario& sc, const attempt_outcome& out) {
    INFO(sc.name);
    INFO(out.failure);
    CHECK(out.ec == make_error_code(sc.expected));
    const std::string prefix = "broker " + sc.host + ":" + sc.port + ": " + sc.step + " failed: ";
    CHECK(out.failure.rfind(prefix, 0) == 0);
    CHECK(out.failure.find(make_error_code(sc.expected).message()) != std::string::npos);
    CHECK(out.failure.find(sc.also) != std::string::npos);
    CHECK(out.failure.find('\n') == std::string::npos);
    CHECK(out.conn_failure == out.failure);
    CHECK(out.elapsed < budget);
}

const scenario& find(const std::vector<scenario>& all, const std::string& name) {
    for (const auto& s : all)
        if (s.name == name) return s;
    FAIL("no scenario " << name);
    throw;
}

void run(const std::string& name) {
    const auto all = scenarios();
    const auto& sc = find(all, name);
    check_scenario(sc, attempt_metadata(sc.host, sc.port, sc.options));
}

} // namespace

TEST_CASE("security failure: wrong password (PLAIN)") { run("wrong password, PLAIN"); }
TEST_CASE("security failure: wrong password (SCRAM-SHA-256 over TLS)") { run("wrong password, SCRAM-SHA-256 over TLS"); }
TEST_CASE("security failure: unknown user (PLAIN)") { run("unknown user, PLAIN"); }
TEST_CASE("security failure: unknown user (SCRAM-SHA-512)") { run("unknown user, SCRAM-SHA-512"); }
TEST_CASE("security failure: a mechanism the broker does not enable") { run("mechanism the broker does not enable"); }
TEST_CASE("security failure: SASL client on a plaintext listener") { run("SASL client on the PLAINTEXT listener"); }
TEST_CASE("security failure: plain client on a SASL listener") { run("plain client on the SASL_PLAINTEXT listener"); }
TEST_CASE("security failure: SSL client on a SASL_SSL listener") { run("SSL client on the SASL_SSL listener"); }
TEST_CASE("security failure: TLS client on a plaintext port") { run("TLS client on the PLAINTEXT port"); }
TEST_CASE("security failure: plaintext client on the SSL port") { run("plaintext client on the SSL port"); }
TEST_CASE("security failure: SASL_PLAINTEXT client on the SASL_SSL port") { run("SASL_PLAINTEXT client on the SASL_SSL port"); }
TEST_CASE("security failure: untrusted CA") { run("untrusted CA"); }
TEST_CASE("security failure: hostname mismatch") { run("hostname mismatch (127.0.0.1, certificate for localhost)"); }
TEST_CASE("security failure: unreadable CA file") { run("unreadable CA file"); }
TEST_CASE("security failure: refused connection") { run("refused connection"); }
TEST_CASE("security failure: unresolvable host") { run("unresolvable host"); }

TEST_CASE("security failure: a listener that accepts and never answers the TLS handshake") {
    // Connections complete in the kernel's backlog; nobody ever reads them.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    const std::string port = std::to_string(silent.local_endpoint().port());
    const auto out =
        attempt_metadata("127.0.0.1", port, sasl_options("SASL_SSL", "PLAIN", broker_env("KWIRE_SASL_USER"), secret));
    INFO(out.failure);
    CHECK(out.ec == make_error_code(net::errc::tls_handshake_timeout));
    CHECK(out.failure.rfind("broker 127.0.0.1:" + port + ": TLS handshake failed: ", 0) == 0);
    CHECK(out.failure.find("no TLS handshake within 3000 ms") != std::string::npos);
    CHECK(out.elapsed >= budget - 100ms);
    CHECK(out.elapsed < budget + 1500ms);
    CHECK(out.all_text().find(secret) == std::string::npos);
}

TEST_CASE("security: no failure shows the password, in errors, failure lines or debug logs") {
    for (const auto& sc : scenarios()) {
        const auto out = attempt_metadata(sc.host, sc.port, sc.options);
        INFO(sc.name);
        INFO(out.failure);
        CHECK(out.ec);
        CHECK(!out.failure.empty());
        CHECK(!out.logs.empty());
        CHECK(out.all_text().find(secret) == std::string::npos);
    }
}
