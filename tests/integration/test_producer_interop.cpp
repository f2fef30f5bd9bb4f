// kwire's producer with other clients on the same real broker:
// - kafka-python's consumer reads kwire's keyed records with headers exactly;
// - kafka-python's producer and kwire put each key on the same partition (as
//   stored by the broker);
// - Kafka's Java console consumer prints kwire's (compressed) records.
#include "support/producer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/partitioner.hpp"
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

std::string hex(std::string_view s) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string unhex(const std::string& h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return out;
}

// A file removed when the test ends.
struct temp_file {
    std::filesystem::path path;
    explicit temp_file(const std::string& stem)
        : path(std::filesystem::temp_directory_path() / (stem + "-" + std::to_string(wall_ms()) + "-" +
                                                         std::to_string(::getpid()))) {}
    ~temp_file() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

std::string python() { return broker_env("KWIRE_PYTHON"); }

// Reads every record of a topic with kafka-python's KafkaConsumer (assigned
// partitions, from the beginning) until `count` arrive; one line each:
// partition offset timestamp key value headers, bytes in hex, '-' for null,
// headers as name=value pairs joined by ','.
const char* python_consumer = R"PY(
import sys
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, partitions, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                  auto_offset_reset='earliest', consumer_timeout_ms=15000)
c.assign([TopicPartition(topic, p) for p in range(partitions)])
c.seek_to_beginning()
h = lambda b: '-' if b is None else (b.hex() if b else '~')
seen = 0
for m in c:
    hs = ','.join(k.encode().hex() + '=' + h(v) for k, v in (m.headers or []))
    print(m.partition, m.offset, m.timestamp, h(m.key), h(m.value), hs or '.', flush=True)
    seen += 1
    if seen >= count:
        break
c.close()
)PY";

// Sends each key (hex, one per line in a file) with kafka-python's
// KafkaProducer (default partitioner), value b'py-' + hex, and prints
// "hex partition" from each record's metadata.
const char* python_producer = R"PY(
import sys
from kafka import KafkaProducer
bootstrap, topic, keys_file = sys.argv[1], sys.argv[2], sys.argv[3]
p = KafkaProducer(bootstrap_servers=bootstrap, acks='all')
futures = []
for line in open(keys_file):
    k = line.strip()
    if not k:
        continue
    key = b'' if k == '~' else bytes.fromhex(k)
    futures.append((k, p.send(topic, key=key, value=b'py-' + k.encode())))
p.flush()
for k, f in futures:
    md = f.get(timeout=30)
    print(k, md.partition)
p.close()
)PY";

std::string decode_field(const std::string& f) {
    if (f == "~") return "";
    return unhex(f);
}

} // namespace

TEST_CASE("producer interop: kafka-python's consumer reads kwire's keyed records with headers") {
    const int partitions = 3;
    auto topic = make_topic("kwire-prod-kpy-read", partitions);
    const std::size_t n = 30;
    auto log = delivery_log::make(n);
    std::vector<std::string> keys, values;
    const std::int64_t t0 = wall_ms() - 60'000;
    {
        // gzip: kafka-python decompresses it without optional packages.
        producer p(producer_config({{"compression.type", "gzip"}, {"linger.ms", "20"}}));
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back("key-" + std::to_string(i) + std::string("\x00\xfe", 2));
            values.push_back("value-" + std::to_string(i) + " \xc3\xa9t\xc3\xa9 " + std::string(i * 11, 'z'));
            producer_record r;
            r.topic = topic.name;
            r.key = payload(std::string_view(keys.back()));
            r.value = payload(std::string_view(values.back()));
            r.headers.push_back(header{"trace", payload(std::string("t") + std::to_string(i))});
            r.headers.push_back(header{"empty", payload(std::string_view(""))});
            r.timestamp_ms = t0 + static_cast<std::int64_t>(i);
            p.send(std::move(r), log->handler(i));
        }
        CHECK(!p.flush(15s));
    }
    REQUIRE(log->wait_all(1s));
    const auto reports = log->snapshot();
    std::map<std::pair<std::int32_t, std::int64_t>, std::size_t> at;  // (partition, offset) -> record
    for (std::size_t i = 0; i < n; ++i) {
        REQUIRE_MESSAGE(!reports[i].ec, reports[i].ec.message());
        at[{reports[i].partition, reports[i].offset}] = i;
    }
    REQUIRE(at.size() == n);

    temp_file out("kwire-kpy-consumer");
    const auto r = run_command(shell_quote(python()) + " -c " + shell_quote(python_consumer) + " " +
                                   shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " " + topic.name + " " +
                                   std::to_string(partitions) + " " + std::to_string(n) + " > " +
                                   shell_quote(out.path.string()),
                               120);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    std::ifstream lines(out.path);
    std::string line;
    std::set<std::size_t> read;
    while (std::getline(lines, line)) {
        if (line.empty()) continue;
        CAPTURE(line);
        std::istringstream f(line);
        std::int32_t partition = -1;
        std::int64_t offset = -1, timestamp = -1;
        std::string key, value, headers;
        f >> partition >> offset >> timestamp >> key >> value >> headers;
        REQUIRE_FALSE(f.fail());
        const auto it = at.find({partition, offset});
        REQUIRE_MESSAGE(it != at.end(), "kafka-python read a record kwire did not report at that partition/offset");
        const std::size_t i = it->second;
        CHECK(read.insert(i).second);
        CHECK(decode_field(key) == keys[i]);
        CHECK(decode_field(value) == values[i]);
        CHECK(timestamp == t0 + static_cast<std::int64_t>(i));
        CHECK(headers == hex("trace") + "=" + hex("t" + std::to_string(i)) + "," + hex("empty") + "=~");
    }
    CHECK(read.size() == n);
}

