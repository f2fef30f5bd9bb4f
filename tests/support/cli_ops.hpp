// Command lines of the kwire command-line tool for tests against the real
// broker: the binary (KWIRE_CLI_PATH, set by the build), and the options that
// point a command at the test broker and follow the run's API version pin
// (tools/test's pinned passes), like the protocol tests do.
#pragma once

#include "support/broker_env.hpp"
#include "support/run_command.hpp"
#include "support/test_options.hpp"

#include <string>

namespace kwire::test {

inline const std::string kwire_cli = KWIRE_CLI_PATH;

// " -X api.version.pin=..." for the run's pin; empty without one.
inline std::string pin_args() {
    const char* pin = api_version_pin_property();
    return pin ? " -X api.version.pin=" + shell_quote(pin) : "";
}

// " -b <bootstrap_env's servers>" and the pin.
inline std::string bootstrap_args(const char* bootstrap_env = "KWIRE_BOOTSTRAP") {
    return " -b " + shell_quote(broker_env(bootstrap_env)) + pin_args();
}

// `kwire <command> -b ... <rest>`; `command` may be two words ("bench produce").
inline std::string cli_command(const std::string& command, const std::string& rest) {
    return kwire_cli + " " + command + bootstrap_args() + " " + rest;
}

} // namespace kwire::test
