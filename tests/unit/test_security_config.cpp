// Security and logging properties: names, kafka-python aliases, validation,
// and how they become connection options.
#include "kwire/config.hpp"
#include "kwire/connection_config.hpp"
#include "kwire/net/errors.hpp"
#include "kwire/net/log.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <vector>

using kwire::config;
using kwire::config_error;
using namespace kwire::net;

namespace {
std::string error_of(auto&& f) {
    try {
        f();
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}
} // namespace

TEST_CASE("security config: defaults are PLAINTEXT with no TLS and no SASL") {
    config c;
    const auto o = kwire::make_connection_options(c);
    CHECK_FALSE(o.tls.enabled);
    CHECK_FALSE(o.sasl.enabled());
    CHECK(c.get_or_default("security.protocol") == "PLAINTEXT");
    CHECK(c.get_or_default("ssl.endpoint.identification.algorithm") == "https");
    CHECK(c.get_bool("enable.ssl.certificate.verification"));
}

TEST_CASE("security config: SASL_SSL maps every key — secrets are marked secret") {
    config c;
    c.set("security.protocol", "sasl_ssl");
    c.set("sasl.mechanism", "SCRAM-SHA-512");
    c.set("sasl.username", "u");
    c.set("sasl.password", "p");
    c.set("ssl.ca.location", "/ca.pem");
    c.set("ssl.certificate.location", "/c.pem");
    c.set("ssl.key.location", "/k.pem");
    c.set("ssl.key.password", "kp");
    c.set("ssl.endpoint.identification.algorithm", "none");
    c.set("socket.connection.setup.timeout.ms", "1234");
#if !defined(KWIRE_WITH_TLS)
    CHECK(error_of([&] { (void)kwire::make_connection_options(c); }).find("KWIRE_WITH_TLS=OFF") != std::string::npos);
    c.set("security.protocol", "SASL_PLAINTEXT");
    c.set("sasl.mechanism", "PLAIN");
#endif
    const auto o = kwire::make_connection_options(c);
#if defined(KWIRE_WITH_TLS)
    CHECK(o.tls.enabled);
    CHECK(o.tls.ca_file == "/ca.pem");
    CHECK(o.tls.cert_file == "/c.pem");
    CHECK(o.tls.key_file == "/k.pem");
    CHECK(o.tls.key_password == "kp");
    CHECK_FALSE(o.tls.verify_hostname);
    CHECK(o.tls.verify_certificate);
    CHECK(o.tls_handshake_timeout.count() == 1234);
#endif
#if defined(KWIRE_WITH_TLS)
    CHECK(o.sasl.mechanism == "SCRAM-SHA-512");
#endif
    CHECK(o.sasl.username == "u");
    CHECK(o.sasl.password == "p");
    int secrets = 0;
    for (const auto& k : config::known_keys()) {
        if (k.name == "sasl.password" || k.name == "ssl.key.password") {
            CHECK(k.secret);
            ++secrets;
        } else {
            CHECK_MESSAGE(!k.secret, k.name);
        }
    }
    CHECK(secrets == 2);
}

TEST_CASE("security config: kafka-python aliases") {
    config c;
    c.set("security_protocol", "SASL_PLAINTEXT");
    c.set("sasl_mechanism", "SCRAM-SHA-256");
    c.set("sasl_plain_username", "alice");
    c.set("sasl_plain_password", "pw");
    c.set("ssl_cafile", "/ca");
    c.set("ssl_certfile", "/cert");
    c.set("ssl_keyfile", "/key");
    c.set("ssl_password", "kp");
    CHECK(c.get_or_default("security.protocol") == "SASL_PLAINTEXT");
    CHECK(c.get_or_default("sasl.mechanism") == "SCRAM-SHA-256");
    CHECK(c.get_or_default("sasl.username") == "alice");
    CHECK(c.get_or_default("sasl.password") == "pw");
    CHECK(c.get_or_default("ssl.ca.location") == "/ca");
    CHECK(c.get_or_default("ssl.certificate.location") == "/cert");
    CHECK(c.get_or_default("ssl.key.location") == "/key");
    CHECK(c.get_or_default("ssl.key.password") == "kp");
    c.set("ssl_check_hostname", "False");
    CHECK(c.get_or_default("ssl.endpoint.identification.algorithm") == "none");
    c.set("ssl_check_hostname", "True");
    CHECK(c.get_or_default("ssl.endpoint.identification.algorithm") == "https");
    CHECK_THROWS_AS(c.set("ssl_check_hostname", "maybe"), config_error);
    c.set("sasl.mechanisms", "PLAIN");  // librdkafka's spelling
    CHECK(c.get_or_default("sasl.mechanism") == "PLAIN");
}

TEST_CASE("security config: bad values are errors naming the key, and do not stick") {
    config c;
    auto what = error_of([&] { c.set("security.protocol", "TLS"); });
    CHECK(what.find("security.protocol") != std::string::npos);
    CHECK(what.find("SASL_SSL") != std::string::npos);
    CHECK(c.get_or_default("security.protocol") == "PLAINTEXT");
    what = error_of([&] { c.set("sasl.mechanism", "GSSAPI"); });
    CHECK(what.find("not supported by kwire") != std::string::npos);
    CHECK(!error_of([&] { c.set("sasl.mechanism", "SCRAM-SHA-1"); }).empty());
    CHECK(error_of([&] { c.set("ssl.endpoint.identification.algorithm", "yes"); })
              .find("ssl.endpoint.identification.algorithm") != std::string::npos);
    CHECK(error_of([&] { c.set("enable.ssl.certificate.verification", "nope"); })
              .find("enable.ssl.certificate.verification") != std::string::npos);
    CHECK(error_of([&] { c.set("debug", "broker,nonsense"); }).find("nonsense") != std::string::npos);
    CHECK(error_of([&] { c.set("log_level", "loud"); }).find("log_level") != std::string::npos);
    CHECK(error_of([&] { c.set("sasl.pasword", "x"); }).find("did you mean 'sasl.password'") != std::string::npos);
}

TEST_CASE("security config: SASL without credentials, or half a client certificate, is refused") {
    config c;
    c.set("security.protocol", "SASL_PLAINTEXT");
    CHECK(error_of([&] { (void)kwire::make_connection_options(c); }).find("sasl.username") != std::string::npos);
    c.set("sasl.username", "alice");
    CHECK(error_of([&] { (void)kwire::make_connection_options(c); }).find("sasl.password") != std::string::npos);
#if defined(KWIRE_WITH_TLS)
    config t;
    t.set("security.protocol", "SSL");
    t.set("ssl.certificate.location", "/c.pem");
    CHECK(error_of([&] { (void)kwire::make_connection_options(t); }).find("ssl.key.location") != std::string::npos);
#endif
}

TEST_CASE("security config: the same keys from a properties file") {
    const std::string path = "kwire-test-security.properties";
    {
        std::ofstream f(path);
        f << "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=ckafka-abc123#alice\n"
             "sasl.password=s3cret=with=equals\nssl.ca.location=/ca.pem\n";
    }
    config c;
    c.load_file(path);
    std::remove(path.c_str());
    const auto o = kwire::make_connection_options(c);
    CHECK(o.sasl.username == "ckafka-abc123#alice");
    CHECK(o.sasl.password == "s3cret=with=equals");
}

TEST_CASE("log: levels, debug contexts, and nothing formatted when disabled") {
    CHECK(logger::parse_debug("") == 0);
    CHECK(logger::parse_debug("broker, security") == (log_context::broker | log_context::security));
    CHECK(logger::parse_debug("all") == log_context::all);
    CHECK_THROWS_AS(logger::parse_debug("brokers"), std::invalid_argument);
    CHECK(logger::parse_level("7") == log_level::debug);
    CHECK(logger::parse_level("6") == log_level::info);
    CHECK(logger::parse_level("warning") == log_level::warn);
    CHECK(logger::parse_level("3") == log_level::error);

    int formatted = 0;
    const logger off;
    off.log(log_level::error, log_context::broker, [&] {
        ++formatted;
        return std::string("x");
    });
    CHECK(formatted == 0);

    std::vector<std::string> lines;
    const logger on([&](log_level l, std::string_view ctx, std::string_view msg) {
        lines.push_back(std::string(to_string(l)) + " " + std::string(ctx) + " " + std::string(msg));
    }, log_level::info, log_context::security);
    on.log(log_level::debug, log_context::broker, [&] {
        ++formatted;
        return std::string("not wanted");
    });
    on.log(log_level::debug, log_context::security, [] { return std::string("tls"); });
    on.log(log_level::warn, log_context::broker, [] { return std::string("lost"); });
    CHECK(formatted == 0);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "debug security tls");
    CHECK(lines[1] == "warn broker lost");

    lines.clear();
    const logger quiet([&](log_level, std::string_view, std::string_view m) { lines.emplace_back(m); },
                       log_level::error);
    quiet.log(log_level::warn, log_context::broker, [] { return std::string("w"); });
    quiet.log(log_level::error, log_context::broker, [] { return std::string("e"); });
    CHECK(lines == std::vector<std::string>{"e"});
}

TEST_CASE("net errors: every new code has its own message") {
    for (auto e : {errc::tls_unavailable, errc::tls_config_invalid, errc::tls_handshake_timeout,
                   errc::tls_handshake_failed, errc::tls_certificate_untrusted, errc::tls_hostname_mismatch,
                   errc::tls_not_spoken_by_peer, errc::sasl_authentication_failed, errc::sasl_mechanism_unsupported,
                   errc::sasl_not_enabled, errc::sasl_required, errc::sasl_protocol_error}) {
        const std::string m = make_error_code(e).message();
        CHECK(m != "unknown network error");
        CHECK_FALSE(is_retriable(e));
    }
}
