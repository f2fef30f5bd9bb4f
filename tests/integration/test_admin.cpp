// kwire::admin against the real broker. What the admin client does is checked
// through other paths to the broker's state: Metadata with kwire's proto
// layer (partitions, leaders), FindCoordinator and OffsetFetch through the
// proto layer (committed offsets), and the offsets the producer's deliveries
// reported (end offsets):
// - a topic created with 3 partitions and retention.ms is in Metadata with 3
//   partitions, described with leaders, replicas and ISR, and its config
//   reads back as set on the topic; creating it again is TOPIC_ALREADY_EXISTS
//   with the broker's message; deleted, it leaves Metadata, and deleting it
//   again is UNKNOWN_TOPIC_OR_PARTITION;
// - a group with a subscribed member: described with its state, protocol,
//   member (client id, subscription, assignment), listed; its committed
//   offsets (as OffsetFetch through the proto layer reads them), end offsets
//   (as the producer's deliveries reported them) and lag exact, before and
//   after more records;
// - unknown topics and groups, and unreachable brokers, fail clearly.
#include "support/admin_ops.hpp"
#include "support/broker_ops.hpp"
#include "support/producer_ops.hpp"

#include "kwire/admin.hpp"
#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/find_coordinator.hpp"
#include "kwire/proto/messages/offset_fetch.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace std::chrono_literals;
using proto::kafka_errc;

namespace {

using test::eventually;
using test::produce_to;

config admin_config() { return test::client_config(); }

std::int16_t replication() { return static_cast<std::int16_t>(test::replication_factor()); }

// The topic as Metadata (kwire's proto layer, not the admin client) shows it;
// nullopt when the broker does not list it.
std::optional<proto::metadata_response::metadata_response_topic> stored_topic(const std::string& name) {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const auto md = test::fetch_metadata(host, port);
    REQUIRE_MESSAGE(!md.ec, md.failure);
    for (const auto& t : md.metadata.topics)
        if (t.name == name && t.error_code == 0) return t;
    return std::nullopt;
}

std::string create_test_topic(admin& adm, const std::string& prefix, int partitions) {
    const std::string name = test::unique_topic(prefix);
    const auto out = adm.create_topics({new_topic{name, partitions, replication(), {}}}, 30s);
    REQUIRE(out.size() == 1);
    REQUIRE_MESSAGE(!out[0].error, out[0].describe());
    REQUIRE(eventually([&] {
        auto t = stored_topic(name);
        if (!t || t->partitions.size() != static_cast<std::size_t>(partitions)) return false;
        return std::all_of(t->partitions.begin(), t->partitions.end(), [](const auto& p) { return p.leader_id >= 0; });
    }));
    return name;
}

// The group's committed offsets of `topic`'s partitions 0..n-1 (-1: none) as
// the coordinator stores them: FindCoordinator and OffsetFetch through the
// proto layer, neither the admin client nor the consumer.
std::map<std::int32_t, std::int64_t> stored_offsets(const std::string& group, const std::string& topic, int n) {
    return test::run_async<std::map<std::int32_t, std::int64_t>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::map<std::int32_t, std::int64_t>> {
            auto boot = co_await test::open_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            using find_t = proto::find_coordinator_request;
            const std::int16_t fv = boot.version<find_t>();
            std::string host, port;
            asio::steady_timer pause(ex);
            for (int attempt = 0; attempt < 100 && host.empty(); ++attempt) {
                find_t req;
                if (fv >= 4) req.coordinator_keys.push_back(group);
                else req.key = group;
                auto [ec, resp] = co_await boot.conn->async_send(req, fv, test::no_throw);
                REQUIRE_MESSAGE(!ec, boot.conn->failure());
                const bool batched = fv >= 4 && !resp.coordinators.empty();
                const std::int16_t error = batched ? resp.coordinators[0].error_code : resp.error_code;
                if (error == 0) {
                    host = batched ? resp.coordinators[0].host : resp.host;
                    port = std::to_string(batched ? resp.coordinators[0].port : resp.port);
                    break;
                }
                pause.expires_after(100ms);
                co_await pause.async_wait(test::no_throw);
            }
            REQUIRE(!host.empty());
            boot.conn->close();
            auto s = co_await test::open_session(ex, host, port);
            REQUIRE_MESSAGE(s, s.failure);
            using fetch_t = proto::offset_fetch_request;
            const std::int16_t v = std::min<std::int16_t>(s.version<fetch_t>(), 9);  // v10 names topics by id
            fetch_t req;
            std::vector<std::int32_t> partitions;
            for (int p = 0; p < n; ++p) partitions.push_back(p);
            if (v >= 8) {
                fetch_t::offset_fetch_request_group g;
                g.group_id = group;
                fetch_t::offset_fetch_request_topics t;
                t.name = topic;
                t.partition_indexes = partitions;
                g.topics.emplace().push_back(t);
                req.groups.push_back(g);
            } else {
                req.group_id = group;
                fetch_t::offset_fetch_request_topic t;
                t.name = topic;
                t.partition_indexes = partitions;
                req.topics.emplace().push_back(t);
            }
            auto [ec, resp] = co_await s.conn->async_send(req, v, test::no_throw);
            REQUIRE_MESSAGE(!ec, s.conn->failure());
            s.conn->close();
            std::map<std::int32_t, std::int64_t> out;
            if (v >= 8) {
                for (const auto& g : resp.groups)
                    for (const auto& t : g.topics)
                        for (const auto& p : t.partitions) out[p.partition_index] = p.committed_offset;
            } else {
                for (const auto& t : resp.topics)
                    for (const auto& p : t.partitions) out[p.partition_index] = p.committed_offset;
            }
            co_return out;
        });
}

