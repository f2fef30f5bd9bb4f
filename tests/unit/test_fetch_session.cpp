// KIP-227 fetch sessions (client/src/fetch_session): which requests are full
// or incremental, their session ids and epochs, the partitions they list and
// forget, and how responses, errors and failures move the session.
#include "../../client/src/fetch_session.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/writer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace kwire;

namespace {

proto::uuid make_id(unsigned char seed) {
    proto::uuid id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = std::byte(static_cast<unsigned char>(seed + i));
    return id;
}

const proto::uuid id_a = make_id(0x10);
const proto::uuid id_b = make_id(0x40);

fetch_position pos(const std::string& topic, std::int32_t partition, std::int64_t offset) {
    fetch_position p;
    p.topic = topic;
    p.topic_id = topic == "a" ? id_a : id_b;
    p.partition = partition;
    p.fetch_offset = offset;
    p.max_bytes = 1 << 20;
    return p;
}

fetch_settings settings() {
    fetch_settings s;
    s.max_wait_ms = 100;
    s.min_bytes = 1;
    s.max_bytes = 1 << 24;
    s.rack_id = "rack-1";
    return s;
}

using listed_partition = std::pair<std::string, std::int32_t>;  // topic name (or "id:<base64>"), partition

// The partitions a request lists, as a set, with each topic named as the version names it.
std::set<listed_partition> listed(const proto::fetch_request& req) {
    std::set<listed_partition> out;
    for (const auto& t : req.topics)
        for (const auto& p : t.partitions)
            out.emplace(t.topic_id.is_zero() ? t.topic : "id:" + t.topic_id.to_base64(), p.partition);
    return out;
}

std::set<listed_partition> forgotten(const proto::fetch_request& req) {
    std::set<listed_partition> out;
    for (const auto& t : req.forgotten_topics_data)
        for (const auto p : t.partitions) out.emplace(t.topic_id.is_zero() ? t.topic : "id:" + t.topic_id.to_base64(), p);
    return out;
}

const proto::fetch_request::fetch_partition* find_partition(const proto::fetch_request& req, std::int32_t partition,
                                                            const std::string& topic) {
    for (const auto& t : req.topics)
        if (t.topic == topic)
            for (const auto& p : t.partitions)
                if (p.partition == partition) return &p;
    return nullptr;
}

proto::fetch_response response(std::int32_t session_id, std::int16_t error = 0) {
    proto::fetch_response r;
    r.session_id = session_id;
    r.error_code = error;
    return r;
}

std::vector<std::byte> encode(const proto::fetch_request& req, std::int16_t version) {
    std::vector<std::byte> bytes;
    proto::writer w(bytes);
    const auto ec = req.encode(w, version);
    INFO("v" << version << ": " << ec.message());
    CHECK_FALSE(ec);
    return bytes;
}

const std::vector<fetch_position> three = {pos("a", 0, 10), pos("a", 1, 20), pos("b", 0, 30)};

} // namespace

TEST_CASE("fetch session: below v7 every request is full and sessionless") {
    for (std::int16_t v = 4; v < 7; ++v) {
        CAPTURE(v);
        fetch_session fs;
        for (int round = 0; round < 3; ++round) {
            const auto req = fs.build(three, v, settings());
            CHECK(req.session_id == 0);
            CHECK(req.session_epoch == -1);
            CHECK(listed(req) == std::set<listed_partition>{{"a", 0}, {"a", 1}, {"b", 0}});
            CHECK(req.forgotten_topics_data.empty());
            encode(req, v);
            CHECK_FALSE(fs.on_response(response(0), v));
            CHECK(fs.session_id() == 0);
            CHECK(fs.epoch() == 0);
        }
    }
}

