// `kwire metadata` over secured listeners: -X security flags, -F properties
// files, and a wrong password (exit 1, one line, no password shown).
#if defined(KWIRE_CLI_PATH)
#include "support/broker_env.hpp"
#include "support/run_command.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

using namespace kwire::test;

namespace {

const std::string kwire_cli = KWIRE_CLI_PATH;

std::string sasl_ssl_flags(const std::string& user, const std::string& password) {
    return " -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN -X sasl.username=" + shell_quote(user) +
           " -X sasl.password=" + shell_quote(password) + " -X ssl.ca.location=" +
           shell_quote(broker_env("KWIRE_CA_FILE"));
}

} // namespace

TEST_CASE("kwire metadata over SASL_SSL with -X security properties") {
    const auto r = run_command(kwire_cli + " metadata -b " + shell_quote(broker_env("KWIRE_SSL_BOOTSTRAP")) +
                               sasl_ssl_flags(broker_env("KWIRE_SASL_USER"), broker_env("KWIRE_SASL_PASSWORD")));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("Cluster id: " + broker_env("KWIRE_CLUSTER_ID") + "\n") != std::string::npos);
}

TEST_CASE("kwire metadata over SASL_SSL with a wrong password: exit 1, one line, no password") {
    const std::string wrong = "Wr0ng-kwire-cli-pw";
    const auto r = run_command(kwire_cli + " metadata -b " + shell_quote(broker_env("KWIRE_SSL_BOOTSTRAP")) +
                               sasl_ssl_flags(broker_env("KWIRE_SASL_USER"), wrong) +
                               " -X request.timeout.ms=3000 -X socket.connection.setup.timeout.ms=3000");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(r.output.find("kwire metadata: broker " + broker_env("KWIRE_SSL_BOOTSTRAP") +
                        ": SASL PLAIN authentication failed: SASL authentication failed") != std::string::npos);
    CHECK(r.output.find("user '" + broker_env("KWIRE_SASL_USER") + "'") != std::string::npos);
    CHECK(r.output.find(wrong) == std::string::npos);
    CHECK(r.elapsed < std::chrono::milliseconds(6000));
}

TEST_CASE("kwire metadata with the security properties in a -F file (SCRAM over SASL_SSL)") {
    const std::string path = "kwire-test-security-cli.properties";
    {
        std::ofstream f(path);
        f << "# SCRAM over TLS\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
          << "sasl.username=" << broker_env("KWIRE_SCRAM_USER") << "\n"
          << "sasl.password=" << broker_env("KWIRE_SCRAM_PASSWORD") << "\n"
          << "ssl.ca.location=" << broker_env("KWIRE_CA_FILE") << "\n";
    }
    const auto r = run_command(kwire_cli + " metadata --json -b " + shell_quote(broker_env("KWIRE_SSL_BOOTSTRAP")) +
                               " -F " + shell_quote(path));
    std::remove(path.c_str());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("\"cluster_id\":\"" + broker_env("KWIRE_CLUSTER_ID") + "\"") != std::string::npos);
}

TEST_CASE("kwire metadata with an unknown security.protocol: exit 2 naming the key") {
    const auto r = run_command(kwire_cli + " metadata -b localhost:1 -X security.protocol=TLS");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("security.protocol: 'TLS' is not one of") != std::string::npos);
}

TEST_CASE("kwire metadata -X debug=security logs the TLS and SASL steps to stderr, not the password") {
    const std::string password = broker_env("KWIRE_SASL_PASSWORD");
    const auto r = run_command(kwire_cli + " metadata -b " + shell_quote(broker_env("KWIRE_SSL_BOOTSTRAP")) +
                               sasl_ssl_flags(broker_env("KWIRE_SASL_USER"), password) + " -X debug=security");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("kwire: debug [security] ") != std::string::npos);
    CHECK(r.output.find("TLS handshake done") != std::string::npos);
    CHECK(r.output.find("SASL PLAIN authentication as user") != std::string::npos);
    CHECK(r.output.find(password) == std::string::npos);
}
#endif
