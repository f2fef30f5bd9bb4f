// Helpers for producer tests against the real broker:
// - a producer configuration pointing at the test broker (and following the
//   run's API version pin);
// - topics created through kwire's proto layer, waited on until every
//   partition has a leader;
// - every record a partition holds, read back with kwire's own Fetch and
//   record_batch_reader (not through the producer under test), decoded into
//   owned strings: offsets, timestamps, keys, values, headers, and each
//   batch's attributes (codec, producer id, sequence);
// - a thread-safe log of delivery reports that counts how often each
//   record's completion ran.
#pragma once

#include "support/broker_env.hpp"
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/config.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/create_topics.hpp"
#include "kwire/proto/messages/delete_topics.hpp"
#include "kwire/proto/messages/list_offsets.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"
#include "kwire/proto/record_batch_reader.hpp"
#include "kwire/proto/topic_deletion.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace kwire::test {

using namespace std::chrono_literals;

inline std::span<const std::byte> as_bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string as_text(std::span<const std::byte> b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A producer configuration for the test broker: bootstrap.servers from
// `bootstrap_env`, the run's api.version.pin, then `props`.
inline config producer_config(std::initializer_list<std::pair<std::string, std::string>> props = {},
                              const char* bootstrap_env = "KWIRE_BOOTSTRAP") {
    config c = client_config(bootstrap_env);
    for (const auto& [k, v] : props) c.set(k, v);
    return c;
}

// A session with the first broker of KWIRE_BOOTSTRAP that answers (in a
// cluster test one of them may be down).
inline asio::awaitable<session> open_any_bootstrap(asio::any_io_executor ex) {
    const std::string list = broker_env("KWIRE_BOOTSTRAP");
    std::string failures;
    std::size_t at = 0;
    while (at <= list.size()) {
        const auto comma = std::min(list.find(',', at), list.size());
        const auto [host, port] = first_address(list.substr(at, comma - at));
        at = comma + 1;
        auto s = co_await open_session(ex, host, port);
        if (s) co_return s;
        failures += s.failure + "\n";
    }
    FAIL("no bootstrap broker answers: " << failures);
    co_return session{};
}

// The Produce version kwire and the broker agree on under the run's pin,
// among versions `at_least` and newer (zstd needs 7); nullopt when none.
inline std::optional<std::int16_t> produce_version(std::int16_t at_least = proto::produce_request::min_version) {
    return run_async<std::optional<std::int16_t>>(
        [at_least](asio::any_io_executor ex) -> asio::awaitable<std::optional<std::int16_t>> {
            auto boot = co_await open_any_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            using request_t = proto::produce_request;
            const auto v = boot.versions.choose(request_t::api_key, {at_least, request_t::max_version});
            boot.conn->close();
            co_return v;
        });
}

// Partition leaders (node ids, index = partition) once every partition has
// one; fails the test after ~20 s without.
inline asio::awaitable<std::vector<std::int32_t>> leader_ids(session& s, topic_handle& topic, int partitions) {
    using request_t = proto::metadata_request;
    asio::steady_timer pause(s.conn->get_executor());
    for (int attempt = 0; attempt < 200; ++attempt) {
        const request_t req =
            proto::make_metadata_request(std::vector<std::string>{topic.name}, s.version<request_t>());
        auto [ec, resp] = co_await s.conn->async_send(req, s.version<request_t>(), no_throw);
        REQUIRE_MESSAGE(!ec, s.conn->failure());
        std::vector<std::int32_t> leaders(static_cast<std::size_t>(partitions), -1);
        int known = 0;
        for (const auto& t : resp.topics) {
            if (t.name != topic.name || t.error_code != 0) continue;
            if (topic.id.is_zero()) topic.id = t.topic_id;
            for (const auto& p : t.partitions) {
                if (p.partition_index < 0 || p.partition_index >= partitions || p.leader_id < 0) continue;
                if (leaders[static_cast<std::size_t>(p.partition_index)] < 0) ++known;
                leaders[static_cast<std::size_t>(p.partition_index)] = p.leader_id;
            }
        }
        if (known == partitions) co_return leaders;
        pause.expires_after(100ms);
        co_await pause.async_wait(no_throw);
    }
    FAIL("partitions of " << topic.name << " without a leader");
    co_return std::vector<std::int32_t>{};
}

// Waits until each partition's leader serves it (ListOffsets answers without
// error). A broker lists a new partition's leader in its metadata a moment
// before its replica manager has the partition, and answers Produce with
// NOT_LEADER_OR_FOLLOWER meanwhile: tests that are not about that race start
// once it is over.
inline asio::awaitable<void> wait_partitions_ready(asio::any_io_executor ex, session& boot, topic_handle& topic,
                                                  int partitions) {
    using request_t = proto::list_offsets_request;
    std::map<std::pair<std::string, std::string>, session> leaders;
    asio::steady_timer pause(ex);
    for (int p = 0; p < partitions; ++p) {
        for (int attempt = 0;; ++attempt) {
            REQUIRE_MESSAGE(attempt < 200, topic.name << "/" << p << " not served by its leader after 10 s");
            const auto address = co_await leader_of(boot, topic, p);
            auto it = leaders.find(address);
            if (it == leaders.end()) {
                auto s = co_await open_session(ex, address.first, address.second);
                REQUIRE_MESSAGE(s, s.failure);
                it = leaders.emplace(address, std::move(s)).first;
            }
            request_t req;
            req.replica_id = -1;
            request_t::list_offsets_topic t;
            t.name = topic.name;
            request_t::list_offsets_partition lp;
            lp.partition_index = p;
            lp.timestamp = -1;  // latest
            t.partitions.push_back(lp);
            req.topics.push_back(std::move(t));
            auto [ec, resp] = co_await it->second.conn->async_send(req, it->second.version<request_t>(), no_throw);
            REQUIRE_MESSAGE(!ec, it->second.conn->failure());
            if (resp.topics.size() == 1 && resp.topics[0].partitions.size() == 1 &&
                resp.topics[0].partitions[0].error_code == 0)
                break;
            pause.expires_after(50ms);
            co_await pause.async_wait(no_throw);
        }
    }
    for (auto& [address, s] : leaders) s.conn->close();
}

// Creates a topic named `prefix-<unique>` with `partitions` partitions and
// replication `replication` (0: KWIRE_BROKER_COUNT capped at 3) and topic
// configs, and waits until every partition's leader serves it.
inline topic_handle make_topic(const std::string& prefix, int partitions, int replication = 0,
                               std::vector<std::pair<std::string, std::string>> configs = {}) {
    if (replication <= 0) replication = std::min(3, std::stoi(broker_env("KWIRE_BROKER_COUNT")));
    const std::string name = unique_topic(prefix);
    return run_async<topic_handle>([&](asio::any_io_executor ex) -> asio::awaitable<topic_handle> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        using request_t = proto::create_topics_request;
        request_t req;
        request_t::creatable_topic t;
        t.name = name;
        t.num_partitions = partitions;
        t.replication_factor = static_cast<std::int16_t>(replication);
        for (const auto& [k, v] : configs) {
            request_t::creatable_topic_config c;
            c.name = k;
            c.value = v;
            t.configs.push_back(std::move(c));
        }
        req.topics.push_back(std::move(t));
        req.timeout_ms = 30000;
        auto [ec, resp] = co_await boot.conn->async_send(req, boot.version<request_t>(), no_throw);
        REQUIRE_MESSAGE(!ec, boot.conn->failure());
        REQUIRE(resp.topics.size() == 1);
        REQUIRE_MESSAGE(resp.topics[0].error_code == 0,
                        "CreateTopics " << name << ": " << proto::kafka_error(resp.topics[0].error_code).message()
                                        << " " << resp.topics[0].error_message.value_or(""));
        topic_handle out;
        out.name = name;
        out.error_code = 0;
        out.id = resp.topics[0].topic_id;
        co_await leader_ids(boot, out, partitions);
        co_await wait_partitions_ready(ex, boot, out, partitions);
        boot.conn->close();
        co_return out;
    });
}

