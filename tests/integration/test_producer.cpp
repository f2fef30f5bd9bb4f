// kwire::producer against the real broker. Every test reads back what the
// broker STORED with kwire's proto layer (Fetch + record_batch_reader, see
// support/producer_ops.hpp), rather than trusting what the producer reports,
// and compares the two.
#include "support/producer_ops.hpp"

#include "kwire/partitioner.hpp"
#include "kwire/producer.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

using header_list_t = std::vector<std::pair<std::string, std::optional<std::string>>>;

// What a test sent, to compare with what was stored.
struct sent_record {
    std::optional<std::int32_t> partition;
    std::optional<std::string> key, value;
    header_list_t headers;
    std::optional<std::int64_t> timestamp;
};

payload payload_of(const std::optional<std::string>& s) {
    if (!s) return payload();
    return payload(std::string_view(*s));  // a view: copied by send()
}

producer_record record_of(const std::string& topic, const sent_record& s) {
    producer_record r;
    r.topic = topic;
    r.partition = s.partition;
    r.key = payload_of(s.key);
    r.value = payload_of(s.value);
    for (const auto& [name, value] : s.headers) r.headers.push_back(header{name, payload_of(value)});
    r.timestamp_ms = s.timestamp;
    return r;
}

producer_record simple_record(const std::string& topic, std::optional<std::int32_t> partition,
                              std::optional<std::string> key, std::string value) {
    producer_record r;
    r.topic = topic;
    r.partition = partition;
    if (key) r.key = payload(std::string(*key));
    r.value = payload(std::move(value));
    return r;
}

// Every record of the topic by its value (values are unique in each test).
std::map<std::string, stored_record> by_value(const std::vector<stored_partition>& parts) {
    std::map<std::string, stored_record> out;
    for (const auto& p : parts)
        for (const auto& r : p.records) {
            REQUIRE(r.value.has_value());
            const bool fresh = out.emplace(*r.value, r).second;
            CHECK_MESSAGE(fresh, "value stored twice: " << *r.value);
        }
    return out;
}

// Offsets of each partition are dense from 0 and values are numbered
// "<prefix><n>" in strictly increasing n: the send order per partition.
void check_send_order(const stored_partition& p, const std::string& prefix) {
    long previous = -1;
    for (std::size_t j = 0; j < p.records.size(); ++j) {
        const auto& r = p.records[j];
        CHECK(r.offset == static_cast<std::int64_t>(j));
        REQUIRE(r.value.has_value());
        REQUIRE(r.value->rfind(prefix, 0) == 0);
        const long n = std::stol(r.value->substr(prefix.size()));
        CHECK_MESSAGE(n > previous, "partition " << p.partition << " stores " << n << " after " << previous);
        previous = n;
    }
}

} // namespace

