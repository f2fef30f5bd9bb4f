// The consumer's machinery (private to client/src).
//
// Fetching (consumer_fetcher.cpp) runs on the broker pool's strand: one
// fetch in flight per broker, over an incremental fetch session, for the
// assigned partitions that broker leads, while the bytes buffered for poll()
// stay under queued.max.bytes. Responses are kept as they arrived (the frame
// is shared, nothing copied); poll() decodes records from them as views.
// Positions come from committed offsets or the reset policy
// (consumer_offsets.cpp). Group membership (consumer_group.cpp) runs as one
// coroutine on the strand: coordinator, join, sync, heartbeats, leave.
//
// One mutex guards the state shared by the poll()ing thread and the strand.
#pragma once

#include "fetch_session.hpp"
#include "rpc_support.hpp"

#include "kwire/cluster_metadata.hpp"
#include "kwire/consumer.hpp"
#include "kwire/net/async_spawn.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <asio/steady_timer.hpp>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace kwire {

namespace consumer_detail {
using client_detail::clock;
using client_detail::no_throw;
using client_detail::rpc_result;
} // namespace consumer_detail

struct aborted_transaction {
    std::int64_t producer_id = -1;
    std::int64_t first_offset = -1;
};

// One partition's records from one fetch response, not yet polled.
struct fetched_chunk {
    topic_partition tp;
    std::shared_ptr<const void> owner;  // the response frame
    std::span<const std::byte> records;
    std::uint64_t epoch = 0;            // the partition's epoch when fetched
    std::vector<aborted_transaction> aborted;
};

struct consumer_partition {
    std::optional<std::int64_t> position;       // next offset to return
    std::optional<std::int32_t> leader_epoch;   // of the last record returned
    enum class need { none, committed, reset } need = need::committed;
    offset_reset reset_to = offset_reset::latest;  // for need::reset
    bool paused = false;
    // Eagerly revoked, waiting for poll() to run on_revoked: not fetched,
    // but still owned, so the application can commit what it consumed.
    bool revoking = false;
    bool gone_reported = false;    // told poll() the partition vanished (deleted topic)
    bool fetching = false;         // in a fetch request now
    bool lookup_in_flight = false; // committed or reset lookup under way
    std::uint64_t epoch = 0;       // moves on every seek: older fetched data is dropped
    std::int64_t high_watermark = -1;
    std::error_code error;         // shown by the next poll()
    std::string error_detail;
};

struct broker_fetcher {
    fetch_session session;
    std::shared_ptr<net::connection> conn;
    net::api_versions versions;
    bool connecting = false;
    bool in_flight = false;
    consumer_detail::clock::time_point retry_at{};
};

// A partition being decoded by poll(): the reader walks the chunk's batches.
struct decode_cursor {
    fetched_chunk chunk;
    proto::record_batch_reader reader;
    bool active = false;
    bool in_batch = false;
    proto::batch_info batch;
    std::shared_ptr<const proto::byte_buffer> decompressed;  // keeps a compressed batch's records alive
    std::set<std::int64_t> aborted_producers;  // read_committed: producers inside an aborted transaction
    std::size_t next_aborted = 0;
};

enum class rebalance_event_kind { assigned, revoked, lost };
struct rebalance_event {
    rebalance_event_kind kind;
    std::vector<topic_partition> partitions;
};

class consumer_impl : public std::enable_shared_from_this<consumer_impl> {
public:
    consumer_impl(asio::any_io_executor ex, consumer_options options);

    // --- the application's calls (consumer.cpp) ---
    void subscribe(std::vector<std::string> topics, rebalance_listener listener);
    std::string last_error_detail() const {
        std::lock_guard lock(mutex_);
        return last_error_detail_;
    }
    void unsubscribe();
    void assign(std::vector<topic_partition> partitions);
    std::vector<topic_partition> assignment() const;
    consumer_records poll(std::chrono::milliseconds timeout, std::error_code& ec);
    std::error_code commit(std::optional<std::map<topic_partition, offset_and_metadata>> offsets,
                           std::chrono::milliseconds timeout);
    void commit_async(std::optional<std::map<topic_partition, offset_and_metadata>> offsets,
                      std::function<void(std::error_code)> done);
    std::map<topic_partition, offset_and_metadata> committed(const std::vector<topic_partition>& partitions,
                                                             std::chrono::milliseconds timeout, std::error_code& ec);
    std::int64_t position(const topic_partition& tp, std::chrono::milliseconds timeout, std::error_code& ec);
    void seek(const topic_partition& tp, std::int64_t offset);
    void seek_to(const std::vector<topic_partition>& partitions, offset_reset where);
    std::map<topic_partition, std::optional<std::int64_t>> offsets_for_times(
        const std::map<topic_partition, std::int64_t>& timestamps, std::chrono::milliseconds timeout,
        std::error_code& ec);
    std::map<topic_partition, std::int64_t> list_offsets_at(const std::vector<topic_partition>& partitions,
                                                            std::int64_t timestamp, std::chrono::milliseconds timeout,
                                                            std::error_code& ec);
    std::vector<topic_partition> partitions_for(const std::string& topic, std::chrono::milliseconds timeout,
                                                std::error_code& ec);
    void set_paused(const std::vector<topic_partition>& partitions, bool paused);
    std::vector<topic_partition> paused() const;
    void close(std::chrono::milliseconds timeout);

