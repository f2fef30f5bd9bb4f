// kwire's consumer in one group with other clients, on a 4-partition topic,
// range assignor on both sides:
// - with a kafka-python 3.0.12 KafkaConsumer ($KWIRE_PYTHON, a script run as a
//   subprocess; RangePartitionAssignor; commit after each batch), kwire
//   joining first (the group's leader, its assignor splits the topic) and
//   kafka-python first (kafka-python's assignor does);
// - with Kafka's Java console consumer (tools/broker run-class, --group,
//   RangeAssignor, the classic protocol), kwire leading.
// Records sent before the second member joins are read (and committed) by
// the first; records sent once both are in are split between them. Each
// gets two partitions; together they read every record exactly once (the
// one joining second starts at the first one's commits); the committed
// offsets end at the end of every partition.
#include "support/group_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/consumer.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace kwire;
using namespace kwire::test;
using namespace kwire::test::groups;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

struct temp_path {
    fs::path path;
    explicit temp_path(const std::string& stem)
        : path(fs::temp_directory_path() / (stem + "-" + std::to_string(wall_ms()) + "-" + std::to_string(::getpid()))) {}
    ~temp_path() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

// A kafka-python group member: prints "assigned P,P" / "revoked P,P" from its
// rebalance listener, "rec PARTITION OFFSET VALUE" for each record, and
// "committed" after each commit() (one per non-empty poll), until the stop
// file exists; then closes (commits nothing more, leaves the group).
const char* python_member = R"PY(
import os, sys
from kafka import KafkaConsumer, ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
bootstrap, topic, group, stop_file = sys.argv[1:5]
show = lambda tps: ','.join(str(p) for p in sorted(tp.partition for tp in tps)) or '-'
class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        print('revoked', show(revoked), flush=True)
    def on_partitions_assigned(self, assigned):
        print('assigned', show(assigned), flush=True)
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, client_id='kpy-member',
                  enable_auto_commit=False, auto_offset_reset='earliest',
                  session_timeout_ms=6000, heartbeat_interval_ms=1000,
                  partition_assignment_strategy=[RangePartitionAssignor])
c.subscribe([topic], listener=Listener())
while not os.path.exists(stop_file):
    batch = c.poll(timeout_ms=200)
    n = 0
    for tp, msgs in batch.items():
        for m in msgs:
            print('rec', m.partition, m.offset, m.value.decode(), flush=True)
            n += 1
    if n:
        c.commit()
        print('committed', flush=True)
c.close()
print('closed', flush=True)
)PY";

// What the other member printed so far.
struct peer_view {
    std::vector<std::int32_t> owned;  // after its last callback
    std::vector<consumed_record> records;
    std::size_t commits = 0;
    std::size_t uncommitted = 0;  // records printed after the last "committed"
    bool closed = false;
};

std::string read_all_text(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

config member_config_with_debug(const std::string& group) {
    // debug=consumer: kwire logs its joins ("... as leader (range, 2 member(s))").
    return group_config(group, {{"partition.assignment.strategy", "range"},
                                {"client.id", "kwire-member"},
                                {"debug", "consumer"}});
}

std::vector<std::int32_t> parse_list(const std::string& s) {
    std::vector<std::int32_t> out;
    if (s == "-") return out;
    std::istringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
    return out;
}

peer_view read_python(const fs::path& out) {
    peer_view v;
    std::ifstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string word;
        f >> word;
        if (word == "assigned" || word == "revoked") {
            std::string list;
            f >> list;
            if (word == "assigned") v.owned = parse_list(list);
            else v.owned.clear();  // eager: everything goes
        } else if (word == "rec") {
            consumed_record r;
            r.member = "python";
            f >> r.partition >> r.offset >> r.value;
            if (!f.fail()) v.records.push_back(r);
            ++v.uncommitted;
        } else if (word == "committed") {
            ++v.commits;
            v.uncommitted = 0;
        } else if (word == "closed") {
            v.closed = true;
        }
    }
    return v;
}

// The Java console consumer's lines: "Partition:P<TAB>Offset:O<TAB>VALUE".
std::vector<consumed_record> read_java(const std::string& output) {
    std::vector<consumed_record> out;
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {
        const auto pp = line.find("Partition:");
        const auto po = line.find("Offset:");
        if (pp == std::string::npos || po == std::string::npos) continue;
        consumed_record r;
        r.member = "java";
        r.partition = std::stoi(line.substr(pp + 10));
        r.offset = std::stoll(line.substr(po + 7));
        r.value = line.substr(line.rfind('\t') + 1);
        out.push_back(r);
    }
    return out;
}

