// The producer's machinery (private to client/src).
//
// Records go from send() straight into their partition's open batch (the
// accumulator: producer_accumulator.cpp). The sender (producer_sender.cpp)
// runs on the broker pool's strand: it drains ready batches into one Produce
// request per broker, keeps up to max.in.flight requests per broker
// pipelined on that broker's connection, and settles each batch from its
// response: delivered, retried (after a metadata refresh when the leader
// moved), split (refused as too large: smaller batches go again in its
// place), or failed. Idempotence (producer_idempotence.cpp) stamps
// sequence numbers at drain time and repairs the producer state when the
// broker loses it. A topic whose metadata carries a non-retriable error
// (TOPIC_AUTHORIZATION_FAILED, ...) fails its waiting records at once.
//
// One mutex guards all of it: send() runs on application threads, the
// sender on the strand. Completions never run under the mutex.
#pragma once

#include "kwire/cluster_metadata.hpp"
#include "kwire/producer.hpp"
#include "kwire/proto/messages/produce.hpp"
#include "kwire/proto/record_batch_builder.hpp"

#include <asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace kwire {

using clock = std::chrono::steady_clock;
using delivery_handler = net::erased_handler<std::error_code, record_metadata>;

struct topic_state;

struct produce_batch {
    proto::record_batch_builder builder;
    std::vector<delivery_handler> handlers;  // one per record, in order
    std::vector<std::int64_t> timestamps;    // each record's timestamp (for its report)
    topic_state* topic = nullptr;
    std::int32_t partition = -1;
    std::uint64_t order = 0;  // creation order within the partition (retries go back in this order)
    // The pieces of a batch split for being too large share its `order` and
    // take consecutive places within [sub_order, sub_order + sub_span).
    std::uint64_t sub_order = 0;
    std::uint64_t sub_span = full_sub_span;
    clock::time_point created{};
    clock::time_point linger_until{};
    clock::time_point retry_at{};
    std::size_t reserved = 0;  // buffer.memory bytes held by the records
    int attempts = 0;
    bool closed = false;       // takes no more records
    bool sent = false;         // was in a request: the broker may have it
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::error_code last_error;  // why the last attempt failed

    std::int32_t record_count() const noexcept { return builder.record_count(); }
    // Whether this batch goes before `other` in its partition.
    bool before(const produce_batch& other) const noexcept {
        return order != other.order ? order < other.order : sub_order < other.sub_order;
    }

    static constexpr std::uint64_t full_sub_span = std::uint64_t(1) << 62;
};
using batch_ptr = std::unique_ptr<produce_batch>;

struct partition_state {
    std::deque<batch_ptr> queue;  // oldest first; only the back one may be open
    int in_flight = 0;            // batches of this partition in requests under way
    // A batch came back for a retry: nothing else of this partition is sent
    // until every batch in flight has come back, then all go again in order.
    bool blocked = false;
    std::uint64_t next_order = 0;
    std::int32_t next_sequence = 0;
    std::int32_t last_acked_sequence = -1;  // last sequence the broker confirmed
};

// A record whose topic's partitions are not known yet. Its bytes are owned.
struct waiting_record {
    std::optional<std::int32_t> partition;
    payload key;
    payload value;
    std::vector<header> headers;
    std::int64_t timestamp = 0;
    delivery_handler done;
    clock::time_point since{};
    std::size_t reserved = 0;
};

struct topic_state {
    std::string name;
    proto::uuid id;
    std::deque<partition_state> partitions;  // empty until metadata knows the topic (a deque: grows in place)
    std::deque<waiting_record> waiting;
    std::error_code metadata_error;  // e.g. unknown_topic_or_partition
    std::int32_t sticky_partition = -1;
    std::size_t sticky_bytes = 0;
};

// A broker's side of the sender: its connection and the requests on it.
struct broker_sink {
    std::shared_ptr<net::connection> conn;
    net::api_versions versions;
    bool connecting = false;
    int requests_in_flight = 0;
    clock::time_point retry_at{};
    std::string last_failure;
};

