// kwire's range and roundrobin assignors and its ConsumerProtocol codec
// against the peers themselves, live, on inputs drawn fresh for every run:
// - Kafka's Java client (kafka-clients of the tested Kafka) through
//   tools/gen/assignor_vectors/AssignorVectors.java: RangeAssignor and
//   RoundRobinAssignor on random groups must give exactly kwire's assignment;
//   ConsumerProtocol's serialized subscriptions and assignments (versions 0-3)
//   must decode in kwire to the inputs and must equal kwire's encoding of
//   the same inputs; and Java's default versions must be the one kwire writes.
// - kafka-python (kafka.protocol.consumer.metadata) must decode what kwire
//   writes, at every version, and kwire what kafka-python writes.
// The run's seed is printed, so a mismatch can be reproduced with
//   java -cp "$KWIRE_KAFKA_CLASSPATH" tools/gen/assignor_vectors/AssignorVectors.java --seed S --cases 200
#include "support/broker_env.hpp"
#include "support/run_command.hpp"

#include "kwire/assignor.hpp"
#include "kwire/consumer_protocol.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace kwire::test;
using kwire::member_subscription;
using kwire::topic_partition;

namespace {

namespace fs = std::filesystem;

const std::string source_dir = KWIRE_SOURCE_DIR;
constexpr int random_cases = 200;
constexpr int random_codec = 50;

using partition_list = std::vector<topic_partition>;

struct group_case {
    int number = 0;
    std::map<std::string, std::int32_t> counts;
    std::vector<member_subscription> members;
    std::map<std::string, partition_list> range, roundrobin;
};

struct subscription_vector {
    std::int16_t version = 0;
    std::string hex;
    member_subscription input;  // as given to Java, unsorted
};

struct assignment_vector {
    std::int16_t version = 0;
    std::string hex;
    partition_list partitions;
    std::vector<std::byte> user_data;
};

struct java_output {
    std::uint64_t seed = 0;
    int subscription_version = -1, assignment_version = -1;
    std::vector<group_case> cases;
    std::vector<subscription_vector> subscriptions;
    std::vector<assignment_vector> assignments;
};

std::vector<std::byte> from_hex(const std::string& hex) {
    std::vector<std::byte> out;
    if (hex == "-") return out;
    REQUIRE_MESSAGE(hex.size() % 2 == 0, "odd hex " << hex);
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string to_hex(std::span<const std::byte> b) {
    if (b.empty()) return "-";
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        out += digits[std::to_integer<int>(x) >> 4];
        out += digits[std::to_integer<int>(x) & 15];
    }
    return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    if (s == "-") return out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.push_back(s.substr(start, at - start));
        if (at == std::string::npos) return out;
        start = at + 1;
    }
}

partition_list parse_partitions(const std::string& s) {
    partition_list out;
    for (const auto& item : split(s, ',')) {
        const auto colon = item.rfind(':');
        REQUIRE(colon != std::string::npos);
        out.push_back({item.substr(0, colon), std::stoi(item.substr(colon + 1))});
    }
    return out;
}

// "t0:1,t1:0" (as the peers print them), "-" for none.
std::string show(const partition_list& l) {
    std::string out;
    for (const auto& tp : l) out += (out.empty() ? "" : ",") + tp.topic + ":" + std::to_string(tp.partition);
    return out.empty() ? "-" : out;
}

