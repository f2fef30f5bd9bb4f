// `kwire doctor` against the real broker: every listener passes with the
// right settings; each classic mistake (wrong port, TLS on the plaintext
// port, plaintext on a TLS port, a wrong or missing CA file, a bad password,
// an unresolvable host, a certificate for another name) fails at the right
// step with the right words, quickly. A fake broker on loopback advertises
// an address nobody listens on, for the last step.
#if defined(KWIRE_CLI_PATH)
#include "support/broker_env.hpp"
#include "support/cli_ops.hpp"
#include "support/fake_broker.hpp"
#include "support/run_command.hpp"

#include "kwire/proto/api_keys.hpp"
#include "kwire/proto/messages/api_versions.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/messages/sasl_handshake.hpp"
#include "kwire/proto/reader.hpp"
#include "kwire/proto/writer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

// Short step timeouts: a failing step must not wait for the defaults.
command_result doctor(const std::string& args) {
    return run_command(kwire_cli + " doctor --timeout 4000" + pin_args() + " " + args, 30);
}

std::string sasl_flags(const std::string& protocol, const std::string& password) {
    return " -X security.protocol=" + protocol + " -X sasl.mechanism=PLAIN -X sasl.username=" +
           shell_quote(broker_env("KWIRE_SASL_USER")) + " -X sasl.password=" + shell_quote(password);
}

std::string ca_flag(const std::string& file) { return " -X ssl.ca.location=" + shell_quote(file); }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The port of a socket just closed: nothing listens there.
unsigned short free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

// One FAIL line, for the step that failed, and exit status 1.
void check_fails_at(const command_result& r, const std::string& step, const std::string& target,
                    const std::string& words) {
    INFO(r.output);
    CHECK(r.exit_code == 1);
    const auto fails = [&] {
        std::size_t n = 0;
        for (auto at = r.output.find("\nFAIL"); at != std::string::npos; at = r.output.find("\nFAIL", at + 1)) ++n;
        return n + (r.output.starts_with("FAIL") ? 1 : 0);
    }();
    CHECK(fails == 1);
    char name[16];
    std::snprintf(name, sizeof name, "%-12s", step.c_str());
    CHECK(has(r.output, "FAIL  " + std::string(name) + " " + target + ": " + words));
    CHECK(has(r.output, "kwire doctor: failed at step '" + step + "' on " + target + ": " + words));
    CHECK(r.elapsed < 5s);
}

void check_passes(const command_result& r, const std::string& target, bool tls, bool sasl) {
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(!has(r.output, "FAIL"));
    for (const char* step : {"resolve     ", "connect     ", "api-versions", "metadata    ", "broker      "})
        CHECK(has(r.output, "ok    " + std::string(step) + " " + target + ": "));
    CHECK(has(r.output, std::string(tls ? "ok  " : "skip") + "  tls          " + target + ": "));
    CHECK(has(r.output, std::string(sasl ? "ok  " : "skip") + "  sasl         " + target + ": "));
    // Metadata v0 and v1 (the pinned pass) carry no cluster id.
    if (pin_args().empty()) CHECK(has(r.output, "cluster id " + broker_env("KWIRE_CLUSTER_ID") + ", "));
    CHECK(has(r.output, "1 advertised broker: 1 at " + target));
    CHECK(has(r.output, "kwire doctor: every step passed\n"));
}

} // namespace

