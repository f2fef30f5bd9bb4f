// The requests the admin client and the consumer both build (client/src/
// shared_requests, rpc_support) and DeleteTopics (proto/topic_deletion.hpp):
// right for every version, and the brokers a request any broker answers goes
// to, in turn.
#include "../../client/src/rpc_support.hpp"
#include "../../client/src/shared_requests.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/topic_deletion.hpp"
#include "kwire/proto/writer.hpp"

#include <doctest/doctest.h>

#include <map>
#include <vector>

using namespace kwire;
using namespace kwire::client_detail;

namespace {

template <class Message>
bool encodes(const Message& m, std::int16_t version) {
    std::vector<std::byte> out;
    proto::writer w(out);
    return !m.encode(w, version);
}

} // namespace

TEST_CASE("make_offset_fetch_request: named partitions or every partition grouped by topic at every version") {
    using request_t = proto::offset_fetch_request;
    // Unsorted on purpose: each topic's partitions still end up together.
    const std::optional<std::vector<topic_partition>> some{{{"b", 1}, {"a", 0}, {"b", 0}}};
    const std::optional<std::vector<topic_partition>> every;
    for (std::int16_t v = request_t::min_version; v <= offset_fetch_by_name; ++v) {
        CAPTURE(v);
        const auto named = make_offset_fetch_request("g", some, v, true);
        CHECK(named.require_stable == (v >= 7));
        CHECK(encodes(named, v));
        if (v >= 8) {
            REQUIRE(named.groups.size() == 1);
            CHECK(named.groups[0].group_id == "g");
            REQUIRE(named.groups[0].topics.has_value());
            const auto& topics = *named.groups[0].topics;
            REQUIRE(topics.size() == 2);
            CHECK(topics[0].name == "a");
            CHECK(topics[0].partition_indexes == std::vector<std::int32_t>{0});
            CHECK(topics[1].name == "b");
            CHECK(topics[1].partition_indexes == std::vector<std::int32_t>{0, 1});
        } else {
            CHECK(named.group_id == "g");
            REQUIRE(named.topics.has_value());
            REQUIRE(named.topics->size() == 2);
            CHECK((*named.topics)[1].name == "b");
            CHECK((*named.topics)[1].partition_indexes == std::vector<std::int32_t>{0, 1});
        }
        if (v < 2) continue;  // v1 cannot ask for every partition
        const auto all = make_offset_fetch_request("g", every, v, false);
        CHECK_FALSE(all.require_stable);
        CHECK(encodes(all, v));
        if (v >= 8) {
            REQUIRE(all.groups.size() == 1);
            CHECK_FALSE(all.groups[0].topics.has_value());
        } else {
            CHECK_FALSE(all.topics.has_value());
        }
    }
}

TEST_CASE("OffsetFetch responses read alike at every version: the group's error and each partition's offset") {
    using response_t = proto::offset_fetch_response;
    response_t old_shape;
    old_shape.error_code = 0;
    response_t::offset_fetch_response_topic t;
    t.name = "t";
    response_t::offset_fetch_response_partition p0;
    p0.partition_index = 0;
    p0.committed_offset = 7;
    p0.committed_leader_epoch = 3;
    p0.metadata = "m";
    response_t::offset_fetch_response_partition p1;
    p1.partition_index = 1;
    p1.committed_offset = -1;
    p1.error_code = 14;  // COORDINATOR_LOAD_IN_PROGRESS
    t.partitions = {p0, p1};
    old_shape.topics.push_back(t);

    response_t new_shape;
    response_t::offset_fetch_response_group g;
    g.group_id = "g";
    g.error_code = 16;  // NOT_COORDINATOR
    response_t::offset_fetch_response_topics nt;
    nt.name = "t";
    response_t::offset_fetch_response_partitions np;
    np.partition_index = 0;
    np.committed_offset = 7;
    np.committed_leader_epoch = 3;
    np.metadata = "m";
    nt.partitions.push_back(np);
    g.topics.push_back(nt);
    new_shape.groups.push_back(g);

    CHECK(offset_fetch_error(old_shape, 7) == 0);
    CHECK(offset_fetch_error(new_shape, 8) == 16);
    std::map<topic_partition, std::pair<std::int16_t, offset_and_metadata>> seen;
    auto collect = [&](const topic_partition& tp, std::int16_t error, offset_and_metadata om) {
        seen[tp] = {error, std::move(om)};
    };
    for_each_committed(old_shape, 7, collect);
    REQUIRE(seen.size() == 2);
    CHECK(seen.at({"t", 0}).first == 0);
    CHECK(seen.at({"t", 0}).second == offset_and_metadata{7, 3, "m"});
    CHECK(seen.at({"t", 1}).first == 14);
    CHECK(seen.at({"t", 1}).second.offset == -1);
    CHECK_FALSE(seen.at({"t", 1}).second.leader_epoch.has_value());
    seen.clear();
    for_each_committed(new_shape, 8, collect);
    REQUIRE(seen.size() == 1);
    CHECK(seen.at({"t", 0}).second == offset_and_metadata{7, 3, "m"});
}

