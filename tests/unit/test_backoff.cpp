#include "kwire/net/broker_pool.hpp"

#include <doctest/doctest.h>

using kwire::net::backoff_delay;
using kwire::net::backoff_options;
using namespace std::chrono_literals;

TEST_CASE("reconnect backoff doubles from the initial delay up to the maximum, with bounded jitter") {
    backoff_options o;
    o.initial = 50ms;
    o.maximum = 1000ms;
    o.jitter = 0.2;
    CHECK(backoff_delay(o, 0, 0.5) == 0ms);
    CHECK(backoff_delay(o, 1, 0.5) == 50ms);
    CHECK(backoff_delay(o, 2, 0.5) == 100ms);
    CHECK(backoff_delay(o, 5, 0.5) == 800ms);
    CHECK(backoff_delay(o, 6, 0.5) == 1000ms);
    CHECK(backoff_delay(o, 1000, 0.5) == 1000ms);
    CHECK(backoff_delay(o, 3, 0.0) == 160ms);   // 200 - 20%
    CHECK(backoff_delay(o, 3, 1.0) == 240ms);   // 200 + 20%
    CHECK(backoff_delay(o, 3, 7.0) == 240ms);   // out-of-range randomness is clamped
}
