// Requests the broker does not answer: Produce with acks=0, sent through
// connection::async_send_no_response.
// - Against the real broker: the request takes a correlation id and waits for
//   nothing; requests sent after it on the same connection get their own
//   responses; the broker stores the records.
// - Its completion runs once the frame is written: the caller may then reuse
//   the record bytes (the test overwrites them), and the broker still stores
//   what was sent.
// - On a connection that failed, it completes with the failure at once; one
//   that fails while the frame is being written (a FAKE server that stops
//   reading, which a real broker does not do) completes it only after that
//   write has ended. A frame not written within request.timeout.ms fails the
//   connection with request_timeout, even with no request behind it.
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"

#include "kwire/net/connection.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/messages/produce.hpp"
#include "kwire/proto/metadata_query.hpp"
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

using namespace kwire;
using namespace std::chrono_literals;
using test::no_throw;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text_of(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Polls `done()` every 5 ms for up to `limit_ms`; returns its last value.
template <class Pred>
asio::awaitable<bool> wait_until(const Pred& done, int limit_ms) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (!done() && std::chrono::steady_clock::now() < end) {
        t.expires_after(5ms);
        co_await t.async_wait(no_throw);
    }
    co_return done();
}

// A one-partition topic and a session with its leader.
struct topic_on_leader {
    test::topic_handle topic;
    test::session leader;
};

asio::awaitable<topic_on_leader> new_topic(asio::any_io_executor ex, const std::string& prefix) {
    topic_on_leader out;
    auto boot = co_await test::open_bootstrap(ex);
    REQUIRE_MESSAGE(boot, boot.failure);
    const std::string name = test::unique_topic(prefix);
    out.topic = co_await test::create_topic(boot, name, 1, std::stoi(test::broker_env("KWIRE_BROKER_COUNT")));
    REQUIRE(out.topic.error_code == 0);
    auto [host, port] = co_await test::leader_of(boot, out.topic, 0);
    boot.conn->close();
    out.leader = co_await test::open_session(ex, host, port);
    REQUIRE_MESSAGE(out.leader, out.leader.failure);
    co_return out;
}

// A Produce request with acks=0 for partition 0 of `topic`.
proto::produce_request produce_acks0(const test::session& s, const test::topic_handle& topic,
                                     proto::record_set records) {
    proto::produce_request req;
    req.acks = 0;
    req.timeout_ms = 30000;
    proto::produce_request::topic_produce_data t;
    if (s.version<proto::produce_request>() >= 13) t.topic_id = topic.id;
    else t.name = topic.name;
    proto::produce_request::partition_produce_data p;
    p.index = 0;
    p.records = std::move(records);
    t.partition_data.push_back(std::move(p));
    req.topic_data.push_back(std::move(t));
    return req;
}

struct stored_record {
    std::int64_t offset;
    std::optional<std::string> key, value;
};

// Fetches from offset 0 until `expected` records have arrived (acks=0 gives
// no confirmation, so the records appear when the broker has appended them).
asio::awaitable<std::vector<stored_record>> fetch_records(test::session& s, const test::topic_handle& topic,
                                                          std::size_t expected) {
    std::vector<stored_record> out;
    std::int64_t next = 0;
    for (int attempt = 0; attempt < 40 && out.size() < expected; ++attempt) {
        auto f = co_await test::fetch(s, topic, 0, next);
        REQUIRE_MESSAGE(!f.ec, s.conn->failure());
        REQUIRE_MESSAGE(f.error_code == 0, proto::kafka_error(f.error_code).message());
        proto::record_batch_reader reader;
        reader.reset(f.records);
        while (reader.next_batch()) {
            proto::record r;
            while (reader.next_record(r)) {
                stored_record sr{r.offset, {}, {}};
                if (r.key) sr.key = text_of(*r.key);
                if (r.value) sr.value = text_of(*r.value);
                out.push_back(std::move(sr));
                next = r.offset + 1;
            }
        }
        REQUIRE_MESSAGE(!reader.error(), reader.error().message());
    }
    co_return out;
}

template <class Request>
std::vector<std::byte> encode_body(const Request& req, std::int16_t version) {
    std::vector<std::byte> body;
    proto::writer w(body);
    REQUIRE(!req.encode(w, version));
    return body;
}

} // namespace

