// The admin client's machinery (private to client/src): every call is a
// coroutine on the broker pool's strand with a deadline, run to completion
// while the caller's thread waits (admin_impl::run). Topic calls live in
// admin.cpp, group calls in admin_groups.cpp.
#pragma once

#include "kwire/admin.hpp"
#include "kwire/cluster_metadata.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kwire {

namespace admin_detail {
using clock = std::chrono::steady_clock;
inline constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

// What an operation ends with: its value, or an error with a detail line
// (which broker, which step, or the broker's message).
template <class T>
struct outcome {
    std::error_code ec;
    std::string detail;
    T value{};
};
template <class T>
using op = asio::awaitable<outcome<T>>;

template <class Response>
struct rpc_result {
    std::error_code ec;
    std::int16_t version = -1;
    Response response;
    std::string failure;  // which broker, which step
};

inline std::chrono::milliseconds remaining(clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
}

// Errors worth another attempt: a lost or timed-out connection, or a broker
// error Kafka calls retriable.
inline bool worth_retry(const std::error_code& ec) {
    return net::is_retriable(ec) || proto::is_retriable(ec);
}
} // namespace admin_detail

class admin_impl : public std::enable_shared_from_this<admin_impl> {
public:
    using clock = admin_detail::clock;
    template <class T>
    using op = admin_detail::op<T>;
    template <class T>
    using outcome = admin_detail::outcome<T>;

    admin_impl(asio::any_io_executor ex, admin_options options);

    // Runs `make(self, deadline)` on the strand and waits for its outcome
    // (up to the deadline and a little grace for a connection attempt under
    // way). Throws admin_error naming `what`.
    template <class T, class MakeOp>
    T run(const std::string& what, std::chrono::milliseconds timeout, MakeOp make);

    void close() { pool_->close(); }
    asio::any_io_executor executor() const { return pool_->get_executor(); }

    // --- topics (admin.cpp) ---
    static op<std::vector<topic_outcome>> create_topics(std::shared_ptr<admin_impl> self, std::vector<new_topic> topics,
                                                        bool validate_only, clock::time_point deadline);
    static op<std::vector<topic_outcome>> delete_topics(std::shared_ptr<admin_impl> self, std::vector<std::string> names,
                                                        clock::time_point deadline);
    static op<std::vector<topic_listing>> list_topics(std::shared_ptr<admin_impl> self, clock::time_point deadline);
    static op<std::vector<topic_description>> describe_topics(std::shared_ptr<admin_impl> self,
                                                              std::vector<std::string> names, clock::time_point deadline);
    static op<std::vector<config_entry>> describe_topic_configs(std::shared_ptr<admin_impl> self, std::string topic,
                                                                clock::time_point deadline);

    // --- groups (admin_groups.cpp) ---
    static op<std::vector<group_listing>> list_groups(std::shared_ptr<admin_impl> self, clock::time_point deadline);
    static op<std::vector<group_description>> describe_groups(std::shared_ptr<admin_impl> self,
                                                              std::vector<std::string> groups, clock::time_point deadline);
    static op<std::vector<group_partition_offsets>> list_group_offsets(std::shared_ptr<admin_impl> self, std::string group,
                                                                       clock::time_point deadline);

private:
    // Metadata for `topics` (nullopt: every topic), retried until the deadline.
    static op<cluster_metadata::snapshot_ptr> refresh(std::shared_ptr<admin_impl> self,
                                                      std::optional<std::vector<std::string>> topics,
                                                      clock::time_point deadline);
    // Waits before attempt `attempt + 1`; false when that would pass the deadline.
    static asio::awaitable<bool> pause(std::shared_ptr<admin_impl> self, int attempt, clock::time_point deadline);
    // The version of `Request` this broker and kwire agree on (nullopt: none, or unreachable).
    template <class Request>
    static asio::awaitable<std::optional<std::int16_t>> version_at(std::shared_ptr<admin_impl> self, std::int32_t node,
                                                                   std::int16_t max_version);
    template <class Request, class Build>
    static asio::awaitable<admin_detail::rpc_result<typename Request::response_type>> rpc(
        std::shared_ptr<admin_impl> self, std::int32_t node, clock::time_point deadline, Build build,
        std::int16_t max_version = Request::max_version);

    static op<std::int32_t> find_coordinator(std::shared_ptr<admin_impl> self, std::string group,
                                             clock::time_point deadline);
    static op<group_description> describe_group(std::shared_ptr<admin_impl> self, std::string group,
                                                clock::time_point deadline);
    static op<std::map<topic_partition, std::int64_t>> end_offsets(std::shared_ptr<admin_impl> self,
                                                                   std::vector<topic_partition> partitions,
                                                                   clock::time_point deadline);

