// `kwire produce` and `kwire bench produce` against the real broker: what the
// CLI sends is fetched back with kwire's own protocol helpers (not through
// the client layer) and checked record by record.
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/run_command.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace kwire;

namespace {

const std::string kwire_cli = KWIRE_CLI_PATH;

// The CLI follows the run's API version pin (tools/test's pinned passes), like
// the protocol tests do.
std::string pin_args() {
    const char* pin = std::getenv("KWIRE_TEST_API_VERSION_PIN");
    return pin && *pin ? " -X api.version.pin=" + test::shell_quote(pin) : "";
}

std::string produce_cmd(const std::string& rest) {
    return kwire_cli + " produce -b " + test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP")) + pin_args() + " " +
           rest;
}

// A file that removes itself.
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& content) {
        path = "/tmp/kwire-cli-produce-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
        std::ofstream(path, std::ios::binary) << content;
    }
    ~temp_file() { std::remove(path.c_str()); }
};

std::string text_of(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

struct stored_record {
    std::int64_t offset;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct stored_partition {
    std::vector<stored_record> records;
    std::vector<proto::compression_codec> codecs;
    std::int64_t high_watermark = -1;
};

// Reads a partition from offset 0 on its leader, until `expected` records
// have arrived (or the attempts run out); also its high watermark.
stored_partition read_partition(const std::string& topic_name, int partition, std::size_t expected) {
    return test::run_async<stored_partition>([&](asio::any_io_executor ex) -> asio::awaitable<stored_partition> {
        stored_partition out;
        auto boot = co_await test::open_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        test::topic_handle topic;
        topic.name = topic_name;
        auto [host, port] = co_await test::leader_of(boot, topic, partition);
        boot.conn->close();
        auto leader = co_await test::open_session(ex, host, port);
        REQUIRE_MESSAGE(leader, leader.failure);
        std::int64_t next = 0;
        asio::steady_timer pause(ex);
        for (int attempt = 0; attempt < 100; ++attempt) {
            auto f = co_await test::fetch(leader, topic, partition, next);
            REQUIRE_MESSAGE(!f.ec, leader.conn->failure());
            // A partition just created can answer NOT_LEADER_OR_FOLLOWER briefly.
            if (f.error_code != 0 && proto::is_retriable(static_cast<proto::kafka_errc>(f.error_code))) {
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(test::no_throw);
                continue;
            }
            REQUIRE_MESSAGE(f.error_code == 0, proto::kafka_error(f.error_code).message());
            out.high_watermark = f.high_watermark;
            proto::record_batch_reader reader;
            reader.reset(f.records);
            while (reader.next_batch()) {
                out.codecs.push_back(reader.batch().compression());
                proto::record r;
                while (reader.next_record(r)) {
                    stored_record s{r.offset, {}, {}, {}};
                    if (r.key) s.key = text_of(*r.key);
                    if (r.value) s.value = text_of(*r.value);
                    for (const auto& h : r.headers)
                        s.headers.emplace_back(std::string(h.key),
                                               h.value ? std::optional(text_of(*h.value)) : std::nullopt);
                    next = r.offset + 1;
                    out.records.push_back(std::move(s));
                }
            }
            REQUIRE_MESSAGE(!reader.error(), reader.error().message());
            if (out.records.size() >= expected) break;
        }
        leader.conn->close();
        co_return out;
    });
}

std::string new_topic(const std::string& prefix, int partitions) {
    return test::run_async<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        auto boot = co_await test::open_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        auto topic = co_await test::create_topic(boot, test::unique_topic(prefix), partitions,
                                                 std::stoi(test::broker_env("KWIRE_BROKER_COUNT")));
        REQUIRE_MESSAGE(topic.error_code == 0, proto::kafka_error(topic.error_code).message());
        // Wait until every partition has a leader, so the CLI finds them at once.
        for (int p = 0; p < partitions; ++p) (void)co_await test::leader_of(boot, topic, p);
        boot.conn->close();
        co_return topic.name;
    });
}

using header_list = std::vector<std::pair<std::string, std::optional<std::string>>>;

} // namespace

