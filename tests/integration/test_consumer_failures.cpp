// kwire::consumer when things go wrong: every call ends within its timeout,
// with the error that says what happened — against the real broker, a closed
// port, and a broker refusing the password.
#include "support/consumer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/consumer.hpp"
#include "kwire/net/errors.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <doctest/doctest.h>

#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

// A local port nothing listens on (the acceptor is closed again).
std::string closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return std::to_string(a.local_endpoint().port());
}

std::string category_and_message(const std::error_code& ec) {
    return std::string(ec.category().name()) + ": " + ec.message();
}

// poll(timeout) with the error_code overload returns no records and no
// error, after its timeout (and less than a second more).
void check_empty_poll(consumer& c, std::chrono::milliseconds timeout) {
    const double wanted = std::chrono::duration<double>(timeout).count();
    const auto start = clock_type::now();
    std::error_code ec;
    const auto batch = c.poll(timeout, ec);
    const double took = seconds(clock_type::now() - start);
    CHECK(batch.empty());
    CHECK_MESSAGE(!ec, category_and_message(ec));
    CHECK(took >= wanted - 0.05);
    CHECK(took < wanted + 1.0);
}

// What a call threw (or nothing), and how long it took.
struct outcome {
    bool threw = false;
    std::error_code ec;
    std::string what;
    double elapsed = 0;
};

template <class F>
outcome attempt(F&& f) {
    outcome o;
    const auto start = clock_type::now();
    try {
        f();
    } catch (const std::system_error& e) {
        o.threw = true;
        o.ec = e.code();
        o.what = e.what();
    }
    o.elapsed = seconds(clock_type::now() - start);
    return o;
}

// Polls with the error_code overload until an error or `limit`.
outcome poll_until_error(consumer& c, std::chrono::milliseconds limit, std::size_t* records = nullptr) {
    outcome o;
    const auto start = clock_type::now();
    while (clock_type::now() - start < limit) {
        std::error_code ec;
        const auto batch = c.poll(200ms, ec);
        if (records) *records += batch.size();
        if (ec) {
            o.threw = true;
            o.ec = ec;
            break;
        }
    }
    o.elapsed = seconds(clock_type::now() - start);
    return o;
}

} // namespace

TEST_CASE("consumer failures: auto.offset.reset=none without a committed offset — poll() throws no_offset "
          "naming the partition, at once — with a committed offset it reads from there") {
    auto topic = make_topic("kwire-consf-none", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("n-", 3));
    const std::string group = unique_group("none");
    auto cfg = consumer_config({{"group.id", group}, {"auto.offset.reset", "none"}, {"enable.auto.commit", "false"}});

    {
        consumer c(cfg);
        c.assign({tp});
        std::size_t records = 0;
        const auto thrown = attempt([&] {
            for (int i = 0; i < 20; ++i) records += c.poll(500ms).size();
        });
        CHECK(records == 0);
        REQUIRE(thrown.threw);
        CHECK_MESSAGE(thrown.ec == make_error_code(client_errc::no_offset), category_and_message(thrown.ec));
        CHECK(thrown.elapsed < 5.0);
        // Kafka's NoOffsetForPartitionException names the partitions; so should the error.
        CHECK_MESSAGE(thrown.what.find(tp.to_string()) != std::string::npos,
                      "poll()'s error does not name the partition: " << thrown.what);
        // It stays an error (not a silent start somewhere), reported at once
        // by every poll() and position(), not at the end of their timeouts.
        for (int i = 0; i < 5; ++i) {
            CAPTURE(i);
            const auto again = attempt([&] { (void)c.poll(1500ms); });
            CHECK(again.threw);
            CHECK(again.ec == make_error_code(client_errc::no_offset));
            CHECK_MESSAGE(again.elapsed < 0.5, "poll(1500ms) reported no_offset after " << again.elapsed << " s");
            const auto pos = attempt([&] { (void)c.position(tp, 1500ms); });
            CHECK(pos.threw);
            CHECK_MESSAGE(pos.ec == make_error_code(client_errc::no_offset), category_and_message(pos.ec));
            CHECK_MESSAGE(pos.elapsed < 0.5, "position(1500ms) reported no_offset after " << pos.elapsed << " s");
        }

        // Once an offset is committed, the policy is not needed.
        const std::map<topic_partition, offset_and_metadata> offsets{{tp, {1, std::nullopt, ""}}};
        REQUIRE(!c.commit(offsets, 10s));
    }
    {
        consumer c(cfg);
        c.assign({tp});
        CHECK(c.position(tp, 10s) == 1);
        const auto got = poll_records(c, 2, 10s);
        CHECK(offsets_of(got) == offset_range(1, 3));
    }
    {
        // Without group.id there is nothing committed to look up: no_offset as well.
        consumer c(consumer_config({{"auto.offset.reset", "none"}}));
        c.assign({tp});
        std::error_code ec;
        const auto start = clock_type::now();
        for (int i = 0; i < 20 && !ec; ++i) (void)c.poll(500ms, ec);
        CHECK_MESSAGE(ec == make_error_code(client_errc::no_offset), category_and_message(ec));
        CHECK(seconds(clock_type::now() - start) < 5.0);
    }
}