    // A broker for requests any broker answers: a known one, else the first
    // bootstrap address.
    std::int32_t any_broker() const;
    // Logs a retry (debug, protocol context).
    void note_retry(const std::string& what, const std::error_code& ec, const std::string& detail) const;

    admin_options options_;
    std::shared_ptr<net::broker_pool> pool_;
    std::shared_ptr<cluster_metadata> metadata_;
};

template <class T, class MakeOp>
T admin_impl::run(const std::string& what, std::chrono::milliseconds timeout, MakeOp make) {
    struct state {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        outcome<T> result;
    };
    auto st = std::make_shared<state>();
    const auto deadline = clock::now() + timeout;
    asio::co_spawn(pool_->get_executor(), make(shared_from_this(), deadline),
                   [st](std::exception_ptr e, outcome<T> r) {
                       if (e) {
                           r.ec = make_error_code(net::errc::internal_error);
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& x) {
                               r.detail = x.what();
                           } catch (...) {
                           }
                       }
                       std::lock_guard lock(st->m);
                       st->result = std::move(r);
                       st->done = true;
                       st->cv.notify_all();
                   });
    // Opening a connection is bounded by its own timeout, not the call's:
    // allow a little grace before giving up on the answer.
    const auto grace = std::chrono::milliseconds(2000);
    std::unique_lock lock(st->m);
    if (!st->cv.wait_until(lock, deadline + grace, [&] { return st->done; }))
        throw admin_error(make_error_code(net::errc::request_timeout),
                          what + ": no answer within " + std::to_string(timeout.count()) + " ms");
    outcome<T> r = std::move(st->result);
    if (r.ec) {
        std::string message = what + ": " + r.ec.message();
        if (!r.detail.empty() && r.detail != r.ec.message()) message += " (" + r.detail + ")";
        throw admin_error(r.ec, message);
    }
    return std::move(r.value);
}

template <class Request>
asio::awaitable<std::optional<std::int16_t>> admin_impl::version_at(std::shared_ptr<admin_impl> self, std::int32_t node,
                                                                    std::int16_t max_version) {
    auto [ec, ready] = co_await self->pool_->async_get(node, net::traffic::metadata, admin_detail::no_throw);
    if (ec) co_return std::nullopt;
    const std::int16_t newest = std::min<std::int16_t>(
        max_version, Request::latest_version_unstable ? Request::max_version - 1 : Request::max_version);
    co_return ready.versions.choose(Request::api_key, {Request::min_version, newest});
}

template <class Request, class Build>
asio::awaitable<admin_detail::rpc_result<typename Request::response_type>> admin_impl::rpc(
    std::shared_ptr<admin_impl> self, std::int32_t node, clock::time_point deadline, Build build,
    std::int16_t max_version) {
    admin_detail::rpc_result<typename Request::response_type> out;
    if (admin_detail::remaining(deadline).count() <= 0) {
        out.ec = make_error_code(net::errc::request_timeout);
        out.failure = "the call's time ran out";
        co_return out;
    }
    auto [ec, ready] = co_await self->pool_->async_get(node, net::traffic::metadata, admin_detail::no_throw);
    if (ec) {
        out.ec = ec;
        out.failure = ready.failure.empty() ? ec.message() : ready.failure;
        co_return out;
    }
    const std::int16_t newest = std::min<std::int16_t>(
        max_version, Request::latest_version_unstable ? Request::max_version - 1 : Request::max_version);
    const auto version = ready.versions.choose(Request::api_key, {Request::min_version, newest});
    if (!version) {
        out.ec = make_error_code(net::errc::no_common_version);
        out.failure = "broker " + ready.conn->peer() + ": no common version of API " + std::to_string(Request::api_key);
        co_return out;
    }
    out.version = *version;
    const Request req = build(*version);
    // The request may not outlive the call.
    const auto limit = std::max(std::chrono::milliseconds(1),
                                std::min(ready.conn->options().request_timeout, admin_detail::remaining(deadline)));
    auto [rec, resp] = co_await ready.conn->async_send(req, *version, limit, admin_detail::no_throw);
    out.ec = rec;
    if (rec) out.failure = ready.conn->failure().empty() ? "broker " + ready.conn->peer() + ": " + rec.message()
                                                         : ready.conn->failure();
    out.response = std::move(resp);
    co_return out;
}

} // namespace kwire
