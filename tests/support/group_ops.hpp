// Helpers for consumer-group tests against the real broker:
// - a consumer configuration for a group (manual commits, earliest, short
//   session and heartbeat: session.timeout.ms=6000, heartbeat.interval.ms=1000);
// - paced_producer: numbered records sent from a thread of its own at a
//   steady pace, to explicit partitions (i % partitions), each record's
//   partition and offset kept from its delivery report;
// - group_log: what every member of a test did, thread-safe: records
//   consumed, rebalance callbacks (with the calling thread and the
//   consumer's assignment() inside the callback), commits and their results,
//   and who owns which partition according to the callbacks (a partition
//   handed to one member while another still owns it is recorded);
// - test_member: one kwire::consumer polling on a thread of its own
//   (subscribe, poll, record, optionally "process" for a while, commit());
//   it can close() (an orderly leave) or freeze(): a crash as far as the
//   group can tell (see freeze());
// - committed offsets of a group read by a consumer outside the group
//   (OffsetFetch needs no membership), the group's coordinator
//   (FindCoordinator through kwire's proto layer) and its members'
//   assignments as the broker holds them (DescribeGroups).
#pragma once

#include "support/broker_env.hpp"
#include "support/broker_ops.hpp"
#include "support/producer_ops.hpp"
#include "support/run_async.hpp"

