// The consumer group's embedded protocol (kwire/consumer_protocol.hpp): round
// trips at every version, the exact bytes the Java client writes (vectors
// below were written by Kafka 4.4's ConsumerProtocol through
// tools/gen/assignor_vectors/AssignorVectors.java; the live comparison with a
// fresh seed is tests/integration/test_assignors_java.cpp), newer versions,
// malformed input, and Java's String order.
#include "kwire/consumer_protocol.hpp"

#include "kwire/proto/wire_error.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

using kwire::decode_assignment;
using kwire::decode_subscription;
using kwire::encode_assignment;
using kwire::encode_subscription;
using kwire::member_subscription;
using kwire::topic_partition;
using kwire::proto::wire_errc;

namespace {

std::vector<std::byte> from_hex(std::string_view hex) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string to_hex(const std::vector<std::byte>& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        out += digits[std::to_integer<int>(x) >> 4];
        out += digits[std::to_integer<int>(x) & 15];
    }
    return out;
}

std::vector<std::byte> bytes(std::initializer_list<int> xs) {
    std::vector<std::byte> out;
    for (int x : xs) out.push_back(static_cast<std::byte>(x));
    return out;
}

member_subscription full_subscription() {
    member_subscription s;
    s.member_id = "member-1";
    s.group_instance_id = "instance-1";
    s.topics = {"t1", "t0"};
    s.owned_partitions = {{"t1", 3}, {"t0", 2}, {"t1", 0}, {"t0", 0}};
    s.generation = 3;
    s.rack = "rack-a";
    s.user_data = bytes({1, 2});
    return s;
}

// Java: new Subscription(List.of("t1", "t0"), wrap({1, 2}), [t1-3, t0-2, t1-0, t0-0], 3, Optional.of("rack-a"))
const char* const java_full_subscription[4] = {
    "0000000000020002743000027431000000020102",
    "0001000000020002743000027431000000020102000000020002743000000002000000000000000200027431000000020000000000000003",
    "000200000002000274300002743100000002010200000002000274300000000200000000000000020002743100000002000000000000000300"
    "000003",
    "00030000000200027430000274310000000201020000000200027430000000020000000000000002000274310000000200000000000000030000"
    "000300067261636b2d61",
};

} // namespace

TEST_CASE("consumer protocol: kwire writes version 3, as the Java client") {
    CHECK(kwire::consumer_protocol_version == 3);
    const auto b = encode_subscription(full_subscription());
    REQUIRE(b.size() >= 2);
    CHECK(b[0] == std::byte{0});
    CHECK(b[1] == std::byte{3});
    const auto a = encode_assignment({{"t", 0}});
    CHECK(a[1] == std::byte{3});
}

TEST_CASE("consumer protocol: subscription bytes equal Java's at every version") {
    const member_subscription s = full_subscription();
    for (std::int16_t v = 0; v <= 3; ++v) {
        INFO("version " << v);
        CHECK(to_hex(encode_subscription(s, v)) == java_full_subscription[v]);
    }
    // Java: new Subscription(List.of("t1", "t0")): null user data, nothing owned, no generation.
    member_subscription plain;
    plain.topics = {"t1", "t0"};
    CHECK(to_hex(encode_subscription(plain, 0)) == "0000000000020002743000027431ffffffff");
    CHECK(to_hex(encode_subscription(plain, 3)) == "0003000000020002743000027431ffffffff00000000ffffffffffff");
    // Java: new Subscription(List.of()) at v3.
    CHECK(to_hex(encode_subscription(member_subscription{}, 3)) == "000300000000ffffffff00000000ffffffffffff");
    // Java: owned partitions, generation 12, no rack, at v2 and v3.
    member_subscription g = full_subscription();
    g.user_data.clear();
    g.rack.reset();
    g.generation = 12;
    CHECK(to_hex(encode_subscription(g, 2)) ==
          "0002000000020002743000027431ffffffff0000000200027430000000020000000000000002000274310000000200000000000000030000000c");
    CHECK(to_hex(encode_subscription(g, 3)) ==
          "0003000000020002743000027431ffffffff0000000200027430000000020000000000000002000274310000000200000000000000030000000c"
          "ffff");
}