TEST_CASE("producer: keys, values, headers, timestamps, null key and null value are stored as sent, in order, "
          "at the reported offsets (explicit partitions)") {
    const int partitions = 3;
    auto topic = make_topic("kwire-prod-basic", partitions);
    const std::int64_t t0 = wall_ms() - 3'600'000;  // an hour ago: clearly the record's, not the broker's

    std::vector<sent_record> sent;
    for (int i = 0; i < 30; ++i) {
        sent_record s;
        s.partition = i % partitions;
        if (i % 5 != 3) s.key = "key-" + std::to_string(i);
        if (i % 7 != 4) s.value = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i * 13), 'x');
        if (i % 2 == 0) s.headers = {{"trace-id", "t-" + std::to_string(i)}, {"null-header", std::nullopt}};
        if (i % 4 == 1) s.headers = {{"one", ""}};
        if (i % 3 != 2) s.timestamp = t0 + (i * 7919) % 5000;  // explicit, not monotonic
        sent.push_back(s);
    }

    auto log = delivery_log::make(sent.size());
    const std::int64_t before = wall_ms();
    {
        producer p(producer_config({{"linger.ms", "20"}}));
        for (std::size_t i = 0; i < sent.size(); ++i) p.send(record_of(topic.name, sent[i]), log->handler(i));
        CHECK(!p.flush(15s));
        CHECK(p.pending() == 0);
    }
    const std::int64_t after = wall_ms();
    REQUIRE(log->wait_all(1s));

    const auto reports = log->snapshot();
    for (std::size_t i = 0; i < sent.size(); ++i) {
        CAPTURE(i);
        CHECK(reports[i].calls == 1);
        CHECK_MESSAGE(!reports[i].ec, reports[i].ec.message());
        CHECK(reports[i].topic == topic.name);
        CHECK(reports[i].partition == *sent[i].partition);
        CHECK(reports[i].offset >= 0);
        if (sent[i].timestamp) CHECK(reports[i].timestamp == *sent[i].timestamp);
    }

    const auto stored = read_topic(topic, partitions, sent.size());
    REQUIRE(total_records(stored) == sent.size());
    for (int p = 0; p < partitions; ++p) {
        const auto& part = stored[static_cast<std::size_t>(p)];
        REQUIRE(part.records.size() == 10);
        for (const auto& b : part.batches) {
            CHECK(b.codec == proto::compression_codec::none);
            CHECK(b.timestamp_kind == proto::timestamp_type::create_time);
        }
        for (std::size_t j = 0; j < part.records.size(); ++j) {
            const std::size_t i = static_cast<std::size_t>(p) + 3 * j;  // send order within the partition
            const auto& r = part.records[j];
            CAPTURE(i);
            CHECK(r.offset == static_cast<std::int64_t>(j));
            CHECK(r.offset == reports[i].offset);
            CHECK(r.key == sent[i].key);
            CHECK(r.value == sent[i].value);
            CHECK(r.headers == sent[i].headers);
            if (sent[i].timestamp) {
                CHECK(r.timestamp == *sent[i].timestamp);
            } else {
                CHECK(r.timestamp >= before - 5);
                CHECK(r.timestamp <= after + 5);
            }
            CHECK(r.timestamp == reports[i].timestamp);
        }
    }
}

TEST_CASE("producer: the default partitioner puts each key on murmur2_partition(key, n)") {
    const int partitions = 7;
    auto topic = make_topic("kwire-prod-murmur", partitions);
    std::vector<std::string> keys = {"", "a", "user-42", std::string("\0\x01\xff bin", 7)};
    for (int i = 0; i < 150; ++i) keys.push_back("key-" + std::to_string(i * 7919));

    auto log = delivery_log::make(keys.size());
    {
        producer p(producer_config());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            producer_record r;
            r.topic = topic.name;
            r.key = payload(std::string_view(keys[i]));
            r.value = payload(std::string("m") + std::to_string(i));
            p.send(std::move(r), log->handler(i));
        }
        CHECK(!p.flush(15s));
    }
    REQUIRE(log->wait_all(1s));
    const auto reports = log->snapshot();
    const auto stored = by_value(read_topic(topic, partitions, keys.size()));
    REQUIRE(stored.size() == keys.size());
    std::set<std::int32_t> used;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(keys[i]);
        const auto expected = murmur2_partition(as_bytes_of(keys[i]), partitions);
        REQUIRE(expected >= 0);
        REQUIRE(expected < partitions);
        used.insert(expected);
        CHECK_MESSAGE(!reports[i].ec, reports[i].ec.message());
        CHECK(reports[i].partition == expected);
        const auto& r = stored.at("m" + std::to_string(i));
        CHECK(r.partition == expected);
        CHECK(r.key == keys[i]);
        CHECK(r.offset == reports[i].offset);
    }
    CHECK(used.size() == static_cast<std::size_t>(partitions));  // the keys do cover every partition
}

