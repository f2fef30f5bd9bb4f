// kwire::producer when things go wrong: every record's completion runs exactly
// once, with the error that says what happened, within the configured time —
// against the real broker, a closed port, and a broker refusing the password.
#include "support/producer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/net/errors.hpp"
#include "kwire/producer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

// A local port nothing listens on (the acceptor is closed again).
std::string closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return std::to_string(a.local_endpoint().port());
}

config unreachable_config(std::initializer_list<std::pair<std::string, std::string>> props) {
    config c;
    c.set("bootstrap.servers", "127.0.0.1:" + closed_port());
    c.set("socket.connection.setup.timeout.ms", "1000");
    c.set("request.timeout.ms", "1000");
    c.set("reconnect.backoff.ms", "50");
    c.set("reconnect.backoff.max.ms", "200");
    for (const auto& [k, v] : props) c.set(k, v);
    return c;
}

producer_record value_record(const std::string& topic, std::string value,
                             std::optional<std::int32_t> partition = std::nullopt) {
    producer_record r;
    r.topic = topic;
    r.partition = partition;
    r.value = payload(std::move(value));
    return r;
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

} // namespace

TEST_CASE("producer failures: an unknown topic (auto-creation off) fails every record with "
          "UNKNOWN_TOPIC_OR_PARTITION within delivery.timeout.ms") {
    const std::string topic = unique_topic("kwire-prod-no-such-topic");
    const std::size_t n = 10;
    auto log = delivery_log::make(n);
    log_lines lines;
    producer p(producer_config({{"allow.auto.create.topics", "false"},
                                {"delivery.timeout.ms", "3000"},
                                {"request.timeout.ms", "2000"},
                                {"linger.ms", "5"}}),
               lines.callback());
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) p.send(value_record(topic, "u" + std::to_string(i)), log->handler(i));
    REQUIRE_MESSAGE(log->wait_all(6s), log->completed() << " of " << n << " completed");
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK(seconds(d.at - start) <= 5.0);
        // UNKNOWN_TOPIC_OR_PARTITION is retriable (the topic may be created
        // yet): the records waited for it up to delivery.timeout.ms.
        CHECK(seconds(d.at - start) >= 2.5);
        // The error says the topic does not exist (not just "timed out").
        CHECK_MESSAGE(d.ec == make_error_code(proto::kafka_errc::unknown_topic_or_partition),
                      "got " << d.ec.category().name() << ":" << d.ec.value() << " " << d.ec.message() << "\nlog:\n"
                             << lines.all());
    }
    CHECK(p.pending() == 0);
    // The topic was not created on the way.
    const auto [host, port] = first_address(broker_env("KWIRE_BOOTSTRAP"));
    const auto md = fetch_metadata(host, port);
    REQUIRE(!md.ec);
    for (const auto& t : md.metadata.topics) CHECK(t.name != topic);
}