    asio::any_io_executor executor() const { return executor_; }
    const consumer_options& options() const noexcept { return options_; }
    bool on_io_thread() const;
    void set_io_thread(std::thread::id id) { io_thread_ = id; }

    // Runs `op` on the strand and waits for it (bounded by `timeout`).
    template <class T>
    std::pair<std::error_code, T> run_blocking(net::result_awaitable<T> op, std::chrono::milliseconds timeout);

private:
    using clock = consumer_detail::clock;

    // --- fetching (consumer_fetcher.cpp) ---
    void wake();
    void run_fetchers();
    void connect_fetcher(std::int32_t node);
    void send_fetch(std::int32_t node, std::vector<fetch_position> wanted, std::map<topic_partition, std::uint64_t> epochs);
    void on_fetch(std::int32_t node, std::int16_t version, std::map<topic_partition, std::uint64_t> epochs,
                  std::error_code ec, const proto::fetch_response* resp);
    void refresh_metadata();
    void arm_timer(clock::time_point at);
    // poll()'s half: records out of the buffered chunks (under the mutex).
    void take_records(consumer_records& out, std::size_t max);
    bool decode_some(consumer_records& out, std::size_t max);
    void drop_buffered(const topic_partition& tp);

    // --- positions and commits (consumer_offsets.cpp) ---
    void resolve_positions();
    static asio::awaitable<void> lookup_committed(std::shared_ptr<consumer_impl> self, std::vector<topic_partition> parts);
    static asio::awaitable<void> lookup_reset(std::shared_ptr<consumer_impl> self,
                                              std::vector<std::pair<topic_partition, offset_reset>> parts);
    static net::result_awaitable<std::map<topic_partition, std::pair<std::int64_t, std::int32_t>>> list_offsets(
        std::shared_ptr<consumer_impl> self, std::map<topic_partition, std::int64_t> timestamps);
    static net::result_awaitable<std::map<topic_partition, offset_and_metadata>> fetch_committed(
        std::shared_ptr<consumer_impl> self, std::vector<topic_partition> parts);
    static net::result_awaitable<bool> commit_offsets(std::shared_ptr<consumer_impl> self,
                                                      std::map<topic_partition, offset_and_metadata> offsets);
    std::map<topic_partition, offset_and_metadata> consumed_positions() const;  // under the mutex

    // --- the group (consumer_group.cpp) ---
    static asio::awaitable<void> group_loop(std::shared_ptr<consumer_impl> self);
    static net::result_awaitable<std::int32_t> find_coordinator(std::shared_ptr<consumer_impl> self);
    static asio::awaitable<std::error_code> join_and_sync(std::shared_ptr<consumer_impl> self);
    static asio::awaitable<std::error_code> heartbeat(std::shared_ptr<consumer_impl> self);
    static asio::awaitable<void> leave_group(std::shared_ptr<consumer_impl> self, std::string reason);
    static asio::awaitable<void> wait_for_revocation(std::shared_ptr<consumer_impl> self);
    void apply_assignment(const std::vector<topic_partition>& assigned, rebalance_protocol protocol);
    void lose_assignment(const char* why);
    void wake_group();
    void run_rebalance_events(std::unique_lock<std::mutex>& lock);
    void maybe_auto_commit_assigned(std::unique_lock<std::mutex>& lock);
    void drop_revoking();  // under the mutex
    // The oldest version of an API that carries what the settings ask for
    // (group.instance.id, read_committed); older ones would drop it silently.
    std::int16_t oldest_version_for(std::int16_t api_key) const;
    // A failure poll() must report (wrong credentials, TLS): under the mutex.
    void note_failure(const std::error_code& ec);
    void note_partition_failure(consumer_partition& p, const topic_partition& tp, const std::error_code& ec);

