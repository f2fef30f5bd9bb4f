// `kwire consume` and `kwire bench consume` against the real broker: records
// with keys, headers and odd bytes are written with kwire::producer, then the
// CLI must print exactly them (-f, --json), stop where told (-c, -e), read
// only what was asked (-p), and continue from a group's commit (-G).
#include "support/cli_ops.hpp"
#include "support/consumer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/config.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

using namespace kwire;

namespace {

using test::bootstrap_args;
using test::kwire_cli;
using test::test_record;

std::string consume_cmd(const std::string& rest) { return test::cli_command("consume", rest); }

std::string new_topic(const std::string& prefix, int partitions) { return test::make_topic(prefix, partitions).name; }

// Sends the records in order (each partition keeps their order) and waits
// for every acknowledgement; returns each record's offset.
std::vector<std::int64_t> produce(const std::string& topic, const std::vector<test_record>& records) {
    return test::produce_records(topic, records, {{"linger.ms", "5"}});
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// A small JSON reader, enough to check --json lines strictly: objects,
// arrays, strings (escapes and \u, surrogate pairs), numbers (integers kept
// exact), true, false, null. Throws on anything malformed or trailing.
struct json_value;
using json_object = std::vector<std::pair<std::string, json_value>>;
using json_array = std::vector<json_value>;
struct json_value {
    std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, json_array, json_object> v;

    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
    const std::string& str() const { return std::get<std::string>(v); }
    std::int64_t num() const { return std::get<std::int64_t>(v); }
    double real() const { return std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(num()); }
    const json_array& arr() const { return std::get<json_array>(v); }
    const json_object& obj() const { return std::get<json_object>(v); }
    const json_value* find(const std::string& name) const {
        for (const auto& [k, val] : obj())
            if (k == name) return &val;
        return nullptr;
    }
    const json_value& at(const std::string& name) const {
        const json_value* f = find(name);
        if (!f) throw std::runtime_error("no member " + name);
        return *f;
    }
    std::vector<std::string> keys() const {
        std::vector<std::string> out;
        for (const auto& [k, val] : obj()) out.push_back(k);
        return out;
    }
};

class json_reader {
public:
    explicit json_reader(std::string_view s) : s_(s) {}

    json_value document() {
        json_value v = value();
        space();
        if (i_ != s_.size()) fail("trailing text");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at " + std::to_string(i_) + " in " + std::string(s_));
    }
    void space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool take(char c) {
        space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!take(c)) fail(std::string("expected ") + c);
    }
    bool word(std::string_view w) {
        if (s_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }
    json_value value() {
        space();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        if (c == '{') {
            ++i_;
            json_object o;
            if (take('}')) return {o};
            do {
                space();
                std::string k = string();
                expect(':');
                o.emplace_back(std::move(k), value());
            } while (take(','));
            expect('}');
            return {o};
        }
        if (c == '[') {
            ++i_;
            json_array a;
            if (take(']')) return {a};
            do a.push_back(value());
            while (take(','));
            expect(']');
            return {a};
        }
        if (c == '"') return {string()};
        if (word("null")) return {nullptr};
        if (word("true")) return {true};
        if (word("false")) return {false};
        std::size_t j = i_ + (s_[i_] == '-' ? 1 : 0);
        while (j < s_.size() && s_[j] >= '0' && s_[j] <= '9') ++j;
        if (j < s_.size() && (s_[j] == '.' || s_[j] == 'e' || s_[j] == 'E')) {
            double d = 0;
            const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), d);
            if (ec != std::errc{}) fail("bad number");
            i_ = static_cast<std::size_t>(end - s_.data());
            return {d};
        }
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + s_.size(), n);
        if (ec != std::errc{}) fail("bad value");
        i_ = static_cast<std::size_t>(end - s_.data());
        return {n};
    }
    unsigned hex4() {
        if (i_ + 4 > s_.size()) fail("short \\u");
        unsigned v = 0;
        const auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, v, 16);
        if (ec != std::errc{} || end != s_.data() + i_ + 4) fail("bad \\u");
        i_ += 4;
        return v;
    }
    static void utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    std::string string() {
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
        ++i_;
        std::string out;
        for (;;) {
            if (i_ >= s_.size()) fail("unterminated string");
            const char c = s_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("raw control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) fail("unterminated escape");
            const char e = s_[i_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xD800 && cp < 0xDC00) {
                    if (!word("\\u")) fail("lone surrogate");
                    const unsigned lo = hex4();
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                utf8(out, cp);
                break;
            }
            default: fail("bad escape");
            }
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

json_value parse_json(const std::string& line) { return json_reader(line).document(); }

std::string base64(std::string_view s) {
    static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(s[k])); };
    for (; i + 3 <= s.size(); i += 3) {
        const unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
        out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
    }
    if (s.size() - i == 1) out += {a[b(i) >> 2], a[(b(i) & 3) << 4], '=', '='};
    if (s.size() - i == 2) {
        const unsigned v = (b(i) << 16) | (b(i + 1) << 8);
        out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
    }
    return out;
}

} // namespace

