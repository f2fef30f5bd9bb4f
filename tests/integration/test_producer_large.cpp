// kwire::producer and batches the broker refuses as too large: a batch of
// several records over the topic's max.message.bytes is split into smaller
// batches and sent again (every record lands once, in order, with and without
// idempotence); only a record too large on its own fails, with
// MESSAGE_TOO_LARGE, and the records around it are delivered.
#include "support/producer_ops.hpp"

#include "kwire/producer.hpp"
#include "kwire/proto/compression.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* topic_limit = "20000";  // the topics' max.message.bytes

// A value of `size` bytes that starts with its name. With `incompressible`,
// the rest is random letters (a compressed batch stays large), else 'x'.
std::string sized_value(const std::string& name, std::size_t size, bool incompressible, std::minstd_rand& random) {
    std::string v = name + ":";
    static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    while (v.size() < size) v += incompressible ? letters[random() % (sizeof(letters) - 1)] : 'x';
    return v;
}

std::string numbered_name(const std::string& prefix, std::size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04zu", i);
    return prefix + buf;
}

producer_record value_record(const std::string& topic, const std::string& value) {
    producer_record r;
    r.topic = topic;
    r.value = payload(std::string_view(value));
    return r;
}

struct setup {
    bool idempotence = true;
    proto::compression_codec codec = proto::compression_codec::none;
};

config large_batch_config(const setup& s) {
    config c = producer_config({{"batch.size", "100000"},
                                {"linger.ms", "50"},
                                {"enable.idempotence", s.idempotence ? "true" : "false"},
                                {"compression.type", std::string(proto::codec_name(s.codec))},
                                {"delivery.timeout.ms", "60000"}});
    // Without idempotence only one request in flight keeps the order
    // through retries (as with Java's producer).
    if (!s.idempotence) c.set("max.in.flight.requests.per.connection", "1");
    return c;
}

// What the partition holds: values in order, and, for an idempotent
// producer, batches whose sequences follow on within each epoch.
void check_stored(const stored_partition& stored, const std::vector<std::string>& expected, bool idempotence) {
    REQUIRE(stored.records.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(stored.records[i].offset == static_cast<std::int64_t>(i));
        CHECK_MESSAGE(stored.records[i].value == expected[i],
                      "record " << i << " holds " << stored.records[i].value.value_or("<null>").substr(0, 12)
                                << ", expected " << expected[i].substr(0, 12));
    }
    if (!idempotence) return;
    const stored_batch* previous = nullptr;
    for (const auto& b : stored.batches) {
        CHECK(b.producer_id >= 0);
        if (!previous || previous->producer_id != b.producer_id || previous->producer_epoch != b.producer_epoch) {
            CHECK(b.base_sequence == 0);  // a producer id or epoch starts at 0
        } else {
            CHECK_MESSAGE(b.base_sequence == previous->base_sequence + previous->record_count,
                          "batch at offset " << b.base_offset << ": sequence " << b.base_sequence << " after "
                                             << previous->base_sequence << "+" << previous->record_count);
        }
        previous = &b;
    }
}

setup choose_setup() {
    setup s;
    SUBCASE("idempotence on") {}
    SUBCASE("idempotence off") { s.idempotence = false; }
    SUBCASE("idempotence on - compressed") {
        for (auto codec : {proto::compression_codec::lz4, proto::compression_codec::zstd,
                           proto::compression_codec::gzip, proto::compression_codec::snappy}) {
            if (proto::codec_available(codec)) {
                s.codec = codec;
                break;
            }
        }
    }
    return s;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

} // namespace