#include "kwire/config.hpp"
#include "kwire/consumer.hpp"
#include "kwire/consumer_protocol.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/describe_groups.hpp"
#include "kwire/proto/messages/find_coordinator.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// In a namespace of their own: other helpers of the same test binaries use
// some of the same names (one definition per name and binary).
namespace kwire::test::groups {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// A consumer configuration for group tests: the test broker, the run's
// api.version.pin, group.id, manual commits, earliest, session.timeout.ms
// 6000 / heartbeat.interval.ms 1000, then `props`.
inline config group_config(const std::string& group, std::vector<std::pair<std::string, std::string>> props = {},
                           const char* bootstrap_env = "KWIRE_BOOTSTRAP") {
    config c = client_config(bootstrap_env);
    c.set("group.id", group);
    c.set("enable.auto.commit", "false");
    c.set("auto.offset.reset", "earliest");
    c.set("session.timeout.ms", "6000");
    c.set("heartbeat.interval.ms", "1000");
    c.set("fetch.max.wait.ms", "200");
    for (const auto& [k, v] : props) c.set(k, v);
    return c;
}

inline std::string unique_group_id(const std::string& prefix) { return unique_topic(prefix); }

inline std::string show(const std::vector<std::int32_t>& parts) {
    std::string s = "[";
    for (std::size_t i = 0; i < parts.size(); ++i) s += (i ? "," : "") + std::to_string(parts[i]);
    return s + "]";
}

inline std::vector<std::int32_t> partition_numbers(const std::vector<topic_partition>& tps) {
    std::vector<std::int32_t> out;
    for (const auto& tp : tps) out.push_back(tp.partition);
    std::sort(out.begin(), out.end());
    return out;
}

inline std::vector<topic_partition> partitions_of(const std::string& topic, const std::vector<std::int32_t>& parts) {
    std::vector<topic_partition> out;
    for (auto p : parts) out.push_back({topic, p});
    return out;
}

inline std::vector<topic_partition> all_partitions(const std::string& topic, int n) {
    std::vector<topic_partition> out;
    for (int p = 0; p < n; ++p) out.push_back({topic, p});
    return out;
}

// Waits (polling every 20 ms) until `pred` holds; false after `limit`.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
    const auto deadline = steady::now() + limit;
    for (;;) {
        if (pred()) return true;
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

// --- records sent -----------------------------------------------------------

struct produced_record {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string value;
};

// Sends records "<tag>-<i>" to partition i % partitions: `burst` records
// every `tick` from its own thread between start() and stop(), or a fixed
// number at once with send_now(). Every record's delivery is required to
// succeed.
class paced_producer {
public:
    paced_producer(std::string topic, int partitions, std::string tag,
                   std::vector<std::pair<std::string, std::string>> props = {})
        : topic_(std::move(topic)), partitions_(partitions), tag_(std::move(tag)) {
        config c = producer_config({{"linger.ms", "5"}, {"acks", "all"}});
        for (const auto& [k, v] : props) c.set(k, v);
        producer_ = std::make_unique<producer>(c);
    }
    ~paced_producer() {
        stop_thread();
        if (producer_) (void)producer_->flush(30s);
        producer_.reset();  // before the state its completions write to
    }
    paced_producer(const paced_producer&) = delete;
    paced_producer& operator=(const paced_producer&) = delete;

    void start(std::size_t burst = 6, std::chrono::milliseconds tick = 50ms) {
        running_ = true;
        thread_ = std::thread([this, burst, tick] {
            while (running_) {
                for (std::size_t i = 0; i < burst; ++i) send_one();
                std::this_thread::sleep_for(tick);
            }
        });
    }
    // Sends `n` records and waits until they are delivered.
    void send_now(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) send_one();
        REQUIRE_MESSAGE(!producer_->flush(30s), "records not delivered within 30 s");
    }
    // Stops the sending thread and waits until everything sent is delivered.
    void stop() {
        stop_thread();
        REQUIRE_MESSAGE(!producer_->flush(60s), "records not delivered within 60 s");
    }
    std::size_t sent() const { return next_.load(); }

    // Every record sent so far, as delivered (call after stop()/send_now()).
    std::vector<produced_record> records() const {
        std::lock_guard lock(mutex_);
        for (const auto& [i, r] : delivered_)
            REQUIRE_MESSAGE(r.offset >= 0, "record " << r.value << " failed: " << errors_.at(i));
        std::vector<produced_record> out;
        for (const auto& [i, r] : delivered_) out.push_back(r);
        return out;
    }
    // Next offset of each partition (index = partition) after what was sent.
    std::vector<std::int64_t> end_offsets() const {
        std::vector<std::int64_t> out(static_cast<std::size_t>(partitions_), 0);
        for (const auto& r : records())
            out[static_cast<std::size_t>(r.partition)] =
                std::max(out[static_cast<std::size_t>(r.partition)], r.offset + 1);
        return out;
    }

private:
    void stop_thread() {
        running_ = false;
        if (thread_.joinable()) thread_.join();
    }
    void send_one() {
        const std::size_t i = next_++;
        producer_record r;
        r.topic = topic_;
        r.partition = static_cast<std::int32_t>(i % static_cast<std::size_t>(partitions_));
        const std::string value = tag_ + "-" + std::to_string(i);
        r.value = payload(value);
        {
            std::lock_guard lock(mutex_);
            delivered_[i] = produced_record{-1, -1, value};
            errors_[i] = "not delivered";
        }
        producer_->send(std::move(r), [this, i](std::error_code ec, record_metadata md) {
            std::lock_guard lock(mutex_);
            auto& d = delivered_[i];
            if (ec) {
                errors_[i] = ec.message();
                return;
            }
            d.partition = md.partition;
            d.offset = md.offset;
        });
    }

    std::string topic_;
    int partitions_;
    std::string tag_;
    std::unique_ptr<producer> producer_;
    std::thread thread_;
    std::atomic<bool> running_{false};
    std::atomic<std::size_t> next_{0};
    mutable std::mutex mutex_;
    std::map<std::size_t, produced_record> delivered_;
    std::map<std::size_t, std::string> errors_;
};

// --- what the members did ---------------------------------------------------

enum class callback_kind { assigned, revoked, lost };
inline const char* to_string(callback_kind k) {
    return k == callback_kind::assigned ? "assigned" : k == callback_kind::revoked ? "revoked" : "lost";
}

struct callback_event {
    std::string member;
    callback_kind kind;
    std::vector<std::int32_t> partitions;
    std::vector<std::int32_t> assignment_inside;  // consumer.assignment() inside the callback
    bool on_poll_thread = false;
    steady::time_point at;
};

struct consumed_record {
    std::string member;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::string value;
    steady::time_point at;
};

struct commit_event {
    std::string member;
    std::error_code ec;
    std::map<std::int32_t, std::int64_t> offsets;  // partition -> next offset the commit was meant to store
    std::vector<std::int32_t> owned;               // owned per the callbacks, when commit() was called
    bool in_callback = false;
    steady::time_point at;
};

class group_log {
public:
    void consumed(const std::string& member, std::int32_t partition, std::int64_t offset, std::string value) {
        std::lock_guard lock(mutex_);
        records_.push_back({member, partition, offset, std::move(value), steady::now()});
    }
    void committed(commit_event e) {
        std::lock_guard lock(mutex_);
        commits_.push_back(std::move(e));
    }
    void callback(callback_event e) {
        std::lock_guard lock(mutex_);
        auto& mine = owned_[e.member];
        for (auto p : e.partitions) {
            if (e.kind == callback_kind::assigned) {
                for (const auto& [other, parts] : owned_)
                    if (other != e.member && parts.count(p))
                        violations_.push_back("partition " + std::to_string(p) + " assigned to " + e.member +
                                              " while " + other + " still owned it");
                mine.insert(p);
            } else {
                mine.erase(p);
            }
        }
        events_.push_back(std::move(e));
    }
    // A member that went away without callbacks (closed, crashed): it owns nothing now.
    void forget(const std::string& member) {
        std::lock_guard lock(mutex_);
        owned_.erase(member);
    }

