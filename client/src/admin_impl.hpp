// The admin client's machinery (private to client/src): every call is a
// coroutine on the broker pool's strand with a deadline, run to completion
// while the caller's thread waits (admin_impl::run). Topic calls live in
// admin.cpp, group calls in admin_groups.cpp.
#pragma once

#include "rpc_support.hpp"

#include "kwire/admin.hpp"
#include "kwire/cluster_metadata.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <asio/co_spawn.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kwire {

namespace admin_detail {
using client_detail::clock;
using client_detail::no_throw;
using client_detail::rpc_result;

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

// What one attempt of an operation ends with (admin_impl::retrying): its
// value, or an error that another attempt may cure (`retry`) or not.
template <class T>
struct attempt {
    std::error_code ec;
    std::string detail;
    T value{};
    bool retry = false;
};

inline std::chrono::milliseconds remaining(clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
}

// The time left, as a request's timeout_ms field (at least 1).
inline std::int32_t remaining_ms(clock::time_point deadline) {
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(remaining(deadline).count(), 1, INT32_MAX));
}

// Errors worth another attempt: a lost or timed-out connection, or a broker
// error Kafka calls retriable.
inline bool worth_retry(const std::error_code& ec) {
    return net::is_retriable(ec) || proto::is_retriable(ec);
}

// A request that got no answer: tried again when that may help.
template <class T, class Response>
attempt<T> failed(const rpc_result<Response>& r) {
    return attempt<T>{r.ec, r.failure, T{}, worth_retry(r.ec)};
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

    // Runs `fn(self, deadline, args...)` on the strand and waits for its
    // outcome (up to the deadline and a little grace for a connection
    // attempt under way). Throws admin_error naming `what`.
    template <class T, class... Params, class... Args>
    T run(const std::string& what, std::chrono::milliseconds timeout,
          op<T> (*fn)(std::shared_ptr<admin_impl>, clock::time_point, Params...), const Args&... args);

    void close() { pool_->close(); }
    asio::any_io_executor executor() const { return pool_->get_executor(); }

    // --- topics (admin.cpp) ---
    static op<std::vector<topic_outcome>> create_topics(std::shared_ptr<admin_impl> self, clock::time_point deadline,
                                                        std::vector<new_topic> topics, bool validate_only);
    static op<std::vector<topic_outcome>> delete_topics(std::shared_ptr<admin_impl> self, clock::time_point deadline,
                                                        std::vector<std::string> names);
    static op<std::vector<topic_listing>> list_topics(std::shared_ptr<admin_impl> self, clock::time_point deadline);
    static op<std::vector<topic_description>> describe_topics(std::shared_ptr<admin_impl> self,
                                                              clock::time_point deadline,
                                                              std::vector<std::string> names);
    static op<std::vector<config_entry>> describe_topic_configs(std::shared_ptr<admin_impl> self,
                                                                clock::time_point deadline, std::string topic);

    // --- groups (admin_groups.cpp) ---
    static op<std::vector<group_listing>> list_groups(std::shared_ptr<admin_impl> self, clock::time_point deadline);
    static op<std::vector<group_description>> describe_groups(std::shared_ptr<admin_impl> self,
                                                              clock::time_point deadline,
                                                              std::vector<std::string> groups);
    static op<std::vector<group_partition_offsets>> list_group_offsets(std::shared_ptr<admin_impl> self,
                                                                       clock::time_point deadline, std::string group);

private:
    template <class Request>
    using rpc_result = admin_detail::rpc_result<typename Request::response_type>;

    // Runs `try_once()` (an awaitable admin_detail::attempt<T>) until it ends
    // with a value or with an error not worth another attempt, pausing
    // between attempts while the deadline allows; each retry is logged
    // under `what`.
    template <class T, class TryOnce>
    static op<T> retrying(std::shared_ptr<admin_impl> self, std::string what, clock::time_point deadline,
                          TryOnce try_once);
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
    // One request to broker `node`, built by `build(version)`.
    template <class Request, class Build>
    static asio::awaitable<rpc_result<Request>> rpc(std::shared_ptr<admin_impl> self, std::int32_t node,
                                                    clock::time_point deadline, Build build,
                                                    std::int16_t max_version = Request::max_version);
    // A request any broker answers, to the live brokers in turn
    // (client_detail::brokers_in_turn, `preferred` first; metadata is
    // refreshed first when it knows no broker, which walks the bootstrap
    // list): a broker that cannot be reached is skipped.
    template <class Request, class Build>
    static asio::awaitable<rpc_result<Request>> rpc_any(std::shared_ptr<admin_impl> self, clock::time_point deadline,
                                                        Build build,
                                                        std::optional<std::int32_t> preferred = std::nullopt);
    // CreateTopics or DeleteTopics (admin.cpp): `build(pending names,
    // version, timeout_ms)` for the topics without an answer yet, at the
    // controller, until every topic has its answer.
    template <class Request, class Build>
    static op<std::vector<topic_outcome>> at_controller(std::shared_ptr<admin_impl> self, clock::time_point deadline,
                                                        std::vector<std::string> names, std::string what, Build build);

    static op<std::int32_t> find_coordinator(std::shared_ptr<admin_impl> self, std::string group,
                                             clock::time_point deadline);
    static op<group_description> describe_group(std::shared_ptr<admin_impl> self, std::string group,
                                                clock::time_point deadline);
    static op<std::map<topic_partition, offset_and_metadata>> committed_offsets(std::shared_ptr<admin_impl> self,
                                                                                std::string group,
                                                                                clock::time_point deadline);
    static op<std::map<topic_partition, std::int64_t>> end_offsets(std::shared_ptr<admin_impl> self,
                                                                   std::vector<topic_partition> partitions,
                                                                   clock::time_point deadline);

    // Logs a retry (debug, protocol context).
    void note_retry(const std::string& what, const std::error_code& ec, const std::string& detail) const;

    admin_options options_;
    std::shared_ptr<net::broker_pool> pool_;
    std::shared_ptr<cluster_metadata> metadata_;
    std::size_t next_broker_ = 0;  // which broker rpc_any asks first (on the strand)
};