TEST_CASE("consumer failures: a topic that does not exist in assign() — poll() returns empty within its timeout, "
          "position() ends with a timeout error within its timeout, and the topic is not created") {
    const std::string missing = unique_topic("kwire-consf-missing");
    const topic_partition tp{missing, 0};
    log_lines logs;
    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}), logs.callback());
    c.assign({tp});
    for (int i = 0; i < 3; ++i) check_empty_poll(c, 500ms);
    const auto pos = attempt([&] { (void)c.position(tp, 2s); });
    CHECK(pos.threw);
    CHECK_MESSAGE(pos.ec == make_error_code(net::errc::request_timeout), category_and_message(pos.ec));
    CHECK(pos.elapsed >= 1.9);
    CHECK(pos.elapsed < 3.5);
    MESSAGE("position() of a missing topic: " << pos.what << " after " << pos.elapsed << " s");
    MESSAGE("consumer log:\n" << logs.all());

    const auto close_start = clock_type::now();
    c.close(5s);
    CHECK(seconds(clock_type::now() - close_start) < 2.0);

    // The consumer did not create it (allow.auto.create.topics defaults to false).
    const auto [host, port] = first_address(broker_env("KWIRE_BOOTSTRAP"));
    const auto md = fetch_metadata(host, port);
    REQUIRE_MESSAGE(!md.ec, md.failure);
    for (const auto& t : md.metadata.topics) CHECK(t.name != missing);
}

TEST_CASE("consumer failures: an unreachable bootstrap — poll() returns empty within its timeout, position() and "
          "committed() fail within theirs, close() returns promptly") {
    config cfg;
    cfg.set("bootstrap.servers", "127.0.0.1:" + closed_port());
    cfg.set("socket.connection.setup.timeout.ms", "1000");
    cfg.set("request.timeout.ms", "1000");
    cfg.set("reconnect.backoff.ms", "50");
    cfg.set("reconnect.backoff.max.ms", "200");
    cfg.set("group.id", unique_group("unreachable"));
    cfg.set("session.timeout.ms", "6000");
    cfg.set("heartbeat.interval.ms", "1000");

    SUBCASE("assign()") {
        const topic_partition tp{"kwire-consf-nowhere", 0};
        consumer c(cfg);
        c.assign({tp});
        for (int i = 0; i < 2; ++i) check_empty_poll(c, 1s);
        const auto pos = attempt([&] { (void)c.position(tp, 2s); });
        CHECK(pos.threw);
        CHECK(pos.ec);
        CHECK(pos.elapsed < 3.0);
        MESSAGE("position(): " << pos.what << " (" << category_and_message(pos.ec) << ") after " << pos.elapsed
                               << " s");
        const auto com = attempt([&] { (void)c.committed({tp}, 3s); });
        CHECK(com.threw);
        CHECK(com.ec);
        CHECK(com.elapsed < 4.0);
        MESSAGE("committed(): " << com.what << " (" << category_and_message(com.ec) << ") after " << com.elapsed
                                << " s");
        const auto start = clock_type::now();
        c.close();  // the default timeout is 30 s: nothing should need it
        CHECK(seconds(clock_type::now() - start) < 2.0);
    }

    SUBCASE("subscribe()") {
        const auto made = clock_type::now();
        {
            consumer c(cfg);
            c.subscribe({"kwire-consf-nowhere"});
            check_empty_poll(c, 1500ms);
            const auto close_start = clock_type::now();
            c.close();
            CHECK(seconds(clock_type::now() - close_start) < 2.0);
        }
        // The destructor after close() does not wait either.
        CHECK(seconds(clock_type::now() - made) < 5.0);
    }

    SUBCASE("destroyed without close()") {
        const auto start = clock_type::now();
        {
            consumer c(cfg);
            c.subscribe({"kwire-consf-nowhere"});
            (void)c.poll(300ms);
        }
        CHECK(seconds(clock_type::now() - start) < 3.0);
    }
}