TEST_CASE("producer failures: a record larger than max.request.size fails at once with record_too_large") {
    auto topic = make_topic("kwire-prod-too-large", 1);
    auto log = delivery_log::make(2);
    producer p(producer_config({{"max.request.size", "10000"}, {"linger.ms", "5"}}));
    const auto start = clock_type::now();
    p.send(value_record(topic.name, std::string(20000, 'L')), log->handler(0));
    p.send(value_record(topic.name, std::string(5000, 's')), log->handler(1));  // fits: delivered
    REQUIRE(log->wait_all(15s));
    const auto d = log->snapshot();
    CHECK(d[0].ec == make_error_code(client_errc::record_too_large));
    CHECK(seconds(d[0].at - start) < 1.0);  // decided at send(), without the broker
    CHECK_MESSAGE(!d[1].ec, d[1].ec.message());

    // send_sync throws it, with a message.
    try {
        p.send_sync(value_record(topic.name, std::string(20000, 'L')), 5s);
        FAIL("send_sync of a record over max.request.size did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code() == make_error_code(client_errc::record_too_large));
        CHECK(std::string(e.what()).size() > 0);
    }

    // Also without any broker: no waiting for delivery.timeout.ms.
    {
        auto far = delivery_log::make(1);
        producer q(unreachable_config({{"max.request.size", "10000"}, {"delivery.timeout.ms", "20000"}}));
        const auto t = clock_type::now();
        q.send(value_record(topic.name, std::string(20000, 'L')), far->handler(0));
        REQUIRE(far->wait_all(3s));
        CHECK(far->snapshot()[0].ec == make_error_code(client_errc::record_too_large));
        CHECK(seconds(far->snapshot()[0].at - t) < 1.0);
    }

    const auto stored = read_topic(topic, 1, 1);
    REQUIRE(stored[0].records.size() == 1);
    CHECK(stored[0].records[0].value == std::string(5000, 's'));
}

TEST_CASE("producer failures: an unreachable broker fails every record once delivery.timeout.ms has passed") {
    const std::size_t n = 20;
    auto log = delivery_log::make(n);
    auto p = std::make_unique<producer>(unreachable_config({{"delivery.timeout.ms", "2000"}, {"linger.ms", "5"}}));
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) p->send(value_record("kwire-prod-nowhere", "x"), log->handler(i));
    REQUIRE_MESSAGE(log->wait_all(6s), log->completed() << " of " << n << " completed; the rest hang");
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK(d.ec);
        CHECK_MESSAGE((d.ec == make_error_code(client_errc::delivery_timeout) || d.ec.category() == net::net_category()),
                      d.ec.category().name() << ": " << d.ec.message());
        CHECK(seconds(d.at - start) >= 1.5);  // not given up before delivery.timeout.ms
        CHECK(seconds(d.at - start) <= 4.0);
    }
    CHECK(p->pending() == 0);
    const auto t = clock_type::now();
    p.reset();  // nothing pending: quick
    CHECK(seconds(clock_type::now() - t) < 2.0);
    for (const auto& d : log->snapshot()) CHECK(d.calls == 1);
}

TEST_CASE("producer failures: flush(timeout) with an unreachable broker returns flush_timeout, records still pending") {
    const std::size_t n = 5;
    auto log = delivery_log::make(n);
    {
        producer p(unreachable_config({{"delivery.timeout.ms", "30000"}}));
        for (std::size_t i = 0; i < n; ++i) p.send(value_record("kwire-prod-nowhere", "f"), log->handler(i));
        const auto t = clock_type::now();
        CHECK(p.flush(500ms) == make_error_code(client_errc::flush_timeout));
        const double took = seconds(clock_type::now() - t);
        CHECK(took >= 0.4);
        CHECK(took < 2.0);
        CHECK(p.pending() == n);
        CHECK(log->completed() == 0);
        p.close(0ms);  // leave promptly; the completions are checked below
    }
    REQUIRE(log->wait_all(1s));
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK(d.ec == make_error_code(client_errc::producer_closed));
    }
}

TEST_CASE("producer failures: a wrong SASL password fails the records with the authentication error") {
    auto topic = make_topic("kwire-prod-sasl", 1);
    const std::size_t n = 5;
    auto log = delivery_log::make(n);
    producer p(producer_config({{"security.protocol", "SASL_PLAINTEXT"},
                                {"sasl.mechanism", "PLAIN"},
                                {"sasl.username", broker_env("KWIRE_SASL_USER")},
                                {"sasl.password", "not-the-password"},
                                {"delivery.timeout.ms", "5000"},
                                {"request.timeout.ms", "3000"}},
                               "KWIRE_SASL_BOOTSTRAP"));
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) p.send(value_record(topic.name, "s"), log->handler(i));
    REQUIRE_MESSAGE(log->wait_all(8s), log->completed() << " of " << n << " completed");
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK_MESSAGE(d.ec == make_error_code(net::errc::sasl_authentication_failed),
                      d.ec.category().name() << ": " << d.ec.message());
        CHECK(seconds(d.at - start) <= 7.0);
    }
    // Nothing reached the topic.
    CHECK(read_topic(topic, 1, 0, 500ms)[0].records.empty());
}