TEST_CASE("no-response Produce (acks=0) on the real broker: later responses match, the record is stored") {
    struct outcome {
        std::error_code sent_ec;
        bool sent = false;
        std::int32_t first_cid = -1, second_cid = -1;
        std::error_code first_ec, second_ec;
        bool second_names_topic = false;
        std::string topic;
        std::vector<stored_record> stored;
        bool open_after = false;
    };
    const std::string value = "acks=0 value " + std::to_string(now_ms());
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        auto [topic, leader] = co_await new_topic(ex, "kwire-noresp");
        o.topic = topic.name;

        proto::record_batch_builder builder;
        REQUIRE(!builder.reset());
        REQUIRE(builder.append(now_ms(), bytes_of("k"), bytes_of(value)));
        const auto sealed = builder.seal();
        REQUIRE(!builder.error());
        const auto produce = produce_acks0(leader, topic, proto::record_set(sealed.buffers, nullptr));

        // Metadata (raw, to see its correlation id), the acks=0 Produce, and
        // Metadata again, all queued at once on the same connection.
        const std::int16_t mv = leader.version<proto::metadata_request>();
        const auto metadata = proto::make_metadata_request(std::vector<std::string>{topic.name}, mv);
        int remaining = 3;
        std::vector<std::byte> second_body;
        leader.conn->async_request(proto::metadata_request::api_key, mv, encode_body(metadata, mv),
                                   [&](std::error_code ec, net::response r) {
                                       o.first_ec = ec;
                                       o.first_cid = r.correlation_id;
                                       --remaining;
                                   });
        leader.conn->async_send_no_response(produce, leader.version<proto::produce_request>(),
                                            [&](std::error_code ec) {
                                                o.sent = true;
                                                o.sent_ec = ec;
                                                --remaining;
                                            });
        leader.conn->async_request(proto::metadata_request::api_key, mv, encode_body(metadata, mv),
                                   [&](std::error_code ec, net::response r) {
                                       o.second_ec = ec;
                                       o.second_cid = r.correlation_id;
                                       if (!ec) {
                                           proto::metadata_response m;
                                           proto::reader rd(r.body());
                                           if (!m.decode(rd, mv))
                                               for (const auto& t : m.topics)
                                                   if (t.name == topic.name && t.error_code == 0)
                                                       o.second_names_topic = true;
                                       }
                                       --remaining;
                                   });
        const auto all_done = [&] { return remaining == 0; };
        REQUIRE(co_await wait_until(all_done, 20000));

        // A typed request on the same connection, then the stored record.
        o.stored = co_await fetch_records(leader, topic, 1);
        o.open_after = leader.conn->is_open();
        leader.conn->close();
        co_return o;
    });
    CHECK(out.sent);
    CHECK_MESSAGE(!out.sent_ec, out.sent_ec.message());
    REQUIRE_MESSAGE(!out.first_ec, out.first_ec.message());
    REQUIRE_MESSAGE(!out.second_ec, out.second_ec.message());
    // The Produce took the correlation id between the two Metadata requests.
    CHECK(out.second_cid == out.first_cid + 2);
    CHECK(out.second_names_topic);
    REQUIRE(out.stored.size() == 1);
    CHECK(out.stored[0].offset == 0);
    CHECK(out.stored[0].key == "k");
    CHECK(out.stored[0].value == value);
    CHECK(out.open_after);
}