TEST_CASE("fetch session: a full request opens the session, then requests list only what changed") {
    fetch_session fs;
    const std::int16_t v = 12;  // by name
    auto req = fs.build(three, v, settings());
    CHECK(req.session_id == 0);
    CHECK(req.session_epoch == 0);
    CHECK(listed(req) == std::set<listed_partition>{{"a", 0}, {"a", 1}, {"b", 0}});
    CHECK(req.topics.size() == 2);  // one entry per topic
    CHECK(req.rack_id == "rack-1");
    CHECK(req.max_wait_ms == 100);
    CHECK(fs.awaiting_response());
    CHECK(fs.session_id() == 0);  // not before the response
    CHECK_FALSE(fs.on_response(response(777), v));
    CHECK_FALSE(fs.awaiting_response());
    CHECK(fs.session_id() == 777);
    CHECK(fs.epoch() == 1);
    CHECK(fs.session_size() == 3);

    // Nothing changed: an incremental request listing nothing.
    req = fs.build(three, v, settings());
    CHECK(req.session_id == 777);
    CHECK(req.session_epoch == 1);
    CHECK(req.topics.empty());
    CHECK(req.forgotten_topics_data.empty());
    encode(req, v);
    CHECK_FALSE(fs.on_response(response(777), v));
    CHECK(fs.epoch() == 2);

    // a/1 advanced, b/1 added, b/0 dropped.
    std::vector<fetch_position> next = {pos("a", 0, 10), pos("a", 1, 25), pos("b", 1, 0)};
    req = fs.build(next, v, settings());
    CHECK(req.session_epoch == 2);
    CHECK(listed(req) == std::set<listed_partition>{{"a", 1}, {"b", 1}});
    REQUIRE(find_partition(req, 1, "a") != nullptr);
    CHECK(find_partition(req, 1, "a")->fetch_offset == 25);
    CHECK(forgotten(req) == std::set<listed_partition>{{"b", 0}});
    encode(req, v);
    CHECK_FALSE(fs.on_response(response(777), v));
    CHECK(fs.epoch() == 3);
    CHECK(fs.session_size() == 3);

    // Any field counts as a change: leader epoch, last fetched epoch, max bytes, log start offset.
    next[0].current_leader_epoch = 4;
    next[1].last_fetched_epoch = 2;
    next[2].max_bytes = 1000;
    req = fs.build(next, v, settings());
    CHECK(listed(req) == std::set<listed_partition>{{"a", 0}, {"a", 1}, {"b", 1}});
    CHECK(find_partition(req, 0, "a")->current_leader_epoch == 4);
    CHECK(find_partition(req, 1, "a")->last_fetched_epoch == 2);
    CHECK(find_partition(req, 1, "b")->partition_max_bytes == 1000);
    CHECK_FALSE(fs.on_response(response(777), v));
    next[0].log_start_offset = 3;
    req = fs.build(next, v, settings());
    CHECK(listed(req) == std::set<listed_partition>{{"a", 0}});
    CHECK_FALSE(fs.on_response(response(777), v));
    CHECK(fs.epoch() == 5);

    // Everything dropped: all forgotten, whole topics at once.
    req = fs.build({}, v, settings());
    CHECK(req.topics.empty());
    CHECK(forgotten(req) == std::set<listed_partition>{{"a", 0}, {"a", 1}, {"b", 1}});
    CHECK(req.forgotten_topics_data.size() == 2);
    // The broker closes a session left empty and says so with session id 0.
    CHECK_FALSE(fs.on_response(response(0), v));
    CHECK(fs.session_id() == 0);
    req = fs.build(three, v, settings());
    CHECK(req.session_id == 0);
    CHECK(req.session_epoch == 0);
    CHECK(listed(req).size() == 3);
}

