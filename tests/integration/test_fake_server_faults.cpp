// Faults a real broker cannot produce, played by a FAKE server on loopback:
// silence after accepting, hostile or negative frame sizes, a TLS alert or an
// HTTP reply where a frame size belongs, a frame cut short. Each must end in a
// specific error within the timeout, failing every request in flight.
#include "support/run_async.hpp"

#include "kwire/net/connection.hpp"
#include "kwire/proto/messages/api_versions.hpp"

#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace kwire;
using namespace std::chrono_literals;
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

// A fake server: accepts one connection, reads the first request frame, then
// writes `reply` verbatim and keeps the socket open (or closes it).
asio::awaitable<void> fake_server(asio::ip::tcp::acceptor& acceptor, std::string reply, bool close_after) {
    auto [ec, socket] = co_await acceptor.async_accept(no_throw);
    if (ec) co_return;
    std::array<std::byte, 4> size{};
    auto [rec, n] = co_await asio::async_read(socket, asio::buffer(size), no_throw);
    (void)n;
    if (rec) co_return;
    std::vector<std::byte> body(std::to_integer<std::size_t>(size[3]) | (std::to_integer<std::size_t>(size[2]) << 8));
    co_await asio::async_read(socket, asio::buffer(body), no_throw);
    if (!reply.empty()) co_await asio::async_write(socket, asio::buffer(reply), no_throw);
    if (close_after) {
        socket.close();
        co_return;
    }
    asio::steady_timer hold(acceptor.get_executor(), 30s);
    co_await hold.async_wait(no_throw);
}

struct fault_outcome {
    std::error_code connect_ec;
    std::vector<std::error_code> request_ecs;
    std::string failure;
    std::chrono::milliseconds elapsed{};
};

// Connects to a fake server and sends `requests` ApiVersions requests at once.
fault_outcome against_fake_server(std::string reply, bool close_after, int requests = 3,
                                  std::chrono::milliseconds request_timeout = 2000ms) {
    return test::run_async<fault_outcome>(
        [&](asio::any_io_executor ex) -> asio::awaitable<fault_outcome> {
            fault_outcome out;
            asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0});
            const auto port = std::to_string(acceptor.local_endpoint().port());
            asio::co_spawn(ex, fake_server(acceptor, reply, close_after), asio::detached);

            net::connection_options opts;
            opts.request_timeout = request_timeout;
            opts.max_frame_size = 1024 * 1024;
            auto conn = net::connection::create(ex, opts);
            const auto start = std::chrono::steady_clock::now();
            auto [cec] = co_await conn->async_connect("127.0.0.1", port, no_throw);
            out.connect_ec = cec;
            if (cec) co_return out;
            int remaining = requests;
            for (int i = 0; i < requests; ++i) {
                conn->async_send(proto::api_versions_request{}, 0,
                                 [&](std::error_code e, proto::api_versions_response) {
                                     out.request_ecs.push_back(e);
                                     --remaining;
                                 });
            }
            asio::steady_timer t(ex);
            while (remaining > 0) {
                t.expires_after(5ms);
                co_await t.async_wait(no_throw);
            }
            out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
            out.failure = conn->failure();
            acceptor.close();
            co_return out;
        },
        std::chrono::seconds(20));
}

void check_all_failed_with(const fault_outcome& out, net::errc expected, int requests = 3) {
    REQUIRE(!out.connect_ec);
    REQUIRE(static_cast<int>(out.request_ecs.size()) == requests);
    for (const auto& ec : out.request_ecs) CHECK(ec == make_error_code(expected));
    CHECK(out.failure.find("broker 127.0.0.1:") != std::string::npos);
}

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b) s.push_back(static_cast<char>(c));
    return s;
}

} // namespace

TEST_CASE("fake server: accepts and then says nothing -> request timeout, every request fails") {
    const auto out = against_fake_server("", false, 3, 500ms);
    check_all_failed_with(out, net::errc::request_timeout);
    CHECK(out.elapsed >= 450ms);
    CHECK(out.elapsed < 5000ms);
    CHECK(out.failure.find("ApiVersions") != std::string::npos);
}

TEST_CASE("fake server: hostile frame size -> frame_too_large, nothing allocated") {
    const auto out = against_fake_server(bytes({0x7f, 0xff, 0xff, 0xff}), false);
    check_all_failed_with(out, net::errc::frame_too_large);
    CHECK(out.failure.find("2147483647") != std::string::npos);
}

