// Connection options for integration tests. A test run can pin the API
// versions kwire sends with KWIRE_TEST_API_VERSION_PIN (same syntax as the
// api.version.pin property: "lowest", or "Produce=7,Fetch=11"; empty or unset
// means no pin), so that tools/test can run the protocol tests once more at
// the lowest versions both sides speak. Integration tests that talk to the
// real broker should build their options here.
#pragma once

#include "support/broker_env.hpp"

#include "kwire/config.hpp"
#include "kwire/net/api_versions.hpp"
#include "kwire/net/connection.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace kwire::test {

// The pins from KWIRE_TEST_API_VERSION_PIN; an unparsable value fails the test.
inline net::version_pins api_version_pins() {
    const char* text = std::getenv("KWIRE_TEST_API_VERSION_PIN");
    if (!text || !*text) return {};
    try {
        return net::version_pins::parse(text);
    } catch (const std::invalid_argument& e) {
        FAIL("KWIRE_TEST_API_VERSION_PIN=" << text << " is not a valid api.version.pin: " << e.what());
    }
    return {};
}

// True when the run pins versions (tests that assert "the newest version"
// check the pinned choice instead).
inline bool api_versions_pinned() { return !api_version_pins().empty(); }

inline net::connection_options connection_options() {
    net::connection_options options;
    options.pins = api_version_pins();
    return options;
}

// The run's pin as a client property (nullptr: none).
inline const char* api_version_pin_property() {
    const char* pin = std::getenv("KWIRE_TEST_API_VERSION_PIN");
    return pin && *pin ? pin : nullptr;
}

// A client configuration (producer, consumer, admin) for the test broker:
// bootstrap.servers from `bootstrap_env` and the run's api.version.pin.
inline config client_config(const char* bootstrap_env = "KWIRE_BOOTSTRAP") {
    config c;
    c.set("bootstrap.servers", broker_env(bootstrap_env));
    if (const char* pin = api_version_pin_property()) c.set("api.version.pin", pin);
    return c;
}

} // namespace kwire::test