    std::vector<std::int32_t> owned(const std::string& member) const {
        std::lock_guard lock(mutex_);
        auto it = owned_.find(member);
        if (it == owned_.end()) return {};
        return {it->second.begin(), it->second.end()};
    }
    std::vector<consumed_record> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    std::vector<callback_event> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::vector<callback_event> events_of(const std::string& member) const {
        std::lock_guard lock(mutex_);
        std::vector<callback_event> out;
        for (const auto& e : events_)
            if (e.member == member) out.push_back(e);
        return out;
    }
    std::vector<commit_event> commits() const {
        std::lock_guard lock(mutex_);
        return commits_;
    }
    std::vector<std::string> violations() const {
        std::lock_guard lock(mutex_);
        return violations_;
    }
    std::size_t consumed_count(const std::string& member) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(records_.begin(), records_.end(), [&](const auto& r) { return r.member == member; }));
    }
    // Distinct (partition, offset) consumed by anyone.
    std::size_t distinct_consumed() const {
        std::lock_guard lock(mutex_);
        std::set<std::pair<std::int32_t, std::int64_t>> seen;
        for (const auto& r : records_) seen.insert({r.partition, r.offset});
        return seen.size();
    }
    std::string describe() const {
        std::lock_guard lock(mutex_);
        std::ostringstream s;
        for (const auto& e : events_) {
            s << "  " << e.member << " " << to_string(e.kind) << " " << show(e.partitions) << " (assignment "
              << show(e.assignment_inside) << (e.on_poll_thread ? "" : ", NOT on the polling thread") << ")\n";
        }
        for (const auto& [m, parts] : owned_)
            s << "  " << m << " owns " << show(std::vector<std::int32_t>(parts.begin(), parts.end())) << "\n";
        return s.str();
    }

private:
    mutable std::mutex mutex_;
    std::vector<consumed_record> records_;
    std::vector<callback_event> events_;
    std::vector<commit_event> commits_;
    std::map<std::string, std::set<std::int32_t>> owned_;
    std::vector<std::string> violations_;
};

// --- a member ---------------------------------------------------------------

struct member_options {
    std::string name;
    std::string topic;
    bool commit_after_poll = true;      // commit() after every poll that returned records
    bool commit_in_on_revoked = false;  // commit() inside on_revoked (Java's usual pattern)
    std::chrono::milliseconds processing{0};  // time "spent" on each batch before the commit
    std::chrono::milliseconds poll_timeout{200};
    // Runs the consumer on an io_context of the member's (not kwire's own
    // thread), so that freeze() can stop it.
    bool freezable = false;
    // Called on the polling thread after each callback was recorded.
    std::function<void(kwire::consumer&, callback_kind, const std::vector<topic_partition>&)> on_callback{};
};

