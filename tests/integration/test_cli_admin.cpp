// `kwire topic` and `kwire group` against the real broker. What the commands
// do is checked through kwire's proto layer (Metadata, DescribeConfigs), a
// producer's deliveries (end offsets) and kwire::admin (committed offsets,
// checked against OffsetFetch in test_admin.cpp):
// - topic create with --partitions, --replication-factor and --config: the
//   broker stores 3 partitions and the config; again: TOPIC_ALREADY_EXISTS
//   and exit 1; describe (table and --json) and list show it; delete removes
//   it; describe then fails with exit 1;
// - group offsets: committed offsets, end offsets and lag exactly as
//   committed by a consumer and produced; group describe while a consumer is
//   a member shows it with its assignment; group list lists the group;
// - an unknown group fails with exit 1 and a clear message; --help works.
#include "support/admin_ops.hpp"
#include "support/broker_ops.hpp"
#include "support/cli_ops.hpp"
#include "support/producer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/admin.hpp"
#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/describe_configs.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace std::chrono_literals;

namespace {

using test::eventually;
using test::kwire_cli;
using test::produce_to;

std::string admin_cmd(const std::string& command, const std::string& rest) { return test::cli_command(command, rest); }

std::string replication() { return std::to_string(test::replication_factor()); }

// Partitions of the topic with a leader as Metadata shows them (-1: not listed).
int stored_partitions(const std::string& name) {
    const auto [host, port] = test::first_address(test::broker_env("KWIRE_BOOTSTRAP"));
    const auto md = test::fetch_metadata(host, port);
    REQUIRE_MESSAGE(!md.ec, md.failure);
    for (const auto& t : md.metadata.topics) {
        if (t.name != name || t.error_code != 0) continue;
        int led = 0;
        for (const auto& p : t.partitions) led += p.leader_id >= 0 ? 1 : 0;
        return static_cast<int>(t.partitions.size()) == led ? led : 0;
    }
    return -1;
}

// A topic config as the broker stores it (DescribeConfigs through the proto layer).
std::optional<std::string> stored_config(const std::string& topic, const std::string& key) {
    return test::run_async<std::optional<std::string>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::optional<std::string>> {
            auto s = co_await test::open_bootstrap(ex);
            REQUIRE_MESSAGE(s, s.failure);
            using request_t = proto::describe_configs_request;
            request_t req;
            request_t::describe_configs_resource res;
            res.resource_type = 2;  // a topic
            res.resource_name = topic;
            res.configuration_keys = std::vector<std::string>{key};
            req.resources.push_back(res);
            auto [ec, resp] = co_await s.conn->async_send(req, s.version<request_t>(), test::no_throw);
            REQUIRE_MESSAGE(!ec, s.conn->failure());
            s.conn->close();
            REQUIRE(resp.results.size() == 1);
            REQUIRE(resp.results[0].error_code == 0);
            for (const auto& c : resp.results[0].configs)
                if (c.name == key) co_return c.value;
            co_return std::nullopt;
        });
}

// Lines split into whitespace-separated cells.
std::vector<std::vector<std::string>> table_of(const std::string& output) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream cells(line);
        std::vector<std::string> row;
        std::string cell;
        while (cells >> cell) row.push_back(cell);
        if (!row.empty()) rows.push_back(std::move(row));
    }
    return rows;
}

const std::vector<std::string>* row_starting(const std::vector<std::vector<std::string>>& rows,
                                             const std::vector<std::string>& prefix) {
    for (const auto& r : rows)
        if (r.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), r.begin())) return &r;
    return nullptr;
}

std::string create_topic_cli(const std::string& prefix, int partitions) {
    const std::string name = test::unique_topic(prefix);
    const auto r = test::run_command(admin_cmd("topic", "create -t " + name + " --partitions " +
                                                            std::to_string(partitions) + " --replication-factor " +
                                                            replication()));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    REQUIRE(eventually([&] { return stored_partitions(name) == partitions; }));
    return name;
}

} // namespace

