// Record batches against the real broker, both ways:
// - batches built by kwire (every codec in the build) are accepted by the
//   broker and read back exactly as sent;
// - batches written by Kafka's own console producer (every codec) are decoded
//   by kwire with the right keys, values, headers, offsets and timestamps.
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/run_command.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace kwire;
using test::no_throw;

namespace {

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string text_of(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct read_record {
    std::int64_t offset;
    std::int64_t timestamp;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct read_result {
    std::vector<read_record> records;
    std::vector<proto::compression_codec> codecs;
    std::error_code error;
};

read_result read_all(std::span<const std::byte> fetched) {
    read_result out;
    proto::record_batch_reader reader;
    reader.reset(fetched);
    while (reader.next_batch()) {
        out.codecs.push_back(reader.batch().compression());
        proto::record r;
        while (reader.next_record(r)) {
            read_record rr{r.offset, r.timestamp, {}, {}, {}};
            if (r.key) rr.key = text_of(*r.key);
            if (r.value) rr.value = text_of(*r.value);
            for (const auto& h : r.headers)
                rr.headers.emplace_back(std::string(h.key), h.value ? std::optional(text_of(*h.value)) : std::nullopt);
            out.records.push_back(std::move(rr));
        }
    }
    out.error = reader.error();
    return out;
}

// Creates a one-partition topic and returns a session with its leader.
struct topic_on_leader {
    test::topic_handle topic;
    test::session leader;
};

asio::awaitable<topic_on_leader> new_topic(asio::any_io_executor ex, const std::string& prefix) {
    topic_on_leader out;
    auto boot = co_await test::open_bootstrap(ex);
    REQUIRE_MESSAGE(boot, boot.failure);
    out.topic = co_await test::create_topic(boot, test::unique_topic(prefix), 1,
                                            std::stoi(test::broker_env("KWIRE_BROKER_COUNT")));
    REQUIRE(out.topic.error_code == 0);
    auto [host, port] = co_await test::leader_of(boot, out.topic, 0);
    boot.conn->close();
    out.leader = co_await test::open_session(ex, host, port);
    REQUIRE_MESSAGE(out.leader, out.leader.failure);
    co_return out;
}

// Fetches everything from offset 0 until `expected` records have arrived.
asio::awaitable<std::vector<std::byte>> fetch_all(test::session& s, const test::topic_handle& topic,
                                                  std::size_t expected) {
    std::vector<std::byte> all;
    std::int64_t next = 0;
    std::size_t seen = 0;
    for (int attempt = 0; attempt < 40 && seen < expected; ++attempt) {
        auto f = co_await test::fetch(s, topic, 0, next);
        REQUIRE_MESSAGE(!f.ec, s.conn->failure());
        REQUIRE_MESSAGE(f.error_code == 0, proto::kafka_error(f.error_code).message());
        if (f.records.empty()) continue;
        const auto part = read_all(f.records);
        REQUIRE_MESSAGE(!part.error, part.error.message());
        if (part.records.empty()) continue;
        all.insert(all.end(), f.records.begin(), f.records.end());
        seen += part.records.size();
        next = part.records.back().offset + 1;
    }
    co_return all;
}

const std::vector<proto::compression_codec> all_codecs = {
    proto::compression_codec::none, proto::compression_codec::gzip, proto::compression_codec::snappy,
    proto::compression_codec::lz4, proto::compression_codec::zstd};

} // namespace

TEST_CASE("a batch built by kwire is accepted by the broker and read back as sent, for every codec") {
    for (const auto codec : all_codecs) {
        if (!proto::codec_available(codec)) continue;
        CAPTURE(proto::codec_name(codec));
        const std::int64_t t0 = now_ms();
        const std::string big_value(20000, 'v');  // large enough to go by reference
        const auto big_owner = std::make_shared<const std::string>(big_value);

        const auto stored = test::run_async<read_result>([&](asio::any_io_executor ex) -> asio::awaitable<read_result> {
            auto [topic, leader] = co_await new_topic(ex, "kwire-batch-" + std::string(proto::codec_name(codec)));

            proto::record_batch_builder builder;
            proto::record_batch_builder::options opts;
            opts.compression = codec;
            REQUIRE(!builder.reset(opts));
            const std::string h1 = "trace", h2 = "empty";
            const std::string v1 = "one";
            const proto::record_header headers[] = {{h1, bytes_of(v1)}, {h2, std::nullopt}};
            REQUIRE(builder.append(t0, bytes_of("k1"), bytes_of("value-1"), headers));
            REQUIRE(builder.append(t0 + 5, std::nullopt, bytes_of("no key")));
            REQUIRE(builder.append(t0 + 9, bytes_of("k3"), std::nullopt));
            REQUIRE(builder.append(t0 + 2, bytes_of("big"), bytes_of(*big_owner), {},
                                   std::static_pointer_cast<const void>(big_owner)));
            const auto sealed = builder.seal();
            REQUIRE(!builder.error());

            auto produced = co_await test::produce(leader, topic, 0, proto::record_set(sealed.buffers, nullptr));
            REQUIRE_MESSAGE(!produced.ec, leader.conn->failure());
            if (codec == proto::compression_codec::zstd && leader.version<proto::produce_request>() < 7) {
                // zstd arrived with Produce v7: older requests must be refused, not stored.
                CHECK(produced.error_code == static_cast<std::int16_t>(proto::kafka_errc::unsupported_compression_type));
                leader.conn->close();
                co_return read_result{{}, {codec}, {}};
            }
            REQUIRE_MESSAGE(produced.error_code == 0,
                            proto::kafka_error(produced.error_code).message() << " " << produced.error_message);
            CHECK(produced.base_offset == 0);

            auto bytes = co_await fetch_all(leader, topic, 4);
            leader.conn->close();
            co_return read_all(bytes);
        });

        REQUIRE(!stored.error);
        if (stored.records.empty() && codec == proto::compression_codec::zstd) continue;  // refused above, as it must be
        REQUIRE(stored.records.size() == 4);
        REQUIRE(stored.codecs.size() == 1);
        CHECK(stored.codecs[0] == codec);  // the broker kept the producer's codec
        const auto& r = stored.records;
        CHECK(r[0].offset == 0);
        CHECK(r[3].offset == 3);
        CHECK(r[0].timestamp == t0);
        CHECK(r[1].timestamp == t0 + 5);
        CHECK(r[2].timestamp == t0 + 9);
        CHECK(r[3].timestamp == t0 + 2);
        CHECK(r[0].key == "k1");
        CHECK(r[0].value == "value-1");
        REQUIRE(r[0].headers.size() == 2);
        CHECK(r[0].headers[0] == std::pair<std::string, std::optional<std::string>>{"trace", "one"});
        CHECK(r[0].headers[1] == std::pair<std::string, std::optional<std::string>>{"empty", std::nullopt});
        CHECK_FALSE(r[1].key.has_value());
        CHECK(r[1].value == "no key");
        CHECK(r[2].key == "k3");
        CHECK_FALSE(r[2].value.has_value());
        CHECK(r[3].value == big_value);
    }
}

TEST_CASE("a batch with a wrong CRC is refused by the broker, not stored") {
    const auto outcome = test::run_async<std::pair<std::int16_t, std::int64_t>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::pair<std::int16_t, std::int64_t>> {
            auto [topic, leader] = co_await new_topic(ex, "kwire-badcrc");
            proto::record_batch_builder builder;
            REQUIRE(!builder.reset());
            REQUIRE(builder.append(now_ms(), bytes_of("k"), bytes_of("v")));
            auto bytes = builder.seal().to_vector();
            bytes.back() ^= std::byte{0x01};  // corrupt the last value byte, CRC unchanged
            auto produced = co_await test::produce(leader, topic, 0, proto::record_set(std::move(bytes)));
            REQUIRE(!produced.ec);
            auto f = co_await test::fetch(leader, topic, 0, 0);
            leader.conn->close();
            co_return std::pair{produced.error_code, f.high_watermark};
        });
    CHECK(outcome.first == static_cast<std::int16_t>(proto::kafka_errc::corrupt_message));
    CHECK(outcome.second == 0);
}

TEST_CASE("batches written by Kafka's console producer are decoded exactly, for every codec") {
    const std::string state = test::broker_env("KWIRE_STATE_DIR");
    const std::string version = test::broker_env("KWIRE_KAFKA_VERSION");
    const std::string producer_class =
        version.rfind("3.", 0) == 0 ? "kafka.tools.ConsoleProducer" : "org.apache.kafka.tools.ConsoleProducer";

    for (const auto codec : all_codecs) {
        if (!proto::codec_available(codec)) continue;
        const std::string name(proto::codec_name(codec));
        CAPTURE(name);
        // Topic first (auto-creation is off), through kwire.
        auto topic = test::run_async<test::topic_handle>([&](asio::any_io_executor ex) -> asio::awaitable<test::topic_handle> {
            auto boot = co_await test::open_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            auto t = co_await test::create_topic(boot, test::unique_topic("kwire-java-" + name), 1, 1);
            boot.conn->close();
            co_return t;
        });
        REQUIRE(topic.error_code == 0);

        // Lines: headers <TAB> key <TAB> value (the console producer's parse.headers/parse.key format).
        const std::string input = "kwire-java-input-" + name + ".txt";
        {
            std::ofstream f(input);
            for (int i = 0; i < 5; ++i) f << "h1:a" << i << ",h2:b\tkey-" << i << "\tvalue-" << i << "-" << name << "\n";
        }
        const std::int64_t before = now_ms();
        const auto r = test::run_command(
            std::string(KWIRE_SOURCE_DIR) + "/tools/broker run-class --state " + test::shell_quote(state) + " " +
                producer_class + " --bootstrap-server " + test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP")) +
                " --topic " + topic.name + " --compression-codec " + name +
                " --producer-property linger.ms=200 --property parse.key=true --property parse.headers=true < " + input,
            120);
        const std::int64_t after = now_ms();
        std::remove(input.c_str());
        REQUIRE_MESSAGE(r.exit_code == 0, r.output);

        const auto stored = test::run_async<read_result>([&](asio::any_io_executor ex) -> asio::awaitable<read_result> {
            auto boot = co_await test::open_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            auto [host, port] = co_await test::leader_of(boot, topic, 0);
            boot.conn->close();
            auto leader = co_await test::open_session(ex, host, port);
            REQUIRE_MESSAGE(leader, leader.failure);
            auto bytes = co_await fetch_all(leader, topic, 5);
            leader.conn->close();
            co_return read_all(bytes);
        });
        REQUIRE(!stored.error);
        REQUIRE(stored.records.size() == 5);
        REQUIRE_FALSE(stored.codecs.empty());
        for (auto c : stored.codecs) CHECK(c == codec);
        for (int i = 0; i < 5; ++i) {
            const auto& rec = stored.records[static_cast<std::size_t>(i)];
            CHECK(rec.offset == i);
            CHECK(rec.key == "key-" + std::to_string(i));
            CHECK(rec.value == "value-" + std::to_string(i) + "-" + name);
            CHECK(rec.timestamp >= before - 1000);
            CHECK(rec.timestamp <= after + 1000);
            REQUIRE(rec.headers.size() == 2);
            CHECK(rec.headers[0] == std::pair<std::string, std::optional<std::string>>{"h1", "a" + std::to_string(i)});
            CHECK(rec.headers[1] == std::pair<std::string, std::optional<std::string>>{"h2", "b"});
        }
    }
}