template <class T, class... Params, class... Args>
T admin_impl::run(const std::string& what, std::chrono::milliseconds timeout,
                  op<T> (*fn)(std::shared_ptr<admin_impl>, clock::time_point, Params...), const Args&... args) {
    struct state {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        outcome<T> result;
    };
    auto st = std::make_shared<state>();
    const auto deadline = clock::now() + timeout;
    asio::co_spawn(pool_->get_executor(), fn(shared_from_this(), deadline, args...),
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
    co_return ready.versions.choose(Request::api_key,
                                    {Request::min_version, client_detail::newest_version<Request>(max_version)});
}

template <class Request, class Build>
asio::awaitable<admin_impl::rpc_result<Request>> admin_impl::rpc(std::shared_ptr<admin_impl> self, std::int32_t node,
                                                                 clock::time_point deadline, Build build,
                                                                 std::int16_t max_version) {
    rpc_result<Request> out;
    out.node = node;
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
    const auto version = ready.versions.choose(
        Request::api_key, {Request::min_version, client_detail::newest_version<Request>(max_version)});
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

template <class Request, class Build>
asio::awaitable<admin_impl::rpc_result<Request>> admin_impl::rpc_any(std::shared_ptr<admin_impl> self,
                                                                     clock::time_point deadline, Build build,
                                                                     std::optional<std::int32_t> preferred) {
    if (self->metadata_->current()->brokers.empty()) {
        std::optional<std::vector<std::string>> no_topics(std::in_place);  // only the brokers are wanted
        auto [mec, mdetail, snap] = co_await refresh(self, std::move(no_topics), deadline);
        if (mec) {
            rpc_result<Request> out;
            out.ec = mec;
            out.failure = mdetail;
            co_return out;
        }
    }
    auto brokers = client_detail::brokers_in_turn(*self->metadata_->current(), self->next_broker_++, preferred);
    auto ask = [&](std::int32_t node) { return rpc<Request>(self, node, deadline, build); };
    co_return co_await client_detail::first_answer<rpc_result<Request>>(std::move(brokers), ask);
}

template <class T, class TryOnce>
admin_impl::op<T> admin_impl::retrying(std::shared_ptr<admin_impl> self, std::string what, clock::time_point deadline,
                                       TryOnce try_once) {
    for (int attempt = 0;; ++attempt) {
        admin_detail::attempt<T> a = co_await try_once();
        if (!a.ec && !a.retry) co_return outcome<T>{{}, {}, std::move(a.value)};
        if (a.retry) {
            self->note_retry(what, a.ec, a.detail);
            if (co_await pause(self, attempt, deadline)) continue;
        }
        co_return outcome<T>{a.ec ? a.ec : make_error_code(net::errc::request_timeout), std::move(a.detail),
                             std::move(a.value)};
    }
}

} // namespace kwire