TEST_CASE("fake server: negative frame size -> error") {
    const auto out = against_fake_server(bytes({0xff, 0xff, 0xff, 0xfe}), false);
    check_all_failed_with(out, net::errc::frame_too_large);
}

TEST_CASE("fake server: frame shorter than a response header -> bad_frame") {
    const auto out = against_fake_server(bytes({0, 0, 0, 2, 0, 0}), false);
    check_all_failed_with(out, net::errc::bad_frame);
}

TEST_CASE("fake server: a TLS alert where a frame size belongs -> tls_on_plaintext") {
    const auto out = against_fake_server(bytes({0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32}), true);
    check_all_failed_with(out, net::errc::tls_on_plaintext);
}

TEST_CASE("fake server: an HTTP reply -> http_on_kafka_port") {
    const auto out = against_fake_server("HTTP/1.1 400 Bad Request\r\n\r\n", true);
    check_all_failed_with(out, net::errc::http_on_kafka_port);
}

TEST_CASE("fake server: a frame cut short by a close -> connection_closed") {
    // Announces 100 bytes, sends 6, closes.
    const auto out = against_fake_server(bytes({0, 0, 0, 100, 0, 0, 0, 1, 0, 0}), true);
    check_all_failed_with(out, net::errc::connection_closed);
}

TEST_CASE("fake server: a response for no pending request -> unexpected_response") {
    // A well-formed frame whose correlation id (999) was never sent.
    const auto out = against_fake_server(bytes({0, 0, 0, 6, 0, 0, 0x03, 0xe7, 0, 0}), false);
    check_all_failed_with(out, net::errc::unexpected_response);
}

TEST_CASE("refused connection -> connect_failed within the timeout") {
    std::string port;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = std::to_string(a.local_endpoint().port());
    }  // closed: nothing listens there now
    const auto [ec, failure] = test::run_async<std::pair<std::error_code, std::string>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::error_code, std::string>> {
            auto conn = net::connection::create(ex);
            auto [e] = co_await conn->async_connect("127.0.0.1", port, no_throw);
            co_return std::pair{e, conn->failure()};
        },
        std::chrono::seconds(15));
    CHECK(ec == make_error_code(net::errc::connect_failed));
    CHECK(failure.find("127.0.0.1:" + port) != std::string::npos);
    CHECK(failure.find("refused") != std::string::npos);
}

TEST_CASE("unresolvable host -> resolve_failed") {
    const auto [ec, failure] = test::run_async<std::pair<std::error_code, std::string>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::error_code, std::string>> {
            auto conn = net::connection::create(ex);
            auto [e] = co_await conn->async_connect("no-such-broker.invalid", "9092", no_throw);
            co_return std::pair{e, conn->failure()};
        },
        std::chrono::seconds(30));
    CHECK(ec == make_error_code(net::errc::resolve_failed));
    CHECK(failure.find("no-such-broker.invalid") != std::string::npos);
}

TEST_CASE("a listener whose accept queue is full -> connect_timeout") {
    // Backlog 0 and two connections never accepted: the kernel drops further
    // SYNs, so the next connect can only time out.
    asio::io_context io;
    asio::ip::tcp::acceptor a(io);
    a.open(asio::ip::tcp::v4());
    a.bind({asio::ip::make_address("127.0.0.1"), 0});
    a.listen(0);
    const auto port = a.local_endpoint().port();
    // async_connect sends the SYN when it is initiated; `io` never runs, so
    // nothing here waits for the handshakes that the kernel will not finish.
    std::vector<asio::ip::tcp::socket> fillers;
    for (int i = 0; i < 4; ++i) {
        fillers.emplace_back(io);
        fillers.back().async_connect({asio::ip::make_address("127.0.0.1"), port}, [](std::error_code) {});
    }
    const auto [ec, elapsed] = test::run_async<std::pair<std::error_code, std::chrono::milliseconds>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::error_code, std::chrono::milliseconds>> {
            net::connection_options opts;
            opts.connect_timeout = 700ms;
            auto conn = net::connection::create(ex, opts);
            const auto start = std::chrono::steady_clock::now();
            auto [e] = co_await conn->async_connect("127.0.0.1", std::to_string(port), no_throw);
            co_return std::pair{e, std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - start)};
        },
        std::chrono::seconds(15));
    CHECK(ec == make_error_code(net::errc::connect_timeout));
    CHECK(elapsed >= 650ms);
    CHECK(elapsed < 5000ms);
}