TEST_CASE("producer failures: an explicit partition the topic does not have fails with unknown_partition") {
    auto topic = make_topic("kwire-prod-bad-partition", 2);
    producer p(producer_config({{"delivery.timeout.ms", "10000"}}));
    auto log = delivery_log::make(3);
    p.send(value_record(topic.name, "p2", 2), log->handler(0));
    p.send(value_record(topic.name, "p50", 50), log->handler(1));
    p.send(value_record(topic.name, "p1", 1), log->handler(2));
    REQUIRE(log->wait_all(10s));
    const auto d = log->snapshot();
    CHECK(d[0].ec == make_error_code(client_errc::unknown_partition));
    CHECK(d[1].ec == make_error_code(client_errc::unknown_partition));
    CHECK_MESSAGE(!d[2].ec, d[2].ec.message());
    CHECK(d[2].partition == 1);

    // send_sync throws it.
    try {
        p.send_sync(value_record(topic.name, "p7", 7), 10s);
        FAIL("send_sync to partition 7 of a 2-partition topic did not throw");
    } catch (const std::system_error& e) {
        CHECK(e.code() == make_error_code(client_errc::unknown_partition));
    }

    // A coroutine gets it as an exception from co_await.
    asio::io_context io;
    std::error_code caught;
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            producer_record r = value_record(topic.name, "p9", 9);
            try {
                co_await p.send(std::move(r), asio::use_awaitable);
            } catch (const std::system_error& e) {
                caught = e.code();
            }
            done = true;
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run_for(10s);
    REQUIRE(done);
    CHECK(caught == make_error_code(client_errc::unknown_partition));

    const auto stored = read_topic(topic, 2, 1);
    CHECK(stored[0].records.empty());
    REQUIRE(stored[1].records.size() == 1);
    CHECK(stored[1].records[0].value == "p1");
}

TEST_CASE("producer failures: close() with records pending to an unreachable broker returns within its timeout — "
          "every completion runs exactly once") {
    const std::size_t n = 30;
    auto log = delivery_log::make(n);
    producer p(unreachable_config({{"delivery.timeout.ms", "60000"}}));
    for (std::size_t i = 0; i < n; ++i) p.send(value_record("kwire-prod-nowhere", "c"), log->handler(i));
    CHECK(p.pending() == n);
    const auto t = clock_type::now();
    const auto ec = p.close(1000ms);
    const double took = seconds(clock_type::now() - t);
    CHECK(ec == make_error_code(client_errc::flush_timeout));
    CHECK(took >= 0.9);
    CHECK(took < 2.5);
    REQUIRE_MESSAGE(log->wait_all(1s), log->completed() << " of " << n << " completed after close()");
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK(d.ec == make_error_code(client_errc::producer_closed));
    }
    CHECK(p.pending() == 0);

    // Closed: later sends fail with producer_closed; close again is harmless.
    auto late = delivery_log::make(1);
    p.send(value_record("kwire-prod-nowhere", "late"), late->handler(0));
    REQUIRE(late->wait_all(2s));
    CHECK(late->snapshot()[0].ec == make_error_code(client_errc::producer_closed));
    const auto again = clock_type::now();
    p.close(1000ms);
    CHECK(seconds(clock_type::now() - again) < 1.0);
    std::this_thread::sleep_for(200ms);
    for (const auto& d : log->snapshot()) CHECK(d.calls == 1);
}

