// kwire::consumer in consumer groups (subscribe) against the real broker.
// Every member polls on a thread of its own and commits with commit() after
// each poll that returned records (tests/support/group_ops.hpp); the tests
// check what the group hands out, what the rebalance callbacks see, and that
// the records sent are all read and the committed offsets never skip one:
// - three members split six partitions (range: two each); a closed member's
//   partitions go to the others at once, a crashed member's to the survivor
//   after session.timeout.ms; every record read, committed offsets at the end;
// - cooperative-sticky: a joining member takes only what moves, the first
//   keeps the rest throughout (on_revoked only for what moves, never on_lost);
// - callbacks run on the polling thread, with the partitions the coordinator
//   holds for the member (DescribeGroups), position() usable inside them;
// - a poll loop slower than max.poll.interval.ms: the member leaves, the
//   partitions go to the other member, the late commit fails, the next poll
//   runs on_lost, rejoins and consumption goes on;
// - static membership (group.instance.id): a member restarted within
//   session.timeout.ms gets its partitions back, the other member sees no
//   rebalance;
// - commits during a rebalance: commit() after a batch or inside on_revoked
//   stores the batch's positions or fails with a rebalance error; a member
//   dropped from the group (a "zombie") cannot commit for partitions that
//   moved on.
//
// A crash is simulated with test_member::freeze(): the consumer runs on an
// io_context of the test's, which is stopped dead together with polling, so
// the broker gets no heartbeat, no LeaveGroup and no commit from it any
// more, exactly what it sees of a killed process (a classic-protocol
// coordinator notices a crash only by the session timing out; a closed TCP
// connection changes nothing). Stopping to poll would not do: kwire's
// heartbeats run in the background and, after max.poll.interval.ms, it
// leaves the group by itself (that case has its own test).
#include "support/group_ops.hpp"

#include "kwire/consumer.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/join_group.hpp"

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

using proto::kafka_errc;

// The errors a commit may end with while the group rebalances.
bool is_rebalance_error(const std::error_code& ec) {
    // partitions_lost: kwire refuses it itself, as Java's CommitFailedException.
    return ec == kafka_errc::rebalance_in_progress || ec == kafka_errc::illegal_generation ||
           ec == kafka_errc::unknown_member_id || ec == make_error_code(client_errc::partitions_lost);
}

void check_callbacks_on_poll_threads(const group_log& log) {
    for (const auto& e : log.events())
        CHECK_MESSAGE(e.on_poll_thread, e.member << "'s on_" << to_string(e.kind) << show(e.partitions)
                                                 << " ran on another thread than the one calling poll()");
}

void check_commit_errors(const group_log& log) {
    for (const auto& c : log.commits())
        CHECK_MESSAGE((!c.ec || is_rebalance_error(c.ec)),
                      c.member << "'s commit() failed with an error other than a rebalance error: " << c.ec.message());
}

std::string owners(const std::vector<test_member*>& members) {
    std::string s;
    for (auto* m : members) s += " " + m->name() + "=" + show(m->owned());
    return s;
}

// The group's committed offsets equal the end of every partition.
void check_committed_to_end(const std::string& group, const std::string& topic, const std::vector<std::int64_t>& end) {
    const auto committed = committed_offsets(group, topic, static_cast<int>(end.size()));
    for (std::size_t p = 0; p < end.size(); ++p) {
        CAPTURE(p);
        CHECK(committed.at(static_cast<std::int32_t>(p)) == end[p]);
    }
}

// Offsets `member` consumed of partition `p`, in the order consumed.
std::vector<std::int64_t> offsets_read(const group_log& log, const std::string& member, std::int32_t p) {
    std::vector<std::int64_t> out;
    for (const auto& r : log.records())
        if (r.member == member && r.partition == p) out.push_back(r.offset);
    return out;
}

config member_config(const std::string& group, const std::string& client_id,
                     std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("client.id", client_id);
    return group_config(group, std::move(extra));
}

