// One attempt to reach the real broker with given connection options: open
// the connection (TCP, TLS, ApiVersions, SASL), then ask for Metadata. Keeps
// what a person would see: the error code, the one-line failure, every log
// line (debug, all contexts), and how long it took.
#pragma once

#include "support/test_options.hpp"

#include "support/broker_env.hpp"
#include "support/run_async.hpp"

#include "kwire/config.hpp"
#include "kwire/connection_config.hpp"
#include "kwire/net/open_connection.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kwire::test {

struct attempt_outcome {
    std::error_code ec;
    std::string failure;       // ready_connection::failure or the Metadata failure
    std::string conn_failure;  // connection::failure()
    std::string cluster_id;
    std::string tls_session;
    std::vector<std::string> logs;
    std::chrono::milliseconds elapsed{};

    std::string all_text() const {
        std::string t = ec.message() + "\n" + failure + "\n" + conn_failure + "\n";
        for (const auto& l : logs) t += l + "\n";
        return t;
    }
};

// Options as an application would build them: from properties.
inline net::connection_options options_from(std::initializer_list<std::pair<std::string, std::string>> props) {
    config c;
    c.set("socket.connection.setup.timeout.ms", "3000");
    c.set("request.timeout.ms", "3000");
    for (const auto& [k, v] : props) c.set(k, v);
    auto options = make_connection_options(c);
    // The run's pin (KWIRE_TEST_API_VERSION_PIN), unless the test sets its own.
    if (options.pins.empty()) options.pins = test::api_version_pins();
    return options;
}

inline attempt_outcome attempt_metadata(const std::string& host, const std::string& port,
                                        net::connection_options options) {
    auto logs = std::make_shared<std::vector<std::string>>();
    options.log = net::logger(
        [logs](net::log_level l, std::string_view ctx, std::string_view msg) {
            logs->push_back(std::string(net::to_string(l)) + " [" + std::string(ctx) + "] " + std::string(msg));
        },
        net::log_level::debug, net::log_context::all);
    constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
    auto out = run_async<attempt_outcome>(
        [&](asio::any_io_executor ex) -> asio::awaitable<attempt_outcome> {
            attempt_outcome o;
            const auto start = std::chrono::steady_clock::now();
            auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options, no_throw);
            o.ec = ec;
            o.failure = ready.failure;
            if (!ec) {
                o.tls_session = ready.conn->tls_session();
                // v2 at least: the cluster id the tests compare arrived in v2.
                using request_t = proto::metadata_request;
                const auto v = ready.versions.choose(request_t::api_key, {2, request_t::max_version});
                REQUIRE(v.has_value());
                const auto req = proto::make_metadata_request(std::vector<std::string>{}, *v);  // no topics
                auto [mec, resp] = co_await ready.conn->async_send(req, *v, no_throw);
                o.ec = mec;
                if (mec) o.failure = ready.conn->failure();
                else o.cluster_id = resp.cluster_id.value_or("");
            }
            o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
            if (ready.conn) {
                o.conn_failure = ready.conn->failure();
                ready.conn->close();
            }
            co_return o;
        },
        std::chrono::seconds(30));
    out.logs = *logs;
    return out;
}

inline std::string port_of(const char* env) { return first_address(broker_env(env)).second; }

} // namespace kwire::test