// A Produce request drained under the mutex, sent after it is released.
struct outgoing_request {
    std::int32_t node = -1;
    std::shared_ptr<net::connection> conn;
    std::optional<std::int16_t> version;  // of Produce; none: the broker speaks none kwire can send
    std::shared_ptr<std::vector<batch_ptr>> batches;
};

// Completions collected under the mutex, run after it is released.
struct completion {
    delivery_handler done;
    std::error_code ec;
    record_metadata metadata;
};
// A batch settled as a whole: its handlers are taken out and run after the
// mutex is released, so a response holds the mutex per batch, not per record.
struct batch_completion {
    batch_ptr batch;
    std::error_code ec;
    std::int64_t base_offset = -1;
    std::int64_t log_append_time = -1;
};
struct completion_list {
    std::vector<completion> records;
    std::vector<batch_completion> batches;
    // Of these, the records counted in pending_ (now in completing_ until
    // their handlers have run).
    std::size_t counted = 0;

    bool empty() const noexcept { return records.empty() && batches.empty(); }
    void push_back(completion c) { records.push_back(std::move(c)); }
};

class producer_impl : public std::enable_shared_from_this<producer_impl> {
public:
    producer_impl(asio::any_io_executor ex, producer_options options);
    ~producer_impl();

    void enqueue(producer_record& record, bool may_move, delivery_handler done);
    std::error_code flush(std::chrono::milliseconds timeout);
    std::error_code close(std::chrono::milliseconds timeout);
    std::size_t pending() const;
    asio::any_io_executor executor() const { return executor_; }
    const producer_options& options() const noexcept { return options_; }
    // Whether the calling thread runs the producer's executor (blocking
    // there would deadlock).
    bool on_io_thread() const;
    void set_io_thread(std::thread::id id) { io_thread_ = id; }

private:
    friend class producer_sender;

    // --- accumulator (producer_accumulator.cpp) ---
    topic_state& topic_for(std::string_view name);
    std::error_code choose_partition(topic_state& t, const std::optional<std::int32_t>& requested,
                                     const payload& key, std::int32_t& out);
    // Appends into the partition's open batch; on error nothing is appended.
    std::error_code append(topic_state& t, std::int32_t partition, std::int64_t timestamp, payload& key,
                           payload& value, const std::vector<header>& headers, bool may_move, std::size_t reserved,
                           delivery_handler& done);
    // Places records that waited for their topic's metadata.
    void place_waiting(topic_state& t, completion_list& out);
    // Splits a batch the broker refused as too large (MESSAGE_TOO_LARGE,
    // RECORD_LIST_TOO_LARGE) into batches of about half its size, in record
    // order, and puts them back in its place; false (nothing changed) when
    // the batch cannot be split.
    bool split(produce_batch& b, std::error_code cause, clock::time_point now);
    batch_ptr new_batch();
    void recycle(batch_ptr b);

    // --- settling batches (producer_sender.cpp) ---
    void complete_batch(batch_ptr b, std::error_code ec, std::int64_t base_offset, std::int64_t log_append_time,
                        completion_list& out);
    void fail_waiting(waiting_record& w, std::error_code ec, completion_list& out);
    // Metadata refused the topic for good (e.g. TOPIC_AUTHORIZATION_FAILED):
    // its waiting records and the batches not sent yet fail with `ec`.
    void fail_topic(topic_state& t, std::error_code ec, completion_list& out);
    // Puts a batch back into its partition's queue at its place in order.
    void requeue(partition_state& p, batch_ptr b);
    void release(std::size_t bytes);
    // Runs completions outside the mutex, then (under it) recycles their
    // batches and takes list.counted records off completing_.
    void run_completions(completion_list& list);