// a spends 300 ms on each batch before commit(), and commits in on_revoked
// too (Java's pattern); b joins meanwhile. Whatever a's commits returned, b
// must start each partition it takes where a's last successful commit put
// it: a commit that reported success stored what a had read; one that failed
// said so. With cooperative-sticky, b must also get a partition only after
// a's on_revoked gave it up.
void commit_during_rebalance(const std::string& strategy) {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-commit-rebalance", partitions);
    const auto props = assignment_strategy(strategy);

    paced_producer prod(topic.name, partitions, "cr");
    test_member a(log, member_config(group, "cr-a", props),
                  {.name = "a", .topic = topic.name, .commit_in_on_revoked = true, .processing = 300ms});
    test_member b(log, member_config(group, "cr-b", props), {.name = "b", .topic = topic.name});
    a.start();
    REQUIRE(wait_until([&] { return a.owned().size() == 4u; }, 20s));
    prod.start(2, 50ms);
    REQUIRE(wait_until([&] { return log->consumed_count("a") >= 20; }, 15s));
    b.start();
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 2); }, 20s),
                    "no 2/2 split:" << owners({&a, &b}) << "\n" << log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("b") > 0; }, 10s));
    std::this_thread::sleep_for(500ms);
    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE(wait_until([&] { return log->distinct_consumed() >= sent.size(); }, 20s));
    std::this_thread::sleep_for(1s);  // the last commits
    const auto moved = b.owned();  // (a's close hands b the rest)
    a.leave();
    b.close();
    INFO(log->describe());

    check_commit_errors(*log);
    const auto commits = log->commits();
    std::size_t failed = 0;
    for (const auto& c : commits) failed += c.ec ? 1 : 0;
    MESSAGE(commits.size() << " commits, " << failed << " failed");
    for (auto p : moved) {
        CAPTURE(p);
        // When a gave p up: its on_revoked (or on_lost, which an orderly
        // rebalance never calls).
        std::optional<steady::time_point> revoked_at;
        for (const auto& e : log->events_of("a")) {
            if (e.kind == callback_kind::assigned || !std::count(e.partitions.begin(), e.partitions.end(), p)) continue;
            CHECK_MESSAGE(e.kind == callback_kind::revoked, "a's on_lost ran for " << show(e.partitions));
            revoked_at = e.at;
        }
        REQUIRE_MESSAGE(revoked_at.has_value(), "b got partition " << p << " that a never gave up");
        std::int64_t a_last = -1;
        for (const auto& r : log->records())
            if (r.member == "a" && r.partition == p && r.at <= *revoked_at) a_last = std::max(a_last, r.offset);
        // a's last commit meant to store p (after a batch, or in on_revoked),
        // and the furthest one that reported success.
        std::optional<commit_event> last_commit, best_ok;
        for (const auto& c : commits) {
            if (c.member != "a" || !c.offsets.count(p)) continue;
            last_commit = c;
            if (!c.ec && (!best_ok || c.offsets.at(p) > best_ok->offsets.at(p))) best_ok = c;
        }
        const auto b_read = offsets_read(*log, "b", p);
        REQUIRE(!b_read.empty());
        const std::int64_t b_first = *std::min_element(b_read.begin(), b_read.end());
        auto where = [](const std::optional<commit_event>& c) {
            return std::string(!c ? "none" : c->in_callback ? "in on_revoked" : "after a batch");
        };
        MESSAGE("partition " << p << ": a read up to " << a_last << "; a's last commit of it (" << where(last_commit)
                             << ") meant " << (last_commit ? last_commit->offsets.at(p) : -1) << " and returned '"
                             << (last_commit ? last_commit->ec.message() : std::string("-"))
                             << "'; the furthest successful one (" << where(best_ok) << ") meant "
                             << (best_ok ? best_ok->offsets.at(p) : -1) << "; b started at " << b_first);
        CHECK_MESSAGE(b_first <= a_last + 1, "b started " << p << " at " << b_first << ", after a's last record "
                                                          << a_last << ": records skipped");
        if (best_ok)
            CHECK_MESSAGE(b_first >= best_ok->offsets.at(p),
                          "a's commit() " << where(best_ok) << " returned success for position "
                                          << best_ok->offsets.at(p) << " of partition " << p << ", but b started at "
                                          << b_first << ": the commit did not store it (records " << b_first << ".."
                                          << best_ok->offsets.at(p) - 1 << " are read twice)");
    }
    require_all_consumed(sent, *log);
    check_committed_to_end(group, topic.name, end);
    check_callbacks_on_poll_threads(*log);
    for (const auto& v : log->violations()) CHECK_MESSAGE(false, v);
}

} // namespace