// Deletes a topic (DeleteTopics at any bootstrap broker) and requires success.
inline void delete_topic(const std::string& name) {
    run_async<bool>([&](asio::any_io_executor ex) -> asio::awaitable<bool> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        using request_t = proto::delete_topics_request;
        const std::int16_t version = boot.version<request_t>();
        const request_t req = proto::make_delete_topics_request({name}, version, 30000);
        auto [ec, resp] = co_await boot.conn->async_send(req, version, no_throw);
        REQUIRE_MESSAGE(!ec, boot.conn->failure());
        REQUIRE(resp.responses.size() == 1);
        REQUIRE_MESSAGE(resp.responses[0].error_code == 0,
                        "DeleteTopics " << name << ": " << proto::kafka_error(resp.responses[0].error_code).message());
        boot.conn->close();
        co_return true;
    });
}

// The current leader (node id) of each partition.
inline std::vector<std::int32_t> current_leaders(topic_handle topic, int partitions) {
    return run_async<std::vector<std::int32_t>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::vector<std::int32_t>> {
            auto boot = co_await open_any_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            auto leaders = co_await leader_ids(boot, topic, partitions);
            boot.conn->close();
            co_return leaders;
        });
}

// One stored record, owned.
struct stored_record {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

// One stored batch's header.
struct stored_batch {
    std::int64_t base_offset = -1;
    std::int64_t last_offset = -1;
    std::int16_t attributes = 0;
    proto::compression_codec codec = proto::compression_codec::none;
    proto::timestamp_type timestamp_kind = proto::timestamp_type::none;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t record_count = 0;
};

struct stored_partition {
    std::int32_t partition = -1;
    std::vector<stored_record> records;
    std::vector<stored_batch> batches;
    std::int64_t high_watermark = -1;
    std::int64_t next_offset = 0;  // where the next fetch starts
};

// Decodes fetched bytes into `out`, keeping records at or after
// out.next_offset (a fetch may start inside a batch); advances next_offset.
inline void decode_into(stored_partition& out, std::span<const std::byte> fetched) {
    proto::record_batch_reader reader;
    reader.reset(fetched);
    while (reader.next_batch()) {
        const auto& b = reader.batch();
        if (b.last_offset < out.next_offset) continue;
        if (!b.control())
            out.batches.push_back({b.base_offset, b.last_offset, b.attributes, b.compression(), b.timestamp_kind(),
                                   b.producer_id, b.producer_epoch, b.base_sequence, b.record_count});
        proto::record r;
        while (reader.next_record(r)) {
            if (r.offset < out.next_offset || b.control()) continue;
            stored_record s;
            s.partition = out.partition;
            s.offset = r.offset;
            s.timestamp = r.timestamp;
            if (r.key) s.key = as_text(*r.key);
            if (r.value) s.value = as_text(*r.value);
            for (const auto& h : r.headers)
                s.headers.emplace_back(std::string(h.key),
                                       h.value ? std::optional<std::string>(as_text(*h.value)) : std::nullopt);
            out.records.push_back(std::move(s));
        }
        REQUIRE_MESSAGE(!reader.error(), "stored batch unreadable: " << reader.error().message());
        out.next_offset = b.next_offset();
    }
    REQUIRE_MESSAGE(!reader.error(), "stored batch unreadable: " << reader.error().message());
}

// Every record of every partition of `topic` (partitions 0..partitions-1),
// read from each partition's leader: up to the high watermark, and further
// until at least `expected_total` records are found or `wait` has passed
// (records sent with acks=0 may arrive after the producer reports them).
inline std::vector<stored_partition> read_topic(topic_handle topic, int partitions, std::size_t expected_total = 0,
                                                std::chrono::milliseconds wait = 10s) {
    return run_async<std::vector<stored_partition>>(
        [&](asio::any_io_executor ex) -> asio::awaitable<std::vector<stored_partition>> {
            auto boot = co_await open_any_bootstrap(ex);
            REQUIRE_MESSAGE(boot, boot.failure);
            std::map<std::pair<std::string, std::string>, session> leaders;
            std::vector<session*> of_partition;
            for (int p = 0; p < partitions; ++p) {
                const auto address = co_await leader_of(boot, topic, p);
                auto it = leaders.find(address);
                if (it == leaders.end()) {
                    auto s = co_await open_session(ex, address.first, address.second);
                    REQUIRE_MESSAGE(s, s.failure);
                    it = leaders.emplace(address, std::move(s)).first;
                }
                of_partition.push_back(&it->second);
            }
            boot.conn->close();

            std::vector<stored_partition> out(static_cast<std::size_t>(partitions));
            for (int p = 0; p < partitions; ++p) out[static_cast<std::size_t>(p)].partition = p;
            const auto deadline = std::chrono::steady_clock::now() + wait;
            for (;;) {
                std::size_t total = 0;
                bool all_at_end = true;
                for (int p = 0; p < partitions; ++p) {
                    auto& part = out[static_cast<std::size_t>(p)];
                    // Each partition up to its high watermark.
                    for (int round = 0; round < 10000; ++round) {
                        auto f = co_await fetch(*of_partition[static_cast<std::size_t>(p)], topic, p,
                                                part.next_offset);
                        REQUIRE_MESSAGE(!f.ec, of_partition[static_cast<std::size_t>(p)]->conn->failure());
                        REQUIRE_MESSAGE(f.error_code == 0, "Fetch " << topic.name << "/" << p << ": "
                                                                    << proto::kafka_error(f.error_code).message());
                        part.high_watermark = f.high_watermark;
                        if (!f.records.empty()) decode_into(part, f.records);
                        if (part.next_offset >= part.high_watermark) break;
                        if (f.records.empty() && std::chrono::steady_clock::now() > deadline) break;
                    }
                    if (part.next_offset < part.high_watermark) all_at_end = false;
                    total += part.records.size();
                }
                if ((all_at_end && total >= expected_total) || std::chrono::steady_clock::now() > deadline) break;
                asio::steady_timer pause(ex, 100ms);
                co_await pause.async_wait(no_throw);
            }
            for (auto& [address, s] : leaders) s.conn->close();
            co_return out;
        },
        std::chrono::seconds(120));
}

inline std::size_t total_records(const std::vector<stored_partition>& parts) {
    std::size_t n = 0;
    for (const auto& p : parts) n += p.records.size();
    return n;
}

// What one record's completion reported.
struct delivery {
    int calls = 0;  // how often the completion ran (must end at exactly 1)
    std::error_code ec;
    std::string topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;
    std::thread::id thread;
    std::chrono::steady_clock::time_point at;
};

// Delivery reports of records 0..n-1, filled by completions on any thread.
class delivery_log : public std::enable_shared_from_this<delivery_log> {
public:
    explicit delivery_log(std::size_t n) : entries_(n) {}