    // --- sender (producer_sender.cpp) ---
    void wake();
    void run_sender();
    void expire(clock::time_point now, completion_list& out);
    void refresh_metadata_if_needed(clock::time_point now);
    void on_metadata(std::error_code ec, const cluster_metadata::snapshot_ptr& snap);
    void connect_sink(std::int32_t node);
    std::vector<outgoing_request> drain(clock::time_point now);
    // The Produce version for these batches on a broker offering `versions`.
    std::optional<std::int16_t> produce_version(const net::api_versions& versions,
                                                const std::vector<batch_ptr>& batches) const;
    // Seals the batches (compression, CRC) and sends, outside the mutex.
    void send_request(outgoing_request request);
    // `resp` is null for acks=0 (nothing to read) and for errors; a
    // `final_error` is not retried (the request could not even be built).
    void on_response(std::int32_t node, const std::shared_ptr<std::vector<batch_ptr>>& batches, std::error_code ec,
                     const proto::produce_response* resp, bool final_error);
    void settle(batch_ptr b, std::int16_t error_code, std::int64_t base_offset, std::int64_t log_append_time,
                const std::optional<std::string>& message, clock::time_point now, completion_list& out);
    void retry(batch_ptr b, std::error_code cause, clock::time_point now, completion_list& out);
    void arm_timer(clock::time_point now);
    void abort_all(std::error_code ec, completion_list& out);

    // --- idempotence (producer_idempotence.cpp) ---
    bool producer_id_ready() const noexcept;
    void ensure_producer_id(clock::time_point now);
    void on_producer_id(std::error_code ec, std::int16_t error_code, std::int64_t id, std::int16_t epoch);
    void stamp(produce_batch& b, partition_state& p);
    void note_acked(produce_batch& b, partition_state& p);
    // A piece of a split batch takes the sequence numbers its records had in
    // the whole batch (from `offset` on): the broker stored none of them.
    void stamp_split(produce_batch& piece, const produce_batch& whole, std::int32_t offset);
    // A stamped batch the broker refused failed for good: its sequence
    // numbers were never used. Handed back when no later batch took any,
    // otherwise the epoch is bumped (the broker would wait for them).
    void sequence_unused(produce_batch& b, partition_state& p);
    void request_epoch_bump(const char* why);

    producer_options options_;
    asio::any_io_executor executor_;
    std::shared_ptr<net::broker_pool> pool_;
    std::shared_ptr<cluster_metadata> metadata_;
    asio::steady_timer timer_;  // on the pool's strand
    clock::time_point timer_at_ = clock::time_point::max();
    std::thread::id io_thread_{};

    mutable std::mutex mutex_;
    std::condition_variable changed_;  // pending fell, closing
    // Senders waiting for buffer.memory. They are woken once the buffer is
    // down to half (or closing), not on every freed batch: a sender that woke
    // for each response would fill one batch and sleep again, two context
    // switches per batch.
    std::condition_variable space_;
    int senders_waiting_ = 0;
    std::map<std::string, std::unique_ptr<topic_state>, std::less<>> topics_;
    std::map<std::int32_t, broker_sink> sinks_;
    std::vector<batch_ptr> spare_batches_;
    std::size_t buffer_used_ = 0;
    std::size_t pending_ = 0;  // records accepted and not yet completed
    std::size_t completing_ = 0;  // completions running now (flush waits for them too)
    int batches_in_flight_ = 0;
    int flushing_ = 0;         // flush() calls waiting: linger is ignored
    bool closing_ = false;     // close() began: linger is ignored, no new records
    bool closed_ = false;      // everything left fails
    std::minstd_rand random_;
    std::atomic<bool> wake_posted_{false};

    // Metadata refreshes (one at a time).
    bool metadata_in_flight_ = false;
    bool metadata_stale_ = false;  // a leader moved or is unknown
    clock::time_point metadata_next_{};
    int metadata_failures_ = 0;
    std::error_code metadata_failure_;

    // Idempotence.
    std::int64_t producer_id_ = -1;
    std::int16_t producer_epoch_ = -1;
    bool producer_id_in_flight_ = false;
    bool epoch_bump_needed_ = false;
    clock::time_point producer_id_next_{};
    int producer_id_failures_ = 0;
    std::error_code fatal_;  // idempotence failed for good: every record fails with this
};

} // namespace kwire
