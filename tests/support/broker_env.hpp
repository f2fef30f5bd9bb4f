// Addresses and credentials of the real broker started by tools/broker, read
// from the variables `tools/broker env` prints. A missing variable fails the
// test: integration tests never run without the real broker.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <utility>

namespace kwire::test {

inline std::string broker_env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) {
        FAIL("environment variable " << std::string(name)
                                     << " is not set: start the broker with tools/broker up and "
                                        "eval \"$(tools/broker env)\" (tools/test does this)");
    }
    return v;
}

// First host:port of a comma-separated list.
inline std::pair<std::string, std::string> first_address(const std::string& list) {
    const std::string first = list.substr(0, list.find(','));
    const auto colon = first.rfind(':');
    return {first.substr(0, colon), first.substr(colon + 1)};
}

} // namespace kwire::test