// The admin_error `call` throws; a call that returns fails the test (as
// `what` "succeeded").
template <class Call>
admin_error error_of(const std::string& what, Call call) {
    try {
        call();
    } catch (const admin_error& e) {
        return e;
    }
    FAIL(what << " succeeded");
    return admin_error({}, "");
}

const group_partition_offsets* row_of(const std::vector<group_partition_offsets>& rows, const std::string& topic,
                                      std::int32_t partition) {
    for (const auto& r : rows)
        if (r.partition.topic == topic && r.partition.partition == partition) return &r;
    return nullptr;
}

} // namespace

TEST_CASE("admin: topic lifecycle as the broker stores it") {
    admin adm(admin_config());
    const std::string name = test::unique_topic("kwire-admin-topic");
    const auto created =
        adm.create_topics({new_topic{name, 3, replication(), {{"retention.ms", "123456"}}}}, 30s);
    REQUIRE(created.size() == 1);
    CHECK(created[0].name == name);
    REQUIRE_MESSAGE(!created[0].error, created[0].describe());

    // Metadata (not through the admin client) lists 3 partitions with leaders.
    REQUIRE(eventually([&] {
        auto t = stored_topic(name);
        return t && t->partitions.size() == 3 &&
               std::all_of(t->partitions.begin(), t->partitions.end(), [](const auto& p) { return p.leader_id >= 0; });
    }));
    const auto stored = *stored_topic(name);

    const auto described = adm.describe_topics({name}, 30s);
    REQUIRE(described.size() == 1);
    const auto& d = described[0];
    CHECK_FALSE(d.error);
    CHECK(d.name == name);
    CHECK_FALSE(d.internal);
    CHECK(d.id == stored.topic_id);
    REQUIRE(d.partitions.size() == 3);
    for (std::int32_t i = 0; i < 3; ++i) {
        const auto& p = d.partitions[static_cast<std::size_t>(i)];
        CHECK(p.partition == i);
        CHECK_FALSE(p.error);
        CHECK(p.replicas.size() == static_cast<std::size_t>(replication()));
        CHECK(std::find(p.replicas.begin(), p.replicas.end(), p.leader) != p.replicas.end());
        CHECK(std::find(p.isr.begin(), p.isr.end(), p.leader) != p.isr.end());
        for (const auto& sp : stored.partitions)
            if (sp.partition_index == i) {
                CHECK(p.leader == sp.leader_id);
                CHECK(p.replicas == sp.replica_nodes);
                CHECK(p.isr == sp.isr_nodes);
            }
    }

    const auto configs = adm.describe_topic_configs(name, 30s);
    auto find_config = [&](const std::string& key) -> const config_entry* {
        for (const auto& c : configs)
            if (c.name == key) return &c;
        return nullptr;
    };
    const config_entry* retention = find_config("retention.ms");
    REQUIRE(retention != nullptr);
    CHECK(retention->value == std::optional<std::string>("123456"));
    CHECK(retention->source == config_source::dynamic_topic);
    CHECK_FALSE(retention->is_default);
    const config_entry* cleanup = find_config("cleanup.policy");
    REQUIRE(cleanup != nullptr);
    CHECK(cleanup->value == std::optional<std::string>("delete"));
    CHECK(cleanup->is_default);
    CHECK(cleanup->source == config_source::default_config);

    const auto listed = adm.list_topics(30s);
    const auto in_list = std::find_if(listed.begin(), listed.end(), [&](const auto& t) { return t.name == name; });
    REQUIRE(in_list != listed.end());
    CHECK(in_list->partitions == 3);
    CHECK_FALSE(in_list->internal);
    CHECK(std::is_sorted(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.name < b.name; }));
    for (const auto& t : listed)
        if (t.name == "__consumer_offsets") CHECK(t.internal);

    // Again: the broker refuses, and says why.
    const auto again = adm.create_topics({new_topic{name, 3, replication(), {}}}, 30s);
    REQUIRE(again.size() == 1);
    CHECK(again[0].error == kafka_errc::topic_already_exists);
    CHECK_MESSAGE(again[0].error_message.find(name) != std::string::npos, again[0].error_message);
    CHECK(again[0].describe().find("TOPIC_ALREADY_EXISTS") != std::string::npos);

    const auto deleted = adm.delete_topics({name}, 30s);
    REQUIRE(deleted.size() == 1);
    CHECK_MESSAGE(!deleted[0].error, deleted[0].describe());
    CHECK(eventually([&] { return !stored_topic(name); }));
    const auto gone = adm.describe_topics({name}, 30s);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].error == kafka_errc::unknown_topic_or_partition);

    const auto deleted_again = adm.delete_topics({name}, 30s);
    REQUIRE(deleted_again.size() == 1);
    CHECK(deleted_again[0].error == kafka_errc::unknown_topic_or_partition);
}