TEST_CASE("kwire consume -o beginning -e -f prints exactly the records produced, then exits") {
    const std::string topic = new_topic("kwire-cli-consume", 3);
    const std::vector<test_record> records = {
        {0, "k0", "v0", {}},          {1, "k1", "v1", {}},      {2, "k2", "v2", {}},
        {0, std::nullopt, "nokey", {}}, {1, "k1b", "two words", {}}, {2, "", "empty-key", {}},
        {0, "k0c", "", {}},
    };
    const auto offsets = produce(topic, records);

    const auto r = test::run_command(consume_cmd("-q -t " + topic + " -o beginning -e -f '%t %p %o %k %s\\n'"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < records.size(); ++i)
        expected.push_back(topic + " " + std::to_string(records[i].partition) + " " + std::to_string(offsets[i]) + " " +
                           records[i].key.value_or("") + " " + records[i].value.value_or(""));
    CHECK(sorted(lines_of(r.output)) == sorted(expected));
    // Each partition's records in offset order.
    for (int p = 0; p < 3; ++p) {
        std::vector<std::string> in_order, printed;
        for (std::size_t i = 0; i < records.size(); ++i)
            if (records[i].partition == p) in_order.push_back(expected[i]);
        for (const auto& line : lines_of(r.output))
            if (line.starts_with(topic + " " + std::to_string(p) + " ")) printed.push_back(line);
        CHECK(printed == in_order);
    }

    SUBCASE("the default format is the value and a newline; -K puts the key first; -Z prints NULL") {
        const auto plain = test::run_command(consume_cmd("-q -t " + topic + " -p 0 -e"));
        INFO(plain.output);
        CHECK(plain.exit_code == 0);
        CHECK(plain.output == "v0\nnokey\n\n");
        const auto keyed = test::run_command(consume_cmd("-q -t " + topic + " -p 0 -e -K '\\t' -Z"));
        INFO(keyed.output);
        CHECK(keyed.output == "k0\tv0\nNULL\tnokey\nk0c\t\n");
    }
    SUBCASE("without -q the end of each partition is reported on stderr") {
        const auto loud = test::run_command(consume_cmd("-t " + topic + " -e -f ''"));
        INFO(loud.output);
        CHECK(loud.exit_code == 0);
        for (int p = 0; p < 3; ++p)
            CHECK(loud.output.find("reached the end of " + topic + "/" + std::to_string(p) + " at offset") !=
                  std::string::npos);
    }
}

TEST_CASE("kwire consume -f: headers, timestamps, lengths and escapes") {
    const std::string topic = new_topic("kwire-cli-consume-fmt", 1);
    std::vector<test_record> records(2);
    records[0].key = "key";
    records[0].value = "value";
    records[0].headers = {{"trace", "abc"}, {"flag", std::nullopt}, {"eq", "a=b"}};
    records[0].timestamp = 1'700'000'000'123;
    records[1].value = std::nullopt;  // a tombstone without key
    records[1].timestamp = 1'700'000'000'456;
    produce(topic, records);
    const auto r = test::run_command(
        consume_cmd("-q -t " + topic + " -e -f '%o|%T|%K|%S|%h|%k|%s|100%%\\t\\x41\\n'"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == "0|1700000000123|3|5|trace=abc,flag,eq=a=b|key|value|100%\tA\n"
                      "1|1700000000456|-1|-1||||100%\tA\n");
    const auto rlen = test::run_command(consume_cmd("-q -t " + topic + " -c 1 -f '%R'") + " | od -An -tx1");
    CHECK(rlen.output.find("00 00 00 05") != std::string::npos);
}

TEST_CASE("kwire consume -c 3 stops after 3 records — -o N and -o -N start where asked") {
    const std::string topic = new_topic("kwire-cli-consume-count", 1);
    std::vector<test_record> records;
    for (int i = 0; i < 10; ++i) records.push_back({0, std::nullopt, "r" + std::to_string(i), {}});
    produce(topic, records);

    const auto r = test::run_command(consume_cmd("-q -t " + topic + " -c 3"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output == "r0\nr1\nr2\n");

    const auto from = test::run_command(consume_cmd("-q -t " + topic + " -o 7 -e"));
    INFO(from.output);
    CHECK(from.exit_code == 0);
    CHECK(from.output == "r7\nr8\nr9\n");

    const auto tail = test::run_command(consume_cmd("-q -t " + topic + " -o -2 -e"));
    INFO(tail.output);
    CHECK(tail.output == "r8\nr9\n");

    const auto end = test::run_command(consume_cmd("-q -t " + topic + " -o end -e"));
    INFO(end.output);
    CHECK(end.exit_code == 0);
    CHECK(end.output.empty());
}

TEST_CASE("kwire consume -p 1 reads only that partition") {
    const std::string topic = new_topic("kwire-cli-consume-part", 3);
    std::vector<test_record> records;
    for (int i = 0; i < 9; ++i)
        records.push_back({i % 3, std::nullopt, "p" + std::to_string(i % 3) + "-" + std::to_string(i), {}});
    produce(topic, records);
    const auto r = test::run_command(consume_cmd("-q -t " + topic + " -p 1 -e -f '%p %s\\n'"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output == "1 p1-1\n1 p1-4\n1 p1-7\n");

    const auto missing = test::run_command(consume_cmd("-q -t " + topic + " -p 3 -e"));
    INFO(missing.output);
    CHECK(missing.exit_code == 1);
    CHECK(missing.output.find("no partition 3") != std::string::npos);
}

TEST_CASE("kwire consume --json: one strict JSON object per record, bytes that are not UTF-8 in base64") {
    const std::string topic = new_topic("kwire-cli-consume-json", 1);
    const std::string binary("\xff\xfe\x00\x80 ok", 7);
    std::vector<test_record> records(4);
    records[0].key = "k\"1\\";
    records[0].value = "line\nbreak\ttab \x01 ctl";
    records[0].headers = {{"h", "v"}, {"none", std::nullopt}, {"bin", binary}};
    records[0].timestamp = 1'700'000'000'000;
    records[1].value = "h\xc3\xa9llo \xe2\x9c\x93";  // héllo ✓
    records[2].key = binary;
    records[2].value = binary;
    records[3].key = "tombstone";  // value null
    produce(topic, records);

    const auto r = test::run_command(consume_cmd("-q -t " + topic + " -e --json"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.output);
    REQUIRE(lines.size() == 4);
    std::vector<json_value> docs;
    for (const auto& line : lines) docs.push_back(parse_json(line));

    const auto& a = docs[0];
    CHECK(a.keys() == std::vector<std::string>{"topic", "partition", "offset", "timestamp", "key", "value", "headers"});
    CHECK(a.at("topic").str() == topic);
    CHECK(a.at("partition").num() == 0);
    CHECK(a.at("offset").num() == 0);
    CHECK(a.at("timestamp").num() == 1'700'000'000'000);
    CHECK(a.at("key").str() == "k\"1\\");
    CHECK(a.at("value").str() == "line\nbreak\ttab \x01 ctl");
    const auto& h = a.at("headers").arr();
    REQUIRE(h.size() == 3);
    CHECK(h[0].at("name").str() == "h");
    CHECK(h[0].at("value").str() == "v");
    CHECK(h[1].at("name").str() == "none");
    CHECK(h[1].at("value").is_null());
    CHECK(h[2].at("name").str() == "bin");
    CHECK(h[2].at("value").str() == base64(binary));
    CHECK(h[2].at("value_encoding").str() == "base64");
    CHECK(a.find("key_encoding") == nullptr);

    CHECK(docs[1].at("offset").num() == 1);
    CHECK(docs[1].at("key").is_null());
    CHECK(docs[1].at("value").str() == "h\xc3\xa9llo \xe2\x9c\x93");
    CHECK(docs[1].at("headers").arr().empty());

    CHECK(docs[2].at("key").str() == base64(binary));
    CHECK(docs[2].at("key_encoding").str() == "base64");
    CHECK(docs[2].at("value").str() == base64(binary));
    CHECK(docs[2].at("value_encoding").str() == "base64");

    CHECK(docs[3].at("key").str() == "tombstone");
    CHECK(docs[3].at("value").is_null());
}

TEST_CASE("kwire consume -G: a second run of the same group prints nothing already committed") {
    const std::string topic = new_topic("kwire-cli-consume-group", 2);
    const std::string group = test::unique_topic("kwire-cli-group");
    std::vector<test_record> records;
    for (int i = 0; i < 6; ++i) records.push_back({i % 2, std::nullopt, "g" + std::to_string(i), {}});
    produce(topic, records);

    const std::string cmd = consume_cmd("-q -G " + group + " " + topic + " -o beginning -e");
    const auto first = test::run_command(cmd);
    INFO(first.output);
    REQUIRE(first.exit_code == 0);
    CHECK(sorted(lines_of(first.output)) == std::vector<std::string>{"g0", "g1", "g2", "g3", "g4", "g5"});

    const auto second = test::run_command(cmd);
    INFO(second.output);
    CHECK(second.exit_code == 0);
    CHECK(second.output.empty());

    produce(topic, {{0, std::nullopt, "late-0", {}}, {1, std::nullopt, "late-1", {}}});
    const auto third = test::run_command(cmd);
    INFO(third.output);
    CHECK(third.exit_code == 0);
    CHECK(sorted(lines_of(third.output)) == std::vector<std::string>{"late-0", "late-1"});

    SUBCASE("-c with a group commits only what was printed") {
        produce(topic, {{0, std::nullopt, "c-0", {}}, {0, std::nullopt, "c-1", {}}, {0, std::nullopt, "c-2", {}}});
        const auto one = test::run_command(consume_cmd("-q -G " + group + " -t " + topic + " -c 1"));
        INFO(one.output);
        CHECK(one.exit_code == 0);
        CHECK(one.output == "c-0\n");
        const auto rest = test::run_command(cmd);
        INFO(rest.output);
        CHECK(rest.output == "c-1\nc-2\n");
    }
}

TEST_CASE("kwire consume: usage, configuration and broker errors") {
    SUBCASE("an unknown property: exit 2, with a suggestion") {
        const auto r = test::run_command(consume_cmd("-t t -X fetch.max.byte=5"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(r.output.find("unknown configuration property 'fetch.max.byte'") != std::string::npos);
    }
    SUBCASE("a bad -X value: exit 2") {
        const auto r = test::run_command(consume_cmd("-t t -X auto.offset.reset=sometimes"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
    }
    SUBCASE("bad options: exit 2") {
        CHECK(test::run_command(consume_cmd("")).exit_code == 2);                          // no topic
        CHECK(test::run_command(consume_cmd("-t t -o yesterday")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-t t -f '%x'")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-t t -c 0")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-G g -t t -p 0")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-G g -t t -o 5")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-t t extra")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-t t --json -f '%s'")).exit_code == 2);
        CHECK(test::run_command(consume_cmd("-t t -o stored")).exit_code == 2);
        CHECK(test::run_command(kwire_cli + " consume -t t").exit_code == 2);  // no -b
    }
    SUBCASE("--help") {
        const auto r = test::run_command(kwire_cli + " consume --help");
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("usage: kwire consume") != std::string::npos);
    }
    SUBCASE("a missing topic: exit 1, naming it") {
        const std::string topic = test::unique_topic("kwire-cli-consume-missing");
        const auto r = test::run_command(consume_cmd("-t " + topic + " -e"));
        INFO(r.output);
        CHECK(r.exit_code == 1);
        CHECK(r.output.find("'" + topic + "' does not exist") != std::string::npos);
    }
}

TEST_CASE("kwire bench consume --json counts every record of the topic") {
    const std::string topic = new_topic("kwire-cli-bench-consume", 2);
    const int count = 3000;
    std::vector<test_record> records;
    for (int i = 0; i < count; ++i)
        records.push_back({i % 2, std::nullopt, std::string(64, static_cast<char>('a' + i % 26)), {}});
    produce(topic, records);

    const auto r = test::run_command(kwire_cli + " bench consume" + bootstrap_args() + " -t " + topic + " --json", 120);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const json_value doc = parse_json(lines_of(r.output).back());
    CHECK(doc.at("records").num() == count);
    CHECK(doc.at("bytes").num() == count * 64);
    CHECK(doc.at("seconds").real() >= 0);
    CHECK(doc.at("records_per_s").real() > 0);
    CHECK(doc.at("mb_per_s").real() > 0);
    CHECK(std::get<bool>(doc.at("timed_out").v) == false);
    CHECK(std::get<bool>(doc.at("interrupted").v) == false);

    SUBCASE("--count: exactly that many") {
        const auto c = test::run_command(kwire_cli + " bench consume" + bootstrap_args() + " -t " + topic +
                                         " --count 1000 --json");
        INFO(c.output);
        CHECK(c.exit_code == 0);
        CHECK(c.output.find("\"records\":1000,") != std::string::npos);
    }
    SUBCASE("more than the topic holds: exit 1 after the timeout") {
        const auto c = test::run_command(kwire_cli + " bench consume" + bootstrap_args() + " -t " + topic +
                                         " --count " + std::to_string(count + 1) + " --timeout-ms 1500 --json");
        INFO(c.output);
        CHECK(c.exit_code == 1);
        CHECK(c.output.find("\"records\":" + std::to_string(count) + ",") != std::string::npos);
        CHECK(c.output.find("\"timed_out\":true") != std::string::npos);
    }
    SUBCASE("with a group") {
        const auto c = test::run_command(kwire_cli + " bench consume" + bootstrap_args() + " -t " + topic + " -G " +
                                         test::unique_topic("kwire-bench-group") + " --json");
        INFO(c.output);
        CHECK(c.exit_code == 0);
        CHECK(c.output.find("\"records\":" + std::to_string(count) + ",") != std::string::npos);
    }
}