TEST_CASE("FindCoordinator for a group: the key or the batch and the coordinator or the error at every version") {
    using request_t = proto::find_coordinator_request;
    for (std::int16_t v = request_t::min_version; v <= request_t::max_version; ++v) {
        CAPTURE(v);
        const auto req = make_find_coordinator_request("g", v);
        CHECK(req.key_type == 0);
        CHECK(encodes(req, v));
        if (v >= 4) CHECK(req.coordinator_keys == std::vector<std::string>{"g"});
        else CHECK(req.key == "g");
    }

    proto::find_coordinator_response old_shape;
    old_shape.node_id = 2;
    old_shape.host = "h";
    old_shape.port = 9092;
    auto c = read_coordinator(old_shape, 3);
    CHECK_FALSE(c.ec);
    CHECK(c.node == 2);
    CHECK(c.host == "h");
    CHECK(c.port == 9092);
    old_shape.error_code = 15;  // COORDINATOR_NOT_AVAILABLE
    old_shape.error_message = "loading";
    c = read_coordinator(old_shape, 3);
    CHECK(c.ec == proto::kafka_errc::coordinator_not_available);
    CHECK(c.detail == "loading");
    CHECK(c.node == -1);

    proto::find_coordinator_response batch;
    c = read_coordinator(batch, 4);
    CHECK(c.ec == make_error_code(net::errc::unexpected_response));
    proto::find_coordinator_response::coordinator one;
    one.key = "g";
    one.node_id = 3;
    one.host = "b3";
    one.port = 9094;
    batch.coordinators.push_back(one);
    c = read_coordinator(batch, 4);
    CHECK_FALSE(c.ec);
    CHECK(c.node == 3);
    CHECK(c.host == "b3");
    CHECK(c.port == 9094);
}

TEST_CASE("make_list_offsets_request: one entry per topic and each partition at its timestamp") {
    using request_t = proto::list_offsets_request;
    const std::map<topic_partition, std::int64_t> asked{{{"a", 1}, -2}, {{"a", 0}, -1}, {{"b", 0}, 1234}};
    const auto req = make_list_offsets_request(asked, 1, 500);
    CHECK(req.replica_id == -1);
    CHECK(req.isolation_level == 1);
    CHECK(req.timeout_ms == 500);
    REQUIRE(req.topics.size() == 2);
    CHECK(req.topics[0].name == "a");
    REQUIRE(req.topics[0].partitions.size() == 2);
    CHECK(req.topics[0].partitions[0].partition_index == 0);
    CHECK(req.topics[0].partitions[0].timestamp == -1);
    CHECK(req.topics[0].partitions[1].timestamp == -2);
    CHECK(req.topics[1].partitions[0].timestamp == 1234);
    for (std::int16_t v = 2; v <= request_t::max_version; ++v) CHECK(encodes(req, v));
}

TEST_CASE("make_delete_topics_request names the topics each version's way") {
    using request_t = proto::delete_topics_request;
    for (std::int16_t v = request_t::min_version; v <= request_t::max_version; ++v) {
        CAPTURE(v);
        const auto req = proto::make_delete_topics_request({"a", "b"}, v, 3000);
        CHECK(req.timeout_ms == 3000);
        CHECK(encodes(req, v));
        if (v >= 6) {
            REQUIRE(req.topics.size() == 2);
            CHECK(req.topics[1].name == std::optional<std::string>("b"));
            CHECK(req.topic_names.empty());
        } else {
            CHECK(req.topic_names == std::vector<std::string>{"a", "b"});
            CHECK(req.topics.empty());
        }
    }
}

TEST_CASE("brokers_in_turn: each known broker once — starting further on each turn — a preferred one first") {
    cluster_snapshot snap;
    CHECK(brokers_in_turn(snap, 5) == std::vector<std::int32_t>{net::broker_pool::bootstrap_node});
    snap.brokers[1] = {};
    snap.brokers[2] = {};
    snap.brokers[3] = {};
    CHECK(brokers_in_turn(snap, 0) == std::vector<std::int32_t>{1, 2, 3});
    CHECK(brokers_in_turn(snap, 1) == std::vector<std::int32_t>{2, 3, 1});
    CHECK(brokers_in_turn(snap, 5) == std::vector<std::int32_t>{3, 1, 2});
    CHECK(brokers_in_turn(snap, 1, 1) == std::vector<std::int32_t>{1, 2, 3});
    CHECK(brokers_in_turn(snap, 0, 3) == std::vector<std::int32_t>{3, 1, 2});
    CHECK(brokers_in_turn(snap, 0, 9) == std::vector<std::int32_t>{1, 2, 3});  // unknown: no preference
}