TEST_CASE("producer: records without a key stick to a partition per batch, spread over partitions, and all land") {
    const int partitions = 6;
    const std::size_t n = 900;
    auto topic = make_topic("kwire-prod-sticky", partitions);
    auto log = delivery_log::make(n);
    {
        producer p(producer_config({{"batch.size", "1024"}, {"linger.ms", "5"}}));
        for (std::size_t i = 0; i < n; ++i) {
            producer_record r;
            r.topic = topic.name;
            std::string v = "n" + std::to_string(i);
            v.resize(100, '.');
            r.value = payload(std::move(v));
            p.send(std::move(r), log->handler(i));
            if (i % 100 == 99) std::this_thread::sleep_for(10ms);  // several linger periods
        }
        CHECK(!p.flush(15s));
    }
    REQUIRE(log->wait_all(1s));
    const auto reports = log->snapshot();
    std::set<std::int32_t> used;
    std::size_t switches = 0;
    for (std::size_t i = 0; i < n; ++i) {
        REQUIRE_MESSAGE(!reports[i].ec, reports[i].ec.message());
        REQUIRE(reports[i].partition >= 0);
        REQUIRE(reports[i].partition < partitions);
        used.insert(reports[i].partition);
        if (i > 0 && reports[i].partition != reports[i - 1].partition) ++switches;
    }
    // ~90 KB in batches of 1 KiB: sticky partitioning moves on after each
    // batch, so records go to several partitions, in runs (a random choice
    // per record would switch ~750 times).
    CHECK(used.size() >= 3);
    CHECK(switches <= n / 3);
    MESSAGE("null-key records used " << used.size() << " partitions with " << switches << " switches");

    const auto stored = read_topic(topic, partitions, n);
    CHECK(total_records(stored) == n);
    const auto values = by_value(stored);
    for (std::size_t i = 0; i < n; ++i) {
        std::string v = "n" + std::to_string(i);
        v.resize(100, '.');
        const auto it = values.find(v);
        REQUIRE_MESSAGE(it != values.end(), "record " << i << " not stored");
        CHECK(it->second.partition == reports[i].partition);
        CHECK(it->second.offset == reports[i].offset);
        CHECK_FALSE(it->second.key.has_value());
    }
    for (const auto& part : stored) check_send_order(part, "n");  // "n<i>....": std::stol stops at the dots
}

TEST_CASE("producer: acks=0, acks=1 and acks=all deliver every record — acks=0 reports offset -1") {
    for (const std::string acks : {"0", "1", "all"}) {
        CAPTURE(acks);
        auto topic = make_topic("kwire-prod-acks" + (acks == "all" ? std::string("all") : acks), 1);
        const std::size_t n = 20;
        auto log = delivery_log::make(n);
        {
            producer p(producer_config(
                {{"acks", acks}, {"enable.idempotence", acks == "all" ? "true" : "false"}, {"linger.ms", "10"}}));
            for (std::size_t i = 0; i < n; ++i)
                p.send(simple_record(topic.name, std::nullopt, "k", "a" + std::to_string(i)), log->handler(i));
            CHECK(!p.flush(15s));
        }
        REQUIRE(log->wait_all(1s));
        const auto reports = log->snapshot();
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(i);
            CHECK(reports[i].calls == 1);
            CHECK_MESSAGE(!reports[i].ec, reports[i].ec.message());
            CHECK(reports[i].partition == 0);
            if (acks == "0") CHECK(reports[i].offset == -1);
            else CHECK(reports[i].offset == static_cast<std::int64_t>(i));
        }
        const auto stored = read_topic(topic, 1, n);
        REQUIRE(stored[0].records.size() == n);
        check_send_order(stored[0], "a");
        REQUIRE_FALSE(stored[0].batches.empty());
        for (const auto& b : stored[0].batches) {
            if (acks == "all") {
                CHECK(b.producer_id >= 0);  // enable.idempotence=true: batches carry the producer id
                CHECK(b.base_sequence >= 0);
            } else {
                CHECK(b.producer_id == -1);
            }
        }
        if (acks == "all") CHECK(stored[0].batches.front().base_sequence == 0);
    }
}