partition_list sorted(partition_list l) {
    std::sort(l.begin(), l.end());
    return l;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A file in the temp directory, removed when the test is done with it.
struct temp_file {
    fs::path path;
    explicit temp_file(const std::string& name) : path(fs::temp_directory_path() / name) {}
    ~temp_file() {
        std::error_code ec;
        fs::remove(path, ec);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

std::string unique_name(std::uint64_t seed, const char* what) {
    return "kwire-assignors-" + std::to_string(seed) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" + what + ".txt";
}

// Runs AssignorVectors.java with a fresh seed, once per test run.
const java_output& java_vectors() {
    static std::optional<java_output> cached;
    if (cached) return *cached;

    const std::string classpath = broker_env("KWIRE_KAFKA_CLASSPATH");
    java_output out;
    std::random_device rd;
    out.seed = ((std::uint64_t{rd()} << 32) ^ rd() ^
                static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) &
               0x7fffffffffffffffull;
    MESSAGE("AssignorVectors seed " << out.seed);

    temp_file stdout_file(unique_name(out.seed, "java"));
    const std::string program = source_dir + "/tools/gen/assignor_vectors/AssignorVectors.java";
    const auto r = run_command("java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp " + shell_quote(classpath) +
                                   " " + shell_quote(program) + " --seed " + std::to_string(out.seed) + " --cases " +
                                   std::to_string(random_cases) + " --codec " + std::to_string(random_codec) + " > " +
                                   shell_quote(stdout_file.path.string()),
                               180);
    INFO("java output (stderr): " << r.output);
    REQUIRE(r.exit_code == 0);

    std::istringstream lines(read_all(stdout_file.path));
    std::string text;
    int number = 0;
    group_case* current = nullptr;
    while (std::getline(lines, text)) {
        ++number;
        // Kafka 3.9's log4j 1.x warns on stdout when no appender is set up.
        if (text.empty() || text[0] == '#' || text.rfind("log4j:", 0) == 0) continue;
        INFO("java output line " << number << ": " << text);
        std::istringstream fields(text);
        std::string kind;
        fields >> kind;
        if (kind == "default_versions") {
            fields >> out.subscription_version >> out.assignment_version;
        } else if (kind == "case") {
            current = &out.cases.emplace_back();
            fields >> current->number;
        } else if (kind == "topic") {
            REQUIRE(current);
            std::string topic;
            std::int32_t count = 0;
            fields >> topic >> count;
            current->counts[topic] = count;
        } else if (kind == "member") {
            REQUIRE(current);
            std::string id, instance, rack, topics;
            fields >> id >> instance >> rack >> topics;
            member_subscription m;
            m.member_id = id;
            if (instance != "-") m.group_instance_id = instance;
            if (rack != "-") m.rack = rack;
            m.topics = split(topics, ',');
            current->members.push_back(std::move(m));
        } else if (kind == "range" || kind == "roundrobin") {
            REQUIRE(current);
            std::string id, partitions;
            fields >> id >> partitions;
            (kind == "range" ? current->range : current->roundrobin)[id] = parse_partitions(partitions);
        } else if (kind == "end") {
            current = nullptr;
        } else if (kind == "subscription") {
            subscription_vector v;
            std::string topics, owned, rack, user_data;
            fields >> v.version >> v.hex >> topics >> owned >> v.input.generation >> rack >> user_data;
            v.input.topics = split(topics, ',');
            v.input.owned_partitions = parse_partitions(owned);
            if (rack != "-") v.input.rack = rack;
            v.input.user_data = from_hex(user_data);
            out.subscriptions.push_back(std::move(v));
        } else if (kind == "assignment") {
            assignment_vector v;
            std::string partitions, user_data;
            fields >> v.version >> v.hex >> partitions >> user_data;
            v.partitions = parse_partitions(partitions);
            v.user_data = from_hex(user_data);
            out.assignments.push_back(std::move(v));
        } else {
            FAIL("unknown line");
        }
        REQUIRE_FALSE(fields.fail());
    }
    REQUIRE(out.cases.size() == static_cast<std::size_t>(random_cases));
    REQUIRE(out.subscriptions.size() >= static_cast<std::size_t>(4 * random_codec));
    REQUIRE(out.assignments.size() >= static_cast<std::size_t>(4 * random_codec));
    cached = std::move(out);
    return *cached;
}

// Java's serializeAssignment: grouped by topic in first-seen order.
partition_list grouped(const partition_list& l) {
    std::vector<std::string> order;
    for (const auto& tp : l)
        if (std::find(order.begin(), order.end(), tp.topic) == order.end()) order.push_back(tp.topic);
    partition_list out;
    for (const auto& t : order)
        for (const auto& tp : l)
            if (tp.topic == t) out.push_back(tp);
    return out;
}

std::vector<std::string> java_sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end(),
              [](const std::string& a, const std::string& b) { return kwire::detail::java_string_compare(a, b) < 0; });
    return v;
}

} // namespace