TEST_CASE("consumer group: three members share six partitions — a closed and a crashed member's partitions are "
          "taken over — every record read, none committed unread") {
    const int partitions = 6;
    auto [topic, group, log] = new_group_case("kwire-group-churn", partitions);
    const auto range = assignment_strategy("range");

    paced_producer prod(topic.name, partitions, "churn");
    prod.send_now(60);  // waiting before anyone joins

    test_member a(log, member_config(group, "churn-a", range), {.name = "a", .topic = topic.name});
    test_member b(log, member_config(group, "churn-b", range), {.name = "b", .topic = topic.name});
    test_member c(log, member_config(group, "churn-c", range), {.name = "c", .topic = topic.name, .freezable = true});
    a.start();
    b.start();
    c.start();
    prod.start(3, 50ms);  // ~60 records/s through all of the churn

    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b, &c}, partitions, 2); }, 30s),
                    "no 2/2/2 split within 30 s:" << owners({&a, &b, &c}) << "\n" << log->describe());
    CHECK(a.assignment() == a.owned());
    CHECK(b.assignment() == b.owned());
    CHECK(c.assignment() == c.owned());
    // Each reads its own partitions.
    REQUIRE(wait_until([&] { return log->consumed_count("a") > 0 && log->consumed_count("b") > 0 &&
                                    log->consumed_count("c") > 0; },
                       15s));

    // b closes (an orderly leave): a and c take its partitions over at once.
    auto t0 = steady::now();
    b.leave();
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &c}, partitions, 3); }, 20s),
                    "b's partitions not taken over within 20 s of its close():" << owners({&a, &c}) << "\n"
                                                                                << log->describe());
    const auto after_close = steady::now() - t0;
    MESSAGE("after b's close the others had 3 each in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(after_close).count() << " ms");
    CHECK(after_close < 6s);  // a LeaveGroup, not a session timeout

    // c crashes: a takes everything over once c's session (6 s) expires.
    REQUIRE(wait_until([&] { return log->consumed_count("c") > 0; }, 10s));
    const auto c_had = c.owned();
    t0 = steady::now();
    c.freeze();
    log->forget("c");
    REQUIRE_MESSAGE(wait_until([&] { return a.owned().size() == static_cast<std::size_t>(partitions); }, 25s),
                    "a did not take c's partitions " << show(c_had) << " over within 25 s of the crash:"
                                                     << owners({&a}) << "\n"
                                                     << log->describe());
    const auto after_crash = steady::now() - t0;
    MESSAGE("after c's crash a had all 6 in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(after_crash).count() << " ms");
    // Only the session timing out tells the group (c's last heartbeat was at
    // most heartbeat.interval.ms before the crash).
    CHECK(after_crash >= 4s);
    CHECK(a.assignment() == a.owned());
    c.close();  // its late LeaveGroup / heartbeats meet an unknown member

    // a reads on, to the end.
    std::this_thread::sleep_for(1s);
    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE_MESSAGE(wait_until([&] { return drained_and_committed(*log, "a", end); }, 20s),
                    "a did not read and commit every partition to its end");
    a.close();

    const std::size_t duplicates = require_all_consumed(sent, *log);
    MESSAGE(sent.size() << " records sent, " << log->records().size() << " read, " << duplicates
                        << " of them more than once");
    check_committed_to_end(group, topic.name, end);
    check_callbacks_on_poll_threads(*log);
    check_commit_errors(*log);
    CHECK(a.poll_errors().empty());
}

TEST_CASE("consumer group: cooperative-sticky — a joining member takes only what moves, the first keeps the rest") {
    const int partitions = 6;
    auto [topic, group, log] = new_group_case("kwire-group-coop", partitions);
    const auto coop = assignment_strategy("cooperative-sticky");

    paced_producer prod(topic.name, partitions, "coop");
    test_member a(log, member_config(group, "coop-a", coop), {.name = "a", .topic = topic.name});
    test_member b(log, member_config(group, "coop-b", coop), {.name = "b", .topic = topic.name});
    a.start();
    REQUIRE_MESSAGE(wait_until([&] { return a.owned().size() == static_cast<std::size_t>(partitions); }, 20s),
                    "a alone did not get all 6 partitions:\n" << log->describe());
    prod.start(3, 50ms);
    REQUIRE(wait_until([&] { return log->consumed_count("a") >= 30; }, 15s));

    const std::size_t a_events_before = log->events_of("a").size();
    b.start();
    // While the group rebalances, a's assignment() is sampled: what a keeps
    // must be in every sample.
    std::vector<std::vector<std::int32_t>> samples;
    const bool split = wait_until(
        [&] {
            samples.push_back(a.assignment());
            return split_evenly({&a, &b}, partitions, 3);
        },
        25s);
    REQUIRE_MESSAGE(split, "no 3/3 split within 25 s:" << owners({&a, &b}) << "\n" << log->describe());
    const auto kept = a.owned();
    const auto moved = b.owned();
    INFO("a kept " << show(kept) << ", b got " << show(moved) << "\n" << log->describe());

    // a: on_revoked exactly once, exactly for what moved; nothing lost, nothing new.
    const auto a_events = log->events_of("a");
    std::vector<callback_event> a_after(a_events.begin() + static_cast<std::ptrdiff_t>(a_events_before), a_events.end());
    std::vector<std::int32_t> revoked;
    for (const auto& e : a_after) {
        CHECK_MESSAGE(e.kind != callback_kind::lost, "a's on_lost ran for " << show(e.partitions));
        CHECK_MESSAGE((e.kind != callback_kind::assigned || e.partitions.empty()),
                      "a's on_assigned ran for " << show(e.partitions));
        if (e.kind == callback_kind::revoked) revoked.insert(revoked.end(), e.partitions.begin(), e.partitions.end());
    }
    std::sort(revoked.begin(), revoked.end());
    CHECK(revoked == moved);
    for (const auto& s : samples)
        for (auto p : kept)
            CHECK_MESSAGE(std::find(s.begin(), s.end(), p) != s.end(),
                          "a's assignment() lacked partition " << p << " (which it keeps) during the rebalance: "
                                                               << show(s));
    // b: given exactly what moved, after a gave it up.
    std::vector<std::int32_t> b_assigned;
    for (const auto& e : log->events_of("b")) {
        CHECK_MESSAGE(e.kind == callback_kind::assigned, "b's on_" << to_string(e.kind) << show(e.partitions));
        b_assigned.insert(b_assigned.end(), e.partitions.begin(), e.partitions.end());
    }
    std::sort(b_assigned.begin(), b_assigned.end());
    CHECK(b_assigned == moved);
    for (const auto& v : log->violations()) CHECK_MESSAGE(false, v);

    // a read its kept partitions straight through: no offset twice, none skipped.
    REQUIRE(wait_until([&] { return log->consumed_count("b") > 0; }, 10s));
    std::this_thread::sleep_for(1s);
    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE_MESSAGE(wait_until(
                        [&] {
                            for (auto p : kept) {
                                const auto read = offsets_read(*log, "a", p);
                                if (read.empty() || read.back() < end[static_cast<std::size_t>(p)] - 1) return false;
                            }
                            for (auto p : moved) {
                                const auto read = offsets_read(*log, "b", p);
                                if (read.empty() || read.back() < end[static_cast<std::size_t>(p)] - 1) return false;
                            }
                            return true;
                        },
                        20s),
                    "a and b did not read their partitions to the end");
    for (auto p : kept) {
        CAPTURE(p);
        const auto read = offsets_read(*log, "a", p);
        for (std::size_t i = 1; i < read.size(); ++i) REQUIRE_MESSAGE(read[i] == read[i - 1] + 1, "a read offset " << read[i] << " after " << read[i - 1]);
    }
    a.close();
    b.close();
    require_all_consumed(sent, *log);
    check_callbacks_on_poll_threads(*log);
    check_commit_errors(*log);
}

TEST_CASE("consumer group: rebalance callbacks run on the polling thread with the partitions the group assigned") {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-callbacks", partitions);
    const auto range = assignment_strategy("range");

    paced_producer prod(topic.name, partitions, "cb");
    prod.send_now(40);  // 10 per partition: committed nowhere, read from offset 0

    // Inside on_assigned: position() of each partition given (Java's usual
    // place for seeks and position lookups).
    std::mutex positions_mutex;
    std::map<std::string, std::vector<std::pair<std::int32_t, std::int64_t>>> positions;
    std::vector<std::string> position_errors;
    auto record_positions = [&](const std::string& who) {
        return [&, who](kwire::consumer& c, callback_kind kind, const std::vector<topic_partition>& tps) {
            if (kind != callback_kind::assigned) return;
            for (const auto& tp : tps) {
                try {
                    const auto at = c.position(tp, 10s);
                    std::lock_guard lock(positions_mutex);
                    positions[who].emplace_back(tp.partition, at);
                } catch (const std::exception& e) {
                    std::lock_guard lock(positions_mutex);
                    position_errors.push_back(who + ": position(" + tp.to_string() + ") inside on_assigned: " + e.what());
                }
            }
        };
    };
    member_options ao{.name = "a", .topic = topic.name};
    ao.on_callback = record_positions("a");
    member_options bo{.name = "b", .topic = topic.name};
    bo.on_callback = record_positions("b");
    test_member a(log, member_config(group, "callbacks-a", range), ao);
    test_member b(log, member_config(group, "callbacks-b", range), bo);

    a.start();
    REQUIRE_MESSAGE(wait_until([&] { return a.owned().size() == 4u; }, 20s), log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("a") >= 40; }, 15s));  // a read (and committed) it all
    b.start();
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 2); }, 20s),
                    "no 2/2 split:" << owners({&a, &b}) << "\n" << log->describe());
    std::this_thread::sleep_for(300ms);
    INFO(log->describe());

    // What the coordinator holds for each member is what its callbacks said.
    const auto described = describe_group(group);
    CHECK(described.state == "Stable");
    CHECK(described.protocol == "range");
    REQUIRE(described.members.size() == 2);
    for (const auto& m : described.members) {
        CAPTURE(m.client_id);
        if (m.client_id == "callbacks-a") {
            CHECK(m.partitions == a.owned());
            CHECK(m.partitions == a.assignment());
        } else {
            CHECK(m.client_id == "callbacks-b");
            CHECK(m.partitions == b.owned());
            CHECK(m.partitions == b.assignment());
        }
    }

    // Eager (range): each on_assigned carries the whole new assignment,
    // which assignment() already shows inside the callback; on_revoked
    // carries everything owned before.
    std::map<std::string, std::vector<std::int32_t>> owned_before;
    for (const auto& e : log->events()) {
        CAPTURE(e.member);
        CHECK(e.on_poll_thread);
        CHECK(e.kind != callback_kind::lost);
        if (e.kind == callback_kind::assigned) {
            CHECK(e.partitions == e.assignment_inside);
            owned_before[e.member] = e.partitions;
        } else if (e.kind == callback_kind::revoked) {
            CHECK(e.partitions == owned_before[e.member]);
            owned_before[e.member].clear();
        }
    }
    CHECK(owned_before["a"] == a.owned());
    CHECK(owned_before["b"] == b.owned());

    // position() inside on_assigned: the committed offset (a's commits) or 0.
    {
        std::lock_guard lock(positions_mutex);
        for (const auto& e : position_errors) CHECK_MESSAGE(false, e);
        CHECK(positions["a"].size() >= 4u);
        for (const auto& [p, at] : positions["b"]) {
            CAPTURE(p);
            CHECK(at == 10);  // a read and committed all 10 of each partition before b joined
        }
        CHECK(positions["b"].size() == 2u);
    }
    a.leave();
    b.close();
    for (const auto& v : log->violations()) CHECK_MESSAGE(false, v);
    // b read none of what a had read and committed.
    CHECK(log->consumed_count("b") == 0);
}

