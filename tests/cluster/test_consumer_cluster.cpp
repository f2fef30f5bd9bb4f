// A consumer group across a coordinator failover on the 3-broker cluster:
// two kwire members (range, commit() after every poll) read a 6-partition
// topic (replication 3) that a producer keeps writing to. The group's
// coordinator (FindCoordinator through kwire's proto layer) is stopped
// (controlled shutdown) or killed (SIGKILL) during consumption. The group
// must recover: a commit succeeds again and records sent after the outage
// are read within 30 s; no committed progress is lost (the committed offsets
// after the failover and after the broker's restart are at least those
// before it); and every record sent before and during the outage is read.
#include "support/cluster_ops.hpp"
#include "support/group_ops.hpp"

#include "kwire/consumer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace kwire::test::groups;
using namespace std::chrono_literals;

namespace {

enum class outage { stop, kill };

std::string show_offsets(const std::map<std::int32_t, std::int64_t>& m) {
    std::string s;
    for (const auto& [p, o] : m) s += " " + std::to_string(p) + ":" + std::to_string(o);
    return s;
}

// KWIRE_BOOTSTRAP (one address per broker, in node id order) with broker
// `node`'s address last: for the consumers that read committed offsets
// while it is down (the group's own members keep the full list).
std::string bootstrap_last(std::int32_t node) {
    const std::string list = broker_env("KWIRE_BOOTSTRAP");
    std::vector<std::string> items;
    std::size_t at = 0;
    while (at <= list.size()) {
        const auto comma = std::min(list.find(',', at), list.size());
        items.push_back(list.substr(at, comma - at));
        at = comma + 1;
    }
    REQUIRE(node >= 1);
    REQUIRE(static_cast<std::size_t>(node) <= items.size());
    std::rotate(items.begin() + node - 1, items.begin() + node, items.end());
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

// The number in a record's value "<tag>-<n>".
std::int64_t sequence_of(const std::string& value) { return std::stoll(value.substr(value.rfind('-') + 1)); }

void coordinator_failover(outage how) {
    REQUIRE_MESSAGE(broker_count() == 3, "cluster tests need the 3-broker cluster (tools/broker up --brokers 3)");
    const int partitions = 6;
    const std::string prefix = how == outage::stop ? "kwire-group-coord-stop" : "kwire-group-coord-kill";
    auto [topic, group, log] = new_group_case(prefix, partitions, 3, {{"min.insync.replicas", "2"}});
    const std::vector<std::pair<std::string, std::string>> props = {{"partition.assignment.strategy", "range"},
                                                                    {"request.timeout.ms", "10000"},
                                                                    {"debug", "consumer"}};

    paced_producer prod(topic.name, partitions, "fo",
                        {{"enable.idempotence", "true"}, {"request.timeout.ms", "10000"}, {"delivery.timeout.ms", "120000"}});
    auto cfg = [&](const char* id) {
        auto c = group_config(group, props);
        c.set("client.id", id);
        return c;
    };
    test_member a(log, cfg("failover-a"), {.name = "a", .topic = topic.name});
    test_member b(log, cfg("failover-b"), {.name = "b", .topic = topic.name});
    a.start();
    b.start();
    prod.start(3, 50ms);
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 3); }, 30s),
                    "no 3/3 split:\n" << log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("a") > 0 && log->consumed_count("b") > 0; }, 15s));
    std::this_thread::sleep_for(1s);

    const auto coordinator = find_group_coordinator(group);
    INFO("group coordinator: broker " << coordinator.node);
    const auto before = committed_offsets(group, topic.name, partitions);
    INFO("committed before the outage:" << show_offsets(before));
    for (const auto& [p, off] : before) CHECK(off > 0);

    const std::string observer_bootstrap = bootstrap_last(coordinator.node);

    restart_on_exit restart(coordinator.node);
    const auto outage_began = steady::now();
    if (how == outage::stop) stop_node(coordinator.node);  // returns once the process is gone
    else kill_node(coordinator.node);
    const auto down_at = steady::now();
    const std::int64_t sent_at_outage = static_cast<std::int64_t>(prod.sent());

    // The group recovers: commits succeed again, and records sent after the
    // outage are read.
    std::optional<steady::time_point> commit_ok_at, read_new_at;
    const bool recovered = wait_until(
        [&] {
            if (!commit_ok_at)
                for (const auto& c : log->commits())
                    if (!c.ec && c.at > down_at && !c.offsets.empty()) {
                        commit_ok_at = c.at;
                        break;
                    }
            if (!read_new_at)
                for (const auto& r : log->records())
                    if (r.at > down_at && sequence_of(r.value) >= sent_at_outage) {
                        read_new_at = r.at;
                        break;
                    }
            return commit_ok_at && read_new_at;
        },
        30s);
    auto ms = [&](const std::optional<steady::time_point>& t) {
        return t ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*t - down_at).count()) + " ms"
                 : std::string("never");
    };
    MESSAGE("broker " << coordinator.node << " (the coordinator) "
                      << std::string(how == outage::stop ? "stopped" : "killed") << "; its process gone after "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(down_at - outage_began).count()
                      << " ms; from then, first successful commit after " << ms(commit_ok_at)
                      << ", first record sent after the outage read after " << ms(read_new_at));
    std::string failed_commits;
    for (const auto& c : log->commits())
        if (c.ec && c.at > down_at) failed_commits += "  " + c.member + ": " + c.ec.message() + "\n";
    CHECK_MESSAGE(recovered, "the group did not recover within 30 s; commit failures since the outage:\n"
                                 << failed_commits << "a's log:\n"
                                 << a.logs().all());
    const auto moved = find_group_coordinator(group);
    CHECK(moved.node != coordinator.node);
    const auto after_failover = committed_offsets(group, topic.name, partitions, observer_bootstrap);
    for (std::int32_t p = 0; p < partitions; ++p) {
        CAPTURE(p);
        CHECK(after_failover.at(p) >= before.at(p));
    }

    start_node(coordinator.node);
    restart.done();
    std::this_thread::sleep_for(1s);
    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE_MESSAGE(wait_until([&] { return log->distinct_consumed() >= sent.size(); }, 30s),
                    log->distinct_consumed() << " of " << sent.size() << " records read");
    // Every member's last batch committed.
    REQUIRE(wait_until(
        [&] {
            std::map<std::int32_t, std::int64_t> best;
            for (const auto& c : log->commits())
                if (!c.ec)
                    for (const auto& [p, off] : c.offsets) best[p] = std::max(best[p], off);
            for (std::int32_t p = 0; p < partitions; ++p)
                if (best[p] < end[static_cast<std::size_t>(p)]) return false;
            return true;
        },
        20s));
    const auto after_restart = committed_offsets(group, topic.name, partitions);
    for (std::int32_t p = 0; p < partitions; ++p) {
        CAPTURE(p);
        CHECK(after_restart.at(p) >= after_failover.at(p));
        CHECK(after_restart.at(p) == end[static_cast<std::size_t>(p)]);
    }
    a.close();
    b.close();
    const auto duplicates = require_all_consumed(sent, *log);
    MESSAGE(sent.size() << " records sent, " << duplicates << " read more than once");
    for (const auto& e : log->events()) CHECK(e.on_poll_thread);
}

} // namespace

TEST_CASE("consumer group cluster: the group coordinator stops during consumption") {
    coordinator_failover(outage::stop);
}

TEST_CASE("consumer group cluster: the group coordinator is killed during consumption") {
    coordinator_failover(outage::kill);
}