class test_member {
public:
    test_member(std::shared_ptr<group_log> log, const config& cfg, member_options o)
        : log_(std::move(log)), o_(std::move(o)) {
        if (o_.freezable) {
            io_ = std::make_unique<asio::io_context>(1);
            work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_->get_executor());
            start_io();
            consumer_ = std::make_unique<kwire::consumer>(io_->get_executor(), cfg, lines_.callback());
        } else {
            consumer_ = std::make_unique<kwire::consumer>(cfg, lines_.callback());
        }
    }
    ~test_member() {
        try {
            close();
        } catch (...) {
        }
    }
    test_member(const test_member&) = delete;
    test_member& operator=(const test_member&) = delete;

    const std::string& name() const { return o_.name; }
    kwire::consumer& consumer() { return *consumer_; }

    // Subscribes (on the polling thread) and polls until stop_polling()/close().
    void start() {
        std::promise<void> started;
        auto ready = started.get_future();
        running_ = true;
        poller_ = std::thread([this, &started] {
            poll_thread_ = std::this_thread::get_id();
            rebalance_listener l;
            l.on_assigned = [this](const std::vector<topic_partition>& tps) {
                note(callback_kind::assigned, tps);
                if (o_.on_callback) o_.on_callback(*consumer_, callback_kind::assigned, tps);
            };
            l.on_revoked = [this](const std::vector<topic_partition>& tps) {
                note(callback_kind::revoked, tps);
                if (o_.commit_in_on_revoked) do_commit(partition_numbers(tps));
                if (o_.on_callback) o_.on_callback(*consumer_, callback_kind::revoked, tps);
            };
            l.on_lost = [this](const std::vector<topic_partition>& tps) {
                note(callback_kind::lost, tps);
                if (o_.on_callback) o_.on_callback(*consumer_, callback_kind::lost, tps);
            };
            consumer_->subscribe({o_.topic}, l);
            started.set_value();
            loop();
        });
        ready.wait();
    }

    // Makes the next batch's processing last `d` (a slow poll loop).
    void slow_down_next_batch(std::chrono::milliseconds d) { slow_next_ = d.count(); }
    // When the slow batch began and ended (steady clock), once it did.
    std::optional<std::pair<steady::time_point, steady::time_point>> slow_batch() const {
        std::lock_guard lock(mutex_);
        return slow_batch_;
    }

    void stop_polling() {
        running_ = false;
        if (poller_.joinable()) poller_.join();
    }

    // An orderly close the log knows of: polling stops, the log forgets what
    // this member owned, and only then close() leaves the group. (close()
    // runs no callback; forgetting after it would let another member's
    // on_assigned for these partitions, as soon as the leave lands, look
    // like a double owner.)
    void leave() {
        stop_polling();
        log_->forget(o_.name);
        close();
    }

    // An orderly close: stop polling, then consumer::close() (leaves the group).
    void close() {
        stop_polling();
        if (frozen_) thaw();
        if (consumer_ && !closed_) {
            closed_ = true;
            consumer_->close(15s);
        }
        if (io_) {
            consumer_.reset();
            work_.reset();
            if (!wait_until([&] { return io_done_.load(); }, 5s)) io_->stop();
            if (io_thread_.joinable()) io_thread_.join();
        }
    }

    // A crash, as far as the group can tell: polling stops and the
    // consumer's I/O thread stops dead, so no heartbeat, no LeaveGroup, no
    // commit reaches the broker any more (like a SIGKILLed or SIGSTOPped
    // process; the coordinator never learns of a crash other than by the
    // session timing out). Needs member_options::freezable.
    void freeze() {
        REQUIRE(io_);
        stop_polling();
        io_->stop();
        if (io_thread_.joinable()) io_thread_.join();
        frozen_ = true;
    }
    // Lets the consumer's I/O run again (polling stays stopped).
    void thaw() {
        if (!frozen_) return;
        frozen_ = false;
        io_->restart();
        start_io();
    }

    std::thread::id poll_thread() const { return poll_thread_; }
    // What the consumer logged (set "debug" in its config for the group's steps).
    const log_lines& logs() const { return lines_; }
    std::vector<std::int32_t> owned() const { return log_->owned(o_.name); }
    std::vector<std::int32_t> assignment() const { return partition_numbers(consumer_->assignment()); }
    std::vector<std::string> poll_errors() const {
        std::lock_guard lock(mutex_);
        return poll_errors_;
    }
    // Records returned by poll, per partition: the last offset.
    std::map<std::int32_t, std::int64_t> last_polled() const {
        std::lock_guard lock(mutex_);
        return last_polled_;
    }