TEST_CASE("consumer group: a poll loop slower than max.poll.interval.ms — the member leaves, sees on_lost, and the "
          "next poll rejoins") {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-slow", partitions);
    const std::vector<std::pair<std::string, std::string>> props = {{"partition.assignment.strategy", "range"},
                                                                    {"max.poll.interval.ms", "3000"}};

    paced_producer prod(topic.name, partitions, "slow");
    test_member a(log, member_config(group, "slow-a", props), {.name = "a", .topic = topic.name});
    test_member b(log, member_config(group, "slow-b", props), {.name = "b", .topic = topic.name});
    a.start();
    b.start();
    prod.start(2, 50ms);
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 2); }, 20s),
                    "no 2/2 split:" << owners({&a, &b}) << "\n" << log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("a") > 0 && log->consumed_count("b") > 0; }, 10s));

    const auto a_had = a.owned();
    const std::size_t a_events_before = log->events_of("a").size();
    const std::size_t a_commits_before = log->commits().size();
    a.slow_down_next_batch(6000ms);  // twice max.poll.interval.ms
    REQUIRE(wait_until([&] { return a.slow_batch().has_value(); }, 15s));
    const auto [slow_begin, slow_end] = *a.slow_batch();
    INFO(log->describe());

    // While a was busy, the group gave b everything.
    std::optional<steady::time_point> b_took_all;
    for (const auto& e : log->events_of("b"))
        if (e.kind == callback_kind::assigned && e.partitions.size() == static_cast<std::size_t>(partitions) &&
            e.at > slow_begin && !b_took_all)
            b_took_all = e.at;
    REQUIRE_MESSAGE(b_took_all.has_value(), "b was never given all partitions after a stopped polling");
    CHECK_MESSAGE(*b_took_all < slow_end, "b got a's partitions only after a polled again");

    // a's commit() right after the slow batch cannot store anything: a is
    // out of the group (Java: CommitFailedException). It must say so.
    REQUIRE(wait_until([&] { return log->commits().size() > a_commits_before; }, 5s));
    std::optional<commit_event> late;
    for (const auto& c : log->commits())
        if (c.member == "a" && c.at >= slow_end && !late) late = c;
    REQUIRE(late.has_value());
    CHECK_MESSAGE(late->ec, "commit() after a poll loop slower than max.poll.interval.ms returned success although "
                            "the member had left the group (its records go to another member again)");

    // The next poll: on_lost for what a had (not on_revoked), then a rejoins.
    REQUIRE(wait_until([&] { return log->events_of("a").size() > a_events_before; }, 5s));
    const auto a_events = log->events_of("a");
    const auto& first = a_events[a_events_before];
    CHECK_MESSAGE(first.kind == callback_kind::lost,
                  "a's first callback after the poll timeout was on_" << to_string(first.kind) << show(first.partitions));
    CHECK(first.partitions == a_had);
    CHECK(first.at >= slow_end);
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 2); }, 20s),
                    "a did not get back into the group:" << owners({&a, &b}) << "\n" << log->describe());
    // and reads again.
    const std::size_t read_before = log->consumed_count("a");
    CHECK(wait_until([&] { return log->consumed_count("a") > read_before; }, 10s));

    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE(wait_until([&] { return log->distinct_consumed() >= sent.size(); }, 20s));
    a.close();
    b.close();
    require_all_consumed(sent, *log);
    check_callbacks_on_poll_threads(*log);
    CHECK(a.poll_errors().empty());
    CHECK(b.poll_errors().empty());
}