TEST_CASE("no-response completion runs after the write: the caller may then overwrite its record bytes") {
    // Three batches of one large value each, sent by reference from these
    // strings; each completion overwrites its value at once. Had a completion
    // run before the socket read the bytes, the broker would get a batch with
    // a wrong CRC (and, acks=0, close the connection) instead of the values.
    constexpr int batches = 3;
    constexpr std::size_t value_size = 600 * 1024;  // under the broker's message.max.bytes
    const std::string originals[batches] = {std::string(value_size, 'a'), std::string(value_size, 'b'),
                                            std::string(value_size, 'c')};
    struct outcome {
        std::vector<int> completed;  // completion order
        std::vector<std::error_code> ecs;
        std::error_code metadata_ec;
        bool metadata_has_topic = false;
        std::vector<stored_record> stored;
    };
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        auto [topic, leader] = co_await new_topic(ex, "kwire-noresp-big");
        std::vector<std::shared_ptr<std::string>> values;
        std::vector<std::unique_ptr<proto::record_batch_builder>> builders;
        const std::int16_t pv = leader.version<proto::produce_request>();
        for (int i = 0; i < batches; ++i) {
            values.push_back(std::make_shared<std::string>(originals[i]));
            builders.push_back(std::make_unique<proto::record_batch_builder>());
            auto& b = *builders.back();
            REQUIRE(!b.reset());
            REQUIRE(b.append(now_ms(), bytes_of("big-" + std::to_string(i)), bytes_of(*values.back()), {},
                             std::static_pointer_cast<const void>(values.back())));
            const auto sealed = b.seal();
            REQUIRE(!b.error());
            REQUIRE(sealed.buffers.size() > 1);  // the value is a segment of its own, not copied
            const auto produce = produce_acks0(leader, topic, proto::record_set(sealed.buffers, nullptr));
            // Sent back to back: the first goes out alone, the others are
            // queued behind it and leave together in one gather write.
            leader.conn->async_send_no_response(produce, pv, [&o, i, value = values.back()](std::error_code ec) {
                o.completed.push_back(i);
                o.ecs.push_back(ec);
                std::fill(value->begin(), value->end(), 'X');  // the caller reuses its bytes
            });
        }
        const auto all_sent = [&] { return o.completed.size() == batches; };
        REQUIRE(co_await wait_until(all_sent, 20000));

        // The connection still serves requests with responses.
        const std::int16_t mv = leader.version<proto::metadata_request>();
        const auto metadata = proto::make_metadata_request(std::vector<std::string>{topic.name}, mv);
        auto [mec, m] = co_await leader.conn->async_send(metadata, mv, no_throw);
        o.metadata_ec = mec;
        for (const auto& t : m.topics)
            if (t.name == topic.name && t.error_code == 0) o.metadata_has_topic = true;
        o.stored = co_await fetch_records(leader, topic, batches);
        leader.conn->close();
        co_return o;
    });
    CHECK(out.completed == std::vector<int>{0, 1, 2});
    for (const auto& ec : out.ecs) CHECK_MESSAGE(!ec, ec.message());
    REQUIRE_MESSAGE(!out.metadata_ec, out.metadata_ec.message());
    CHECK(out.metadata_has_topic);
    REQUIRE(out.stored.size() == batches);
    for (int i = 0; i < batches; ++i) {
        CAPTURE(i);
        CHECK(out.stored[static_cast<std::size_t>(i)].offset == i);
        CHECK(out.stored[static_cast<std::size_t>(i)].key == "big-" + std::to_string(i));
        CHECK(out.stored[static_cast<std::size_t>(i)].value == originals[i]);  // not the 'X's written afterwards
    }
}

TEST_CASE("no-response send on a connection that failed completes with the failure at once") {
    struct outcome {
        std::error_code closed_ec, never_connected_ec;
        std::chrono::milliseconds closed_elapsed{}, never_connected_elapsed{};
        bool closed_done = false, never_connected_done = false;
    };
    const auto out = test::run_async<outcome>([&](asio::any_io_executor ex) -> asio::awaitable<outcome> {
        outcome o;
        auto s = co_await test::open_bootstrap(ex);
        REQUIRE_MESSAGE(s, s.failure);
        const std::int16_t pv = s.version<proto::produce_request>();
        test::topic_handle topic;
        topic.name = "kwire-never-sent";
        const std::string value = "never sent";
        proto::record_batch_builder builder;
        REQUIRE(!builder.reset());
        REQUIRE(builder.append(now_ms(), std::nullopt, bytes_of(value)));
        const auto sealed = builder.seal();
        const auto produce = produce_acks0(s, topic, proto::record_set(sealed.buffers, nullptr));

        // A connection that was closed (failed with shut_down).
        s.conn->close();
        const auto closed = [&] { return !s.conn->is_open(); };
        REQUIRE(co_await wait_until(closed, 5000));
        auto start = std::chrono::steady_clock::now();
        s.conn->async_send_no_response(produce, pv, [&](std::error_code ec) {
            o.closed_ec = ec;
            o.closed_done = true;
            o.closed_elapsed =
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        });
        // A connection never connected.
        auto idle = net::connection::create(ex);
        idle->async_send_no_response(produce, pv, [&](std::error_code ec) {
            o.never_connected_ec = ec;
            o.never_connected_done = true;
            o.never_connected_elapsed =
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        });
        const auto both = [&] { return o.closed_done && o.never_connected_done; };
        co_await wait_until(both, 5000);
        co_return o;
    });
    REQUIRE(out.closed_done);
    CHECK(out.closed_ec == make_error_code(net::errc::shut_down));
    CHECK(out.closed_elapsed < 1000ms);
    REQUIRE(out.never_connected_done);
    CHECK(out.never_connected_ec == make_error_code(net::errc::connection_poisoned));
    CHECK(out.never_connected_elapsed < 1000ms);
}