TEST_CASE("producer failures: destroying the producer runs every pending completion exactly once") {
    SUBCASE("unreachable broker: failed within delivery.timeout.ms") {
        const std::size_t n = 25;
        auto log = delivery_log::make(n);
        auto p = std::make_unique<producer>(unreachable_config({{"delivery.timeout.ms", "2000"}}));
        for (std::size_t i = 0; i < n; ++i) p->send(value_record("kwire-prod-nowhere", "d"), log->handler(i));
        const auto t = clock_type::now();
        p.reset();
        CHECK(seconds(clock_type::now() - t) < 4.0);
        REQUIRE_MESSAGE(log->wait_all(1s), log->completed() << " of " << n << " completed after the destructor");
        std::this_thread::sleep_for(200ms);
        for (const auto& d : log->snapshot()) {
            CHECK(d.calls == 1);
            CHECK_MESSAGE((d.ec == make_error_code(client_errc::producer_closed) ||
                           d.ec == make_error_code(client_errc::delivery_timeout)),
                          d.ec.message());
        }
    }
    SUBCASE("reachable broker, records lingering: delivered before the destructor returns") {
        auto topic = make_topic("kwire-prod-destroy", 1);
        const std::size_t n = 25;
        auto log = delivery_log::make(n);
        auto p = std::make_unique<producer>(producer_config({{"linger.ms", "30000"}, {"batch.size", "1000000"}}));
        for (std::size_t i = 0; i < n; ++i)
            p->send(value_record(topic.name, "d" + std::to_string(i)), log->handler(i));
        const auto t = clock_type::now();
        p.reset();
        CHECK(seconds(clock_type::now() - t) < 10.0);  // flushed, not the 30 s linger
        REQUIRE(log->wait_all(1s));
        for (const auto& d : log->snapshot()) {
            CHECK(d.calls == 1);
            CHECK_MESSAGE(!d.ec, d.ec.message());
        }
        const auto stored = read_topic(topic, 1, n);
        CHECK(stored[0].records.size() == n);
    }
}

TEST_CASE("producer failures: a full buffer.memory makes send() wait at most max.block.ms, then buffer_full") {
    const std::size_t n = 12;
    auto log = delivery_log::make(n);
    producer p(unreachable_config({{"buffer.memory", "40000"},
                                   {"max.block.ms", "300"},
                                   {"delivery.timeout.ms", "30000"},
                                   {"max.request.size", "30000"}}));
    double longest = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto t = clock_type::now();
        p.send(value_record("kwire-prod-nowhere", std::string(10000, 'b')), log->handler(i));
        longest = std::max(longest, seconds(clock_type::now() - t));
    }
    CHECK(longest < 1.5);  // max.block.ms (0.3 s) plus scheduling, never the delivery timeout
    std::this_thread::sleep_for(200ms);
    const auto d = log->snapshot();
    std::size_t full = 0, waiting = 0;
    for (const auto& e : d) {
        if (e.calls == 1 && e.ec == make_error_code(client_errc::buffer_full)) ++full;
        if (e.calls == 0) ++waiting;
    }
    CHECK(full >= n - 4);  // at most 40000 bytes of 10000-byte records fit
    CHECK(full < n);       // and the first ones did fit
    CHECK(waiting == n - full);
    // The records that fit are still pending (the broker is unreachable).
    CHECK(p.pending() == waiting);
    CHECK(p.flush(200ms) == make_error_code(client_errc::flush_timeout));
    CHECK(p.close(0ms) == make_error_code(client_errc::flush_timeout));
    REQUIRE(log->wait_all(2s));
    for (const auto& e : log->snapshot()) CHECK(e.calls == 1);
}

