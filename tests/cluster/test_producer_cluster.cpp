// The idempotent producer across a leader failover on the 3-broker cluster:
// while it sends numbered records, the leader of partition 0 is stopped
// (controlled shutdown) or killed (SIGKILL) and started again. Afterwards
// every partition is read back with kwire's proto layer: each number exactly
// once, in send order within its partition, at the offset its delivery report
// gave — and every delivery reported, none lost silently.
#include "support/cluster_ops.hpp"
#include "support/producer_ops.hpp"

#include "kwire/partitioner.hpp"
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

enum class outage { stop, kill };

void failover_run(outage how) {
    REQUIRE_MESSAGE(broker_count() == 3, "cluster tests need the 3-broker cluster (tools/broker up --brokers 3)");
    const int partitions = 6;
    const std::size_t n = 20000;
    auto topic = make_topic(how == outage::stop ? "kwire-prod-failover-stop" : "kwire-prod-failover-kill", partitions,
                            3, {{"min.insync.replicas", "2"}});
    const auto leaders_before = current_leaders(topic, partitions);
    const std::int32_t victim = leaders_before[0];
    INFO("partition 0 led by broker " << victim);

    auto log = delivery_log::make(n);
    auto p = std::make_unique<producer>(producer_config({{"enable.idempotence", "true"},
                                                         {"acks", "all"},
                                                         {"linger.ms", "5"},
                                                         {"request.timeout.ms", "10000"},
                                                         {"delivery.timeout.ms", "120000"}}));
    auto key_of = [](std::size_t i) { return "key-" + std::to_string(i % 97); };
    auto value_of = [](std::size_t i) { return std::to_string(i); };

    // Sends from another thread, paced over ~8 s, so that sending goes on
    // through the outage.
    std::atomic<std::size_t> sent{0};
    std::jthread sender([&] {  // joined before the producer goes, even on a failed REQUIRE
        for (std::size_t i = 0; i < n; ++i) {
            producer_record r;
            r.topic = topic.name;
            r.key = payload(key_of(i));
            r.value = payload(value_of(i));
            p->send(std::move(r), log->handler(i));
            sent = i + 1;
            if (i % 100 == 99) std::this_thread::sleep_for(40ms);
        }
    });

    restart_on_exit restart(victim);
    std::this_thread::sleep_for(1500ms);
    const std::size_t sent_at_outage = sent;
    const std::size_t done_at_outage = log->completed();
    if (how == outage::stop) {
        stop_node(victim);
        // A controlled shutdown hands partition 0's leadership to another replica.
        CHECK(current_leaders(topic, partitions)[0] != victim);
    } else {
        kill_node(victim);
    }
    std::this_thread::sleep_for(3s);
    const std::size_t sent_during = sent;
    start_node(victim);
    restart.done();
    sender.join();
    MESSAGE("records sent when broker " << victim << " went down: " << sent_at_outage << " (" << done_at_outage
                                        << " delivered); by its restart: " << sent_during);
    CHECK(sent_at_outage < n);     // the outage began while records were being sent
    CHECK(sent_during > sent_at_outage);

    const auto flushed = p->flush(90s);
    CHECK_MESSAGE(!flushed, flushed.message());
    CHECK(p->pending() == 0);
    p.reset();
    REQUIRE(log->wait_all(5s));

    // Every record reported once; none failed (delivery.timeout.ms is generous).
    const auto reports = log->snapshot();
    std::size_t delivered = 0, failed = 0;
    std::map<std::string, std::size_t> errors;
    for (const auto& d : reports) {
        CHECK(d.calls == 1);
        if (d.ec) {
            ++failed;
            ++errors[std::string(d.ec.category().name()) + ": " + d.ec.message()];
        } else {
            ++delivered;
        }
    }
    for (const auto& [what, count] : errors) MESSAGE(count << " records failed with " << what);
    CHECK(delivered + failed == n);  // nothing lost silently
    CHECK(failed == 0);

    // What the cluster stored.
    const auto stored = read_topic(topic, partitions, n, 30s);
    std::vector<int> seen(n, 0);
    std::size_t misplaced = 0, out_of_order = 0, wrong_offset = 0;
    for (const auto& part : stored) {
        long previous = -1;
        for (const auto& r : part.records) {
            REQUIRE(r.value.has_value());
            const long i = std::stol(*r.value);
            REQUIRE(i >= 0);
            REQUIRE(static_cast<std::size_t>(i) < n);
            ++seen[static_cast<std::size_t>(i)];
            if (i <= previous) ++out_of_order;
            previous = i;
            const auto& d = reports[static_cast<std::size_t>(i)];
            if (r.key != key_of(static_cast<std::size_t>(i)) ||
                r.partition != murmur2_partition(as_bytes_of(*r.key), partitions))
                ++misplaced;
            if (!d.ec && (d.partition != r.partition || d.offset != r.offset)) ++wrong_offset;
        }
    }
    std::size_t missing = 0, duplicated = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (seen[i] == 0) ++missing;
        if (seen[i] > 1) ++duplicated;
    }
    CHECK(missing == failed);  // failed records may be absent, delivered ones must not
    CHECK(duplicated == 0);    // idempotence: retries across the failover wrote nothing twice
    CHECK(out_of_order == 0);  // send order kept per partition
    CHECK(misplaced == 0);
    CHECK(wrong_offset == 0);  // delivery reports name where the record is
    CHECK(total_records(stored) == n - missing);

    // Stored batches carry one producer id.
    std::set<std::int64_t> producer_ids;
    for (const auto& part : stored)
        for (const auto& b : part.batches) producer_ids.insert(b.producer_id);
    CHECK(producer_ids.size() == 1);
    CHECK(*producer_ids.begin() >= 0);
}

} // namespace

TEST_CASE("cluster producer: idempotent sends through a leader's controlled shutdown and restart: every record "
          "exactly once, in order") {
    failover_run(outage::stop);
}

TEST_CASE("cluster producer: idempotent sends through a leader's crash (SIGKILL) and restart: every record exactly "
          "once, in order") {
    failover_run(outage::kill);
}