TEST_CASE("kwire doctor passes on every listener with its settings") {
    const std::string ca = broker_env("KWIRE_CA_FILE");
    const std::string password = broker_env("KWIRE_SASL_PASSWORD");
    SUBCASE("PLAINTEXT") {
        check_passes(doctor("-b " + broker_env("KWIRE_BOOTSTRAP")), broker_env("KWIRE_BOOTSTRAP"), false, false);
    }
    SUBCASE("SASL_PLAINTEXT") {
        const auto r = doctor("-b " + broker_env("KWIRE_SASL_BOOTSTRAP") + sasl_flags("SASL_PLAINTEXT", password));
        check_passes(r, broker_env("KWIRE_SASL_BOOTSTRAP"), false, true);
        CHECK(has(r.output, "authenticated as user '" + broker_env("KWIRE_SASL_USER") + "' with PLAIN"));
        CHECK(!has(r.output, password));
    }
    SUBCASE("SASL_SSL") {
        const auto r = doctor("-b " + broker_env("KWIRE_SSL_BOOTSTRAP") + sasl_flags("SASL_SSL", password) + ca_flag(ca));
        check_passes(r, broker_env("KWIRE_SSL_BOOTSTRAP"), true, true);
        CHECK(has(r.output, "certificate verified against ssl.ca.location '" + ca + "'; host name 'localhost' checked"));
    }
    SUBCASE("SSL") {
        check_passes(doctor("-b " + broker_env("KWIRE_TLS_BOOTSTRAP") + " -X security.protocol=SSL" + ca_flag(ca)),
                     broker_env("KWIRE_TLS_BOOTSTRAP"), true, false);
    }
    SUBCASE("SASL_SSL by IP address with the host name check off") {
        const std::string target = "127.0.0.1:" + first_address(broker_env("KWIRE_SSL_BOOTSTRAP")).second;
        const auto r = doctor("-b " + target + sasl_flags("SASL_SSL", password) + ca_flag(ca) +
                              " -X ssl_check_hostname=false");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(has(r.output, "host name not checked"));
    }
}

TEST_CASE("kwire doctor --json reports every step and the first failure") {
    const auto ok = doctor("--json -b " + broker_env("KWIRE_BOOTSTRAP"));
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    CHECK(ok.output.starts_with("{\"ok\":true,\"failed_step\":null,\"failed_target\":null,\"steps\":[{\"step\":\"resolve\""));
    CHECK(has(ok.output, "{\"step\":\"tls\",\"target\":\"" + broker_env("KWIRE_BOOTSTRAP") + "\",\"status\":\"skipped\""));
    CHECK(std::count(ok.output.begin(), ok.output.end(), '\n') == 1);

    const auto bad = doctor("--json -b " + broker_env("KWIRE_SASL_BOOTSTRAP") +
                            sasl_flags("SASL_PLAINTEXT", "Wr0ng-doctor-pw"));
    INFO(bad.output);
    CHECK(bad.exit_code == 1);
    CHECK(bad.output.starts_with("{\"ok\":false,\"failed_step\":\"sasl\",\"failed_target\":\"" +
                                 broker_env("KWIRE_SASL_BOOTSTRAP") + "\""));
    CHECK(has(bad.output, "\"status\":\"failed\",\"detail\":\"SASL PLAIN authentication failed"));
    CHECK(has(bad.output, "{\"step\":\"metadata\",\"target\":\"" + broker_env("KWIRE_SASL_BOOTSTRAP") +
                              "\",\"status\":\"skipped\""));
    CHECK(!has(bad.output, "Wr0ng-doctor-pw"));
}

TEST_CASE("kwire doctor: a port nobody listens on fails at connect") {
    const std::string target = "localhost:" + std::to_string(free_port());
    const auto r = doctor("-b " + target);
    check_fails_at(r, "connect", target, "nothing listens on port");
    CHECK(has(r.output, "Connection refused"));
}

TEST_CASE("kwire doctor: TLS on the plaintext port fails at tls") {
    const std::string target = broker_env("KWIRE_BOOTSTRAP");
    check_fails_at(doctor("-b " + target + " -X security.protocol=SSL" + ca_flag(broker_env("KWIRE_CA_FILE"))), "tls",
                   target, "TLS on a plaintext port");
}

TEST_CASE("kwire doctor: plaintext on the SSL port fails at api-versions") {
    const std::string target = broker_env("KWIRE_TLS_BOOTSTRAP");
    const auto r = doctor("-b " + target);
    check_fails_at(r, "api-versions", target, "plaintext on a TLS port");
    CHECK(has(r.output, "ok    connect      " + target));
}

