// api.version.pin=broker:X.Y against the real broker: the versions kwire
// chooses stay within what that Kafka release offers, and requests sent at
// those versions work.
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/run_command.hpp"

#include "kwire/proto/messages/produce.hpp"
#include "kwire/proto/release_versions.hpp"

#include <doctest/doctest.h>

using namespace kwire;
namespace {

test::metadata_outcome metadata_pinned(const std::string& host, const std::string& port, const std::string& pin) {
    net::connection_options options;
    options.pins = net::version_pins::parse(pin);
    return test::fetch_metadata(host, port, options);
}

std::int16_t produce_version(const net::api_versions& versions) {
    using produce_t = proto::produce_request;
    return versions.choose(produce_t::api_key, {produce_t::min_version, produce_t::max_version}).value_or(-1);
}

} // namespace

TEST_CASE("broker:2.8 pin: Metadata and Produce versions stay within Kafka 2.8's") {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const auto out = metadata_pinned(host, port, "broker:2.8");
    REQUIRE_MESSAGE(!out.ec, out.failure << " / " << out.ec.message());

    const auto meta_cap = proto::release_max_version("2.8", proto::metadata_request::api_key);
    REQUIRE(meta_cap.has_value());
    REQUIRE(*meta_cap >= 0);
    const auto meta = out.versions.broker_range(proto::metadata_request::api_key);
    REQUIRE(meta.has_value());
    CHECK(out.version >= 0);
    CHECK(out.version <= *meta_cap);
    // The broker offers more than 2.8 did, so the pin is what limits the choice.
    if (meta->max >= *meta_cap && proto::metadata_request::max_version >= *meta_cap)
        CHECK(out.version == *meta_cap);
    CHECK(out.metadata.cluster_id == test::broker_env("KWIRE_CLUSTER_ID"));
    CHECK(static_cast<int>(out.metadata.brokers.size()) == std::stoi(test::broker_env("KWIRE_BROKER_COUNT")));

    const auto produce = out.versions.broker_range(proto::produce_request::api_key);
    REQUIRE(produce.has_value());
    if (produce->min <= 9 && produce->max >= 9 && proto::produce_request::min_version <= 9) {
        CHECK(produce_version(out.versions) == 9);  // Kafka 2.8's newest Produce
    }
}

TEST_CASE("broker:X.Y combined with Name=version: the lowest cap wins on the wire") {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const auto out = metadata_pinned(host, port, "broker:3.0,Metadata=9");
    REQUIRE_MESSAGE(!out.ec, out.failure << " / " << out.ec.message());
    CHECK(out.version == 9);
    CHECK(out.metadata.cluster_id == test::broker_env("KWIRE_CLUSTER_ID"));
}

#ifdef KWIRE_CLI_PATH
TEST_CASE("kwire metadata -X api.version.pin=broker:2.8 works against the real broker") {
    const std::string bootstrap = test::broker_env("KWIRE_BOOTSTRAP");
    const auto r = test::run_command(std::string(KWIRE_CLI_PATH) + " metadata -b " + test::shell_quote(bootstrap) +
                                     " -X api.version.pin=broker:2.8");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("Cluster id: " + test::broker_env("KWIRE_CLUSTER_ID") + "\n") != std::string::npos);
}

TEST_CASE("kwire metadata rejects an unknown broker release with the known range") {
    const auto r = test::run_command(std::string(KWIRE_CLI_PATH) +
                                     " metadata -b 127.0.0.1:1 -X api.version.pin=broker:1.1");
    INFO(r.output);
    CHECK(r.exit_code == 2);  // a configuration error, before any connection
    CHECK(r.output.find("api.version.pin") != std::string::npos);
    CHECK(r.output.find("2.4 to 4.4") != std::string::npos);
}
#endif