// Every record sent read exactly once by the two members together.
void check_exactly_once(const std::vector<produced_record>& sent, const std::vector<consumed_record>& read) {
    std::map<std::pair<std::int32_t, std::int64_t>, std::vector<std::string>> by_position;  // -> who
    std::map<std::pair<std::int32_t, std::int64_t>, std::string> values;
    for (const auto& r : read) {
        by_position[{r.partition, r.offset}].push_back(r.member);
        values[{r.partition, r.offset}] = r.value;
    }
    std::size_t missing = 0, twice = 0;
    for (const auto& s : sent) {
        auto it = by_position.find({s.partition, s.offset});
        if (it == by_position.end()) {
            ++missing;
            continue;
        }
        CHECK(values[{s.partition, s.offset}] == s.value);
        if (it->second.size() > 1) {
            if (twice++ < 5)
                CHECK_MESSAGE(false, "record " << s.partition << "/" << s.offset << " read by " << it->second.front()
                                               << " and " << it->second.back());
        }
    }
    CHECK_MESSAGE(missing == 0, missing << " of " << sent.size() << " records never read");
    CHECK_MESSAGE(twice == 0, twice << " records read more than once");
    CHECK(by_position.size() == sent.size());
}

std::vector<std::int32_t> complement(const std::vector<std::int32_t>& parts, int partitions) {
    std::vector<std::int32_t> out;
    for (std::int32_t p = 0; p < partitions; ++p)
        if (std::find(parts.begin(), parts.end(), p) == parts.end()) out.push_back(p);
    return out;
}

void mixed_with_python(bool kwire_first) {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case(kwire_first ? "kwire-group-kpy-kw" : "kwire-group-kpy-py", partitions);
    paced_producer prod(topic.name, partitions, "mixed");
    prod.send_now(40);  // 10 per partition, for whoever is first

    temp_path out("kwire-group-kpy-out"), stop("kwire-group-kpy-stop");
    command_result python_result;
    std::thread python_thread;
    auto start_python = [&] {
        python_thread = std::thread([&] {
            python_result = run_command(shell_quote(broker_env("KWIRE_PYTHON")) + " -u -c " + shell_quote(python_member) +
                                            " " + shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " " + topic.name + " " +
                                            group + " " + shell_quote(stop.path.string()) + " > " +
                                            shell_quote(out.path.string()),
                                        120);
        });
    };
    struct stop_python {
        temp_path& stop;
        std::thread& t;
        ~stop_python() {
            std::ofstream(stop.path) << "stop\n";
            if (t.joinable()) t.join();
        }
    } stopper{stop, python_thread};

    test_member k(log, member_config_with_debug(group), {.name = "kwire", .topic = topic.name});
    const auto first_end = prod.end_offsets();
    if (kwire_first) {
        k.start();
        REQUIRE_MESSAGE(wait_until([&] { return k.owned().size() == 4u; }, 20s), log->describe());
        // kwire reads (and commits) the first records before kafka-python joins.
        REQUIRE(wait_until([&] { return drained_and_committed(*log, "kwire", first_end); }, 20s));
        start_python();
    } else {
        start_python();
        REQUIRE_MESSAGE(wait_until(
                            [&] {
                                const auto v = read_python(out.path);
                                return v.owned.size() == 4u && v.records.size() >= 40u && v.uncommitted == 0;
                            },
                            40s),
                        "kafka-python did not read the first 40 records:\n" << read_all_text(out.path));
        k.start();
    }

    // Two partitions each.
    REQUIRE_MESSAGE(wait_until(
                        [&] {
                            const auto v = read_python(out.path);
                            const auto mine = k.owned();
                            return mine.size() == 2u && v.owned == complement(mine, partitions);
                        },
                        40s),
                    "no 2/2 split: kwire " << show(k.owned()) << ", kafka-python printed:\n"
                                           << read_all_text(out.path) << "\nkwire: " << log->describe());
    const auto kwire_share = k.owned();
    const auto python_share = read_python(out.path).owned;
    MESSAGE("kwire " << show(kwire_share) << ", kafka-python " << show(python_share));
    // Who led the group: kwire's log of its joins says ("joined generation N
    // as leader (range, 2 member(s))"; a follower is not told the members).
    const std::string led = k.logs().count_containing("as leader (range, 2 member(s))") > 0 ? "kwire"
                            : k.logs().count_containing("as follower (range") > 0           ? "kafka-python"
                                                                                            : "?";
    CHECK(led == std::string(kwire_first ? "kwire" : "kafka-python"));

    prod.send_now(80);  // 20 per partition, split between them
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    auto all_read = [&] {
        auto read = log->records();
        const auto v = read_python(out.path);
        read.insert(read.end(), v.records.begin(), v.records.end());
        return read;
    };
    REQUIRE_MESSAGE(wait_until(
                        [&] {
                            std::set<std::pair<std::int32_t, std::int64_t>> seen;
                            for (const auto& r : all_read()) seen.insert({r.partition, r.offset});
                            return seen.size() >= sent.size();
                        },
                        30s),
                    "not every record read; kafka-python printed:\n" << read_all_text(out.path));
    // Both partitions' last batches committed.
    REQUIRE(wait_until([&] { return drained_and_committed(*log, "kwire", end, kwire_share); }, 10s));
    std::this_thread::sleep_for(1s);
    {
        std::ofstream(stop.path) << "stop\n";
    }
    python_thread.join();
    INFO("kafka-python printed:\n" << read_all_text(out.path) << "\n" << python_result.output);
    CHECK(python_result.exit_code == 0);
    CHECK(read_python(out.path).closed);
    // Once kafka-python left, kwire has everything again and nothing more to read.
    CHECK(wait_until([&] { return k.owned().size() == 4u; }, 20s));
    std::this_thread::sleep_for(1s);
    k.close();

    const auto read = all_read();
    for (const auto& r : read) {
        if (r.member == "kwire" && r.value.rfind("mixed-", 0) == 0 && r.offset >= first_end[static_cast<std::size_t>(r.partition)])
            CHECK_MESSAGE(std::count(kwire_share.begin(), kwire_share.end(), r.partition),
                          "kwire read " << r.partition << "/" << r.offset << " of kafka-python's share");
        if (r.member == "python" && r.offset >= first_end[static_cast<std::size_t>(r.partition)])
            CHECK_MESSAGE(std::count(python_share.begin(), python_share.end(), r.partition),
                          "kafka-python read " << r.partition << "/" << r.offset << " of kwire's share");
    }
    check_exactly_once(sent, read);
    const auto committed = committed_offsets(group, topic.name, partitions);
    for (std::int32_t p = 0; p < partitions; ++p) CHECK(committed.at(p) == end[static_cast<std::size_t>(p)]);
    for (const auto& e : log->events()) CHECK(e.on_poll_thread);
}

} // namespace

