// Cluster metadata from the real broker: learnt through the bootstrap list,
// broker addresses handed to the pool, unknown topics reported per topic,
// concurrent refreshes coalesced, and a dead bootstrap list a clear error.
#include "support/broker_env.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/cluster_metadata.hpp"
#include "kwire/config.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

using namespace kwire;
using namespace std::chrono_literals;

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

std::vector<std::pair<std::string, std::string>> bootstrap_list(const std::string& servers) {
    kwire::config c;
    c.set("bootstrap.servers", servers);
    return c.bootstrap_servers();
}

} // namespace

TEST_CASE("cluster metadata: brokers and cluster id through the bootstrap list — unknown topics are per-topic errors") {
    struct outcome {
        std::error_code ec;
        std::string failure;
        cluster_metadata::snapshot_ptr all, partial;
        bool pool_knows_broker = false;
    };
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        auto pool = net::broker_pool::create(ex, test::connection_options());
        // A dead address first: the refresh must move on to the live one.
        std::string dead;
        {
            asio::ip::tcp::acceptor a(ex, {asio::ip::make_address("127.0.0.1"), 0});
            dead = "127.0.0.1:" + std::to_string(a.local_endpoint().port());
        }
        auto meta = cluster_metadata::create(pool, bootstrap_list(dead + "," + test::broker_env("KWIRE_BOOTSTRAP")));
        const std::optional<std::vector<std::string>> every;
        auto [ec, snap] = co_await meta->async_refresh(every, no_throw);
        o.ec = ec;
        o.failure = meta->last_failure();
        o.all = snap;
        if (ec) co_return o;
        std::optional<std::vector<std::string>> absent{{"kwire-no-such-topic"}};  // named: GCC 12 co_await bug
        auto [pec, psnap] = co_await meta->async_refresh(absent, no_throw);
        o.partial = psnap;
        // The pool learnt broker 1's advertised address.
        auto [gec, ready] = co_await pool->async_get(snap->brokers.begin()->first, net::traffic::metadata, no_throw);
        o.pool_knows_broker = !gec && ready.conn->is_open();
        pool->close();
        co_return o;
    });
    REQUIRE_MESSAGE(!out.ec, out.failure);
    const std::string cluster_id = test::broker_env("KWIRE_CLUSTER_ID");
    if (out.all->cluster_id) CHECK(*out.all->cluster_id == cluster_id);
    else CHECK(test::api_version_pins().lowest);  // Metadata v0 and v1 carry no cluster id
    CHECK(static_cast<int>(out.all->brokers.size()) == std::stoi(test::broker_env("KWIRE_BROKER_COUNT")));
    CHECK(out.pool_knows_broker);
    const auto* missing = out.partial->topic("kwire-no-such-topic");
    REQUIRE(missing != nullptr);
    CHECK(missing->error == make_error_code(proto::kafka_errc::unknown_topic_or_partition));
    CHECK(out.partial->cluster_id == out.all->cluster_id);
}

TEST_CASE("cluster metadata: concurrent refreshes share fetches and all complete") {
    const auto results = test::run_async<std::vector<std::error_code>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::vector<std::error_code>> {
            auto pool = net::broker_pool::create(ex, test::connection_options());
            auto meta = cluster_metadata::create(pool, bootstrap_list(test::broker_env("KWIRE_BOOTSTRAP")));
            std::vector<std::error_code> done;
            for (int i = 0; i < 6; ++i) {
                const std::string topic = "kwire-absent-" + std::to_string(i);
                meta->async_refresh(std::vector<std::string>{topic},
                                    [&done, topic](std::error_code ec, cluster_metadata::snapshot_ptr snap) {
                                        // Each caller's topic is in the snapshot it gets.
                                        if (!ec && !snap->topic(topic)) ec = make_error_code(std::errc::no_such_file_or_directory);
                                        done.push_back(ec);
                                    });
            }
            asio::steady_timer t(ex);
            while (done.size() < 6) {
                t.expires_after(5ms);
                co_await t.async_wait(no_throw);
            }
            pool->close();
            co_return done;
        });
    REQUIRE(results.size() == 6);
    for (const auto& ec : results) CHECK_FALSE(ec);
}

TEST_CASE("cluster metadata: no reachable broker is a clear error naming each one") {
    std::string port;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = std::to_string(a.local_endpoint().port());
    }
    const auto out = test::run_async<std::pair<std::error_code, std::string>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::error_code, std::string>> {
            auto pool = net::broker_pool::create(ex, test::connection_options());
            auto meta = cluster_metadata::create(pool, bootstrap_list("127.0.0.1:" + port + ",no-such-broker.invalid:9092"));
            const std::optional<std::vector<std::string>> every;
            auto [ec, snap] = co_await meta->async_refresh(every, no_throw);
            pool->close();
            co_return std::pair{ec, meta->last_failure()};
        });
    CHECK(out.first);
    CHECK(out.second.find("127.0.0.1:" + port + ": connect failed") != std::string::npos);
    CHECK(out.second.find("no-such-broker.invalid") != std::string::npos);
}
