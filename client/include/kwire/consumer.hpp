// kwire::consumer — reads records from Kafka, alone (assign) or as a member
// of a consumer group (subscribe), with committed positions.
//
//   kwire::config cfg;
//   cfg.set("bootstrap.servers", "localhost:9092").set("group.id", "g");
//   kwire::consumer c(cfg);
//   c.subscribe({"t"});
//   for (const auto& m : c)   // polls until close() or an error
//       std::cout << m.topic << ' ' << m.offset << ' ' << m.value_string() << '\n';
//
// poll() returns the records fetched so far (waiting up to its timeout for
// some). Their keys, values and headers are views into the fetched buffers,
// kept alive as long as the consumer_records object is. Fetching runs in the
// background on an Asio executor (kwire's own thread by default), one fetch
// loop per broker, with prefetching bounded in memory. The group's
// heartbeats run there too, so a slow poll loop keeps its membership until
// max.poll.interval.ms.
//
// Rebalance callbacks run on the caller's thread, inside poll().
#pragma once

#include "kwire/assignor.hpp"
#include "kwire/config.hpp"
#include "kwire/errors.hpp"
#include "kwire/net/connection.hpp"
#include "kwire/proto/record.hpp"
#include "kwire/topic_partition.hpp"

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire {

enum class offset_reset { earliest, latest, none };
enum class isolation_level { read_uncommitted, read_committed };

struct consumer_options {
    std::vector<std::pair<std::string, std::string>> bootstrap;
    net::connection_options connection;
    std::chrono::milliseconds reconnect_backoff{50};
    std::chrono::milliseconds reconnect_backoff_max{1000};
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds retry_backoff_max{1000};  // group retries back off up to this
    std::chrono::milliseconds metadata_max_age{300'000};

    std::string group_id;                              // group.id (empty: no group; assign() only)
    std::optional<std::string> group_instance_id;      // group.instance.id (static membership)
    offset_reset auto_offset_reset = offset_reset::latest;
    bool enable_auto_commit = true;
    std::chrono::milliseconds auto_commit_interval{5000};
    std::chrono::milliseconds session_timeout{45'000};
    std::chrono::milliseconds heartbeat_interval{3000};
    std::chrono::milliseconds max_poll_interval{300'000};
    std::chrono::milliseconds rebalance_timeout{300'000};  // what JoinGroup asks for (max.poll.interval.ms)
    std::int32_t fetch_min_bytes = 1;
    std::int32_t fetch_max_bytes = 52'428'800;
    std::int32_t max_partition_fetch_bytes = 1'048'576;
    std::chrono::milliseconds fetch_max_wait{500};
    std::size_t queued_max_bytes = 64 * 1024 * 1024;   // prefetched, not yet polled
    std::size_t max_poll_records = 500;
    isolation_level isolation = isolation_level::read_uncommitted;
    std::vector<std::string> assignment_strategies{"range", "cooperative-sticky"};
    std::optional<std::string> client_rack;
    bool allow_auto_create_topics = false;
    bool check_crcs = true;

    static consumer_options from_config(const config& cfg, net::log_callback log = {});
};

// One record, as views into the fetched data (valid while its
// consumer_records lives).
struct consumer_record {
    std::string_view topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp_ms = -1;
    proto::timestamp_type timestamp_type = proto::timestamp_type::create_time;
    std::optional<std::int32_t> leader_epoch;
    std::optional<std::span<const std::byte>> key;
    std::optional<std::span<const std::byte>> value;
    proto::header_list headers;

    std::string_view key_string() const noexcept { return as_string(key); }
    std::string_view value_string() const noexcept { return as_string(value); }

private:
    static std::string_view as_string(const std::optional<std::span<const std::byte>>& b) noexcept {
        if (!b) return {};
        return {reinterpret_cast<const char*>(b->data()), b->size()};
    }
};

// The records of one poll, in offset order per partition.
class consumer_records {
public:
    using const_iterator = std::vector<consumer_record>::const_iterator;

    const_iterator begin() const noexcept { return records_.begin(); }
    const_iterator end() const noexcept { return records_.end(); }
    std::size_t size() const noexcept { return records_.size(); }
    bool empty() const noexcept { return records_.empty(); }
    const consumer_record& operator[](std::size_t i) const noexcept { return records_[i]; }

    // Bytes of keys and values (for rate displays).
    std::size_t payload_bytes() const noexcept { return payload_bytes_; }

    // For the consumer: adds records and what keeps their bytes alive.
    void add(consumer_record r) {
        payload_bytes_ += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
        records_.push_back(std::move(r));
    }
    void keep_alive(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
    void clear() {
        records_.clear();
        owners_.clear();
        payload_bytes_ = 0;
    }

private:
    std::vector<consumer_record> records_;
    std::vector<std::shared_ptr<const void>> owners_;
    std::size_t payload_bytes_ = 0;
};

// Called on the poll()ing thread, inside poll().
struct rebalance_listener {
    std::function<void(const std::vector<topic_partition>&)> on_assigned;
    // Taken away in an orderly rebalance: commit now if you commit by hand.
    std::function<void(const std::vector<topic_partition>&)> on_revoked;
    // Taken away without a chance to commit (session lost, fenced).
    std::function<void(const std::vector<topic_partition>&)> on_lost;
};

class consumer_impl;

class consumer {
public:
    explicit consumer(consumer_options options);
    explicit consumer(const config& cfg, net::log_callback log = {})
        : consumer(consumer_options::from_config(cfg, std::move(log))) {}
    consumer(asio::any_io_executor ex, consumer_options options);
    consumer(asio::any_io_executor ex, const config& cfg, net::log_callback log = {})
        : consumer(std::move(ex), consumer_options::from_config(cfg, std::move(log))) {}
    // Closes (commits if auto-commit is on, leaves the group).
    ~consumer();
    consumer(const consumer&) = delete;
    consumer& operator=(const consumer&) = delete;

    // Group-managed: the group's leader assigns partitions of these topics.
    // Needs group.id. Replaces an earlier subscription.
    void subscribe(std::vector<std::string> topics, rebalance_listener listener = {});
    void unsubscribe();
    // Manual: exactly these partitions, no group membership (commits still
    // go to group.id when set).
    void assign(std::vector<topic_partition> partitions);
    std::vector<topic_partition> assignment() const;

    // Records fetched so far; waits up to `timeout` for at least one. Throws
    // std::system_error for an error the application must see (offset out of
    // range with auto.offset.reset=none, authorization, a fatal group error).
    consumer_records poll(std::chrono::milliseconds timeout);
    consumer_records poll(std::chrono::milliseconds timeout, std::error_code& ec);

    // Commits the positions of every assigned partition (what poll returned).
    std::error_code commit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    std::error_code commit(const std::map<topic_partition, offset_and_metadata>& offsets,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Completion runs on the consumer's executor: void(std::error_code).
    void commit_async(std::function<void(std::error_code)> done = {});
    void commit_async(std::map<topic_partition, offset_and_metadata> offsets, std::function<void(std::error_code)> done);

    std::map<topic_partition, offset_and_metadata> committed(const std::vector<topic_partition>& partitions,
                                                             std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // The offset of the next record poll() returns for `tp` (resolving
    // committed offsets or the reset policy if needed).
    std::int64_t position(const topic_partition& tp, std::chrono::milliseconds timeout = std::chrono::seconds(30));
    void seek(const topic_partition& tp, std::int64_t offset);
    void seek_to_beginning(const std::vector<topic_partition>& partitions);
    void seek_to_end(const std::vector<topic_partition>& partitions);
    // The earliest offset whose timestamp is >= the given one (nullopt: none).
    std::map<topic_partition, std::optional<std::int64_t>> offsets_for_times(
        const std::map<topic_partition, std::int64_t>& timestamps,
        std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // The first offset / the offset after the last record (the high
    // watermark; the last stable offset with read_committed) of each partition.
    std::map<topic_partition, std::int64_t> beginning_offsets(const std::vector<topic_partition>& partitions,
                                                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
    std::map<topic_partition, std::int64_t> end_offsets(const std::vector<topic_partition>& partitions,
                                                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // The partitions of `topic` (throws for an unknown topic).
    std::vector<topic_partition> partitions_for(const std::string& topic,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(30));

    void pause(const std::vector<topic_partition>& partitions);
    void resume(const std::vector<topic_partition>& partitions);
    std::vector<topic_partition> paused() const;

    // Commits (auto-commit), leaves the group, stops fetching. Idempotent.
    void close(std::chrono::milliseconds timeout = std::chrono::seconds(30));

    // `for (const auto& m : consumer)`: polls until close() or an error
    // (thrown from operator++).
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = consumer_record;
        using difference_type = std::ptrdiff_t;
        using pointer = const consumer_record*;
        using reference = const consumer_record&;

        iterator() = default;
        explicit iterator(consumer* c) : consumer_(c) { advance(); }
        reference operator*() const noexcept { return batch_[index_]; }
        pointer operator->() const noexcept { return &batch_[index_]; }
        iterator& operator++() {
            ++index_;
            if (index_ >= batch_.size()) advance();
            return *this;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.consumer_ == b.consumer_; }

    private:
        void advance();
        consumer* consumer_ = nullptr;
        consumer_records batch_;
        std::size_t index_ = 0;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

    asio::any_io_executor executor() const;

private:
    struct own_thread;
    std::unique_ptr<own_thread> thread_;
    std::shared_ptr<consumer_impl> impl_;
};

} // namespace kwire