private:
    void start_io() {
        io_done_ = false;
        io_thread_ = std::thread([this] {
            io_->run();
            io_done_ = true;
        });
    }

    void note(callback_kind kind, const std::vector<topic_partition>& tps) {
        callback_event e;
        e.member = o_.name;
        e.kind = kind;
        e.partitions = partition_numbers(tps);
        e.assignment_inside = partition_numbers(consumer_->assignment());
        e.on_poll_thread = std::this_thread::get_id() == poll_thread_;
        e.at = steady::now();
        log_->callback(std::move(e));
    }

    // commit() after a batch (the partitions owned), or inside on_revoked
    // (`revoked`: the partitions going away).
    void do_commit(std::optional<std::vector<std::int32_t>> revoked = std::nullopt) {
        commit_event c;
        c.member = o_.name;
        c.in_callback = revoked.has_value();
        c.owned = log_->owned(o_.name);
        const auto& meant = revoked ? *revoked : c.owned;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [p, off] : last_polled_)
                if (std::find(meant.begin(), meant.end(), p) != meant.end()) c.offsets[p] = off + 1;
        }
        c.ec = consumer_->commit(10s);
        c.at = steady::now();
        log_->committed(std::move(c));
    }

    void loop() {
        while (running_) {
            std::error_code ec;
            auto recs = consumer_->poll(o_.poll_timeout, ec);
            if (ec) {
                {
                    std::lock_guard lock(mutex_);
                    poll_errors_.push_back(ec.message());
                }
                if (ec == make_error_code(client_errc::consumer_closed)) return;
                std::this_thread::sleep_for(100ms);
                continue;
            }
            if (recs.empty()) continue;
            {
                std::lock_guard lock(mutex_);
                for (const auto& r : recs) last_polled_[r.partition] = r.offset;
            }
            for (const auto& r : recs) log_->consumed(o_.name, r.partition, r.offset, std::string(r.value_string()));
            auto processing = o_.processing;
            if (const auto slow = slow_next_.exchange(0); slow > 0) {
                const auto begin = steady::now();
                std::this_thread::sleep_for(std::chrono::milliseconds(slow));
                std::lock_guard lock(mutex_);
                slow_batch_ = std::pair{begin, steady::now()};
            } else if (processing.count() > 0) {
                std::this_thread::sleep_for(processing);
            }
            if (o_.commit_after_poll) do_commit();
        }
    }

    std::shared_ptr<group_log> log_;
    member_options o_;
    log_lines lines_;
    std::unique_ptr<asio::io_context> io_;
    std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread io_thread_;
    std::atomic<bool> io_done_{false};
    std::unique_ptr<kwire::consumer> consumer_;
    std::thread poller_;
    std::atomic<bool> running_{false};
    std::atomic<std::int64_t> slow_next_{0};
    std::thread::id poll_thread_{};
    bool frozen_ = false;
    bool closed_ = false;
    mutable std::mutex mutex_;
    std::vector<std::string> poll_errors_;
    std::map<std::int32_t, std::int64_t> last_polled_;
    std::optional<std::pair<steady::time_point, steady::time_point>> slow_batch_;
};

// What a group test starts with: a new topic of `partitions` partitions
// (replication and topic configs as make_topic takes them) and a new group
// id, both named after `prefix`, and an empty log.
struct group_case {
    topic_handle topic;
    std::string group;
    std::shared_ptr<group_log> log;
};

