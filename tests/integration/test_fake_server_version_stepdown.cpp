// ApiVersions step-down, played by a FAKE broker on loopback: it speaks
// ApiVersions only up to v2, answers kwire's first (newer) request the way
// Kafka brokers do — a v0-shaped body with UNSUPPORTED_VERSION and its own
// range — and then answers the retried request. (The Kafka 3.9 pass in
// tools/test exercises the same path against a real broker.)
#include "support/fake_broker.hpp"
#include "support/run_async.hpp"

#include "kwire/net/version_negotiation.hpp"
#include "kwire/proto/messages/api_versions.hpp"

#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <doctest/doctest.h>

using namespace kwire;

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

// Answers each ApiVersions request; records the versions asked for.
asio::awaitable<void> fake_old_broker(asio::ip::tcp::acceptor& acceptor, std::vector<std::int16_t>& asked) {
    auto [ec, socket] = co_await acceptor.async_accept(no_throw);
    if (ec) co_return;
    for (;;) {
        const auto head = co_await test::read_request(socket);
        if (!head || head->api_key != 18) co_return;
        asked.push_back(head->version);

        proto::api_versions_response resp;
        proto::api_versions_response::api_version apiv;
        apiv.api_key = 18;
        apiv.min_version = 0;
        apiv.max_version = 2;
        resp.api_keys.push_back(apiv);
        proto::api_versions_response::api_version meta;
        meta.api_key = 3;
        meta.min_version = 0;
        meta.max_version = 7;
        resp.api_keys.push_back(meta);
        std::int16_t reply_version = head->version;
        if (head->version > 2) {
            resp.error_code = 35;  // UNSUPPORTED_VERSION, in the v0 shape
            reply_version = 0;
        }
        // (ApiVersions responses always use header v0.)
        const auto bytes = test::response_frame(head->correlation_id, 18, reply_version, resp);
        co_await asio::async_write(socket, asio::buffer(bytes), no_throw);
    }
}

} // namespace

TEST_CASE("fake old broker: ApiVersions steps down to the broker's newest version") {
    struct outcome {
        std::error_code ec;
        std::vector<std::int16_t> asked;
        std::optional<net::version_range> metadata;
    };
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0});
        const auto port = std::to_string(acceptor.local_endpoint().port());
        asio::co_spawn(ex, fake_old_broker(acceptor, o.asked), asio::detached);
        const net::connection_options options;
        auto conn = net::connection::create(ex, options);
        auto [cec] = co_await conn->async_connect("127.0.0.1", port, no_throw);
        REQUIRE(!cec);
        auto [ec, versions] = co_await net::async_negotiate_versions(conn, no_throw);
        o.ec = ec;
        o.metadata = versions.broker_range(3);
        conn->close();
        co_return o;
    });
    REQUIRE_MESSAGE(!out.ec, out.ec.message());
    REQUIRE(out.asked.size() == 2);
    CHECK(out.asked[0] > 2);   // kwire's newest stable version first
    CHECK(out.asked[1] == 2);  // then the broker's newest
    REQUIRE(out.metadata.has_value());
    CHECK(out.metadata->max == 7);
}