TEST_CASE("producer: every codec in the build compresses the batches the broker stores") {
    // zstd needs Produce v7: whether the run's pin (if any) leaves one.
    const bool zstd_sendable = produce_version(7).has_value();
    for (const auto codec : {proto::compression_codec::none, proto::compression_codec::gzip,
                             proto::compression_codec::snappy, proto::compression_codec::lz4,
                             proto::compression_codec::zstd}) {
        if (!proto::codec_available(codec)) {
            MESSAGE("codec " << proto::codec_name(codec) << " is not in this build");
            continue;
        }
        const std::string name(proto::codec_name(codec));
        CAPTURE(name);
        auto topic = make_topic("kwire-prod-codec-" + name, 1);
        const std::size_t n = 200;
        auto log = delivery_log::make(n);
        {
            producer p(producer_config({{"compression.type", name}, {"linger.ms", "50"}}));
            for (std::size_t i = 0; i < n; ++i) {
                producer_record r;
                r.topic = topic.name;
                r.key = payload(std::string("key-") + std::to_string(i % 10));
                r.value = payload("c" + std::to_string(i) + ":" + std::string(300, static_cast<char>('a' + i % 26)));
                r.headers.push_back(header{"codec", payload(std::string(name))});
                p.send(std::move(r), log->handler(i));
            }
            CHECK(!p.flush(15s));
        }
        REQUIRE(log->wait_all(1s));
        const auto reports = log->snapshot();
        if (codec == proto::compression_codec::zstd && !zstd_sendable) {
            // zstd came with Produce v7, and the pin caps Produce below it:
            // every record fails (nothing is sent at a version that cannot
            // carry zstd, nor above the cap), and nothing is stored.
            for (const auto& d : reports)
                CHECK_MESSAGE((d.ec == make_error_code(proto::kafka_errc::unsupported_compression_type) ||
                               d.ec == make_error_code(net::errc::no_common_version)),
                              d.ec.category().name() << ": " << d.ec.message());
            CHECK(read_topic(topic, 1, 0, 500ms)[0].records.empty());
            continue;
        }
        for (std::size_t i = 0; i < n; ++i) {
            CHECK_MESSAGE(!reports[i].ec, reports[i].ec.message());
            CHECK(reports[i].offset == static_cast<std::int64_t>(i));
        }
        const auto stored = read_topic(topic, 1, n);
        const auto& part = stored[0];
        REQUIRE(part.records.size() == n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& r = part.records[i];
            CHECK(r.key == "key-" + std::to_string(i % 10));
            CHECK(r.value == "c" + std::to_string(i) + ":" + std::string(300, static_cast<char>('a' + i % 26)));
            CHECK(r.headers == header_list_t{{"codec", name}});
        }
        REQUIRE_FALSE(part.batches.empty());
        std::int32_t largest = 0;
        for (const auto& b : part.batches) {
            CHECK(b.codec == codec);  // the batch attributes the broker kept
            largest = std::max(largest, b.record_count);
        }
        CHECK(largest > 1);  // records were batched
    }
}

TEST_CASE("producer: completions by callback, std::future, coroutine and send_sync") {
    auto topic = make_topic("kwire-prod-tokens", 1);
    std::vector<std::string> expected;
    std::vector<std::int64_t> offsets;
    producer p(producer_config({{"linger.ms", "1"}}));

    {
        // Callback: runs once, on the producer's I/O thread; a blocking call
        // there would deadlock, so it is refused with would_block.
        auto log = delivery_log::make(1);
        std::promise<std::error_code> flush_inside;
        auto handler = log->handler(0);
        p.send(simple_record(topic.name, std::nullopt, std::nullopt, "via-callback"),
               [&, handler](std::error_code ec, record_metadata md) mutable {
                   handler(ec, md);
                   flush_inside.set_value(p.flush(1s));
               });
        REQUIRE(log->wait_all(15s));
        const auto d = log->snapshot()[0];
        CHECK_MESSAGE(!d.ec, d.ec.message());
        CHECK(d.thread != std::this_thread::get_id());
        auto fi = flush_inside.get_future();
        REQUIRE(fi.wait_for(5s) == std::future_status::ready);
        CHECK(fi.get() == make_error_code(client_errc::would_block));
        expected.push_back("via-callback");
        offsets.push_back(d.offset);
    }

    {
        // std::future.
        std::vector<std::future<record_metadata>> futures;
        for (int i = 0; i < 5; ++i) {
            const std::string v = "via-future-" + std::to_string(i);
            futures.push_back(p.send(simple_record(topic.name, std::nullopt, std::nullopt, v), asio::use_future));
            expected.push_back(v);
        }
        for (auto& f : futures) {
            REQUIRE(f.wait_for(15s) == std::future_status::ready);
            const record_metadata md = f.get();
            CHECK(md.partition == 0);
            CHECK(md.topic == topic.name);
            offsets.push_back(md.offset);
        }
    }

    {
        // C++20 coroutine on an io_context the test runs: it resumes there.
        asio::io_context io;
        std::vector<std::thread::id> resumed_on;
        std::exception_ptr failure;
        bool finished = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                for (int i = 0; i < 5; ++i) {
                    const std::string v = "via-coroutine-" + std::to_string(i);
                    producer_record r = simple_record(topic.name, std::nullopt, std::nullopt, v);
                    const record_metadata md = co_await p.send(std::move(r), asio::use_awaitable);
                    resumed_on.push_back(std::this_thread::get_id());
                    expected.push_back(v);
                    offsets.push_back(md.offset);
                }
                finished = true;
            },
            [&](std::exception_ptr e) { failure = e; });
        io.run_for(20s);
        if (failure) std::rethrow_exception(failure);
        REQUIRE(finished);
        for (const auto& id : resumed_on) CHECK(id == std::this_thread::get_id());
    }

    {
        // send_sync.
        const std::string v = "via-send-sync";
        const auto r = simple_record(topic.name, std::nullopt, std::nullopt, v);
        const record_metadata md = p.send_sync(r, 15s);
        CHECK(md.partition == 0);
        expected.push_back(v);
        offsets.push_back(md.offset);
    }

    for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == static_cast<std::int64_t>(i));
    const auto stored = read_topic(topic, 1, expected.size());
    REQUIRE(stored[0].records.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CHECK(stored[0].records[i].value == expected[i]);
        CHECK(stored[0].records[i].offset == offsets[i]);
    }
}