inline group_case new_group_case(const std::string& prefix, int partitions, int replication = 0,
                                 std::vector<std::pair<std::string, std::string>> topic_configs = {}) {
    return {make_topic(prefix, partitions, replication, std::move(topic_configs)), unique_group_id(prefix),
            std::make_shared<group_log>()};
}

// partition.assignment.strategy=`name`, as group_config's props.
inline std::vector<std::pair<std::string, std::string>> assignment_strategy(const std::string& name) {
    return {{"partition.assignment.strategy", name}};
}

// --- checks -----------------------------------------------------------------

// The members' partitions are disjoint, cover 0..partitions-1 and each
// member has `each` of them (per its callbacks).
inline bool split_evenly(const std::vector<test_member*>& members, int partitions, std::size_t each) {
    std::set<std::int32_t> all;
    for (auto* m : members) {
        const auto owned = m->owned();
        if (owned.size() != each) return false;
        for (auto p : owned)
            if (!all.insert(p).second) return false;
    }
    return all.size() == static_cast<std::size_t>(partitions);
}

// Whether `member`'s successful commits stored the end of every partition
// (of `only`, when given) that has records.
inline bool drained_and_committed(const group_log& log, const std::string& member, const std::vector<std::int64_t>& end,
                                  std::optional<std::vector<std::int32_t>> only = std::nullopt) {
    std::map<std::int32_t, std::int64_t> committed;
    for (const auto& c : log.commits())
        if (c.member == member && !c.ec)
            for (const auto& [p, off] : c.offsets) committed[p] = std::max(committed[p], off);
    for (std::size_t i = 0; i < end.size(); ++i) {
        const auto p = static_cast<std::int32_t>(i);
        if (only && std::find(only->begin(), only->end(), p) == only->end()) continue;
        if (end[i] > 0 && committed[p] < end[i]) return false;
    }
    return true;
}

// The group's committed offsets (partition -> offset, -1 for none), read by a
// consumer that does not join the group.
// `bootstrap`: bootstrap.servers instead of KWIRE_BOOTSTRAP.
inline std::map<std::int32_t, std::int64_t> committed_offsets(const std::string& group, const std::string& topic,
                                                              int partitions,
                                                              std::optional<std::string> bootstrap = std::nullopt) {
    config cfg = group_config(group);
    if (bootstrap) cfg.set("bootstrap.servers", *bootstrap);
    kwire::consumer observer(cfg);
    const auto found = observer.committed(all_partitions(topic, partitions), 20s);
    std::map<std::int32_t, std::int64_t> out;
    for (int p = 0; p < partitions; ++p) out[p] = -1;
    for (const auto& [tp, om] : found) out[tp.partition] = om.offset;
    return out;
}

// Every record sent was consumed at least once (by its partition and offset,
// with the value sent). Returns how many were consumed more than once.
inline std::size_t require_all_consumed(const std::vector<produced_record>& sent, const group_log& log) {
    std::map<std::pair<std::int32_t, std::int64_t>, std::vector<const consumed_record*>> by_position;
    const auto records = log.records();
    for (const auto& r : records) by_position[{r.partition, r.offset}].push_back(&r);
    std::size_t missing = 0, duplicates = 0;
    std::string first_missing;
    for (const auto& s : sent) {
        auto it = by_position.find({s.partition, s.offset});
        if (it == by_position.end()) {
            if (missing++ == 0) first_missing = s.value + " at " + std::to_string(s.partition) + "/" + std::to_string(s.offset);
            continue;
        }
        CHECK_MESSAGE(it->second.front()->value == s.value,
                      "record at " << s.partition << "/" << s.offset << " read as '" << it->second.front()->value
                                   << "', sent as '" << s.value << "'");
        if (it->second.size() > 1) ++duplicates;
    }
    CHECK_MESSAGE(missing == 0, missing << " of " << sent.size() << " records sent were never consumed (first: "
                                        << first_missing << ")");
    CHECK_MESSAGE(by_position.size() == sent.size(), "records consumed that were never sent: "
                                                         << by_position.size() << " positions for " << sent.size()
                                                         << " records");
    return duplicates;
}