TEST_CASE("consumer failures: a wrong SASL password is reported as the authentication error") {
    auto topic = make_topic("kwire-consf-sasl", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("s-", 3));
    const std::string wrong = "not-the-password-h8";
    log_lines logs;
    consumer c(consumer_config({{"security.protocol", "SASL_PLAINTEXT"},
                                {"sasl.mechanism", "PLAIN"},
                                {"sasl.username", broker_env("KWIRE_SASL_USER")},
                                {"sasl.password", wrong},
                                {"group.id", unique_group("sasl")},
                                {"auto.offset.reset", "earliest"},
                                {"request.timeout.ms", "3000"},
                                {"socket.connection.setup.timeout.ms", "3000"}},
                               "KWIRE_SASL_BOOTSTRAP"),
               logs.callback());
    c.assign({tp});

    // committed() talks to the coordinator: its error is the authentication failure.
    const auto com = attempt([&] { (void)c.committed({tp}, 8s); });
    CHECK(com.threw);
    CHECK_MESSAGE(com.ec == make_error_code(net::errc::sasl_authentication_failed), category_and_message(com.ec));
    CHECK(com.elapsed < 8.5);

    // position() ends within its timeout, with an error.
    const auto pos = attempt([&] { (void)c.position(tp, 3s); });
    CHECK(pos.threw);
    CHECK(pos.elapsed < 4.0);
    MESSAGE("position(): " << pos.what << " (" << category_and_message(pos.ec) << ") after " << pos.elapsed << " s");

    // poll() must not just return nothing forever: the application hears of
    // the authentication failure (Kafka's poll() throws AuthenticationException).
    std::size_t records = 0;
    const auto polled = poll_until_error(c, 8s, &records);
    CHECK(records == 0);
    CHECK_MESSAGE(polled.ec == make_error_code(net::errc::sasl_authentication_failed),
                  "poll() gave " << (polled.threw ? category_and_message(polled.ec) : std::string("no error"))
                                 << " in " << polled.elapsed << " s");

    // The log says what failed, and never shows the password.
    const std::string all = logs.all();
    MESSAGE("consumer log:\n" << all);
    CHECK(all.find("SASL") != std::string::npos);
    CHECK(all.find(wrong) == std::string::npos);
    CHECK(com.what.find(wrong) == std::string::npos);

    const auto close_start = clock_type::now();
    c.close(5s);
    CHECK(seconds(clock_type::now() - close_start) < 2.0);
}

TEST_CASE("consumer failures: calls that need a group or an assignment say so") {
    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
    CHECK_THROWS_AS(c.subscribe({"some-topic"}), std::invalid_argument);
    const topic_partition tp{"kwire-consf-nothing", 0};
    // Not assigned.
    const auto pos = attempt([&] { (void)c.position(tp, 1s); });
    CHECK(pos.threw);
    CHECK(pos.ec == make_error_code(client_errc::not_assigned));
    CHECK(pos.elapsed < 0.5);
    CHECK_THROWS_AS(c.seek(tp, 0), std::invalid_argument);
    // No group.id: nothing to commit to.
    const auto com = attempt([&] { (void)c.committed({tp}, 2s); });
    CHECK(com.threw);
    CHECK(com.ec == make_error_code(client_errc::no_group));
    CHECK(c.commit({{tp, {1, std::nullopt, ""}}}, 2s) == make_error_code(client_errc::no_group));
    std::promise<std::error_code> done;
    c.commit_async({{tp, {1, std::nullopt, ""}}}, [&](std::error_code e) { done.set_value(e); });
    auto f = done.get_future();
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == make_error_code(client_errc::no_group));
    // After close(): poll() says closed; close() again is harmless.
    c.close(2s);
    c.close(2s);
    std::error_code ec;
    (void)c.poll(100ms, ec);
    CHECK(ec == make_error_code(client_errc::consumer_closed));
    CHECK_THROWS_AS((void)c.poll(100ms), std::system_error);
}