TEST_CASE("producer: flush(timeout) sends lingering records at once and returns with nothing pending") {
    auto topic = make_topic("kwire-prod-flush", 2);
    const std::size_t n = 100;
    auto log = delivery_log::make(n);
    producer p(producer_config({{"linger.ms", "20000"}, {"batch.size", "1000000"}}));
    for (std::size_t i = 0; i < n; ++i)
        p.send(simple_record(topic.name, static_cast<std::int32_t>(i % 2), std::nullopt, "f" + std::to_string(i)),
               log->handler(i));
    CHECK(p.pending() == n);  // lingering (20 s)
    std::this_thread::sleep_for(200ms);
    CHECK(log->completed() == 0);
    const auto start = std::chrono::steady_clock::now();
    const auto ec = p.flush(10s);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK_MESSAGE(!ec, ec.message());
    CHECK(took < 5s);  // not the 20 s linger
    CHECK(p.pending() == 0);
    CHECK(log->completed() == n);  // every completion has run when flush returns
    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK(!d.ec);
    }
    // Nothing left: a second flush returns at once.
    const auto again = std::chrono::steady_clock::now();
    CHECK(!p.flush(10s));
    CHECK(std::chrono::steady_clock::now() - again < 1s);
    const auto stored = read_topic(topic, 2, n);
    CHECK(total_records(stored) == n);
    check_send_order(stored[0], "f");
    check_send_order(stored[1], "f");
}

TEST_CASE("producer: with linger, one Produce request carries the batches of many partitions") {
    const int partitions = 12;
    const int per_partition = 5;
    auto topic = make_topic("kwire-prod-many", partitions);
    log_lines lines;
    auto cfg = producer_config({{"linger.ms", "1000"}, {"debug", "protocol"}});
    producer p(cfg, lines.callback());
    // Warm up: metadata known and the connection open.
    p.send_sync(simple_record(topic.name, 0, std::nullopt, "warm-up"), 15s);
    REQUIRE_MESSAGE(lines.count_containing("Produce v") > 0,
                    "the producer's connections do not log requests with debug=protocol:\n"
                        << lines.all());
    lines.clear();

    const std::size_t n = partitions * per_partition;
    auto log = delivery_log::make(n);
    for (std::size_t i = 0; i < n; ++i)
        p.send(simple_record(topic.name, static_cast<std::int32_t>(i % partitions), std::nullopt,
                             "p" + std::to_string(i)),
               log->handler(i));
    REQUIRE(log->wait_all(15s));
    for (const auto& d : log->snapshot()) CHECK_MESSAGE(!d.ec, d.ec.message());
    std::size_t produce_requests = 0;
    for (const auto& l : lines.lines())
        if (l.find(": Produce v") != std::string::npos && l.find(" request") != std::string::npos) ++produce_requests;
    // 12 partitions on one broker, all records sent within one linger: one
    // request (two if a linger timer split them) — not one per partition.
    CHECK(produce_requests >= 1);
    CHECK_MESSAGE(produce_requests <= 2, lines.all());

    const auto stored = read_topic(topic, partitions, n + 1);
    CHECK(total_records(stored) == n + 1);
    for (int q = 0; q < partitions; ++q) {
        const auto& part = stored[static_cast<std::size_t>(q)];
        const std::size_t skip = q == 0 ? 1 : 0;  // the warm-up record
        REQUIRE(part.records.size() == per_partition + skip);
        for (int j = 0; j < per_partition; ++j)
            CHECK(part.records[skip + static_cast<std::size_t>(j)].value ==
                  "p" + std::to_string(q + j * partitions));
    }
}