TEST_CASE("cli admin: topic create and describe and list and delete") {
    const std::string name = test::unique_topic("kwire-cli-topic");
    auto r = test::run_command(admin_cmd("topic", "create -t " + name + " --partitions 3 --replication-factor " +
                                                      replication() + " --config retention.ms=123456"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("Created topic " + name) != std::string::npos);
    REQUIRE(eventually([&] { return stored_partitions(name) == 3; }));
    CHECK(stored_config(name, "retention.ms") == std::optional<std::string>("123456"));

    r = test::run_command(admin_cmd("topic", "create " + name + " --partitions 3"));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("TOPIC_ALREADY_EXISTS") != std::string::npos, r.output);
    CHECK_MESSAGE(r.output.find("'" + name + "' already exists") != std::string::npos, r.output);

    r = test::run_command(admin_cmd("topic", "describe " + name));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto rows = table_of(r.output);
    for (int p = 0; p < 3; ++p) {
        const auto* row = row_starting(rows, {std::to_string(p)});
        REQUIRE_MESSAGE(row, r.output);
        REQUIRE(row->size() >= 4);  // partition, leader, replicas, isr
        CHECK((*row)[1] != "none");
        CHECK((*row)[2].find((*row)[1]) != std::string::npos);  // the leader is a replica
    }
    const auto* retention = row_starting(rows, {"retention.ms"});
    REQUIRE_MESSAGE(retention, r.output);
    CHECK((*retention)[1] == "123456");
    CHECK((*retention)[2] == "DYNAMIC_TOPIC_CONFIG");

    r = test::run_command(admin_cmd("topic", "describe -t " + name + " --json"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("{\"topics\":[{\"name\":\"" + name + "\"") == 0);
    CHECK(r.output.find("{\"partition\":2,\"leader\":") != std::string::npos);
    CHECK_MESSAGE(r.output.find("{\"name\":\"retention.ms\",\"value\":\"123456\",\"source\":\"DYNAMIC_TOPIC_CONFIG\","
                                "\"default\":false") != std::string::npos,
                  r.output);

    r = test::run_command(admin_cmd("topic", "list"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto* listed = row_starting(table_of(r.output), {name, "3"});
    CHECK_MESSAGE(listed, r.output);
    r = test::run_command(admin_cmd("topic", "list --json"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("{\"name\":\"" + name + "\",\"topic_id\":") != std::string::npos);

    r = test::run_command(admin_cmd("topic", "delete -t " + name));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(eventually([&] { return stored_partitions(name) == -1; }));

    r = test::run_command(admin_cmd("topic", "describe " + name));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("'" + name + "' does not exist") != std::string::npos, r.output);
    r = test::run_command(admin_cmd("topic", "delete " + name));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("UNKNOWN_TOPIC_OR_PARTITION") != std::string::npos, r.output);
}

TEST_CASE("cli admin: group describe and offsets show members and committed offsets with end offsets and lag") {
    const std::string topic = create_topic_cli("kwire-cli-lag", 3);
    const std::string group = test::unique_topic("kwire-cli-group");
    producer prod(test::producer_config());
    REQUIRE(produce_to(prod, topic, 0, 6) == 6);
    REQUIRE(produce_to(prod, topic, 1, 2) == 2);

    const config cc = test::group_member_config(group, "kwire-cli-test-member");
    consumer member(cc);
    REQUIRE(test::owns_whole_topic(member, topic, 3));
    const std::map<topic_partition, offset_and_metadata> commits{{{topic, 0}, {1, std::nullopt, ""}},
                                                                 {{topic, 1}, {2, std::nullopt, ""}}};
    REQUIRE_FALSE(member.commit(commits, 20s));
    // Stored (kwire::admin reads committed offsets as test_admin.cpp checks).
    const auto stored = admin(cc).list_group_offsets(group, 20s);
    REQUIRE(stored.size() == 3);
    REQUIRE(stored[0].committed_offset == std::optional<std::int64_t>(1));
    REQUIRE(stored[1].committed_offset == std::optional<std::int64_t>(2));

    auto r = test::run_command(admin_cmd("group", "describe -g " + group));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("State: Stable") != std::string::npos);
    CHECK(r.output.find("Protocol type: consumer") != std::string::npos);
    CHECK(r.output.find("Members: 1") != std::string::npos);
    bool found_member = false;
    for (const auto& row : table_of(r.output))
        if (row.size() >= 5 && row[2] == "kwire-cli-test-member") {
            found_member = true;
            CHECK(row[4] == topic + ":0,1,2");
        }
    CHECK_MESSAGE(found_member, r.output);

    r = test::run_command(admin_cmd("group", "describe " + group + " --json"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output.find("\"client_id\":\"kwire-cli-test-member\"") != std::string::npos);
    CHECK_MESSAGE(r.output.find("\"assignment\":[{\"topic\":\"" + topic + "\",\"partition\":0},{\"topic\":\"" + topic +
                                "\",\"partition\":1},{\"topic\":\"" + topic + "\",\"partition\":2}]") !=
                      std::string::npos,
                  r.output);

    r = test::run_command(admin_cmd("group", "list"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(row_starting(table_of(r.output), {group, "consumer"}), r.output);

    r = test::run_command(admin_cmd("group", "offsets " + group));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto rows = table_of(r.output);
    // TOPIC PARTITION COMMITTED END LAG MEMBER-ID CLIENT-ID HOST
    const auto* p0 = row_starting(rows, {topic, "0"});
    const auto* p1 = row_starting(rows, {topic, "1"});
    const auto* p2 = row_starting(rows, {topic, "2"});
    REQUIRE_MESSAGE(p0, r.output);
    REQUIRE_MESSAGE(p1, r.output);
    REQUIRE_MESSAGE(p2, r.output);
    CHECK(std::vector<std::string>(p0->begin() + 2, p0->begin() + 5) == std::vector<std::string>{"1", "6", "5"});
    CHECK(std::vector<std::string>(p1->begin() + 2, p1->begin() + 5) == std::vector<std::string>{"2", "2", "0"});
    CHECK(std::vector<std::string>(p2->begin() + 2, p2->begin() + 5) == std::vector<std::string>{"-", "0", "-"});
    CHECK((*p0)[6] == "kwire-cli-test-member");

    // More records: the lag grows by as many; --json says the same.
    REQUIRE(produce_to(prod, topic, 1, 3) == 5);
    r = test::run_command(admin_cmd("group", "offsets -g " + group + " --json"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(r.output.find("{\"topic\":\"" + topic + "\",\"partition\":0,\"committed_offset\":1,\"end_offset\":6,"
                                "\"lag\":5,") != std::string::npos,
                  r.output);
    CHECK_MESSAGE(r.output.find("{\"topic\":\"" + topic + "\",\"partition\":1,\"committed_offset\":2,\"end_offset\":5,"
                                "\"lag\":3,") != std::string::npos,
                  r.output);
    CHECK_MESSAGE(r.output.find("{\"topic\":\"" + topic + "\",\"partition\":2,\"committed_offset\":null,"
                                "\"end_offset\":0,\"lag\":null,") != std::string::npos,
                  r.output);
    member.close(20s);
    r = test::run_command(admin_cmd("topic", "delete " + topic));
    CHECK_MESSAGE(r.exit_code == 0, r.output);
}

TEST_CASE("cli admin: unknown groups fail clearly and help and bad usage work") {
    const std::string group = test::unique_topic("kwire-cli-no-group");
    auto r = test::run_command(admin_cmd("group", "offsets -g " + group));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("group '" + group + "' does not exist") != std::string::npos, r.output);
    CHECK_MESSAGE(r.output.find("GROUP_ID_NOT_FOUND") != std::string::npos, r.output);
    r = test::run_command(admin_cmd("group", "describe " + group));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("GROUP_ID_NOT_FOUND") != std::string::npos, r.output);

    r = test::run_command(kwire_cli + " topic --help");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("usage: kwire topic create") != std::string::npos);
    r = test::run_command(kwire_cli + " group describe --help");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("usage: kwire group list") != std::string::npos);
    r = test::run_command(admin_cmd("topic", "create"));
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find("needs a topic") != std::string::npos, r.output);
    r = test::run_command(admin_cmd("group", "frobnicate"));
    CHECK(r.exit_code == 2);
}