TEST_CASE("consumer failures: assign() on a subscribed consumer is refused") {
    auto topic = make_topic("kwire-consf-mixed", 1);
    consumer c(consumer_config({{"group.id", unique_group("mixed")}}));
    c.subscribe({topic.name});
    CHECK_THROWS_AS(c.assign({topic_partition{topic.name, 0}}), std::logic_error);
    c.unsubscribe();
    c.close(5s);
}

TEST_CASE("consumer failures: an offset out of range (seek beyond the end) follows auto.offset.reset") {
    auto topic = make_topic("kwire-consf-range", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("o-", 10));

    SUBCASE("earliest: back to the beginning") {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
        c.assign({tp});
        c.seek(tp, 1000);
        const auto got = poll_records(c, 10, 10s);
        CHECK(poll_for(c, 300ms).empty());
        CHECK(offsets_of(got) == offset_range(0, 10));
        CHECK(c.position(tp, 5s) == 10);
    }

    SUBCASE("latest: to the end, then new records") {
        consumer c(consumer_config({{"auto.offset.reset", "latest"}}));
        c.assign({tp});
        c.seek(tp, 1000);
        CHECK(poll_for(c, 1s).empty());
        CHECK(c.position(tp, 5s) == 10);
        produce_records(topic.name, numbered("late-", 2));
        const auto got = poll_records(c, 2, 10s);
        CHECK(offsets_of(got) == offset_range(10, 12));
    }

    SUBCASE("none: poll() throws OFFSET_OUT_OF_RANGE") {
        consumer c(consumer_config({{"auto.offset.reset", "none"}}));
        c.assign({tp});
        c.seek(tp, 1000);
        std::size_t records = 0;
        const auto polled = poll_until_error(c, 5s, &records);
        CHECK(records == 0);
        CHECK_MESSAGE(polled.ec == make_error_code(proto::kafka_errc::offset_out_of_range),
                      (polled.threw ? category_and_message(polled.ec) : std::string("no error")));
        CHECK(polled.elapsed < 3.0);
        // A seek to a valid offset recovers.
        c.seek(tp, 4);
        const auto got = poll_records(c, 6, 10s);
        CHECK(offsets_of(got) == offset_range(4, 10));
    }
}

namespace {

// Denies `user` the operations on `topic` with an ACL (tools/broker acl-deny).
void deny_topic(const std::string& user, const std::string& topic, const std::string& operations) {
    const std::string line = std::string(KWIRE_SOURCE_DIR) + "/tools/broker acl-deny --state " +
                             shell_quote(broker_env("KWIRE_STATE_DIR")) + " " + shell_quote(user) + " " +
                             shell_quote(topic) + " " + operations;
    const auto r = run_command(line, 120);
    REQUIRE_MESSAGE(r.exit_code == 0, line << " failed (exit " << r.exit_code << "):\n" << r.output);
}

config alice_config(std::initializer_list<std::pair<std::string, std::string>> extra) {
    config c = consumer_config({{"security.protocol", "SASL_PLAINTEXT"},
                                {"sasl.mechanism", "PLAIN"},
                                {"sasl.username", broker_env("KWIRE_SASL_USER")},
                                {"sasl.password", broker_env("KWIRE_SASL_PASSWORD")},
                                {"auto.offset.reset", "earliest"}},
                               "KWIRE_SASL_BOOTSTRAP");
    for (const auto& [k, v] : extra) c.set(k, v);
    return c;
}

} // namespace