TEST_CASE("kwire doctor: a CA file that did not sign the broker's certificate fails at tls") {
    const std::string target = broker_env("KWIRE_SSL_BOOTSTRAP");
    const std::string other_ca = broker_env("KWIRE_OTHER_CA_FILE");
    const auto r = doctor("-b " + target + sasl_flags("SASL_SSL", broker_env("KWIRE_SASL_PASSWORD")) + ca_flag(other_ca));
    check_fails_at(r, "tls", target, "the broker's certificate is not signed by the CA in ssl.ca.location '" + other_ca + "'");
}

TEST_CASE("kwire doctor: a missing CA file fails at tls") {
    const std::string target = broker_env("KWIRE_SSL_BOOTSTRAP");
    const auto r = doctor("-b " + target + sasl_flags("SASL_SSL", broker_env("KWIRE_SASL_PASSWORD")) +
                          ca_flag("/nonexistent/kwire-doctor-ca.pem"));
    check_fails_at(r, "tls", target, "a CA, certificate or key file could not be loaded");
    CHECK(has(r.output, "/nonexistent/kwire-doctor-ca.pem"));
}

TEST_CASE("kwire doctor: a certificate for another host name fails at tls naming the host name check") {
    const std::string target = "127.0.0.1:" + first_address(broker_env("KWIRE_SSL_BOOTSTRAP")).second;
    const auto r = doctor("-b " + target + sasl_flags("SASL_SSL", broker_env("KWIRE_SASL_PASSWORD")) +
                          ca_flag(broker_env("KWIRE_CA_FILE")));
    check_fails_at(r, "tls", target, "the host name check failed: the certificate does not name '127.0.0.1'");
}

TEST_CASE("kwire doctor: a bad password fails at sasl and never shows the password") {
    const std::string wrong = "Wr0ng-doctor-pw";
    for (const auto& [protocol, target_var] : {std::pair{"SASL_PLAINTEXT", "KWIRE_SASL_BOOTSTRAP"},
                                                std::pair{"SASL_SSL", "KWIRE_SSL_BOOTSTRAP"}}) {
        CAPTURE(protocol);
        const std::string target = broker_env(target_var);
        const auto r = doctor("-b " + target + sasl_flags(protocol, wrong) + ca_flag(broker_env("KWIRE_CA_FILE")));
        check_fails_at(r, "sasl", target,
                       "bad user name or password: the broker rejected user '" + broker_env("KWIRE_SASL_USER") + "'");
        CHECK(!has(r.output, wrong));
    }
}

TEST_CASE("kwire doctor: SASL settings on a plaintext listener fail at sasl") {
    const std::string target = broker_env("KWIRE_BOOTSTRAP");
    check_fails_at(doctor("-b " + target + sasl_flags("SASL_PLAINTEXT", broker_env("KWIRE_SASL_PASSWORD"))), "sasl",
                   target, "this listener does not use SASL");
}

TEST_CASE("kwire doctor: no SASL settings on a SASL listener fail at metadata") {
    const std::string target = broker_env("KWIRE_SASL_BOOTSTRAP");
    check_fails_at(doctor("-b " + target), "metadata", target, "this listener requires SASL");
}

TEST_CASE("kwire doctor: an unresolvable host fails at resolve") {
    const std::string target = "kwire-doctor-test.invalid:9092";
    check_fails_at(doctor("-b " + target), "resolve", target, "the name 'kwire-doctor-test.invalid' does not resolve here");
}

TEST_CASE("kwire doctor: bad usage exits 2") {
    CHECK(run_command(kwire_cli + " doctor").exit_code == 2);
    CHECK(run_command(kwire_cli + " doctor -b localhost:1 --timeout soon").exit_code == 2);
    CHECK(run_command(kwire_cli + " doctor -b localhost:1 -X security.protocol=TLS").exit_code == 2);
}

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

