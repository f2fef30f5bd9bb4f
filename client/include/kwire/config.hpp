// Client configuration with the property names Kafka users already know
// (librdkafka / Java: `bootstrap.servers`, `request.timeout.ms`, ...), plus
// kafka-python spellings as aliases. Unknown keys and malformed values are
// errors that name the key (and suggest the nearest known one).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kwire {

class config_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

struct config_key_info {
    std::string_view name;
    std::string_view default_value;  // empty: none
    std::string_view description;
    bool secret = false;             // never shown in logs or errors
};

class config {
public:
    config() = default;

    // Sets a property; throws config_error for an unknown key or a bad value.
    config& set(std::string_view key, std::string_view value);
    // Reads `key=value` lines ('#' and '!' start comments), as in Java
    // .properties files; throws config_error naming the file and line.
    config& load_file(const std::string& path);

    std::optional<std::string> get(std::string_view key) const;
    std::string get_or_default(std::string_view key) const;
    std::chrono::milliseconds get_ms(std::string_view key) const;
    std::int64_t get_int(std::string_view key) const;
    bool get_bool(std::string_view key) const;

    // Host/port pairs from `bootstrap.servers`.
    std::vector<std::pair<std::string, std::string>> bootstrap_servers() const;

    // Every property kwire knows, with defaults and meanings.
    static const std::vector<config_key_info>& known_keys();
    // Other spellings accepted for known keys (kafka-python's, some of
    // librdkafka's): alias -> key. kafka-python's ssl_check_hostname
    // (true/false) is accepted too, but is not an alias: it sets
    // ssl.endpoint.identification.algorithm to https or none.
    static const std::map<std::string_view, std::string_view>& known_aliases();

private:
    std::map<std::string, std::string, std::less<>> values_;
};

} // namespace kwire
