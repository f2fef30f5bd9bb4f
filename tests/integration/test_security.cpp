// Metadata over every listener of the real broker -- PLAINTEXT, SSL (with and
// without a client certificate), SASL_PLAINTEXT and SASL_SSL -- with PLAIN
// and SCRAM users, each reaching the same cluster.
#include "support/security_probe.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace kwire;
using namespace kwire::test;

namespace {

void check_reached_cluster(const attempt_outcome& out) {
    INFO(out.failure);
    REQUIRE_MESSAGE(!out.ec, out.ec.message());
    CHECK(out.cluster_id == broker_env("KWIRE_CLUSTER_ID"));
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("security: PLAINTEXT listener") {
    const auto out = attempt_metadata("localhost", port_of("KWIRE_BOOTSTRAP"), options_from({}));
    check_reached_cluster(out);
    CHECK(out.tls_session.empty());
}

TEST_CASE("security: SSL listener, broker verified against ssl.ca.location") {
    const auto out = attempt_metadata("localhost", port_of("KWIRE_TLS_BOOTSTRAP"),
                                      options_from({{"security.protocol", "SSL"},
                                                    {"ssl.ca.location", broker_env("KWIRE_CA_FILE")}}));
    check_reached_cluster(out);
    CHECK(out.tls_session.find("TLSv1.") == 0);
}

TEST_CASE("security: SSL listener with a client certificate (mutual TLS)") {
    const auto out = attempt_metadata("localhost", port_of("KWIRE_TLS_BOOTSTRAP"),
                                      options_from({{"security.protocol", "SSL"},
                                                    {"ssl.ca.location", broker_env("KWIRE_CA_FILE")},
                                                    {"ssl.certificate.location", broker_env("KWIRE_CLIENT_CERT")},
                                                    {"ssl.key.location", broker_env("KWIRE_CLIENT_KEY")}}));
    check_reached_cluster(out);
}

TEST_CASE("security: SSL listener with the CA given as PEM text (ssl.ca.pem)") {
    const auto out = attempt_metadata("localhost", port_of("KWIRE_TLS_BOOTSTRAP"),
                                      options_from({{"security.protocol", "SSL"},
                                                    {"ssl.ca.pem", read_file(broker_env("KWIRE_CA_FILE"))}}));
    check_reached_cluster(out);
}

TEST_CASE("security: SSL with certificate verification off accepts an untrusted broker") {
    const auto out = attempt_metadata("127.0.0.1", port_of("KWIRE_TLS_BOOTSTRAP"),
                                      options_from({{"security.protocol", "SSL"},
                                                    {"ssl.ca.location", broker_env("KWIRE_OTHER_CA_FILE")},
                                                    {"enable.ssl.certificate.verification", "false"}}));
    check_reached_cluster(out);
}

TEST_CASE("security: SASL_PLAINTEXT and SASL_SSL with PLAIN and SCRAM users") {
    struct user {
        std::string mechanism, name, password;
    };
    const std::vector<user> users = {
        {"PLAIN", broker_env("KWIRE_SASL_USER"), broker_env("KWIRE_SASL_PASSWORD")},
        {"PLAIN", broker_env("KWIRE_ADMIN_USER"), broker_env("KWIRE_ADMIN_PASSWORD")},
        {"SCRAM-SHA-256", broker_env("KWIRE_SCRAM_USER"), broker_env("KWIRE_SCRAM_PASSWORD")},
        {"SCRAM-SHA-512", broker_env("KWIRE_SCRAM_USER"), broker_env("KWIRE_SCRAM_PASSWORD")},
    };
    for (const auto& u : users) {
        for (const std::string protocol : {"SASL_PLAINTEXT", "SASL_SSL"}) {
            CAPTURE(u.mechanism);
            CAPTURE(u.name);
            CAPTURE(protocol);
            const bool tls = protocol == "SASL_SSL";
            const auto out = attempt_metadata(
                "localhost", port_of(tls ? "KWIRE_SSL_BOOTSTRAP" : "KWIRE_SASL_BOOTSTRAP"),
                options_from({{"security.protocol", protocol},
                              {"sasl.mechanism", u.mechanism},
                              {"sasl.username", u.name},
                              {"sasl.password", u.password},
                              {"ssl.ca.location", broker_env("KWIRE_CA_FILE")}}));
            check_reached_cluster(out);
            CHECK(out.tls_session.empty() == !tls);
            bool logged_success = false;
            for (const auto& l : out.logs)
                if (l.find("SASL " + u.mechanism + " authentication as user '" + u.name + "' succeeded") !=
                    std::string::npos)
                    logged_success = true;
            CHECK(logged_success);
            CHECK(out.all_text().find(u.password) == std::string::npos);
        }
    }
}

TEST_CASE("security: SASL_SSL via 127.0.0.1 works with the hostname check off (kafka-python ssl_check_hostname)") {
    const auto out = attempt_metadata("127.0.0.1", port_of("KWIRE_SSL_BOOTSTRAP"),
                                      options_from({{"security_protocol", "SASL_SSL"},
                                                    {"sasl_mechanism", "PLAIN"},
                                                    {"sasl_plain_username", broker_env("KWIRE_SASL_USER")},
                                                    {"sasl_plain_password", broker_env("KWIRE_SASL_PASSWORD")},
                                                    {"ssl_cafile", broker_env("KWIRE_CA_FILE")},
                                                    {"ssl_check_hostname", "False"}}));
    check_reached_cluster(out);
}

TEST_CASE("security: the log hook sees each connection step, and never the password") {
    const std::string password = broker_env("KWIRE_SASL_PASSWORD");
    const auto out = attempt_metadata("localhost", port_of("KWIRE_SSL_BOOTSTRAP"),
                                      options_from({{"security.protocol", "SASL_SSL"},
                                                    {"sasl.username", broker_env("KWIRE_SASL_USER")},
                                                    {"sasl.password", password},
                                                    {"ssl.ca.location", broker_env("KWIRE_CA_FILE")}}));
    check_reached_cluster(out);
    std::string all;
    for (const auto& l : out.logs) all += l + "\n";
    INFO(all);
    CHECK(all.find("debug [broker] broker localhost:" + port_of("KWIRE_SSL_BOOTSTRAP") + ": connecting") !=
          std::string::npos);
    CHECK(all.find("[security] broker localhost:" + port_of("KWIRE_SSL_BOOTSTRAP") + ": TLS handshake done: TLSv1.") !=
          std::string::npos);
    CHECK(all.find("[security] broker localhost:" + port_of("KWIRE_SSL_BOOTSTRAP") + ": SASL mechanism PLAIN") !=
          std::string::npos);
    CHECK(all.find("[protocol] broker localhost:" + port_of("KWIRE_SSL_BOOTSTRAP") + ": SaslAuthenticate v") !=
          std::string::npos);
    CHECK(all.find("succeeded") != std::string::npos);
    CHECK(all.find(password) == std::string::npos);
}