TEST_CASE("fetch session: the epoch goes up by one per answered request and wraps to 1") {
    CHECK(fetch_session::next_epoch(0) == 1);
    CHECK(fetch_session::next_epoch(1) == 2);
    CHECK(fetch_session::next_epoch(std::numeric_limits<std::int32_t>::max() - 1) ==
          std::numeric_limits<std::int32_t>::max());
    CHECK(fetch_session::next_epoch(std::numeric_limits<std::int32_t>::max()) == 1);
    CHECK(fetch_session::next_epoch(-1) == -1);

    fetch_session fs;
    fs.build(three, 11, settings());
    CHECK_FALSE(fs.on_response(response(5), 11));
    for (std::int32_t expected = 1; expected <= 50; ++expected) {
        const auto req = fs.build(three, 11, settings());
        REQUIRE(req.session_epoch == expected);
        REQUIRE(req.session_id == 5);
        CHECK_FALSE(fs.on_response(response(5), 11));
    }
    CHECK(fs.epoch() == 51);
}

TEST_CASE("fetch session: a failed request leaves the session as the broker last confirmed it") {
    fetch_session fs;
    const std::int16_t v = 12;
    fs.build(three, v, settings());
    CHECK_FALSE(fs.on_response(response(9), v));

    SUBCASE("a request built but not sent is replaced by the next build") {
        std::vector<fetch_position> changed = three;
        changed[0].fetch_offset = 11;
        auto req = fs.build(changed, v, settings());
        CHECK(listed(req) == std::set<listed_partition>{{"a", 0}});
        req = fs.build(three, v, settings());  // back to what the broker holds
        CHECK(req.session_epoch == 1);
        CHECK(req.topics.empty());
        CHECK(req.forgotten_topics_data.empty());
    }
    SUBCASE("reset() after a failed incremental request: full, closing the old session") {
        std::vector<fetch_position> changed = {three[0], three[1]};
        changed[0].fetch_offset = 11;
        auto req = fs.build(changed, v, settings());
        CHECK(listed(req) == std::set<listed_partition>{{"a", 0}});
        CHECK(forgotten(req) == std::set<listed_partition>{{"b", 0}});
        fs.reset();
        CHECK_FALSE(fs.awaiting_response());
        CHECK(fs.session_id() == 0);
        CHECK(fs.epoch() == 0);
        req = fs.build(changed, v, settings());
        CHECK(req.session_id == 9);  // (9, 0): close 9, open a new one
        CHECK(req.session_epoch == 0);
        CHECK(listed(req) == std::set<listed_partition>{{"a", 0}, {"a", 1}});
        CHECK(req.forgotten_topics_data.empty());
        // That full request fails too: it is sent again the same way.
        fs.reset();
        req = fs.build(changed, v, settings());
        CHECK(req.session_id == 9);
        CHECK(req.session_epoch == 0);
        CHECK_FALSE(fs.on_response(response(10), v));
        CHECK(fs.session_id() == 10);
        req = fs.build(changed, v, settings());
        CHECK(req.session_id == 10);
        CHECK(req.session_epoch == 1);
        CHECK(req.topics.empty());
        // After a successful full request, nothing stale is named again.
        fs.reset();
        CHECK(fs.build(changed, v, settings()).session_id == 10);
        CHECK_FALSE(fs.on_response(response(0), v));  // the broker declined a new session
        CHECK(fs.build(changed, v, settings()).session_id == 0);
    }
    SUBCASE("a response with no request outstanding is refused") {
        CHECK(fs.on_response(response(9), v) == std::errc::invalid_argument);
        fs.build(three, v, settings());
        fs.reset();
        CHECK(fs.on_response(response(9), v) == std::errc::invalid_argument);
    }
}