TEST_CASE("kwire produce sends keys (-K), values and headers (-H) to the partition given with -p") {
    const std::string topic = new_topic("kwire-cli-produce", 3);
    const temp_file input("k1:v1\nk2:v:2\nno-key-line\n:empty-key\nk5:\n\nlast:no-newline");
    const auto r = test::run_command(produce_cmd("-t " + topic + " -p 2 -K : -H trace=abc -H flag -H eq=a=b " +
                                                 test::shell_quote(input.path)));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.empty());

    const auto stored = read_partition(topic, 2, 7);
    REQUIRE(stored.records.size() == 7);
    struct expected_record {
        std::optional<std::string> key;
        std::string value;
    };
    const std::vector<expected_record> expected = {
        {"k1", "v1"}, {"k2", "v:2"}, {std::nullopt, "no-key-line"}, {"", "empty-key"},
        {"k5", ""},   {std::nullopt, ""}, {"last", "no-newline"}};
    const header_list headers = {{"trace", "abc"}, {"flag", std::nullopt}, {"eq", "a=b"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        const auto& s = stored.records[i];
        CHECK(s.offset == static_cast<std::int64_t>(i));
        CHECK(s.key == expected[i].key);
        CHECK(s.value == std::optional<std::string>(expected[i].value));
        CHECK(s.headers == headers);
    }
    // Nothing went to the other partitions.
    CHECK(read_partition(topic, 0, 0).high_watermark == 0);
    CHECK(read_partition(topic, 1, 0).high_watermark == 0);
}

TEST_CASE("kwire produce --json from stdin with -D and -z: one line per record and a summary") {
    const std::string topic = new_topic("kwire-cli-produce-json", 1);
    const temp_file input("alpha;beta;gamma;");
    const auto r = test::run_command(produce_cmd("-t " + topic + " -D ';' -z gzip --json < " +
                                                 test::shell_quote(input.path)));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (int i = 0; i < 3; ++i) {
        CHECK(r.output.find("{\"record\":" + std::to_string(i + 1) + ",\"partition\":0,\"offset\":" +
                            std::to_string(i) + "}\n") != std::string::npos);
    }
    CHECK(r.output.ends_with("{\"records\":3,\"delivered\":3,\"failed\":0}\n"));

    const auto stored = read_partition(topic, 0, 3);
    REQUIRE(stored.records.size() == 3);
    CHECK(stored.records[0].value == "alpha");
    CHECK(stored.records[1].value == "beta");
    CHECK(stored.records[2].value == "gamma");
    CHECK_FALSE(stored.records[0].key.has_value());
    REQUIRE_FALSE(stored.codecs.empty());
    for (const auto c : stored.codecs) CHECK(c == proto::compression_codec::gzip);
}

TEST_CASE("kwire produce to a missing topic: every record reported, exit 1, within the delivery timeout") {
    const std::string topic = test::unique_topic("kwire-cli-no-such-topic");
    const temp_file input("one\ntwo\n");
    const auto r = test::run_command(produce_cmd("-t " + topic +
                                                 " -X delivery.timeout.ms=3000 -X allow.auto.create.topics=false " +
                                                 test::shell_quote(input.path)));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("kwire produce: record 1 (partition ") != std::string::npos);
    CHECK(r.output.find("kwire produce: record 2 (partition ") != std::string::npos);
    CHECK(r.output.find("2 of 2 record(s) to topic '" + topic + "' failed") != std::string::npos);
    CHECK(r.elapsed < std::chrono::milliseconds(15000));
}

