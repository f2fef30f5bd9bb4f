// Settings of the example programs (producer.cpp, consumer.cpp): a properties
// file given as the first argument, then KWIRE_* environment variables, which
// override the file. Client properties use the names kwire, librdkafka and
// the Java client share; three keys belong to the examples themselves:
//
//   file key              environment variable       meaning
//   bootstrap.servers     KWIRE_BOOTSTRAP_SERVERS    host:port[,host:port...]
//   security.protocol     KWIRE_SECURITY_PROTOCOL    PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
//   sasl.mechanism        KWIRE_SASL_MECHANISM       PLAIN (default), SCRAM-SHA-256, SCRAM-SHA-512
//   sasl.username         KWIRE_SASL_USERNAME        e.g. instanceId#username
//   sasl.password         KWIRE_SASL_PASSWORD
//   ssl.ca.location       KWIRE_SSL_CA_LOCATION      CA file (PEM); default: the system's CAs
//   ssl_check_hostname    KWIRE_SSL_CHECK_HOSTNAME   true (default) or false
//   group.id              KWIRE_GROUP_ID             the consumer's group
//   topic                 KWIRE_TOPIC                default: test
//   exit.after.records    KWIRE_EXIT_AFTER_RECORDS   consumer: exit once this many records are printed
//   exit.after.idle.ms    KWIRE_EXIT_AFTER_IDLE_MS   consumer: exit after this long without a record
//
// Any other client property (e.g. client.id, auto.offset.reset) may be in the file.
#pragma once

#include <kwire/config.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

struct example_settings {
    kwire::config client;  // what kwire::producer and kwire::consumer take
    std::string topic = "test";
    std::int64_t exit_after_records = 0;           // 0: never
    std::chrono::milliseconds exit_after_idle{0};  // 0: never
};

namespace example_detail {

inline std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

inline std::int64_t to_number(std::string_view key, std::string_view value) {
    try {
        std::size_t used = 0;
        const long long n = std::stoll(std::string(value), &used);
        if (used == value.size() && n >= 0) return n;
    } catch (const std::exception&) {
    }
    throw kwire::config_error(std::string(key) + " needs a non-negative number, got '" + std::string(value) + "'");
}

// The examples' own keys are kept here; the rest go to the client's config.
inline void apply(example_settings& s, std::string_view key, std::string_view value) {
    if (key == "topic") s.topic = value;
    else if (key == "exit.after.records") s.exit_after_records = to_number(key, value);
    else if (key == "exit.after.idle.ms") s.exit_after_idle = std::chrono::milliseconds(to_number(key, value));
    else s.client.set(key, value);
}

} // namespace example_detail

// Throws kwire::config_error naming the file and line, or the variable.
inline example_settings load_settings(int argc, char** argv) {
    example_settings s;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        throw kwire::config_error(std::string("usage: ") + argv[0] +
                                  " [client.properties]  (settings and KWIRE_* variables: tools/examples/settings.hpp)");
    if (argc == 2) {
        const std::string path = argv[1];
        std::ifstream in(path);
        if (!in) throw kwire::config_error("cannot read " + path);
        std::string line;
        for (int number = 1; std::getline(in, line); ++number) {
            const std::string_view text = example_detail::trim(line);
            if (text.empty() || text[0] == '#' || text[0] == '!') continue;
            const auto eq = text.find('=');
            if (eq == std::string_view::npos) throw kwire::config_error(path + ":" + std::to_string(number) + ": expected key=value");
            try {
                example_detail::apply(s, example_detail::trim(text.substr(0, eq)), example_detail::trim(text.substr(eq + 1)));
            } catch (const kwire::config_error& e) {
                throw kwire::config_error(path + ":" + std::to_string(number) + ": " + e.what());
            }
        }
    }
    static constexpr std::pair<const char*, const char*> from_environment[] = {
        {"KWIRE_BOOTSTRAP_SERVERS", "bootstrap.servers"},   {"KWIRE_SECURITY_PROTOCOL", "security.protocol"},
        {"KWIRE_SASL_MECHANISM", "sasl.mechanism"},         {"KWIRE_SASL_USERNAME", "sasl.username"},
        {"KWIRE_SASL_PASSWORD", "sasl.password"},           {"KWIRE_SSL_CA_LOCATION", "ssl.ca.location"},
        {"KWIRE_SSL_CHECK_HOSTNAME", "ssl_check_hostname"}, {"KWIRE_GROUP_ID", "group.id"},
        {"KWIRE_TOPIC", "topic"},                           {"KWIRE_EXIT_AFTER_RECORDS", "exit.after.records"},
        {"KWIRE_EXIT_AFTER_IDLE_MS", "exit.after.idle.ms"},
    };
    for (const auto& [variable, key] : from_environment) {
        const char* value = std::getenv(variable);
        if (!value || !*value) continue;
        try {
            example_detail::apply(s, key, value);
        } catch (const kwire::config_error& e) {
            throw kwire::config_error(std::string(variable) + ": " + e.what());
        }
    }
    if (!s.client.get("bootstrap.servers"))
        throw kwire::config_error("no brokers: give a properties file with bootstrap.servers, or set KWIRE_BOOTSTRAP_SERVERS");
    return s;
}