TEST_CASE("admin: invalid topic settings come back as broker errors") {
    admin adm(admin_config());
    const std::string name = test::unique_topic("kwire-admin-invalid");
    const auto out = adm.create_topics({new_topic{name, 1, replication(), {{"retention.ms", "not-a-number"}}},
                                        new_topic{name + "-rf", 1, 100, {}}},
                                       30s);
    REQUIRE(out.size() == 2);
    CHECK(out[0].error == kafka_errc::invalid_config);
    CHECK(out[1].error == kafka_errc::invalid_replication_factor);
    CHECK_FALSE(out[1].error_message.empty());
    CHECK_FALSE(stored_topic(name));
}

TEST_CASE("admin: group members and committed offsets with end offsets and lag") {
    admin adm(admin_config());
    const std::string topic = create_test_topic(adm, "kwire-admin-lag", 3);
    const std::string group = test::unique_topic("kwire-admin-group");

    producer prod(test::producer_config());
    std::map<std::int32_t, std::int64_t> end;
    end[0] = produce_to(prod, topic, 0, 5);
    end[1] = produce_to(prod, topic, 1, 3);
    end[2] = 0;
    REQUIRE(end[0] == 5);
    REQUIRE(end[1] == 3);

    config cc = test::group_member_config(group, "kwire-admin-test-member");
    cc.set("partition.assignment.strategy", "range");
    consumer member(cc);
    REQUIRE(test::owns_whole_topic(member, topic, 3));
    const std::map<topic_partition, offset_and_metadata> commits{{{topic, 0}, {2, std::nullopt, "two"}},
                                                                 {{topic, 1}, {3, std::nullopt, ""}}};
    REQUIRE_FALSE(member.commit(commits, 20s));
    // What the broker stored.
    const auto stored = stored_offsets(group, topic, 3);
    REQUIRE(stored.at(0) == 2);
    REQUIRE(stored.at(1) == 3);
    REQUIRE(stored.at(2) == -1);

    SUBCASE("described with its member and assignment and listed") {
        const auto groups = adm.describe_groups({group}, 30s);
        REQUIRE(groups.size() == 1);
        const auto& g = groups[0];
        REQUIRE_MESSAGE(!g.error, g.error.message() << " " << g.error_message);
        CHECK(g.group_id == group);
        CHECK(g.state == "Stable");
        CHECK(g.protocol_type == "consumer");
        CHECK(g.protocol == "range");
        CHECK(g.coordinator >= 0);
        REQUIRE(g.members.size() == 1);
        const auto& m = g.members[0];
        CHECK(m.client_id == "kwire-admin-test-member");
        CHECK_FALSE(m.member_id.empty());
        CHECK_FALSE(m.client_host.empty());
        CHECK(m.subscribed_topics == std::vector<std::string>{topic});
        auto assigned = m.assignment;
        std::sort(assigned.begin(), assigned.end());
        CHECK(assigned == std::vector<topic_partition>{{topic, 0}, {topic, 1}, {topic, 2}});

        const auto listed = adm.list_groups(30s);
        const auto it = std::find_if(listed.begin(), listed.end(), [&](const auto& l) { return l.group_id == group; });
        REQUIRE(it != listed.end());
        CHECK(it->protocol_type == "consumer");
    }

    SUBCASE("offsets and end offsets and lag exactly") {
        auto rows = adm.list_group_offsets(group, 30s);
        REQUIRE(rows.size() == 3);  // two committed, and partition 2 owned without a commit
        const auto* p0 = row_of(rows, topic, 0);
        const auto* p1 = row_of(rows, topic, 1);
        const auto* p2 = row_of(rows, topic, 2);
        REQUIRE(p0);
        REQUIRE(p1);
        REQUIRE(p2);
        CHECK(p0->committed_offset == std::optional<std::int64_t>(2));
        CHECK(p0->metadata == "two");
        CHECK(p0->end_offset == std::optional<std::int64_t>(end[0]));
        CHECK(p0->lag == std::optional<std::int64_t>(3));
        CHECK(p1->committed_offset == std::optional<std::int64_t>(3));
        CHECK(p1->end_offset == std::optional<std::int64_t>(end[1]));
        CHECK(p1->lag == std::optional<std::int64_t>(0));
        CHECK_FALSE(p2->committed_offset);
        CHECK(p2->end_offset == std::optional<std::int64_t>(0));
        CHECK_FALSE(p2->lag);
        for (const auto* r : {p0, p1, p2}) {
            CHECK(r->client_id == "kwire-admin-test-member");
            CHECK_FALSE(r->member_id.empty());
        }

        // More records: the lag grows by exactly as many.
        end[1] = produce_to(prod, topic, 1, 4);
        REQUIRE(end[1] == 7);
        rows = adm.list_group_offsets(group, 30s);
        p1 = row_of(rows, topic, 1);
        REQUIRE(p1);
        CHECK(p1->end_offset == std::optional<std::int64_t>(7));
        CHECK(p1->lag == std::optional<std::int64_t>(4));

        // The member leaves: the group is Empty, its offsets stay. (Within
        // session.timeout.ms, should the LeaveGroup not be sent.)
        member.close(20s);
        std::vector<group_description> groups;
        CHECK(eventually([&] {
            groups = adm.describe_groups({group}, 30s);
            return groups.size() == 1 && groups[0].state == "Empty";
        }, 30s));
        REQUIRE(groups.size() == 1);
        CHECK(groups[0].members.empty());
        rows = adm.list_group_offsets(group, 30s);
        REQUIRE(rows.size() == 2);
        p0 = row_of(rows, topic, 0);
        REQUIRE(p0);
        CHECK(p0->lag == std::optional<std::int64_t>(3));
        CHECK(p0->member_id.empty());
    }
    member.close(20s);
    const auto cleanup = adm.delete_topics({topic}, 30s);
    CHECK_MESSAGE(!cleanup.at(0).error, cleanup.at(0).describe());
}