TEST_CASE("consumer group: a static member (group.instance.id) restarted within session.timeout.ms gets its "
          "partitions back and the other member sees no rebalance") {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-static", partitions);
    auto props = [](const char* instance) {
        return std::vector<std::pair<std::string, std::string>>{{"partition.assignment.strategy", "range"},
                                                                {"group.instance.id", instance}};
    };

    if (!version_usable<proto::join_group_request>(5)) {
        // The run's api.version.pin caps JoinGroup below v5, which cannot
        // carry group.instance.id (KIP-345): the member must say so from
        // poll() (Java: UnsupportedVersionException), not retry in silence.
        test_member a(log, member_config(group, "static-a", props("instance-a")), {.name = "a", .topic = topic.name});
        a.start();
        CHECK_MESSAGE(wait_until([&] { return !a.poll_errors().empty(); }, 15s),
                      "a static member on JoinGroup < v5 never reported an error from poll(); it logged:\n"
                          << a.logs().all());
        return;
    }

    paced_producer prod(topic.name, partitions, "static");
    auto a = std::make_unique<test_member>(log, member_config(group, "static-a", props("instance-a")),
                                            member_options{.name = "a", .topic = topic.name});
    test_member b(log, member_config(group, "static-b", props("instance-b")), {.name = "b", .topic = topic.name});
    a->start();  // first: the group's leader
    REQUIRE(wait_until([&] { return a->owned().size() == 4u; }, 20s));
    b.start();
    prod.start(2, 50ms);
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({a.get(), &b}, partitions, 2); }, 20s),
                    "no 2/2 split:" << owners({a.get(), &b}) << "\n" << log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("a") > 0 && log->consumed_count("b") > 0; }, 10s));
    std::this_thread::sleep_for(500ms);

    const auto a_had = a->owned();
    const auto b_had = b.owned();
    const std::size_t b_events_before = log->events_of("b").size();

    // Restart a within the session timeout.
    const auto t0 = steady::now();
    a->close();
    const auto a_last = a->last_polled();  // all committed (commit() after each poll)
    a.reset();
    log->forget("a");
    test_member a2(log, member_config(group, "static-a2", props("instance-a")), {.name = "a2", .topic = topic.name});
    a2.start();
    REQUIRE_MESSAGE(wait_until([&] { return !a2.owned().empty(); }, 15s), log->describe());
    const auto back_after = steady::now() - t0;
    MESSAGE("the restarted static member had partitions after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(back_after).count() << " ms");
    CHECK(a2.owned() == a_had);
    CHECK(back_after < 6s);
    std::this_thread::sleep_for(2500ms);  // more than b's heartbeat interval: b would see a rebalance

    INFO(log->describe());
    const auto b_events = log->events_of("b");
    CHECK_MESSAGE(b_events.size() == b_events_before, "b saw " << b_events.size() - b_events_before
                                                               << " rebalance callback(s) while a restarted");
    CHECK(b.owned() == b_had);
    CHECK(b.assignment() == b_had);
    CHECK(a2.owned() == a_had);
    const auto described = describe_group(group);
    CHECK(described.members.size() == 2);
    for (const auto& m : described.members) {
        REQUIRE(m.instance_id.has_value());
        if (*m.instance_id == "instance-a") CHECK(m.partitions == a_had);
        else CHECK(m.partitions == b_had);
    }

    // a2 went on from a's commits: each partition's first record is the one after a's last.
    REQUIRE(wait_until([&] { return log->consumed_count("a2") > 0; }, 10s));
    for (auto p : a_had) {
        CAPTURE(p);
        const auto read = offsets_read(*log, "a2", p);
        if (read.empty()) continue;
        auto it = a_last.find(p);
        CHECK(read.front() == (it == a_last.end() ? 0 : it->second + 1));
    }

    prod.stop();
    const auto sent = prod.records();
    REQUIRE(wait_until([&] { return log->distinct_consumed() >= sent.size(); }, 20s));
    a2.leave();
    b.close();
    require_all_consumed(sent, *log);
    check_callbacks_on_poll_threads(*log);
    for (const auto& v : log->violations()) CHECK_MESSAGE(false, v);
}