TEST_CASE("producer failures: records failed at send() leave pending() and flush() counting the others") {
    SUBCASE("record_too_large among records waiting for an unreachable broker") {
        auto log = delivery_log::make(6);
        producer p(unreachable_config({{"delivery.timeout.ms", "30000"}, {"max.request.size", "10000"}}));
        for (std::size_t i = 0; i < 5; ++i) p.send(value_record("kwire-prod-nowhere", "w"), log->handler(i));
        CHECK(p.pending() == 5);
        p.send(value_record("kwire-prod-nowhere", std::string(20000, 'L')), log->handler(5));
        for (int i = 0; i < 100 && log->completed() < 1; ++i) std::this_thread::sleep_for(10ms);
        REQUIRE(log->completed() == 1);
        CHECK(log->snapshot()[5].ec == make_error_code(client_errc::record_too_large));
        CHECK(p.pending() == 5);  // the five are still waiting
        CHECK(p.flush(300ms) == make_error_code(client_errc::flush_timeout));
        CHECK(log->completed() == 1);
        p.close(0ms);
        REQUIRE(log->wait_all(2s));
        for (const auto& d : log->snapshot()) CHECK(d.calls == 1);
    }
    SUBCASE("unknown_partition among lingering records") {
        auto topic = make_topic("kwire-prod-pending", 2);
        auto log = delivery_log::make(7);
        producer p(producer_config({{"linger.ms", "20000"}, {"batch.size", "1000000"}}));
        p.send(value_record(topic.name, "warm-up", 0), log->handler(0));
        REQUIRE(!p.flush(10s));  // metadata known from here on
        for (std::size_t i = 1; i <= 5; ++i) p.send(value_record(topic.name, "l" + std::to_string(i), 1), log->handler(i));
        CHECK(p.pending() == 5);
        p.send(value_record(topic.name, "bad", 50), log->handler(6));
        for (int i = 0; i < 100 && log->completed() < 2; ++i) std::this_thread::sleep_for(10ms);
        CHECK(log->snapshot()[6].ec == make_error_code(client_errc::unknown_partition));
        CHECK(p.pending() == 5);  // still lingering (20 s)
        CHECK(log->completed() == 2);
        CHECK(!p.flush(10s));
        REQUIRE(log->wait_all(1s));
        const auto d = log->snapshot();
        for (std::size_t i = 0; i <= 5; ++i) CHECK_MESSAGE(!d[i].ec, d[i].ec.message());
        const auto stored = read_topic(topic, 2, 6);
        CHECK(stored[1].records.size() == 5);
    }
    SUBCASE("the destructor still delivers a lingering record after another failed at send()") {
        auto topic = make_topic("kwire-prod-pending-dtor", 1);
        auto log = delivery_log::make(3);
        auto p = std::make_unique<producer>(
            producer_config({{"linger.ms", "20000"}, {"batch.size", "1000000"}, {"max.request.size", "10000"}}));
        p->send(value_record(topic.name, "warm-up"), log->handler(0));
        REQUIRE(!p->flush(10s));
        p->send(value_record(topic.name, "lingering"), log->handler(1));
        p->send(value_record(topic.name, std::string(20000, 'L')), log->handler(2));  // record_too_large
        for (int i = 0; i < 100 && log->completed() < 2; ++i) std::this_thread::sleep_for(10ms);
        CHECK(p->pending() == 1);
        p.reset();  // flushes what is left before it closes
        REQUIRE(log->wait_all(1s));
        const auto d = log->snapshot();
        CHECK(d[2].ec == make_error_code(client_errc::record_too_large));
        CHECK_MESSAGE(!d[1].ec, d[1].ec.message());
        CHECK(read_topic(topic, 1, 2)[0].records.size() == 2);
    }
}

namespace {

// Creates the topic `name` (as make_topic does, but with a name known
// before), waiting until its partitions are served.
topic_handle make_named_topic(const std::string& name, int partitions) {
    const int replication = std::min(3, std::stoi(broker_env("KWIRE_BROKER_COUNT")));
    return run_async<topic_handle>([&](asio::any_io_executor ex) -> asio::awaitable<topic_handle> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        auto created = co_await create_topic(boot, name, partitions, replication);
        REQUIRE_MESSAGE(created.error_code == 0, "CreateTopics " << name << ": " << created.error_code);
        co_await leader_ids(boot, created, partitions);
        co_await wait_partitions_ready(ex, boot, created, partitions);
        boot.conn->close();
        co_return created;
    });
}

// Denies `user` the operations on `topic` (tools/broker acl-deny).
void deny_topic_to(const std::string& user, const std::string& topic, const std::string& operations) {
    const std::string line = std::string(KWIRE_SOURCE_DIR) + "/tools/broker acl-deny --state " +
                             shell_quote(broker_env("KWIRE_STATE_DIR")) + " " + shell_quote(user) + " " +
                             shell_quote(topic) + " " + operations;
    const auto r = run_command(line, 120);
    REQUIRE_MESSAGE(r.exit_code == 0, line << " failed (exit " << r.exit_code << "):\n" << r.output);
}

} // namespace