TEST_CASE("admin: unknown topics or groups and unreachable brokers fail clearly") {
    admin adm(admin_config());
    const std::string missing = test::unique_topic("kwire-admin-missing");

    const auto described = adm.describe_topics({missing}, 10s);
    REQUIRE(described.size() == 1);
    CHECK(described[0].error == kafka_errc::unknown_topic_or_partition);

    const auto no_configs = error_of("describe_topic_configs of a missing topic",
                                     [&] { (void)adm.describe_topic_configs(missing, 10s); });
    CHECK(no_configs.code() == kafka_errc::unknown_topic_or_partition);
    CHECK(std::string(no_configs.what()).find(missing) != std::string::npos);

    const std::string group = test::unique_topic("kwire-admin-no-group");
    const auto groups = adm.describe_groups({group}, 10s);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].error == kafka_errc::group_id_not_found);
    const auto no_group = error_of("list_group_offsets of a missing group",
                                   [&] { (void)adm.list_group_offsets(group, 10s); });
    CHECK(no_group.code() == kafka_errc::group_id_not_found);
    CHECK_MESSAGE(std::string(no_group.what()).find("does not exist") != std::string::npos, no_group.what());

    // Nothing listens on port 1: the call ends within its timeout, naming the broker.
    config nowhere;
    nowhere.set("bootstrap.servers", "127.0.0.1:1").set("socket.connection.setup.timeout.ms", "1000");
    admin unreachable(nowhere);
    const auto start = std::chrono::steady_clock::now();
    const auto no_broker = error_of("list_topics without a broker", [&] { (void)unreachable.list_topics(2s); });
    CHECK(no_broker.code().category() == net::net_category());
    CHECK_MESSAGE(std::string(no_broker.what()).find("127.0.0.1:1") != std::string::npos, no_broker.what());
    CHECK(std::chrono::steady_clock::now() - start < 6s);
}