TEST_CASE("consumer group: commit() during an eager rebalance (range) stores the batch's positions or fails with a "
          "rebalance error") {
    commit_during_rebalance("range");
}

TEST_CASE("consumer group: commit() during a cooperative rebalance (cooperative-sticky) stores the batch's positions "
          "or fails with a rebalance error") {
    commit_during_rebalance("cooperative-sticky");
}

TEST_CASE("consumer group: a member dropped from the group (session expired) cannot commit for partitions that "
          "moved on") {
    const int partitions = 4;
    auto [topic, group, log] = new_group_case("kwire-group-zombie", partitions);
    const auto range = assignment_strategy("range");

    paced_producer prod(topic.name, partitions, "zombie");
    test_member a(log, member_config(group, "zombie-a", range),
                   {.name = "a", .topic = topic.name, .freezable = true});
    test_member b(log, member_config(group, "zombie-b", range), {.name = "b", .topic = topic.name});
    a.start();
    b.start();
    prod.start(2, 50ms);
    REQUIRE_MESSAGE(wait_until([&] { return split_evenly({&a, &b}, partitions, 2); }, 20s),
                    "no 2/2 split:" << owners({&a, &b}) << "\n" << log->describe());
    REQUIRE(wait_until([&] { return log->consumed_count("a") > 0; }, 10s));

    a.freeze();  // after its last commit()
    const auto a_had = a.owned();
    const auto a_last = a.last_polled();
    log->forget("a");
    REQUIRE_MESSAGE(wait_until([&] { return b.owned().size() == 4u; }, 25s),
                    "b did not take the frozen member's partitions over:\n" << log->describe());
    std::this_thread::sleep_for(500ms);
    prod.stop();
    const auto sent = prod.records();
    const auto end = prod.end_offsets();
    REQUIRE(wait_until([&] { return drained_and_committed(*log, "b", end); }, 20s));
    const auto before = committed_offsets(group, topic.name, partitions);

    // The zombie wakes up and commits the positions it had: refused.
    a.thaw();
    std::map<topic_partition, offset_and_metadata> stale;
    for (auto p : a_had) {
        auto it = a_last.find(p);
        stale[{topic.name, p}] = offset_and_metadata{it == a_last.end() ? 0 : it->second + 1, std::nullopt, ""};
    }
    const auto ec = a.consumer().commit(stale, 10s);
    CHECK_MESSAGE(is_rebalance_error(ec), "the zombie's commit of partitions that moved on ended with '"
                                              << ec.message() << "' (expected UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION)");
    const auto ec2 = a.consumer().commit(10s);
    CHECK_MESSAGE((!ec2 || is_rebalance_error(ec2)), ec2.message());
    const auto after = committed_offsets(group, topic.name, partitions);
    CHECK(after == before);
    for (std::int32_t p = 0; p < partitions; ++p) CHECK(after.at(p) == end[static_cast<std::size_t>(p)]);

    a.close();
    b.close();
    require_all_consumed(sent, *log);
    check_callbacks_on_poll_threads(*log);
}