// A broker that answers ApiVersions (up to v2) and Metadata (up to v7),
// advertising itself at localhost:`advertised_port`, and SaslHandshake as a
// listener that enables only PLAIN.
asio::awaitable<void> fake_broker_session(asio::ip::tcp::socket socket, unsigned short advertised_port) {
    for (;;) {
        const auto head = co_await read_request(socket);
        if (!head) co_return;
        const auto [api_key, version, correlation_id] = *head;
        std::vector<std::byte> reply;
        if (api_key == 18) {
            proto::api_versions_response resp;
            for (auto [key, max] : {std::pair<std::int16_t, std::int16_t>{18, 2}, {3, 7}, {17, 1}}) {
                proto::api_versions_response::api_version v;
                v.api_key = key;
                v.min_version = 0;
                v.max_version = max;
                resp.api_keys.push_back(v);
            }
            std::int16_t reply_version = version;
            if (version > 2) {
                resp.error_code = 35;  // UNSUPPORTED_VERSION, in the v0 shape, as Kafka does
                reply_version = 0;
            }
            reply = response_frame(correlation_id, api_key, reply_version, resp);
        } else if (api_key == 3) {
            proto::metadata_response resp;
            proto::metadata_response::metadata_response_broker b;
            b.node_id = 1;
            b.host = "localhost";
            b.port = advertised_port;
            resp.brokers.push_back(b);
            resp.cluster_id = "fake-cluster";
            resp.controller_id = 1;
            reply = response_frame(correlation_id, api_key, version, resp);
        } else if (api_key == 17) {
            proto::sasl_handshake_response resp;
            resp.error_code = 33;  // UNSUPPORTED_SASL_MECHANISM
            resp.mechanisms = {"PLAIN"};
            reply = response_frame(correlation_id, api_key, version, resp);
        } else {
            co_return;
        }
        auto [e3, n3] = co_await asio::async_write(socket, asio::buffer(reply), no_throw);
        if (e3) co_return;
    }
}

asio::awaitable<void> fake_broker(asio::ip::tcp::acceptor& acceptor, unsigned short advertised_port) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(no_throw);
        if (ec) co_return;
        asio::co_spawn(acceptor.get_executor(), fake_broker_session(std::move(socket), advertised_port), asio::detached);
    }
}

// Runs `kwire doctor ARGS -b <fake broker>` while the fake broker serves.
command_result doctor_against_fake_broker(unsigned short advertised_port, const std::string& args,
                                          std::string& target) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    target = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    asio::co_spawn(io, fake_broker(acceptor, advertised_port), asio::detached);
    std::thread server([&] { io.run(); });
    auto r = doctor(args + " -b " + target);
    io.stop();
    server.join();
    return r;
}

} // namespace

TEST_CASE("kwire doctor: a SASL mechanism the listener does not enable fails at sasl") {
    std::string target;
    const auto r = doctor_against_fake_broker(free_port(), "-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-512 "
                                                           "-X sasl.username=u -X sasl.password=p", target);
    check_fails_at(r, "sasl", target, "the broker does not enable sasl.mechanism SCRAM-SHA-512 on this listener");
    CHECK(has(r.output, "the broker offers: PLAIN"));
}

TEST_CASE("kwire doctor: an advertised address unreachable from here fails at broker") {
    const unsigned short nobody = free_port();
    std::string target;
    const auto r = doctor_against_fake_broker(nobody, "", target);

    const std::string advertised = "localhost:" + std::to_string(nobody);
    INFO(r.output);
    CHECK(has(r.output, "ok    metadata     " + target + ": "));
    CHECK(has(r.output, "1 advertised broker: 1 at " + advertised + " ("));
    check_fails_at(r, "broker", advertised,
                   "advertised address unreachable from here: broker 1 advertises " + advertised);
    CHECK(has(r.output, "nothing listens on port " + std::to_string(nobody)));
}
#endif