TEST_CASE("fetch session: top-level errors reset the session so the next request is full") {
    const std::int16_t v = 13;
    fetch_session fs;
    fs.build(three, v, settings());
    CHECK_FALSE(fs.on_response(response(21), v));
    fs.build(three, v, settings());
    CHECK_FALSE(fs.on_response(response(21), v));
    CHECK(fs.epoch() == 2);

    SUBCASE("INVALID_FETCH_SESSION_EPOCH: full, closing the session the broker still has") {
        std::vector<fetch_position> changed = three;
        changed[2].fetch_offset = 31;
        fs.build(changed, v, settings());
        const auto ec = fs.on_response(response(0, 71), v);
        CHECK(ec == proto::kafka_errc::invalid_fetch_session_epoch);
        CHECK(fs.session_id() == 0);
        CHECK(fs.session_size() == 0);
        const auto req = fs.build(changed, v, settings());
        CHECK(req.session_id == 21);
        CHECK(req.session_epoch == 0);
        CHECK(listed(req).size() == 3);
    }
    SUBCASE("FETCH_SESSION_ID_NOT_FOUND: full, on a new session, naming none") {
        fs.build(three, v, settings());
        CHECK(fs.on_response(response(0, 70), v) == proto::kafka_errc::fetch_session_id_not_found);
        const auto req = fs.build(three, v, settings());
        CHECK(req.session_id == 0);
        CHECK(req.session_epoch == 0);
        CHECK(listed(req).size() == 3);
    }
    SUBCASE("any other top-level error") {
        fs.build(three, v, settings());
        CHECK(fs.on_response(response(0, 106), v) == proto::kafka_errc::fetch_session_topic_id_error);
        const auto req = fs.build(three, v, settings());
        CHECK(req.session_epoch == 0);
        CHECK(listed(req).size() == 3);
    }
}

TEST_CASE("fetch session: a broker that declines sessions gets full requests every time") {
    fetch_session fs;
    for (int round = 0; round < 3; ++round) {
        const auto req = fs.build(three, 10, settings());
        CHECK(req.session_id == 0);
        CHECK(req.session_epoch == 0);
        CHECK(listed(req).size() == 3);
        CHECK_FALSE(fs.on_response(response(0), 10));
        CHECK(fs.session_id() == 0);
    }
}

TEST_CASE("fetch session: topics by name below v13 and by id from v13") {
    SUBCASE("v12: names") {
        fetch_session fs;
        const auto req = fs.build(three, 12, settings());
        for (const auto& t : req.topics) {
            CHECK_FALSE(t.topic.empty());
            CHECK(t.topic_id.is_zero());
        }
        encode(req, 12);
    }
    SUBCASE("v13+: ids, in requests and forgotten lists") {
        for (std::int16_t v = 13; v <= proto::fetch_request::max_version; ++v) {
            CAPTURE(v);
            fetch_session fs;
            auto req = fs.build(three, v, settings());
            CHECK(listed(req) == std::set<listed_partition>{{"id:" + id_a.to_base64(), 0},
                                                            {"id:" + id_a.to_base64(), 1},
                                                            {"id:" + id_b.to_base64(), 0}});
            for (const auto& t : req.topics) CHECK(t.topic.empty());
            encode(req, v);
            CHECK_FALSE(fs.on_response(response(3), v));
            req = fs.build({three[0]}, v, settings());
            CHECK(req.topics.empty());
            CHECK(forgotten(req) == std::set<listed_partition>{{"id:" + id_a.to_base64(), 1},
                                                               {"id:" + id_b.to_base64(), 0}});
            for (const auto& t : req.forgotten_topics_data) CHECK(t.topic.empty());
            encode(req, v);
        }
    }
    SUBCASE("a topic recreated under the same name (new id) is forgotten and added at v13") {
        fetch_session fs;
        fs.build(three, 13, settings());
        CHECK_FALSE(fs.on_response(response(3), 13));
        auto recreated = three;
        recreated[2].topic_id = make_id(0x70);
        const auto req = fs.build(recreated, 13, settings());
        CHECK(listed(req) == std::set<listed_partition>{{"id:" + make_id(0x70).to_base64(), 0}});
        CHECK(forgotten(req) == std::set<listed_partition>{{"id:" + id_b.to_base64(), 0}});
    }
    SUBCASE("a position without a topic id needs v12 or lower") {
        auto no_id = three;
        no_id[1].topic_id = {};
        CHECK(fetch_session::usable_version(no_id, 18) == 12);
        CHECK(fetch_session::usable_version(no_id, 9) == 9);
        CHECK(fetch_session::usable_version(three, 18) == 18);
        fetch_session fs;
        CHECK_THROWS_AS(fs.build(no_id, 13, settings()), std::invalid_argument);
        CHECK_FALSE(fs.awaiting_response());
        CHECK(listed(fs.build(no_id, 12, settings())).size() == 3);
        auto no_name = three;
        no_name[0].topic.clear();
        CHECK_THROWS_AS(fs.build(no_name, 12, settings()), std::invalid_argument);
        CHECK(listed(fs.build(no_name, 13, settings())).size() == 3);
    }
    SUBCASE("changing sides of v13 starts a new session with a full request") {
        fetch_session fs;
        fs.build(three, 12, settings());
        CHECK_FALSE(fs.on_response(response(8), 12));
        auto req = fs.build(three, 13, settings());
        CHECK(req.session_id == 8);  // closes 8
        CHECK(req.session_epoch == 0);
        CHECK(listed(req).size() == 3);
        CHECK_FALSE(fs.on_response(response(9), 13));
        req = fs.build(three, 15, settings());  // still by id: incremental
        CHECK(req.session_id == 9);
        CHECK(req.session_epoch == 1);
        CHECK(req.topics.empty());
    }
}