TEST_CASE("consumer failures: a topic the user may not read — poll() reports TOPIC_AUTHORIZATION_FAILED, every "
          "time, and reads nothing") {
    const std::string user = broker_env("KWIRE_SASL_USER");
    // Read denied (Describe allowed): the Fetch/ListOffsets answer says so.
    // Both denied: Metadata already does.
    const char* operations = nullptr;
    SUBCASE("Read denied") { operations = "Read"; }
    SUBCASE("Read and Describe denied") { operations = "Read Describe"; }
    REQUIRE(operations);
    auto topic = make_topic("kwire-consf-denied", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("secret-", 3));
    deny_topic(user, topic.name, operations);

    // The ACL reaches the broker's authorizer through the metadata log; a
    // reader with ACLs honoured sees it within a moment.
    consumer c(alice_config({}));
    c.assign({tp});
    std::size_t records = 0;
    const auto first = poll_until_error(c, 15s, &records);
    CHECK(records == 0);
    CHECK_MESSAGE(first.ec == make_error_code(proto::kafka_errc::topic_authorization_failed),
                  "poll() gave " << (first.threw ? category_and_message(first.ec) : std::string("no error")) << " in "
                                 << first.elapsed << " s");
    // Not once and then silence: the next polls say it again.
    const auto second = poll_until_error(c, 5s, &records);
    CHECK(records == 0);
    CHECK(second.ec == make_error_code(proto::kafka_errc::topic_authorization_failed));
    CHECK(second.elapsed < 3.0);
    c.close(5s);

    // The same user reads a topic without ACLs: the denial is per topic.
    auto open = make_topic("kwire-consf-allowed", 1);
    produce_records(open.name, numbered("open-", 3));
    consumer ok(alice_config({}));
    ok.assign({topic_partition{open.name, 0}});
    const auto got = poll_records(ok, 3, 15s);
    CHECK(values_of(got) == numbered_values("open-", 0, 3));
}

TEST_CASE("consumer failures: a topic deleted under the consumer — assign() hears UNKNOWN_TOPIC_OR_PARTITION once — "
          "a group member sees its partitions revoked") {
    SUBCASE("assign()") {
        auto topic = make_topic("kwire-consf-deleted", 1);
        const topic_partition tp{topic.name, 0};
        produce_records(topic.name, numbered("d-", 5));
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
        c.assign({tp});
        CHECK(poll_records(c, 5, 15s).size() == 5);
        delete_topic(topic.name);
        std::size_t records = 0;
        const auto gone = poll_until_error(c, 20s, &records);
        CHECK(records == 0);
        CHECK_MESSAGE(gone.ec == make_error_code(proto::kafka_errc::unknown_topic_or_partition),
                      "poll() gave " << (gone.threw ? category_and_message(gone.ec) : std::string("no error")) << " in "
                                     << gone.elapsed << " s after the topic was deleted");
        // Said once; then poll() returns (empty) within its timeout, no hang.
        const auto start = clock_type::now();
        std::error_code ec;
        const auto batch = c.poll(500ms, ec);
        CHECK(batch.empty());
        CHECK(seconds(clock_type::now() - start) < 1.5);
        c.close(5s);
    }
    SUBCASE("subscribe()") {
        auto topic = make_topic("kwire-consf-deleted-sub", 2);
        produce_records(topic.name, numbered("g-", 4));
        std::mutex m;
        std::vector<topic_partition> revoked;
        rebalance_listener listener;
        listener.on_revoked = [&](const std::vector<topic_partition>& tps) {
            std::lock_guard lock(m);
            revoked.insert(revoked.end(), tps.begin(), tps.end());
        };
        consumer c(consumer_config({{"group.id", unique_group("deleted")},
                                    {"auto.offset.reset", "earliest"},
                                    {"metadata.max.age.ms", "1000"}}));
        c.subscribe({topic.name}, listener);
        CHECK(poll_records(c, 4, 20s).size() == 4);
        REQUIRE(c.assignment().size() == 2u);
        delete_topic(topic.name);
        const auto deadline = clock_type::now() + 20s;
        while (clock_type::now() < deadline && !c.assignment().empty()) {
            std::error_code ec;
            (void)c.poll(200ms, ec);
        }
        CHECK_MESSAGE(c.assignment().empty(), "still assigned " << c.assignment().size()
                                                                << " partitions 20 s after the topic was deleted");
        std::lock_guard lock(m);
        CHECK(revoked.size() == 2u);
        c.close(5s);
    }
}