// A session with the group's coordinator: FindCoordinator asked of any
// broker (retried while the coordinator is loading), then a connection.
struct coordinator_info {
    std::int32_t node = -1;
    std::string host, port;
};

inline coordinator_info find_group_coordinator(const std::string& group) {
    return run_async<coordinator_info>([&](asio::any_io_executor ex) -> asio::awaitable<coordinator_info> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        using request_t = proto::find_coordinator_request;
        const std::int16_t v = boot.version<request_t>();
        asio::steady_timer pause(ex);
        std::string last;
        for (int attempt = 0; attempt < 100; ++attempt) {
            request_t req;
            req.key_type = 0;
            if (v >= 4) req.coordinator_keys.push_back(group);
            else req.key = group;
            auto [ec, resp] = co_await boot.conn->async_send(req, v, no_throw);
            REQUIRE_MESSAGE(!ec, boot.conn->failure());
            std::int16_t error = resp.error_code;
            coordinator_info out{resp.node_id, resp.host, std::to_string(resp.port)};
            if (v >= 4) {
                REQUIRE(resp.coordinators.size() == 1);
                const auto& c = resp.coordinators[0];
                error = c.error_code;
                out = coordinator_info{c.node_id, c.host, std::to_string(c.port)};
            }
            if (error == 0) {
                boot.conn->close();
                co_return out;
            }
            last = proto::kafka_error(error).message();
            pause.expires_after(200ms);
            co_await pause.async_wait(no_throw);
        }
        FAIL("FindCoordinator for group " << group << " kept failing: " << last);
        co_return coordinator_info{};
    });
}

// Whether the run's api.version.pin lets kwire send `Request` at version
// `at_least` or newer (a cap below it does not; "lowest" does, when needed).
template <class Request>
bool version_usable(std::int16_t at_least) {
    return run_async<bool>([at_least](asio::any_io_executor ex) -> asio::awaitable<bool> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        const bool usable = boot.versions.choose(Request::api_key, {at_least, Request::max_version}).has_value();
        boot.conn->close();
        co_return usable;
    });
}

// The group as its coordinator describes it.
struct described_member {
    std::string member_id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::vector<std::int32_t> partitions;  // its assignment (one topic)
};
struct described_group {
    std::string state;
    std::string protocol;
    std::vector<described_member> members;
};

inline described_group describe_group(const std::string& group) {
    const auto where = find_group_coordinator(group);
    return run_async<described_group>([&](asio::any_io_executor ex) -> asio::awaitable<described_group> {
        auto s = co_await open_session(ex, where.host, where.port);
        REQUIRE_MESSAGE(s, s.failure);
        using request_t = proto::describe_groups_request;
        request_t req;
        req.groups.push_back(group);
        // v4+ shows static members' group.instance.id (even under a "lowest" pin).
        const auto version =
            s.versions.choose(request_t::api_key, {4, request_t::max_version}).value_or(s.version<request_t>());
        auto [ec, resp] = co_await s.conn->async_send(req, version, no_throw);
        REQUIRE_MESSAGE(!ec, s.conn->failure());
        REQUIRE(resp.groups.size() == 1);
        const auto& g = resp.groups[0];
        REQUIRE_MESSAGE(g.error_code == 0, "DescribeGroups: " << proto::kafka_error(g.error_code).message());
        described_group out;
        out.state = g.group_state;
        out.protocol = g.protocol_data;
        for (const auto& m : g.members) {
            described_member d;
            d.member_id = m.member_id;
            d.instance_id = m.group_instance_id;
            d.client_id = m.client_id;
            std::vector<topic_partition> tps;
            if (!m.member_assignment.empty()) REQUIRE(!decode_assignment(m.member_assignment, tps));
            d.partitions = partition_numbers(tps);
            out.members.push_back(std::move(d));
        }
        s.conn->close();
        co_return out;
    });
}

} // namespace kwire::test::groups
