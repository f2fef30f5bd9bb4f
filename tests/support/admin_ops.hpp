// Helpers for the tests of kwire::admin (test_admin.cpp) and of the admin
// commands, `kwire topic` and `kwire group` (test_cli_admin.cpp), against the
// real broker:
// - the replication factor the test broker (or cluster) allows;
// - waiting for the broker's state to change (topic creation and deletion
//   settle a moment after the call returns);
// - records produced to one partition, with the end offset the deliveries
//   report;
// - a group with one member that owns every partition of a topic.
#pragma once

#include "support/broker_env.hpp"
#include "support/test_options.hpp"

#include "kwire/config.hpp"
#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace kwire::test {

// KWIRE_BROKER_COUNT, at most 3.
inline int replication_factor() { return std::min(3, std::stoi(broker_env("KWIRE_BROKER_COUNT"))); }

// Whether `done` holds within `limit` (asked every 100 ms).
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

// Produces `n` records to one partition; returns the partition's end offset
// as the deliveries report it (last offset + 1).
inline std::int64_t produce_to(producer& p, const std::string& topic, std::int32_t partition, int n) {
    std::int64_t end = -1;
    for (int i = 0; i < n; ++i) {
        producer_record r;
        r.topic = topic;
        r.partition = partition;
        r.value = payload(std::string_view("record"));
        end = p.send_sync(r, std::chrono::seconds(20)).offset + 1;
    }
    return end;
}

// A consumer configuration for a member of `group` named `client_id` that
// commits by hand and starts at the beginning.
inline config group_member_config(const std::string& group, const std::string& client_id) {
    config c = client_config();
    c.set("group.id", group).set("client.id", client_id).set("enable.auto.commit", "false");
    c.set("session.timeout.ms", "10000").set("heartbeat.interval.ms", "1000").set("auto.offset.reset", "earliest");
    return c;
}

// Subscribes `member` to `topic` and polls until it owns its `partitions`
// partitions (false when that takes more than 30 s).
inline bool owns_whole_topic(consumer& member, const std::string& topic, std::size_t partitions) {
    member.subscribe({topic});
    return eventually(
        [&] {
            (void)member.poll(std::chrono::milliseconds(100));
            return member.assignment().size() == partitions;
        },
        std::chrono::seconds(30));
}

} // namespace kwire::test
