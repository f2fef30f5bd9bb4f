// `kwire produce` and `kwire bench produce` against the real broker: what the
// CLI sends is fetched back with kwire's own protocol helpers (not through
// the client layer) and checked record by record.
#include "support/cli_ops.hpp"
#include "support/producer_ops.hpp"
#include "support/run_command.hpp"

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
using test::kwire_cli;

namespace {

std::string produce_cmd(const std::string& rest) { return test::cli_command("produce", rest); }

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

// What partitions 0..partitions-1 hold, read from offset 0 on their leaders
// until `expected` records (over all of them) have arrived.
std::vector<test::stored_partition> read_partitions(const test::topic_handle& topic, int partitions,
                                                    std::size_t expected = 0) {
    return test::read_topic(topic, partitions, expected);
}

// The sum of the partitions' high watermarks.
std::int64_t records_held(const test::topic_handle& topic, int partitions) {
    std::int64_t n = 0;
    for (const auto& p : read_partitions(topic, partitions)) n += p.high_watermark;
    return n;
}

using header_list = std::vector<std::pair<std::string, std::optional<std::string>>>;

} // namespace

TEST_CASE("kwire produce sends keys (-K), values and headers (-H) to the partition given with -p") {
    const auto topic = test::make_topic("kwire-cli-produce", 3);
    const temp_file input("k1:v1\nk2:v:2\nno-key-line\n:empty-key\nk5:\n\nlast:no-newline");
    const auto r = test::run_command(produce_cmd("-t " + topic.name + " -p 2 -K : -H trace=abc -H flag -H eq=a=b " +
                                                 test::shell_quote(input.path)));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.empty());

    const auto partitions = read_partitions(topic, 3, 7);
    const auto& stored = partitions[2];
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
    CHECK(partitions[0].high_watermark == 0);
    CHECK(partitions[1].high_watermark == 0);
}

TEST_CASE("kwire produce --json from stdin with -D and -z: one line per record and a summary") {
    const auto topic = test::make_topic("kwire-cli-produce-json", 1);
    const temp_file input("alpha;beta;gamma;");
    const auto r = test::run_command(produce_cmd("-t " + topic.name + " -D ';' -z gzip --json < " +
                                                 test::shell_quote(input.path)));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (int i = 0; i < 3; ++i) {
        CHECK(r.output.find("{\"record\":" + std::to_string(i + 1) + ",\"partition\":0,\"offset\":" +
                            std::to_string(i) + "}\n") != std::string::npos);
    }
    CHECK(r.output.ends_with("{\"records\":3,\"delivered\":3,\"failed\":0}\n"));

    const auto stored = read_partitions(topic, 1, 3)[0];
    REQUIRE(stored.records.size() == 3);
    CHECK(stored.records[0].value == "alpha");
    CHECK(stored.records[1].value == "beta");
    CHECK(stored.records[2].value == "gamma");
    CHECK_FALSE(stored.records[0].key.has_value());
    REQUIRE_FALSE(stored.batches.empty());
    for (const auto& b : stored.batches) CHECK(b.codec == proto::compression_codec::gzip);
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
    const auto topic = test::make_topic("kwire-cli-bench", 2);
    const std::int64_t before = records_held(topic, 2);
    const int count = 5000;
    const auto r = test::run_command(test::cli_command("bench produce", "-t " + topic.name + " --count " +
                                                                        std::to_string(count) +
                                                                        " --record-size 64 --linger-ms 2 --json"),
                                     120);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("\"records\":" + std::to_string(count) + ",") != std::string::npos);
    CHECK(r.output.find("\"delivered\":" + std::to_string(count) + ",") != std::string::npos);
    CHECK(r.output.find("\"errors\":0,") != std::string::npos);
    CHECK(r.output.find("\"record_size\":64,") != std::string::npos);
    for (const char* field : {"\"records_per_s\":", "\"mb_per_s\":", "\"p50_us\":", "\"p99_us\":", "\"p999_us\":"})
        CHECK(r.output.find(field) != std::string::npos);
    const std::int64_t after = records_held(topic, 2);
    CHECK(after - before == count);
}

TEST_CASE("kwire bench produce --payload-file --rate: the file's lines in turn at the offered rate") {
    const auto topic = test::make_topic("kwire-cli-bench-file", 1);
    const temp_file payloads("first\nsecond value\n\nlast-without-newline");
    const int count = 10;
    const auto r = test::run_command(test::cli_command("bench produce", "-t " + topic.name + " --count " +
                                                                        std::to_string(count) + " --payload-file " +
                                                                        payloads.path + " --rate 20 --json"),
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
    const auto stored = read_partitions(topic, 1, count)[0];
    REQUIRE(stored.records.size() == static_cast<std::size_t>(count));
    const std::vector<std::string> lines{"first", "second value", "", "last-without-newline"};
    for (int i = 0; i < count; ++i) CHECK(stored.records[i].value == lines[i % 4]);
}

TEST_CASE("kwire bench e2e --json: every record comes back and the latencies are ordered") {
    const auto topic = test::make_topic("kwire-cli-bench-e2e", 2);
    const auto r = test::run_command(
        test::cli_command("bench e2e", "-t " + topic.name + " --count 300 --rate 500 --linger-ms 1 --json"), 120);
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
    CHECK(records_held(topic, 2) == 301);
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