TEST_CASE("producer large batches: batches over the topic's max.message.bytes are split and sent again — every "
          "record lands once and in order") {
    const setup s = choose_setup();
    auto topic = make_topic("kwire-prod-split", 1, 0, {{"max.message.bytes", topic_limit}});
    const std::size_t n = 200;
    std::minstd_rand random(7);
    std::vector<std::string> values;
    for (std::size_t i = 0; i < n; ++i) values.push_back(sized_value(numbered_name("r", i), 1024, true, random));

    log_lines lines;
    auto log = delivery_log::make(n);
    producer p(large_batch_config(s), lines.callback());
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) p.send(value_record(topic.name, values[i]), log->handler(i));
    CHECK(!p.flush(60s));
    REQUIRE_MESSAGE(log->wait_all(5s), log->completed() << " of " << n << " completed\nlog:\n" << lines.all());
    INFO("delivered in " << seconds(std::chrono::steady_clock::now() - start) << " s");

    const auto d = log->snapshot();
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(d[i].calls == 1);
        CHECK_MESSAGE(!d[i].ec, "record " << i << ": " << d[i].ec.message() << "\nlog:\n" << lines.all());
        CHECK(d[i].offset == static_cast<std::int64_t>(i));
    }
    // The batches were too large at first: they were split.
    CHECK_MESSAGE(lines.count_containing("split into") > 0, "no batch was split; log:\n" << lines.all());
    CHECK(p.pending() == 0);

    const auto stored = read_topic(topic, 1, n);
    check_stored(stored[0], values, s.idempotence);
}

TEST_CASE("producer large batches: a record too large on its own fails with MESSAGE_TOO_LARGE — the records "
          "around it are delivered") {
    const setup s = choose_setup();
    auto topic = make_topic("kwire-prod-split-one", 1, 0, {{"max.message.bytes", topic_limit}});
    std::minstd_rand random(11);
    std::vector<std::string> values;
    for (std::size_t i = 0; i < 10; ++i) values.push_back(sized_value(numbered_name("a", i), 1024, true, random));
    const std::size_t big = values.size();
    values.push_back(sized_value("big", 30 * 1024, true, random));
    for (std::size_t i = 0; i < 10; ++i) values.push_back(sized_value(numbered_name("b", i), 1024, true, random));

    log_lines lines;
    auto log = delivery_log::make(values.size() + 5);
    producer p(large_batch_config(s), lines.callback());
    // One batch (within linger.ms) holds them all, the large record amid the others.
    for (std::size_t i = 0; i < values.size(); ++i) p.send(value_record(topic.name, values[i]), log->handler(i));
    CHECK(!p.flush(60s));
    // The producer goes on: later records are delivered after the failure.
    std::vector<std::string> later;
    for (std::size_t i = 0; i < 5; ++i) {
        later.push_back(sized_value(numbered_name("c", i), 1024, true, random));
        p.send(value_record(topic.name, later.back()), log->handler(values.size() + i));
    }
    CHECK(!p.flush(60s));
    REQUIRE_MESSAGE(log->wait_all(5s), log->completed() << " completed\nlog:\n" << lines.all());

    const auto d = log->snapshot();
    for (std::size_t i = 0; i < d.size(); ++i) {
        CHECK(d[i].calls == 1);
        if (i == big) {
            CHECK_MESSAGE(d[i].ec == make_error_code(proto::kafka_errc::message_too_large),
                          "the large record: " << d[i].ec.category().name() << ":" << d[i].ec.value() << " "
                                               << d[i].ec.message());
            CHECK(d[i].offset == -1);
        } else {
            CHECK_MESSAGE(!d[i].ec, "record " << i << ": " << d[i].ec.message() << "\nlog:\n" << lines.all());
        }
    }
    CHECK(p.pending() == 0);

    std::vector<std::string> expected;
    for (std::size_t i = 0; i < values.size(); ++i)
        if (i != big) expected.push_back(values[i]);
    expected.insert(expected.end(), later.begin(), later.end());
    const auto stored = read_topic(topic, 1, expected.size());
    check_stored(stored[0], expected, s.idempotence);
    // Each delivered record's report names its stored offset.
    std::size_t k = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (i == big) continue;
        CHECK(d[i].offset == static_cast<std::int64_t>(k));
        ++k;
    }
}