TEST_CASE("producer failures: a topic the user may not write fails every record with TOPIC_AUTHORIZATION_FAILED "
          "at once — not after delivery.timeout.ms") {
    const std::string user = broker_env("KWIRE_SASL_USER");
    // Either way the Metadata answer refuses the topic: once the topic has
    // an ACL, allow.everyone.if.no.acl.found no longer lets the user describe
    // it. (A Produce answer refusing it fails its batch at once as well.)
    const char* operations = nullptr;
    bool idempotence = true;
    SUBCASE("Write denied") { operations = "Write"; }
    SUBCASE("Write and Describe denied") { operations = "Write Describe"; }
    SUBCASE("Write and Describe denied - idempotence off") {
        operations = "Write Describe";
        idempotence = false;
    }
    REQUIRE(operations);
    // The ACL goes in before the topic exists: once the broker serves the
    // topic it has applied the ACL too (both come through the metadata log,
    // in order), so no record can slip through before it.
    const std::string name = unique_topic("kwire-prodf-denied");
    deny_topic_to(user, name, operations);
    auto topic = make_named_topic(name, 2);

    log_lines lines;
    // delivery.timeout.ms stays at its default (120 s).
    producer p(producer_config({{"security.protocol", "SASL_PLAINTEXT"},
                                {"sasl.mechanism", "PLAIN"},
                                {"sasl.username", user},
                                {"sasl.password", broker_env("KWIRE_SASL_PASSWORD")},
                                {"enable.idempotence", idempotence ? "true" : "false"},
                                {"linger.ms", "5"}},
                               "KWIRE_SASL_BOOTSTRAP"),
               lines.callback());
    const auto expect_refused = [&](std::size_t n, double within, const char* what) {
        auto log = delivery_log::make(n);
        const auto start = clock_type::now();
        for (std::size_t i = 0; i < n; ++i) p.send(value_record(name, "secret-" + std::to_string(i)), log->handler(i));
        REQUIRE_MESSAGE(log->wait_all(std::chrono::milliseconds(static_cast<int>(within * 1000) + 5000)),
                        what << ": " << log->completed() << " of " << n << " completed\nlog:\n"
                             << lines.all());
        for (const auto& d : log->snapshot()) {
            CHECK(d.calls == 1);
            CHECK_MESSAGE(d.ec == make_error_code(proto::kafka_errc::topic_authorization_failed),
                          what << ": got " << d.ec.category().name() << ":" << d.ec.value() << " " << d.ec.message()
                               << "\nlog:\n" << lines.all());
            CHECK_MESSAGE(seconds(d.at - start) < within, what << ": took " << seconds(d.at - start) << " s");
        }
    };
    expect_refused(10, 10.0, "first records");
    // Later sends to the topic fail as quickly (the next metadata answer,
    // or the next Produce answer, says it again).
    expect_refused(3, 3.0, "later records");
    CHECK(p.pending() == 0);

    // Nothing was stored.
    const auto stored = read_topic(topic, 2, 0, 500ms);
    CHECK(total_records(stored) == 0);

    // The refusal is the topic's: the same producer still delivers elsewhere.
    auto open = make_topic("kwire-prodf-allowed", 1);
    const auto md = p.send_sync(value_record(open.name, "open"), 30s);
    CHECK(md.offset == 0);
    CHECK(read_topic(open, 1, 1)[0].records.size() == 1);
}

TEST_CASE("producer failures: a topic name the broker calls invalid fails with INVALID_TOPIC_EXCEPTION at once") {
    // Fine for the client (not empty), refused by the broker's Metadata.
    const std::string topic = "kwire bad/topic:" + std::to_string(clock_type::now().time_since_epoch().count());
    const std::size_t n = 4;
    auto log = delivery_log::make(n);
    producer p(producer_config({{"linger.ms", "5"}}));  // delivery.timeout.ms: 120 s
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) p.send(value_record(topic, "v" + std::to_string(i)), log->handler(i));
    REQUIRE_MESSAGE(log->wait_all(15s), log->completed() << " of " << n << " completed");
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK_MESSAGE(d.ec == make_error_code(proto::kafka_errc::invalid_topic_exception),
                      "got " << d.ec.category().name() << ":" << d.ec.value() << " " << d.ec.message());
        CHECK(seconds(d.at - start) < 10.0);
    }
    CHECK(p.pending() == 0);
}