TEST_CASE("producer: payload ownership — copied views, moved-in strings, borrowed bytes released after delivery") {
    auto topic = make_topic("kwire-prod-payload", 1);
    auto log = delivery_log::make(3);
    std::string copied_buffer = "copied-value-" + std::string(1000, 'c');
    const std::string copied_original = copied_buffer;
    std::string moved = "moved-value-" + std::string(5000, 'm');
    const std::string moved_original = moved;

    std::vector<std::byte> pattern(300'000);
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::byte>((i * 31 + 7) & 0xff);
    auto owner = std::make_shared<const std::vector<std::byte>>(pattern);
    auto header_owner = std::make_shared<const std::string>("borrowed-header-value");
    std::weak_ptr<const std::vector<std::byte>> owner_watch = owner;
    std::weak_ptr<const std::string> header_watch = header_owner;

    // One batch lingering 300 ms (batch.size holds all three records).
    producer p(producer_config({{"linger.ms", "300"}, {"batch.size", "1000000"}}));
    {
        producer_record r;
        r.topic = topic.name;
        r.key = payload(std::string_view("copied"));
        r.value = payload(std::string_view(copied_buffer));
        CHECK(r.value.kind() == payload::ownership::copied);
        p.send(std::move(r), log->handler(0));
        // The view only had to last for the call.
        std::fill(copied_buffer.begin(), copied_buffer.end(), 'X');
        copied_buffer.assign("overwritten");
    }
    {
        producer_record r;
        r.topic = topic.name;
        r.key = payload(std::string_view("moved"));
        r.value = payload(std::move(moved));
        CHECK(r.value.kind() == payload::ownership::moved_in);
        p.send(std::move(r), log->handler(1));
    }
    {
        producer_record r;
        r.topic = topic.name;
        r.key = payload(std::string_view("borrowed"));
        r.value = payload::borrow(std::span<const std::byte>(*owner), owner);
        r.headers.push_back(header{"h", payload::borrow(as_bytes_of(*header_owner), header_owner)});
        CHECK(r.value.kind() == payload::ownership::borrowed);
        p.send(std::move(r), log->handler(2));
    }
    owner.reset();
    header_owner.reset();
    // Lingering: the producer holds the owners until delivery.
    CHECK(log->completed() == 0);
    CHECK_FALSE(owner_watch.expired());
    CHECK_FALSE(header_watch.expired());

    REQUIRE(log->wait_all(15s));
    for (const auto& d : log->snapshot()) CHECK_MESSAGE(!d.ec, d.ec.message());
    // Released after delivery (the producer is still alive).
    for (int i = 0; i < 200 && !(owner_watch.expired() && header_watch.expired()); ++i)
        std::this_thread::sleep_for(10ms);
    CHECK(owner_watch.expired());
    CHECK(header_watch.expired());

    const auto stored = read_topic(topic, 1, 3);
    REQUIRE(stored[0].records.size() == 3);
    CHECK(stored[0].records[0].value == copied_original);
    CHECK(stored[0].records[1].value == moved_original);
    CHECK(stored[0].records[2].value == as_text(pattern));
    CHECK(stored[0].records[2].headers == header_list_t{{"h", "borrowed-header-value"}});
}

TEST_CASE("producer: on an application io_context, run by the test thread") {
    auto topic = make_topic("kwire-prod-appctx", 3);
    const std::size_t n = 30;
    auto log = delivery_log::make(n);
    asio::io_context io;
    auto p = std::make_unique<producer>(io.get_executor(), producer_config({{"linger.ms", "5"}}));
    for (std::size_t i = 0; i < n; ++i)
        p->send(simple_record(topic.name, static_cast<std::int32_t>(i % 3), std::nullopt, "io" + std::to_string(i)),
                log->handler(i));
    // Nothing happens until the application runs its io_context.
    std::this_thread::sleep_for(100ms);
    CHECK(log->completed() == 0);

    std::error_code flush_on_io_thread;
    bool flush_ran = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (log->completed() < n && std::chrono::steady_clock::now() < deadline) io.run_for(20ms);
    REQUIRE(log->completed() == n);
    // A blocking call from the thread running the producer's executor is refused.
    asio::post(io, [&] {
        flush_on_io_thread = p->flush(1s);
        flush_ran = true;
    });
    while (!flush_ran && std::chrono::steady_clock::now() < deadline) io.run_for(20ms);
    REQUIRE(flush_ran);
    CHECK(flush_on_io_thread == make_error_code(client_errc::would_block));

    for (const auto& d : log->snapshot()) {
        CHECK(d.calls == 1);
        CHECK_MESSAGE(!d.ec, d.ec.message());
        CHECK(d.thread == std::this_thread::get_id());  // completions ran where the application runs io
    }
    // Close while the application's context runs (on another thread now).
    auto guard = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    CHECK(!p->close(5s));
    p.reset();
    guard.reset();
    io.stop();
    runner.join();

    const auto stored = read_topic(topic, 3, n);
    CHECK(total_records(stored) == n);
    for (const auto& part : stored) check_send_order(part, "io");
}

TEST_CASE("producer: configured through kwire::config string properties (and their aliases)") {
    // Property names map onto the options.
    {
        config c;
        c.set("bootstrap.servers", "h1:1,h2:2");
        c.set("acks", "all");
        c.set("linger_ms", "7");                    // kafka-python spelling
        c.set("compression.codec", "gzip");         // librdkafka spelling
        c.set("batch.size", "2048");
        c.set("max.request.size", "500000");
        c.set("delivery.timeout.ms", "45000");
        c.set("allow.auto.create.topics", "false");
        const auto o = producer_options::from_config(c);
        CHECK(o.bootstrap.size() == 2);
        CHECK(o.acks == -1);
        CHECK(o.linger == 7ms);
        CHECK(o.compression == proto::compression_codec::gzip);
        CHECK(o.batch_size == 2048);
        CHECK(o.max_request_size == 500000);
        CHECK(o.delivery_timeout == 45000ms);
        CHECK_FALSE(o.allow_auto_create_topics);
        CHECK(o.idempotence);
    }
    {
        // Explicit idempotence contradicts acks=1.
        config c;
        c.set("bootstrap.servers", "h1:1");
        c.set("enable.idempotence", "true");
        c.set("acks", "1");
        CHECK_THROWS_AS(producer_options::from_config(c), config_error);
    }

    auto topic = make_topic("kwire-prod-config", 1);
    config c;
    c.set("bootstrap_servers", broker_env("KWIRE_BOOTSTRAP"));
    if (const char* pin = std::getenv("KWIRE_TEST_API_VERSION_PIN"); pin && *pin) c.set("api.version.pin", pin);
    c.set("client.id", "kwire-producer-config-test");
    c.set("compression.type", "gzip");
    c.set("linger.ms", "30");
    c.set("acks", "all");
    producer p(c);
    auto log = delivery_log::make(10);
    for (std::size_t i = 0; i < 10; ++i)
        p.send(simple_record(topic.name, std::nullopt, std::nullopt, "cfg" + std::to_string(i)), log->handler(i));
    CHECK(!p.flush(15s));
    for (const auto& d : log->snapshot()) CHECK_MESSAGE(!d.ec, d.ec.message());
    const auto stored = read_topic(topic, 1, 10);
    REQUIRE(stored[0].records.size() == 10);
    check_send_order(stored[0], "cfg");
    for (const auto& b : stored[0].batches) CHECK(b.codec == proto::compression_codec::gzip);
}