TEST_CASE("consumer group interop: kwire leads, kafka-python joins (range): each its share, every record once") {
    mixed_with_python(true);
}

TEST_CASE("consumer group interop: kafka-python leads, kwire joins (range): each its share, every record once") {
    mixed_with_python(false);
}

TEST_CASE("consumer group interop: kwire leads, Kafka's Java console consumer joins (range): each its share, every "
          "record once") {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-java", partitions);
    paced_producer prod(topic.name, partitions, "java");
    prod.send_now(40);
    const auto first_end = prod.end_offsets();

    test_member k(log, member_config_with_debug(group), {.name = "kwire", .topic = topic.name});
    k.start();
    REQUIRE_MESSAGE(wait_until([&] { return k.owned().size() == 4u; }, 20s), log->describe());
    REQUIRE(wait_until([&] { return drained_and_committed(*log, "kwire", first_end); }, 20s));

    // The console consumer stops after 40 records: the 20 sent next to each
    // of its two partitions (it starts at kwire's commits).
    command_result java;
    std::thread java_thread([&] {
        java = run_command(
            std::string(KWIRE_SOURCE_DIR) + "/tools/broker run-class --state " + shell_quote(broker_env("KWIRE_STATE_DIR")) +
                " org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server " +
                shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " --topic " + topic.name + " --group " + group +
                " --consumer-property partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor"
                " --consumer-property group.protocol=classic --consumer-property session.timeout.ms=6000"
                " --consumer-property heartbeat.interval.ms=1000 --consumer-property auto.offset.reset=earliest"
                " --property print.partition=true --property print.offset=true"
                " --max-messages 40 --timeout-ms 40000",
            120);
    });
    struct joiner {
        std::thread& t;
        ~joiner() {
            if (t.joinable()) t.join();
        }
    } join_java{java_thread};

    const bool split = wait_until([&] { return k.owned().size() == 2u; }, 60s);
    const auto kwire_share = k.owned();
    const auto java_share = complement(kwire_share, partitions);
    if (split) prod.send_now(80);
    java_thread.join();
    MESSAGE("kwire " << show(kwire_share) << ", Java " << show(java_share));
    INFO("console consumer output:\n" << java.output << "\nkwire: " << log->describe());
    REQUIRE_MESSAGE(split, "the console consumer never got partitions from kwire");
    CHECK(k.logs().count_containing("as leader (range, 2 member(s))") > 0);
    CHECK(java.exit_code == 0);
    const auto java_read = read_java(java.output);
    CHECK(java_read.size() == 40u);
    for (const auto& r : java_read)
        CHECK_MESSAGE(std::count(java_share.begin(), java_share.end(), r.partition),
                      "Java read " << r.partition << "/" << r.offset << " of kwire's share");

    // After Java left, kwire has all four again, starting at Java's commits.
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    CHECK(wait_until([&] { return k.owned().size() == 4u; }, 20s));
    REQUIRE(wait_until([&] { return drained_and_committed(*log, "kwire", end, kwire_share); }, 20s));
    std::this_thread::sleep_for(1500ms);
    k.close();
    auto read = log->records();
    read.insert(read.end(), java_read.begin(), java_read.end());
    check_exactly_once(sent, read);
    const auto committed = committed_offsets(group, topic.name, partitions);
    for (std::int32_t p = 0; p < partitions; ++p) CHECK(committed.at(p) == end[static_cast<std::size_t>(p)]);
}
