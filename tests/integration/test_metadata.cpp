// First round trip against the real broker: connect, negotiate API versions,
// fetch metadata, and compare what we decoded with how the broker was set up.
#include "support/broker_env.hpp"
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/net/open_connection.hpp"
#include "kwire/proto/messages/api_versions.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <thread>

using namespace kwire;
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

using test::fetch_metadata;
using test::metadata_outcome;

} // namespace

TEST_CASE("metadata from the real broker matches how it was started") {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const std::string cluster_id = test::broker_env("KWIRE_CLUSTER_ID");
    const int broker_count = std::stoi(test::broker_env("KWIRE_BROKER_COUNT"));

    const auto out = fetch_metadata(host, port);
    REQUIRE_MESSAGE(!out.ec, out.failure << " / " << out.ec.message());

    // The broker offers ApiVersions and Metadata, and we chose its newest
    // Metadata version that kwire also speaks (or, when the run pins versions
    // with KWIRE_TEST_API_VERSION_PIN, the pinned choice).
    const auto apiv = out.versions.broker_range(proto::api_versions_request::api_key);
    REQUIRE(apiv.has_value());
    CHECK(apiv->max >= 3);
    const auto meta = out.versions.broker_range(proto::metadata_request::api_key);
    REQUIRE(meta.has_value());
    const auto pins = test::api_version_pins();
    std::int16_t newest = std::min<std::int16_t>(meta->max, proto::metadata_request::max_version);
    if (auto p = pins.max_by_api.find(proto::metadata_request::api_key); p != pins.max_by_api.end())
        newest = std::min(newest, p->second);
    const std::int16_t oldest = std::max<std::int16_t>(meta->min, proto::metadata_request::min_version);
    CHECK(out.version == (pins.lowest ? oldest : newest));
    MESSAGE("Metadata v" << out.version << " (broker offers v" << meta->min << "-v" << meta->max << ")");

    // The cluster id came with Metadata v2, the controller with v1.
    if (out.version >= 2) {
        REQUIRE(out.metadata.cluster_id.has_value());
        CHECK(*out.metadata.cluster_id == cluster_id);
    }
    CHECK(static_cast<int>(out.metadata.brokers.size()) == broker_count);

    // Every broker advertises a PLAINTEXT address listed in KWIRE_BOOTSTRAP.
    const std::string bootstrap = test::broker_env("KWIRE_BOOTSTRAP");
    std::set<std::int32_t> ids;
    for (const auto& b : out.metadata.brokers) {
        ids.insert(b.node_id);
        CHECK_MESSAGE(bootstrap.find(":" + std::to_string(b.port)) != std::string::npos,
                      "broker " << b.node_id << " port " << b.port << " not in " << bootstrap);
    }
    CHECK(ids.size() == out.metadata.brokers.size());
    if (out.version >= 1) CHECK(ids.count(out.metadata.controller_id) == 1);
}

TEST_CASE("several requests in flight on one connection are matched to their responses") {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    constexpr int in_flight = 32;
    struct outcome {
        int ok = 0;
    };
    const auto result = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome out;
        // Named, not `{}` inside the co_await: GCC 12 mishandles class
        // prvalues passed by value within a co_await expression.
        const net::connection_options options = test::connection_options();
        auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options, no_throw);
        if (ec) co_return out;
        // Issue every request before awaiting any, alternating versions so
        // that a mix-up would decode the wrong shape.
        int remaining = in_flight;
        std::vector<std::pair<std::int16_t, proto::api_versions_response>> done;
        for (int i = 0; i < in_flight; ++i) {
            const std::int16_t v = static_cast<std::int16_t>(i % 2 == 0 ? 3 : 0);
            proto::api_versions_request req;
            req.client_software_name = "kwire-test";
            req.client_software_version = "1";
            ready.conn->async_send(req, v, [&, v](std::error_code e, proto::api_versions_response r) {
                if (!e && r.error_code == 0 && !r.api_keys.empty()) done.emplace_back(v, std::move(r));
                --remaining;
            });
        }
        asio::steady_timer t(ex);
        while (remaining > 0) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(no_throw);
        }
        out.ok = static_cast<int>(done.size());
        // A v0 response has no throttle time; a v3 one decoded from a v0 frame
        // (or the reverse) would have failed to decode.
        ready.conn->close();
        co_return out;
    });
    CHECK(result.ok == in_flight);
}

TEST_CASE("a topic created through kwire shows up in metadata with its partitions") {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const int broker_count = std::stoi(test::broker_env("KWIRE_BROKER_COUNT"));
    const std::string topic = test::unique_topic("kwire-metadata");
    constexpr int partitions = 3;

    const auto created = test::run_async<test::topic_handle>(
        [&](asio::any_io_executor ex) -> asio::awaitable<test::topic_handle> {
            auto boot = co_await test::open_session(ex, host, port);
            REQUIRE_MESSAGE(boot, boot.failure);
            auto t = co_await test::create_topic(boot, topic, partitions, broker_count);
            boot.conn->close();
            co_return t;
        });
    REQUIRE(created.error_code == 0);

    // The broker's metadata may lag creation by a moment; ask until it shows.
    const proto::metadata_response::metadata_response_topic* found = nullptr;
    metadata_outcome out;
    for (int attempt = 0; attempt < 50 && !found; ++attempt) {
        out = fetch_metadata(host, port);
        REQUIRE(!out.ec);
        for (const auto& t : out.metadata.topics)
            if (t.name == topic && t.error_code == 0 && static_cast<int>(t.partitions.size()) == partitions) found = &t;
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE_MESSAGE(found != nullptr, "topic " << topic << " never appeared in metadata");
    if (out.version >= 10) CHECK_FALSE(found->topic_id.is_zero());  // topic ids came with v10
    std::set<std::int32_t> indexes;
    for (const auto& p : found->partitions) {
        indexes.insert(p.partition_index);
        CHECK(p.leader_id >= 1);
        CHECK(static_cast<int>(p.replica_nodes.size()) == broker_count);
    }
    CHECK(indexes == std::set<std::int32_t>{0, 1, 2});
}