namespace {

struct stalled_outcome {
    std::error_code connect_ec;
    bool sent_before_failure = false;
    bool sent = false;
    std::error_code sent_ec, metadata_ec;
    std::vector<std::string> order;
    std::chrono::milliseconds sent_elapsed{};
    std::string failure;
};

// A FAKE server that accepts and never reads (a broker always reads its
// socket). A no-response Produce frame of 32 MiB, larger than the socket
// buffers, stays under way; with `metadata_behind`, a Metadata request
// waits behind it on the same connection.
stalled_outcome against_stalled_peer(bool metadata_behind) {
    return test::run_async<stalled_outcome>(
        [&](asio::any_io_executor ex) -> asio::awaitable<stalled_outcome> {
            stalled_outcome o;
            asio::ip::tcp::acceptor acceptor(ex, {asio::ip::make_address("127.0.0.1"), 0});
            const auto port = std::to_string(acceptor.local_endpoint().port());
            auto peer = std::make_shared<asio::ip::tcp::socket>(ex);
            acceptor.async_accept(*peer, [](std::error_code) {});  // accepts, never reads

            net::connection_options opts;
            opts.request_timeout = 600ms;
            auto conn = net::connection::create(ex, opts);
            auto [cec] = co_await conn->async_connect("127.0.0.1", port, no_throw);
            o.connect_ec = cec;
            if (cec) co_return o;

            // Not a valid batch: the fake server never looks at it.
            auto bytes = std::make_shared<std::vector<std::byte>>(32 * 1024 * 1024, std::byte{0x5a});
            proto::produce_request produce;
            produce.acks = 0;
            produce.timeout_ms = 1000;
            proto::produce_request::topic_produce_data t;
            t.name = "stalled";
            proto::produce_request::partition_produce_data p;
            p.records = proto::record_set(std::span<const std::byte>(*bytes), nullptr);
            t.partition_data.push_back(std::move(p));
            produce.topic_data.push_back(std::move(t));

            const auto start = std::chrono::steady_clock::now();
            conn->async_send_no_response(produce, 3, [&](std::error_code ec) {
                o.sent = true;
                o.sent_ec = ec;
                o.order.push_back("produce");
                o.sent_elapsed =
                    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
            });
            bool metadata_done = !metadata_behind;
            if (metadata_behind) {
                const auto metadata = proto::make_metadata_request(std::nullopt, 1);
                conn->async_send(metadata, 1, [&](std::error_code ec, proto::metadata_response) {
                    o.metadata_ec = ec;
                    o.order.push_back("metadata");
                    metadata_done = true;
                });
            }
            // Before the timeout the write is still under way: no completion.
            const auto sent_early = [&] { return o.sent; };
            o.sent_before_failure = co_await wait_until(sent_early, 300);
            const auto all = [&] { return o.sent && metadata_done; };
            co_await wait_until(all, 10000);
            o.failure = conn->failure();
            acceptor.close();
            co_return o;
        },
        std::chrono::seconds(30));
}

void check_failed_by_write_deadline(const stalled_outcome& out) {
    REQUIRE(!out.connect_ec);
    CHECK_FALSE(out.sent_before_failure);
    REQUIRE(out.sent);
    CHECK(out.sent_ec == make_error_code(net::errc::request_timeout));
    CHECK(out.sent_elapsed >= 550ms);
    CHECK(out.sent_elapsed < 5000ms);
    // The frame's own deadline (request.timeout.ms to be written) passed.
    CHECK(out.failure.find("Produce v3 (no response expected) not written within 600 ms") != std::string::npos);
}

} // namespace

TEST_CASE("fake server that stops reading: a no-response write fails with request_timeout when it is not "
          "written within request.timeout.ms") {
    check_failed_by_write_deadline(against_stalled_peer(false));
}

TEST_CASE("fake server that stops reading: a no-response write under way completes only after it ended "
          "with the connection's error - and the request behind it with the same error") {
    const auto out = against_stalled_peer(true);
    check_failed_by_write_deadline(out);
    CHECK(out.metadata_ec == make_error_code(net::errc::request_timeout));
    CHECK(out.order == std::vector<std::string>{"produce", "metadata"});
}