TEST_CASE("kwire produce usage and configuration errors exit 2 and say what is wrong") {
    SUBCASE("an unknown property is named, with a suggestion") {
        const auto r = test::run_command(produce_cmd("-t t -X linger.msec=5 /dev/null"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("unknown configuration property 'linger.msec'") != std::string::npos);
        CHECK(r.output.find("did you mean 'linger.ms'") != std::string::npos);
    }
    SUBCASE("a malformed value names its key") {
        const auto r = test::run_command(produce_cmd("-t t -X acks=2 /dev/null"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("acks") != std::string::npos);
    }
    SUBCASE("no topic") {
        const auto r = test::run_command(produce_cmd("/dev/null"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("-t TOPIC") != std::string::npos);
    }
    SUBCASE("a missing input file") {
        const auto r = test::run_command(produce_cmd("-t t /nonexistent/kwire-input"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("cannot open '/nonexistent/kwire-input'") != std::string::npos);
    }
    SUBCASE("--help") {
        const auto r = test::run_command(kwire_cli + " produce --help");
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("usage: kwire produce") != std::string::npos);
    }
}

TEST_CASE("kwire bench produce --json: every record delivered, and the broker holds them") {
    const std::string topic = new_topic("kwire-cli-bench", 2);
    const std::int64_t before = read_partition(topic, 0, 0).high_watermark + read_partition(topic, 1, 0).high_watermark;
    const int count = 5000;
    const auto r = test::run_command(kwire_cli + " bench produce -b " +
                                         test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP")) + pin_args() + " -t " +
                                         topic + " --count " + std::to_string(count) +
                                         " --record-size 64 --linger-ms 2 --json",
                                     120);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("\"records\":" + std::to_string(count) + ",") != std::string::npos);
    CHECK(r.output.find("\"delivered\":" + std::to_string(count) + ",") != std::string::npos);
    CHECK(r.output.find("\"errors\":0,") != std::string::npos);
    CHECK(r.output.find("\"record_size\":64,") != std::string::npos);
    for (const char* field : {"\"records_per_s\":", "\"mb_per_s\":", "\"p50_us\":", "\"p99_us\":", "\"p999_us\":"})
        CHECK(r.output.find(field) != std::string::npos);
    const std::int64_t after = read_partition(topic, 0, 0).high_watermark + read_partition(topic, 1, 0).high_watermark;
    CHECK(after - before == count);
}

TEST_CASE("kwire bench produce --payload-file --rate: the file's lines in turn at the offered rate") {
    const std::string topic = new_topic("kwire-cli-bench-file", 1);
    const temp_file payloads("first\nsecond value\n\nlast-without-newline");
    const int count = 10;
    const auto r = test::run_command(kwire_cli + " bench produce -b " +
                                         test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP")) + pin_args() + " -t " +
                                         topic + " --count " + std::to_string(count) + " --payload-file " +
                                         payloads.path + " --rate 20 --json",
                                     120);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("\"delivered\":10,") != std::string::npos);
    // 2 rounds of (5 + 12 + 0 + 20) bytes, then "first" and "second value".
    CHECK(r.output.find("\"bytes\":91,") != std::string::npos);
    CHECK(r.output.find("\"rate\":20,") != std::string::npos);
    // 10 records at 20/s take at least 9/20 s from the first send.
    const auto at = r.output.find("\"seconds\":");
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(r.output.substr(at + 10)) >= 0.44);
    const auto stored = read_partition(topic, 0, count);
    REQUIRE(stored.records.size() == static_cast<std::size_t>(count));
    const std::vector<std::string> lines{"first", "second value", "", "last-without-newline"};
    for (int i = 0; i < count; ++i) CHECK(stored.records[i].value == lines[i % 4]);
}

TEST_CASE("kwire bench e2e --json: every record comes back and the latencies are ordered") {
    const std::string topic = new_topic("kwire-cli-bench-e2e", 2);
    const auto r = test::run_command(kwire_cli + " bench e2e -b " + test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP")) +
                                         pin_args() + " -t " + topic + " --count 300 --rate 500 --linger-ms 1 --json",
                                     120);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("\"records\":300,") != std::string::npos);
    CHECK(r.output.find("\"errors\":0,") != std::string::npos);
    auto field = [&](const std::string& name) {
        const auto at = r.output.find("\"" + name + "\":");
        REQUIRE(at != std::string::npos);
        return std::stoull(r.output.substr(at + name.size() + 3));
    };
    const auto p50 = field("p50_us"), p99 = field("p99_us"), max = field("max_us");
    CHECK(p50 > 0);
    CHECK(p50 <= p99);
    CHECK(p99 <= max);
    // Each partition holds what was sent (300 records plus the warm-up record).
    CHECK(read_partition(topic, 0, 0).high_watermark + read_partition(topic, 1, 0).high_watermark == 301);
}

TEST_CASE("kwire bench produce: bad options exit 2") {
    const std::string b = " -b " + test::shell_quote(test::broker_env("KWIRE_BOOTSTRAP"));
    CHECK(test::run_command(kwire_cli + " bench produce" + b + " -t t --count 5 --duration 1").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench produce" + b + " -t t --linger-ms soon").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench produce" + b + " --count 5").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench nothing").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench produce" + b + " -t t --payload-file /nonexistent/kwire").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench produce" + b + " -t t --rate 0").exit_code == 2);
    CHECK(test::run_command(kwire_cli + " bench e2e" + b + " -t t --record-size 4").exit_code == 2);
}