TEST_CASE("consumer group: with the first bootstrap server unreachable, the coordinator is found through the next "
          "one") {
    // bootstrap.servers is a list so that one server down does not stop a
    // client: committed() and group membership must go on through the others.
    const int partitions = 2;
    auto [topic, group, log] = new_group_case("kwire-group-bootstrap", partitions);
    paced_producer prod(topic.name, partitions, "boot");
    prod.send_now(10);
    const std::string bootstrap = "127.0.0.1:1," + broker_env("KWIRE_BOOTSTRAP");  // nothing listens on port 1
    config cfg = member_config(group, "bootstrap-a");
    cfg.set("bootstrap.servers", bootstrap);

    {
        kwire::consumer outside(cfg);
        std::map<topic_partition, offset_and_metadata> found;
        CHECK_NOTHROW(found = outside.committed(all_partitions(topic.name, partitions), 10s));
        for (const auto& [tp, om] : found) CHECK(om.offset == -1);
    }
    test_member a(log, cfg, {.name = "a", .topic = topic.name});
    a.start();
    CHECK_MESSAGE(wait_until([&] { return a.owned().size() == 2u; }, 20s),
                  "the member never joined the group; it logged:\n" << a.logs().all());
    CHECK(wait_until([&] { return drained_and_committed(*log, "a", prod.end_offsets()); }, 10s));
    a.close();
}