TEST_CASE("consumer protocol: decoding Java's subscriptions at every version") {
    for (std::int16_t v = 0; v <= 3; ++v) {
        INFO("version " << v);
        member_subscription out;
        out.member_id = "kept";
        out.group_instance_id = "kept-too";
        REQUIRE(!decode_subscription(from_hex(java_full_subscription[v]), out));
        CHECK(out.member_id == "kept");  // not part of the protocol
        CHECK(out.group_instance_id == "kept-too");
        CHECK(out.topics == std::vector<std::string>{"t0", "t1"});  // sorted by the writer
        CHECK(out.user_data == bytes({1, 2}));
        if (v >= 1) {
            CHECK(out.owned_partitions ==
                  std::vector<topic_partition>{{"t0", 0}, {"t0", 2}, {"t1", 0}, {"t1", 3}});
        } else {
            CHECK(out.owned_partitions.empty());
        }
        CHECK(out.generation == (v >= 2 ? 3 : -1));
        CHECK(out.rack == (v >= 3 ? std::optional<std::string>("rack-a") : std::nullopt));
    }
    // Null user data decodes as empty; a null rack as none.
    member_subscription out;
    REQUIRE(!decode_subscription(from_hex("0003000000020002743000027431ffffffff00000000ffffffffffff"), out));
    CHECK(out.user_data.empty());
    CHECK(!out.rack);
    CHECK(out.generation == -1);
}

TEST_CASE("consumer protocol: subscription round trips at every version") {
    const member_subscription s = full_subscription();
    for (std::int16_t v = 0; v <= 3; ++v) {
        INFO("version " << v);
        member_subscription out;
        REQUIRE(!decode_subscription(encode_subscription(s, v), out));
        CHECK(out.topics == std::vector<std::string>{"t0", "t1"});
        CHECK(out.user_data == s.user_data);
        CHECK(out.owned_partitions.size() == (v >= 1 ? 4u : 0u));
        CHECK(out.generation == (v >= 2 ? s.generation : -1));
        CHECK(out.rack.has_value() == (v >= 3));
        // Encoding what was decoded gives the same bytes.
        CHECK(encode_subscription(out, v) == encode_subscription(s, v));
    }
    // Duplicates are written once; an empty rack survives as written.
    member_subscription d;
    d.topics = {"b", "a", "b"};
    d.owned_partitions = {{"a", 1}, {"a", 1}};
    d.rack = "";
    member_subscription out;
    REQUIRE(!decode_subscription(encode_subscription(d), out));
    CHECK(out.topics == std::vector<std::string>{"a", "b"});
    CHECK(out.owned_partitions == std::vector<topic_partition>{{"a", 1}});
    CHECK(!out.rack);  // Java reads an empty rack id as none, so does kwire
}

TEST_CASE("consumer protocol: a version newer than 3 is read as 3, the rest ignored") {
    auto b = from_hex(java_full_subscription[3]);
    b[1] = std::byte{7};
    b.insert(b.end(), {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{42}, std::byte{1}});
    member_subscription out;
    REQUIRE(!decode_subscription(b, out));
    CHECK(out.rack == "rack-a");
    CHECK(out.generation == 3);
    CHECK(out.owned_partitions.size() == 4);

    auto a = encode_assignment({{"t", 1}}, bytes({9}));
    a[0] = std::byte{0x7f};  // version 32512
    a.push_back(std::byte{0xee});
    std::vector<topic_partition> parts;
    std::vector<std::byte> user;
    REQUIRE(!decode_assignment(a, parts, user));
    CHECK(parts == std::vector<topic_partition>{{"t", 1}});
    CHECK(user == bytes({9}));

    // Trailing bytes after a known version are ignored too, as Java does.
    auto t = encode_assignment({{"t", 1}});
    t.push_back(std::byte{1});
    REQUIRE(!decode_assignment(t, parts));
    CHECK(parts.size() == 1);
}

TEST_CASE("consumer protocol: malformed subscriptions and assignments") {
    member_subscription out;
    out.topics = {"unchanged"};
    CHECK(decode_subscription({}, out) == wire_errc::truncated);
    CHECK(decode_subscription(bytes({0}), out) == wire_errc::truncated);
    CHECK(decode_subscription(bytes({0xff, 0xff, 0, 0, 0, 0}), out) == wire_errc::unsupported_version);
    CHECK(decode_subscription(bytes({0, 0, 0, 0, 0, 1}), out));  // one topic promised, none there
    auto cut = from_hex(java_full_subscription[3]);
    for (std::size_t n = 2; n < cut.size(); ++n) {
        INFO("first " << n << " bytes");
        CHECK(decode_subscription(std::span(cut).first(n), out));
    }
    CHECK(out.topics == std::vector<std::string>{"unchanged"});  // untouched on error

    std::vector<topic_partition> parts{{"unchanged", 0}};
    CHECK(decode_assignment(bytes({0}), parts) == wire_errc::truncated);
    CHECK(decode_assignment(bytes({0x80, 0, 0, 0, 0, 0}), parts) == wire_errc::unsupported_version);
    const auto a = encode_assignment({{"t0", 0}, {"t0", 1}});
    for (std::size_t n = 2; n < a.size(); ++n) CHECK(decode_assignment(std::span(a).first(n), parts));
    CHECK(parts == std::vector<topic_partition>{{"unchanged", 0}});

    CHECK_THROWS_AS(encode_subscription(member_subscription{}, 4), std::invalid_argument);
    CHECK_THROWS_AS(encode_subscription(member_subscription{}, -1), std::invalid_argument);
    CHECK_THROWS_AS(encode_assignment({}, {}, 4), std::invalid_argument);
    member_subscription long_topic;
    long_topic.topics = {std::string(40000, 'x')};
    CHECK_THROWS_AS(encode_subscription(long_topic), std::invalid_argument);
}