    static std::shared_ptr<delivery_log> make(std::size_t n) { return std::make_shared<delivery_log>(n); }

    // A completion for record `i` (keeps the log alive).
    auto handler(std::size_t i) {
        return [self = shared_from_this(), i](std::error_code ec, record_metadata md) { self->record(i, ec, md); };
    }

    void record(std::size_t i, std::error_code ec, const record_metadata& md) {
        std::lock_guard lock(mutex_);
        auto& e = entries_.at(i);
        if (e.calls++ == 0) ++completed_;
        e.ec = ec;
        e.topic = std::string(md.topic);
        e.partition = md.partition;
        e.offset = md.offset;
        e.timestamp = md.timestamp_ms;
        e.thread = std::this_thread::get_id();
        e.at = std::chrono::steady_clock::now();
        changed_.notify_all();
    }

    // Waits until every record completed (true) or `limit` passed.
    bool wait_all(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, limit, [&] { return completed_ == entries_.size(); });
    }

    std::size_t completed() const {
        std::lock_guard lock(mutex_);
        return completed_;
    }
    std::vector<delivery> snapshot() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::size_t size() const { return entries_.size(); }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<delivery> entries_;
    std::size_t completed_ = 0;
};

// Log lines a producer writes (through its log callback), kept for checks.
class log_lines {
public:
    net::log_callback callback() {
        return [self = state_](net::log_level level, std::string_view ctx, std::string_view msg) {
            std::lock_guard lock(self->mutex);
            self->lines.push_back(std::string(net::to_string(level)) + " [" + std::string(ctx) + "] " +
                                  std::string(msg));
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(state_->mutex);
        return state_->lines;
    }
    void clear() {
        std::lock_guard lock(state_->mutex);
        state_->lines.clear();
    }
    std::size_t count_containing(std::string_view text) const {
        std::lock_guard lock(state_->mutex);
        std::size_t n = 0;
        for (const auto& l : state_->lines)
            if (l.find(text) != std::string::npos) ++n;
        return n;
    }
    std::string all() const {
        std::string t;
        for (const auto& l : lines()) t += l + "\n";
        return t;
    }

private:
    struct state {
        std::mutex mutex;
        std::vector<std::string> lines;
    };
    std::shared_ptr<state> state_ = std::make_shared<state>();
};

} // namespace kwire::test