TEST_CASE("assignors vs Java: range and roundrobin give exactly Kafka's assignment on fresh random groups") {
    const java_output& java = java_vectors();
    INFO("AssignorVectors seed " << java.seed);
    const auto range = kwire::make_assignor("range");
    const auto roundrobin = kwire::make_assignor("roundrobin");
    int static_members = 0, different = 0;
    for (const auto& c : java.cases) {
        std::ostringstream input;
        for (const auto& [t, n] : c.counts) input << t << "=" << n << ' ';
        for (const auto& m : c.members) {
            input << "\n  " << m.member_id << " instance=" << m.group_instance_id.value_or("-") << " topics";
            for (const auto& t : m.topics) input << ' ' << t;
            static_members += m.group_instance_id.has_value();
        }
        INFO("case " << c.number << ": " << input.str());
        for (const auto& m : c.members) different += m.topics != c.members.front().topics;

        const auto mine_range = range->assign(c.counts, c.members);
        const auto mine_rr = roundrobin->assign(c.counts, c.members);
        CHECK(mine_range.size() == c.range.size());
        CHECK(mine_rr.size() == c.roundrobin.size());
        for (const auto& entry : c.range) {
            const std::string& id = entry.first;
            const partition_list& expected = entry.second;
            INFO("range, member " << id);
            REQUIRE(mine_range.contains(id));
            CHECK(show(sorted(mine_range.at(id))) == show(sorted(expected)));
        }
        for (const auto& entry : c.roundrobin) {
            const std::string& id = entry.first;
            const partition_list& expected = entry.second;
            INFO("roundrobin, member " << id);
            REQUIRE(mine_rr.contains(id));
            // Java deals partitions in order: the same order, not only the same set.
            CHECK(show(mine_rr.at(id)) == show(expected));
        }
    }
    CHECK(static_members > 0);
    CHECK(different > 0);
    MESSAGE(java.cases.size() << " groups compared with kafka-clients (seed " << java.seed << ")");
}

TEST_CASE("assignors vs Java: kwire writes the ConsumerProtocol versions Java writes") {
    const java_output& java = java_vectors();
    CHECK(java.subscription_version == kwire::consumer_protocol_version);
    CHECK(java.assignment_version == kwire::consumer_protocol_version);
}

TEST_CASE("assignors vs Java: ConsumerProtocol bytes, both ways, at every version") {
    const java_output& java = java_vectors();
    INFO("AssignorVectors seed " << java.seed);
    for (const auto& v : java.subscriptions) {
        INFO("subscription v" << v.version << " " << v.hex);
        // kwire encodes the same input to the same bytes...
        CHECK(to_hex(kwire::encode_subscription(v.input, v.version)) == v.hex);
        // ...and decodes Java's bytes to the input, as far as the version carries it.
        member_subscription out;
        REQUIRE(!kwire::decode_subscription(from_hex(v.hex), out));
        CHECK(out.topics == java_sorted(v.input.topics));
        CHECK(out.user_data == v.input.user_data);
        if (v.version >= 1) {
            partition_list owned = v.input.owned_partitions;
            std::sort(owned.begin(), owned.end(), [](const auto& a, const auto& b) {
                const int c = kwire::detail::java_string_compare(a.topic, b.topic);
                return c != 0 ? c < 0 : a.partition < b.partition;
            });
            CHECK(show(out.owned_partitions) == show(owned));
        } else {
            CHECK(out.owned_partitions.empty());
        }
        CHECK(out.generation == (v.version >= 2 ? v.input.generation : -1));
        CHECK(out.rack == (v.version >= 3 ? v.input.rack : std::nullopt));
    }
    for (const auto& v : java.assignments) {
        INFO("assignment v" << v.version << " " << v.hex);
        CHECK(to_hex(kwire::encode_assignment(v.partitions, v.user_data, v.version)) == v.hex);
        partition_list out;
        std::vector<std::byte> user_data;
        REQUIRE(!kwire::decode_assignment(from_hex(v.hex), out, user_data));
        CHECK(show(out) == show(grouped(v.partitions)));
        CHECK(user_data == v.user_data);
    }
    MESSAGE(java.subscriptions.size() << " subscriptions and " << java.assignments.size()
                                      << " assignments compared with kafka-clients");
}