TEST_CASE("fetch session: caller bugs are refused") {
    fetch_session fs;
    CHECK_THROWS_AS(fs.build(three, 3, settings()), std::invalid_argument);
    CHECK_THROWS_AS(fs.build(three, 19, settings()), std::invalid_argument);
    const std::vector<fetch_position> twice = {pos("a", 0, 1), pos("a", 0, 2)};
    CHECK_THROWS_AS(fs.build(twice, 12, settings()), std::invalid_argument);
    CHECK_FALSE(fs.awaiting_response());
}

TEST_CASE("fetch session: build_close ends the session with epoch -1 and no partitions") {
    fetch_session fs;
    fs.build(three, 12, settings());
    CHECK_FALSE(fs.on_response(response(44), 12));
    auto req = fs.build_close(12, settings());
    CHECK(req.session_id == 44);
    CHECK(req.session_epoch == -1);
    CHECK(req.topics.empty());
    CHECK(req.forgotten_topics_data.empty());
    encode(req, 12);
    CHECK_FALSE(fs.on_response(response(0), 12));
    CHECK(fs.session_id() == 0);
    req = fs.build(three, 12, settings());
    CHECK(req.session_id == 0);  // nothing left to close
    CHECK(req.session_epoch == 0);

    fetch_session none;
    req = none.build_close(12, settings());
    CHECK(req.session_id == 0);
    CHECK(req.session_epoch == -1);
}

TEST_CASE("fetch session: requests encode at every version, fields only where the version has them") {
    auto positions = three;
    for (auto& p : positions) {
        p.current_leader_epoch = 3;
        p.last_fetched_epoch = 2;
    }
    for (std::int16_t v = proto::fetch_request::min_version; v <= proto::fetch_request::max_version; ++v) {
        CAPTURE(v);
        fetch_session fs;
        fetch_settings s = settings();
        s.isolation_level = 1;
        auto req = fs.build(positions, v, s);
        encode(req, v);
        CHECK(req.isolation_level == 1);
        CHECK(req.rack_id == (v >= 11 ? "rack-1" : ""));
        for (const auto& t : req.topics)
            for (const auto& p : t.partitions) {
                CHECK(p.last_fetched_epoch == (v >= 12 ? 2 : -1));
                CHECK(p.current_leader_epoch == 3);
            }
        CHECK_FALSE(fs.on_response(response(v >= 7 ? 50 : 0), v));
        auto moved = positions;
        moved[0].fetch_offset += 5;
        req = fs.build({moved[0], moved[2]}, v, s);
        encode(req, v);
        if (v >= 7) {
            CHECK(listed(req).size() == 1);
            CHECK(forgotten(req).size() == 1);
        } else {
            CHECK(listed(req).size() == 2);
            CHECK(req.forgotten_topics_data.empty());
        }
        encode(fs.build_close(v, s), v);
    }
}