    template <class Request, class Build>
    static asio::awaitable<consumer_detail::rpc_result<typename Request::response_type>> rpc(
        std::shared_ptr<consumer_impl> self, std::int32_t node, net::traffic kind, std::int16_t max_version,
        Build build, std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    consumer_options options_;
    asio::any_io_executor executor_;
    // Decompressed batches live as long as the records viewing them, then are
    // reused (as response frames are, through options_.connection.frame_pool).
    std::shared_ptr<proto::byte_buffer_pool> decompressed_pool_;
    std::shared_ptr<net::broker_pool> pool_;
    std::shared_ptr<cluster_metadata> metadata_;
    asio::steady_timer timer_;
    clock::time_point timer_at_ = clock::time_point::max();
    std::thread::id io_thread_{};

    mutable std::mutex mutex_;
    std::condition_variable changed_;  // data, an event or an error for poll(); commits done
    bool closed_ = false;
    std::map<topic_partition, consumer_partition> assigned_;
    std::map<std::int32_t, broker_fetcher> fetchers_;
    std::deque<fetched_chunk> buffered_;
    std::size_t buffered_bytes_ = 0;
    decode_cursor cursor_;
    // Records' topic views point into these; a batch shares ownership, so a
    // batch outliving its consumer still reads its topic name.
    std::map<std::string, std::shared_ptr<const std::string>, std::less<>> topic_names_;
    bool metadata_in_flight_ = false;
    clock::time_point metadata_next_{};

    // Group membership.
    std::vector<std::string> subscription_;
    rebalance_listener listener_;
    bool subscribed_ = false;
    std::string member_id_;
    std::int32_t generation_ = -1;
    std::string protocol_name_;
    bool joined_ = false;
    bool rejoin_needed_ = false;
    std::int32_t coordinator_ = -1;  // node id, -1 unknown
    std::size_t next_coordinator_query_ = 0;  // which broker FindCoordinator asks first (on the strand)
    std::deque<rebalance_event> events_;
    bool revocation_pending_ = false;  // a revoked event waits for poll() (eager rebalance)
    std::error_code fatal_;            // the group refused us for good (shown by poll())
    // Wrong credentials or TLS settings seen by a connection: the next poll()
    // reports it (and clears it: a later attempt may have other news).
    std::error_code configuration_error_;
    std::string last_error_detail_;  // what the last error poll() returned was about
    // Partitions were lost and the application has not seen on_lost yet:
    // commits fail (Java's CommitFailedException) rather than store nothing.
    bool lost_unseen_ = false;
    clock::time_point last_poll_ = clock::now();
    bool poll_timed_out_ = false;
    bool group_loop_running_ = false;
    std::unique_ptr<asio::steady_timer> group_wake_;  // cancelled to wake the group loop
    bool group_woken_ = false;                        // (strand only) a wake arrived while not waiting
    clock::time_point next_auto_commit_{};        // the group loop's (subscribed)
    clock::time_point next_manual_auto_commit_{};  // poll()'s, for assign(); under mutex_
    std::map<std::string, std::size_t> joined_partition_counts_;  // subscribed topics' sizes at the last join
};

template <class Request, class Build>
asio::awaitable<consumer_detail::rpc_result<typename Request::response_type>> consumer_impl::rpc(
    std::shared_ptr<consumer_impl> self, std::int32_t node, net::traffic kind, std::int16_t max_version, Build build,
    std::optional<std::chrono::milliseconds> timeout) {
    consumer_detail::rpc_result<typename Request::response_type> out;
    out.node = node;
    auto [ec, ready] = co_await self->pool_->async_get(node, kind, consumer_detail::no_throw);
    if (ec) {
        out.ec = ec;
        out.failure = ready.failure.empty() ? ec.message() : ready.failure;
        co_return out;
    }
    const std::int16_t newest = client_detail::newest_version<Request>(max_version);
    const std::int16_t oldest = std::max<std::int16_t>(Request::min_version, self->oldest_version_for(Request::api_key));
    const auto version = ready.versions.choose(Request::api_key, {oldest, newest});
    if (!version) {
        out.ec = make_error_code(net::errc::no_common_version);
        out.failure = "broker " + ready.conn->peer() + ": no common version of API " + std::to_string(Request::api_key) +
                      (oldest > Request::min_version ? " from v" + std::to_string(oldest) + " (which the settings need)" : "");
        co_return out;
    }
    out.version = *version;
    const Request req = build(*version);
    const auto limit = timeout.value_or(ready.conn->options().request_timeout);
    auto [rec, resp] = co_await ready.conn->async_send(req, *version, limit, consumer_detail::no_throw);
    out.ec = rec;
    if (rec) out.failure = ready.conn->failure().empty() ? rec.message() : ready.conn->failure();
    out.response = std::move(resp);
    co_return out;
}

template <class T>
std::pair<std::error_code, T> consumer_impl::run_blocking(net::result_awaitable<T> op, std::chrono::milliseconds timeout) {
    if (on_io_thread()) return {make_error_code(client_errc::would_block), T{}};
    struct state {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        std::pair<std::error_code, T> result;
    };
    auto st = std::make_shared<state>();
    net::async_spawn<T>(pool_->get_executor(), std::move(op), [st](std::error_code ec, T value) {
        std::lock_guard lock(st->m);
        st->result = {ec, std::move(value)};
        st->done = true;
        st->cv.notify_all();
    });
    std::unique_lock lock(st->m);
    if (!st->cv.wait_for(lock, timeout, [&] { return st->done; }))
        return {make_error_code(net::errc::request_timeout), T{}};
    return std::move(st->result);
}

} // namespace kwire
