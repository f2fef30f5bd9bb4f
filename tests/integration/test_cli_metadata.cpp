// `kwire metadata` against the real broker, and its errors.
#include "support/broker_env.hpp"
#include "support/run_command.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <doctest/doctest.h>

using namespace kwire::test;

namespace {
const std::string kwire_cli = KWIRE_CLI_PATH;
}

TEST_CASE("kwire metadata prints the real cluster") {
    const std::string bootstrap = broker_env("KWIRE_BOOTSTRAP");
    const std::string cluster_id = broker_env("KWIRE_CLUSTER_ID");
    const int brokers = std::stoi(broker_env("KWIRE_BROKER_COUNT"));
    const auto r = run_command(kwire_cli + " metadata -b " + shell_quote(bootstrap));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("Cluster id: " + cluster_id + "\n") != std::string::npos);
    CHECK(r.output.find(std::to_string(brokers) + (brokers == 1 ? " broker:" : " brokers:")) != std::string::npos);
    CHECK(r.output.find("Metadata (3): ") != std::string::npos);
    CHECK(r.output.find("ApiVersions (18): 0 to ") != std::string::npos);
}

TEST_CASE("kwire metadata --json carries the cluster id and every broker") {
    const std::string bootstrap = broker_env("KWIRE_BOOTSTRAP");
    const auto r = run_command(kwire_cli + " metadata --json -b " + shell_quote(bootstrap));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("\"cluster_id\":\"" + broker_env("KWIRE_CLUSTER_ID") + "\"") != std::string::npos);
    const int brokers = std::stoi(broker_env("KWIRE_BROKER_COUNT"));
    for (int id = 1; id <= brokers; ++id)
        CHECK(r.output.find("{\"node_id\":" + std::to_string(id) + ",") != std::string::npos);
}

TEST_CASE("kwire metadata on a refused address: one line, exit 1, quickly") {
    std::string port;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = std::to_string(a.local_endpoint().port());
    }
    const auto r = run_command(kwire_cli + " metadata -b 127.0.0.1:" + port);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("broker 127.0.0.1:" + port + ": connect failed") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK(r.elapsed < std::chrono::milliseconds(10000));
}

TEST_CASE("kwire metadata on an unresolvable host: clear error, exit 1") {
    const auto r = run_command(kwire_cli + " metadata -b no-such-broker.invalid:9092");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("resolve failed") != std::string::npos);
    CHECK(r.output.find("no-such-broker.invalid") != std::string::npos);
}

TEST_CASE("kwire metadata with an unknown property: exit 2 and a suggestion") {
    const auto r = run_command(kwire_cli + " metadata -b localhost:1 -X request.timeout.msec=5");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("unknown configuration property 'request.timeout.msec'") != std::string::npos);
    CHECK(r.output.find("did you mean 'request.timeout.ms'") != std::string::npos);
}