TEST_CASE("consumer protocol: assignment bytes equal Java's, grouped by topic in first-seen order") {
    // Java: new Assignment(List.of(t1-2, t0-1, t1-0, t0-0)).
    const std::vector<topic_partition> parts{{"t1", 2}, {"t0", 1}, {"t1", 0}, {"t0", 0}};
    CHECK(to_hex(encode_assignment(parts, {}, 0)) ==
          "0000000000020002743100000002000000020000000000027430000000020000000100000000ffffffff");
    CHECK(to_hex(encode_assignment(parts)) ==
          "0003000000020002743100000002000000020000000000027430000000020000000100000000ffffffff");
    // Java: new Assignment(List.of()) and new Assignment(List.of(t0-1), wrap({0xff, 0})).
    CHECK(to_hex(encode_assignment({})) == "000300000000ffffffff");
    const auto ud = bytes({0xff, 0});
    CHECK(to_hex(encode_assignment({{"t0", 1}}, ud, 0)) == "00000000000100027430000000010000000100000002ff00");

    std::vector<topic_partition> out;
    std::vector<std::byte> user;
    REQUIRE(!decode_assignment(from_hex("00000000000100027430000000010000000100000002ff00"), out, user));
    CHECK(out == std::vector<topic_partition>{{"t0", 1}});
    CHECK(user == ud);
    REQUIRE(!decode_assignment(from_hex("0003000000020002743100000002000000020000000000027430000000020000000100000000ffffffff"),
                               out, user));
    CHECK(out == std::vector<topic_partition>{{"t1", 2}, {"t1", 0}, {"t0", 1}, {"t0", 0}});
    CHECK(user.empty());
}

TEST_CASE("consumer protocol: assignment round trips at every version — empty bytes are an empty assignment") {
    const std::vector<topic_partition> parts{{"b", 1}, {"a", 0}, {"b", 0}, {"c", 7}};
    for (std::int16_t v = 0; v <= 3; ++v) {
        INFO("version " << v);
        std::vector<topic_partition> out;
        std::vector<std::byte> user;
        REQUIRE(!decode_assignment(encode_assignment(parts, bytes({5, 6}), v), out, user));
        CHECK(out == std::vector<topic_partition>{{"b", 1}, {"b", 0}, {"a", 0}, {"c", 7}});
        CHECK(user == bytes({5, 6}));
        REQUIRE(!decode_assignment(encode_assignment({}, {}, v), out));
        CHECK(out.empty());
    }
    std::vector<topic_partition> out{{"x", 1}};
    std::vector<std::byte> user = bytes({1});
    REQUIRE(!decode_assignment({}, out, user));
    CHECK(out.empty());
    CHECK(user.empty());
}

TEST_CASE("consumer protocol: Java's String order") {
    using kwire::detail::java_string_compare;
    CHECK(java_string_compare("a", "b") < 0);
    CHECK(java_string_compare("b", "a") > 0);
    CHECK(java_string_compare("ab", "ab") == 0);
    CHECK(java_string_compare("ab", "abc") < 0);
    CHECK(java_string_compare("Z", "a") < 0);
    CHECK(java_string_compare("a", "é") < 0);
    CHECK(java_string_compare("é", "日本") < 0);
    // U+1D11E is a surrogate pair (D834 DD1E) in UTF-16: before U+FF71,
    // although its UTF-8 (F0...) sorts after U+FF71's (EF...).
    CHECK(java_string_compare("\xF0\x9D\x84\x9E", "\xEF\xBD\xB1") < 0);
    CHECK(std::string("\xF0\x9D\x84\x9E") > std::string("\xEF\xBD\xB1"));
    CHECK(java_string_compare("x\xF0\x9D\x84\x9E", "x\xEE\x80\x80") < 0);  // U+E000
    CHECK(java_string_compare("x\xF0\x9D\x84\x9E", "x\xED\x9F\xBF") > 0);  // U+D7FF
    // Malformed bytes count as U+FFFD.
    CHECK(java_string_compare("\xff", "\xEF\xBF\xBD") == 0);
}