TEST_CASE("admin: with the first bootstrap server unreachable the calls any broker answers go through the next one") {
    // bootstrap.servers is a list so that one server down does not stop a
    // client. Each call runs on a fresh client, which knows no broker yet.
    config cfg = admin_config();
    cfg.set("bootstrap.servers", "127.0.0.1:1," + test::broker_env("KWIRE_BOOTSTRAP"));  // nothing listens on port 1
    cfg.set("socket.connection.setup.timeout.ms", "1000");
    const std::string group = test::unique_topic("kwire-admin-boot-group");
    {
        admin adm(cfg);  // FindCoordinator
        const auto groups = adm.describe_groups({group}, 20s);
        REQUIRE(groups.size() == 1);
        CHECK(groups[0].error == kafka_errc::group_id_not_found);
    }
    {
        admin adm(cfg);  // DescribeConfigs
        const std::string missing = test::unique_topic("kwire-admin-boot-missing");
        const auto e = error_of("describe_topic_configs of a missing topic",
                                [&] { (void)adm.describe_topic_configs(missing, 20s); });
        CHECK_MESSAGE(e.code() == kafka_errc::unknown_topic_or_partition, e.what());
    }
    {
        admin adm(cfg);  // CreateTopics and DeleteTopics
        const std::string name = test::unique_topic("kwire-admin-boot-topic");
        const auto created = adm.create_topics({new_topic{name, 1, replication(), {}}}, 30s);
        REQUIRE(created.size() == 1);
        CHECK_MESSAGE(!created[0].error, created[0].describe());
        const auto deleted = adm.delete_topics({name}, 30s);
        REQUIRE(deleted.size() == 1);
        CHECK_MESSAGE(!deleted[0].error, deleted[0].describe());
    }
}