namespace {

// kafka-python decodes each "subscription|assignment <hex>" line of argv[1]
// and prints what it read; then encodes a few the way its own assignors do.
constexpr const char* python_script = R"PY(
import sys
from kafka.protocol.consumer.metadata import ConsumerProtocolSubscription as S, ConsumerProtocolAssignment as A

def parts(items):
    out = ['%s:%d' % (t, p) for t, ps in items for p in ps]
    return ','.join(out) or '-'

def hexdata(b):
    return b.hex() if b else '-'

for line in open(sys.argv[1]):
    kind, hexbytes = line.split()
    data = bytes.fromhex(hexbytes)
    if kind == 'subscription':
        s = S.decode(data)
        owned = [(tp.topic, tp.partitions) for tp in (s.owned_partitions or [])]
        print('subscription', s.version, ','.join(s.topics) or '-', parts(owned), s.generation_id,
              s.rack_id or '-', hexdata(s.user_data))
    else:
        a = A.decode(data)
        print('assignment', a.version, parts([(tp.topic, tp.partitions) for tp in a.assigned_partitions]),
              hexdata(a.user_data))

# What kafka-python's assignors write: range/roundrobin (v0), cooperative-sticky (v1), assignments (v0).
TP = S.TopicPartition
print('encoded', S(0, ['t1', 't0'], b'').encode().hex())
print('encoded', S(version=1, topics=['t0', 't1'], user_data=b'',
                   owned_partitions=[TP(topic='t1', partitions=[2, 0]), TP(topic='t0', partitions=[5])]).encode().hex())
AT = A.TopicPartition
print('encoded', A(0, [AT(topic='t1', partitions=[3, 1]), AT(topic='t0', partitions=[0])], b'').encode().hex())
)PY";

} // namespace

TEST_CASE("assignors vs kafka-python: it decodes what kwire writes at every version, kwire what it writes") {
    const std::string python = broker_env("KWIRE_PYTHON");
    const java_output& java = java_vectors();  // its random inputs, encoded by kwire

    std::vector<std::string> inputs, expected;
    for (const auto& v : java.subscriptions) {
        member_subscription s = v.input;
        s.member_id = "m";
        const auto bytes = kwire::encode_subscription(s, v.version);
        inputs.push_back("subscription " + to_hex(bytes));
        member_subscription back;
        REQUIRE(!kwire::decode_subscription(bytes, back));
        std::string topics;
        for (const auto& t : back.topics) topics += (topics.empty() ? "" : ",") + t;
        expected.push_back("subscription " + std::to_string(v.version) + " " + (topics.empty() ? "-" : topics) + " " +
                           show(back.owned_partitions) + " " + std::to_string(back.generation) + " " +
                           back.rack.value_or("-") + " " + to_hex(back.user_data));
    }
    for (const auto& v : java.assignments) {
        const auto bytes = kwire::encode_assignment(v.partitions, v.user_data, v.version);
        inputs.push_back("assignment " + to_hex(bytes));
        expected.push_back("assignment " + std::to_string(v.version) + " " + show(grouped(v.partitions)) + " " +
                           to_hex(v.user_data));
    }

    temp_file input_file(unique_name(java.seed, "kwire-bytes"));
    {
        std::ofstream f(input_file.path);
        for (const auto& l : inputs) f << l << '\n';
        REQUIRE(f.good());
    }
    temp_file stdout_file(unique_name(java.seed, "python"));
    const auto r = run_command(shell_quote(python) + " -c " + shell_quote(python_script) + " " +
                                   shell_quote(input_file.path.string()) + " > " + shell_quote(stdout_file.path.string()),
                               180);
    INFO("python output (stderr): " << r.output);
    REQUIRE(r.exit_code == 0);

    std::istringstream lines(read_all(stdout_file.path));
    std::string text;
    std::size_t index = 0;
    std::vector<std::string> encoded;
    while (std::getline(lines, text)) {
        if (text.empty()) continue;
        if (text.rfind("encoded ", 0) == 0) {
            encoded.push_back(text.substr(8));
            continue;
        }
        REQUIRE(index < expected.size());
        INFO("kwire wrote " << inputs[index]);
        CHECK(text == expected[index]);
        ++index;
    }
    CHECK(index == expected.size());

    // kwire reads kafka-python's own encodings.
    REQUIRE(encoded.size() == 3);
    member_subscription s;
    REQUIRE(!kwire::decode_subscription(from_hex(encoded[0]), s));
    CHECK(s.topics == std::vector<std::string>{"t1", "t0"});
    CHECK(s.user_data.empty());
    CHECK(s.generation == -1);
    REQUIRE(!kwire::decode_subscription(from_hex(encoded[1]), s));
    CHECK(s.topics == std::vector<std::string>{"t0", "t1"});
    CHECK(show(s.owned_partitions) == "t1:2,t1:0,t0:5");
    CHECK(s.generation == -1);
    partition_list a;
    REQUIRE(!kwire::decode_assignment(from_hex(encoded[2]), a));
    CHECK(show(a) == "t1:3,t1:1,t0:0");
    MESSAGE(index << " kwire encodings decoded by kafka-python");
}
