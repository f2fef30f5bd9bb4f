// The broker pool against the real broker: one connection per broker and
// kind of traffic, reused while healthy, replaced when broken; failed opens
// back off exponentially; concurrent callers share one attempt.
#include "support/broker_env.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/net/broker_pool.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace kwire;
using namespace std::chrono_literals;

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

std::shared_ptr<net::broker_pool> pool_on_broker(asio::any_io_executor ex, net::backoff_options backoff = {}) {
    auto pool = net::broker_pool::create(ex, test::connection_options(), backoff);
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    pool->set_address(1, host, port);
    return pool;
}

std::string closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return std::to_string(a.local_endpoint().port());
}

} // namespace

TEST_CASE("broker pool: one connection per kind of traffic, reused while open, replaced when closed") {
    struct outcome {
        bool all_ok = false;
        bool produce_reused = false, fetch_separate = false, group_separate = false, replaced = false;
    };
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        auto pool = pool_on_broker(ex);
        auto [e1, p1] = co_await pool->async_get(1, net::traffic::produce, no_throw);
        auto [e2, p2] = co_await pool->async_get(1, net::traffic::produce, no_throw);
        auto [e3, f1] = co_await pool->async_get(1, net::traffic::fetch, no_throw);
        auto [e4, g1] = co_await pool->async_get(1, net::traffic::group, no_throw);
        o.all_ok = !e1 && !e2 && !e3 && !e4;
        if (!o.all_ok) co_return o;
        o.produce_reused = p1.conn == p2.conn;
        o.fetch_separate = f1.conn != p1.conn && f1.conn->is_open();
        o.group_separate = g1.conn != p1.conn && g1.conn != f1.conn;
        p1.conn->close();
        asio::steady_timer t(ex, 50ms);  // let the close land on the connection's strand
        co_await t.async_wait(no_throw);
        auto [e5, p3] = co_await pool->async_get(1, net::traffic::produce, no_throw);
        o.replaced = !e5 && p3.conn != p1.conn && p3.conn->is_open();
        pool->close();
        co_return o;
    });
    REQUIRE(out.all_ok);
    CHECK(out.produce_reused);
    CHECK(out.fetch_separate);
    CHECK(out.group_separate);
    CHECK(out.replaced);
}

TEST_CASE("broker pool: concurrent callers share one open") {
    const auto shared = test::run_async<int>([&](asio::any_io_executor ex) -> asio::awaitable<int> {
        auto pool = pool_on_broker(ex);
        std::vector<std::shared_ptr<net::connection>> got;
        int done = 0;
        for (int i = 0; i < 5; ++i) {
            pool->async_get(1, net::traffic::group, [&](std::error_code ec, net::ready_connection r) {
                if (!ec) got.push_back(r.conn);
                ++done;
            });
        }
        asio::steady_timer t(ex);
        while (done < 5) {
            t.expires_after(5ms);
            co_await t.async_wait(no_throw);
        }
        pool->close();
        int distinct = 0;
        for (std::size_t i = 0; i < got.size(); ++i) distinct += (i == 0 || got[i] != got[0]) ? 1 : 0;
        co_return got.size() == 5 ? distinct : -1;
    });
    CHECK(shared == 1);
}

TEST_CASE("broker pool: failed opens back off exponentially and say why") {
    struct attempt {
        std::error_code ec;
        std::string failure;
        std::chrono::milliseconds took;
    };
    const std::string port = closed_port();
    const auto attempts = test::run_async<std::vector<attempt>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::vector<attempt>> {
            net::backoff_options backoff;
            backoff.initial = 200ms;
            backoff.maximum = 1000ms;
            backoff.jitter = 0;
            auto pool = net::broker_pool::create(ex, test::connection_options(), backoff);
            pool->set_address(7, "127.0.0.1", port);
            std::vector<attempt> out;
            for (int i = 0; i < 3; ++i) {
                const auto start = std::chrono::steady_clock::now();
                auto [ec, r] = co_await pool->async_get(7, net::traffic::metadata, no_throw);
                out.push_back({ec, r.failure,
                               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)});
            }
            pool->close();
            co_return out;
        },
        std::chrono::seconds(20));
    REQUIRE(attempts.size() == 3);
    for (const auto& a : attempts) {
        CHECK(a.ec == make_error_code(net::errc::connect_failed));
        CHECK(a.failure.find("broker 127.0.0.1:" + port + ": connect failed") != std::string::npos);
    }
    CHECK(attempts[0].took < 150ms);   // the first attempt is immediate
    CHECK(attempts[1].took >= 190ms);  // then 200 ms
    CHECK(attempts[2].took >= 390ms);  // then 400 ms
    CHECK(attempts[2].took < 2000ms);
}

TEST_CASE("broker pool: an unknown broker id and a closed pool are clear errors") {
    const auto ecs = test::run_async<std::pair<std::error_code, std::error_code>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::error_code, std::error_code>> {
            auto pool = pool_on_broker(ex);
            auto [e1, r1] = co_await pool->async_get(42, net::traffic::fetch, no_throw);
            pool->close();
            auto [e2, r2] = co_await pool->async_get(1, net::traffic::fetch, no_throw);
            co_return std::pair{e1, e2};
        });
    CHECK(ecs.first == make_error_code(net::errc::unknown_broker));
    CHECK(ecs.second == make_error_code(net::errc::shut_down));
}