TEST_CASE("producer interop: kafka-python's producer and kwire put each key on the same partition") {
    const int partitions = 5;
    auto topic = make_topic("kwire-prod-kpy-part", partitions);
    std::vector<std::string> keys = {"", "a", "kafka", std::string("\x80\xff\x00\x01", 4)};
    for (int i = 0; i < 60; ++i) keys.push_back("customer-" + std::to_string(i * 104729) + std::string(i % 5, '#'));

    // kafka-python first.
    temp_file keys_file("kwire-kpy-keys");
    {
        std::ofstream f(keys_file.path);
        for (const auto& k : keys) f << (k.empty() ? std::string("~") : hex(k)) << "\n";
    }
    temp_file out("kwire-kpy-producer");
    const auto r = run_command(shell_quote(python()) + " -c " + shell_quote(python_producer) + " " +
                                   shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " " + topic.name + " " +
                                   shell_quote(keys_file.path.string()) + " > " + shell_quote(out.path.string()),
                               120);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);

    // Then kwire, the same keys.
    auto log = delivery_log::make(keys.size());
    {
        producer p(producer_config());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            producer_record rec;
            rec.topic = topic.name;
            rec.key = payload(std::string_view(keys[i]));
            rec.value = payload("kw-" + (keys[i].empty() ? std::string("~") : hex(keys[i])));
            p.send(std::move(rec), log->handler(i));
        }
        CHECK(!p.flush(15s));
    }
    REQUIRE(log->wait_all(1s));
    for (const auto& d : log->snapshot()) CHECK_MESSAGE(!d.ec, d.ec.message());

    // Where the broker stored each side's record of each key.
    const auto stored = read_topic(topic, partitions, 2 * keys.size());
    REQUIRE(total_records(stored) == 2 * keys.size());
    std::map<std::string, std::int32_t> python_partition, kwire_partition;
    for (const auto& part : stored)
        for (const auto& rec : part.records) {
            REQUIRE(rec.key.has_value());
            REQUIRE(rec.value.has_value());
            if (rec.value->rfind("py-", 0) == 0) python_partition[*rec.key] = rec.partition;
            else if (rec.value->rfind("kw-", 0) == 0) kwire_partition[*rec.key] = rec.partition;
        }
    REQUIRE(python_partition.size() == keys.size());
    REQUIRE(kwire_partition.size() == keys.size());
    std::set<std::int32_t> used;
    for (const auto& k : keys) {
        CAPTURE(hex(k));
        CHECK(kwire_partition.at(k) == python_partition.at(k));
        CHECK(kwire_partition.at(k) == murmur2_partition(as_bytes_of(k), partitions));
        used.insert(python_partition.at(k));
    }
    CHECK(used.size() == static_cast<std::size_t>(partitions));

    // kafka-python's own report agrees with what it stored.
    std::ifstream lines(out.path);
    std::string hexkey;
    std::int32_t partition = -1;
    std::size_t reported = 0;
    while (lines >> hexkey >> partition) {
        CHECK(python_partition.at(hexkey == "~" ? std::string() : unhex(hexkey)) == partition);
        ++reported;
    }
    CHECK(reported == keys.size());
}

TEST_CASE("producer interop: Kafka's Java console consumer prints kwire's records") {
    const int partitions = 2;
    auto topic = make_topic("kwire-prod-java-read", partitions);
    // A codec the Java consumer must decompress (lz4 if built, else gzip).
    const auto codec =
        proto::codec_available(proto::compression_codec::lz4) ? proto::compression_codec::lz4 : proto::compression_codec::gzip;
    const std::string codec_name(proto::codec_name(codec));
    CAPTURE(codec_name);
    const std::size_t n = 20;
    auto log = delivery_log::make(n);
    std::multiset<std::string> expected;
    {
        producer p(producer_config({{"compression.type", codec_name}, {"linger.ms", "20"}}));
        for (std::size_t i = 0; i < n; ++i) {
            const std::string key = "jk" + std::to_string(i);
            const std::string value = "java-value-" + std::to_string(i) + "-" + codec_name;
            producer_record r;
            r.topic = topic.name;
            r.key = payload(std::string_view(key));
            r.value = payload(std::string_view(value));
            r.headers.push_back(header{"h1", payload(std::string("x") + std::to_string(i))});
            p.send(std::move(r), log->handler(i));
            expected.insert("h1:x" + std::to_string(i) + "|" + key + "|" + value);
        }
        CHECK(!p.flush(15s));
    }
    REQUIRE(log->wait_all(1s));
    for (const auto& d : log->snapshot()) REQUIRE_MESSAGE(!d.ec, d.ec.message());

    // org.apache.kafka.tools.consumer.ConsoleConsumer is in kafka-tools in
    // both 3.9 and 4.x (kafka.tools.ConsoleConsumer is gone from 3.9's core).
    const auto r = run_command(std::string(KWIRE_SOURCE_DIR) + "/tools/broker run-class --state " +
                                   shell_quote(broker_env("KWIRE_STATE_DIR")) +
                                   " org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server " +
                                   shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " --topic " + topic.name +
                                   " --from-beginning --max-messages " + std::to_string(n) +
                                   " --timeout-ms 20000 --property print.key=true --property print.headers=true"
                                   " --property key.separator='|'",
                               90);
    INFO("console consumer output:\n" << r.output);
    REQUIRE(r.exit_code == 0);
    std::multiset<std::string> printed;
    std::istringstream lines(r.output);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind("h1:", 0) == 0) printed.insert(line);
    CHECK(printed == expected);
    CHECK(r.output.find("Processed a total of " + std::to_string(n) + " messages") != std::string::npos);
}
