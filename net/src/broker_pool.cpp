#include "kwire/net/broker_pool.hpp"

#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>

namespace kwire::net {
namespace {
constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
}

std::chrono::milliseconds backoff_delay(const backoff_options& o, int failures, double unit_random) noexcept {
    if (failures <= 0) return std::chrono::milliseconds(0);
    const double base = std::min(static_cast<double>(o.maximum.count()),
                                 static_cast<double>(o.initial.count()) * std::pow(2.0, std::min(failures - 1, 30)));
    const double factor = 1.0 + o.jitter * (2.0 * std::clamp(unit_random, 0.0, 1.0) - 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(base * factor));
}

broker_pool::broker_pool(private_tag, asio::any_io_executor ex, connection_options options, backoff_options backoff)
    : strand_(asio::make_strand(ex)),
      options_(std::move(options)),
      backoff_(backoff),
      random_(std::random_device{}()) {}

void broker_pool::set_address(std::int32_t node_id, std::string host, std::string port) {
    asio::dispatch(strand_, [self = shared_from_this(), node_id, host = std::move(host), port = std::move(port)] {
        auto& a = self->addresses_[node_id];
        if (a.host == host && a.port == port) return;
        a = address{host, port};
        // The broker moved: its old connections lead somewhere else now.
        for (auto& [key, s] : self->slots_) {
            if (key.first != node_id) continue;
            if (s.ready.conn) s.ready.conn->close();
            s.ready = {};
            s.failures = 0;
            s.next_attempt = {};
        }
    });
}

int broker_pool::failures(std::int32_t node_id, traffic kind) const {
    auto it = slots_.find({node_id, kind});
    return it == slots_.end() ? 0 : it->second.failures;
}

void broker_pool::close() {
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->closed_ = true;
        for (auto& [key, s] : self->slots_) {
            if (s.ready.conn) s.ready.conn->close();
            s.ready = {};
            auto waiters = std::move(s.waiters);
            s.waiters.clear();
            for (auto& w : waiters) w(make_error_code(errc::shut_down), ready_connection{});
        }
    });
}

result_awaitable<ready_connection> broker_pool::get(std::shared_ptr<broker_pool> self, std::int32_t node_id,
                                                   traffic kind) {
    const slot_key key{node_id, kind};
    asio::steady_timer pause(self->strand_);
    for (;;) {
        if (self->closed_) co_return std::pair{make_error_code(errc::shut_down), ready_connection{}};
        const auto where = self->addresses_.find(node_id);
        if (where == self->addresses_.end()) {
            ready_connection none;
            none.failure = "broker " + std::to_string(node_id) + ": no address known for it";
            co_return std::pair{make_error_code(errc::unknown_broker), std::move(none)};
        }
        slot& s = self->slots_[key];
        if (s.ready.conn && s.ready.conn->is_open()) co_return std::pair{std::error_code{}, s.ready};
        s.ready = {};
        const auto now = std::chrono::steady_clock::now();
        if (!s.opening && now < s.next_attempt) {
            // Too soon after a failure: wait out the backoff, then look again.
            pause.expires_at(s.next_attempt);
            co_await pause.async_wait(no_throw);
            continue;
        }
        if (!s.opening) {
            s.opening = true;
            asio::co_spawn(self->strand_, open(self, key, where->second), asio::detached);
        }
        auto [ec, ready] = co_await asio::async_initiate<decltype(no_throw), void(std::error_code, ready_connection)>(
            [&](auto handler) { s.waiters.emplace_back(std::move(handler), self->strand_); }, no_throw);
        co_return std::pair{ec, std::move(ready)};
    }
}

asio::awaitable<void> broker_pool::open(std::shared_ptr<broker_pool> self, slot_key key, address where) {
    const connection_options options = self->options_;
    auto [ec, ready] =
        co_await async_open_connection(self->strand_.get_inner_executor(), where.host, where.port, options, no_throw);
    self->finish_open(key, ec, std::move(ready));
}

void broker_pool::finish_open(const slot_key& key, std::error_code ec, ready_connection ready) {
    slot& s = slots_[key];
    s.opening = false;
    if (closed_) {
        if (ready.conn) ready.conn->close();
        ec = make_error_code(errc::shut_down);
        ready = {};
    } else if (ec) {
        ++s.failures;
        s.last_error = ec;
        s.last_failure = ready.failure;
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        s.next_attempt = std::chrono::steady_clock::now() + backoff_delay(backoff_, s.failures, unit(random_));
    } else {
        s.failures = 0;
        s.ready = ready;
    }
    auto waiters = std::move(s.waiters);
    s.waiters.clear();
    for (auto& w : waiters) w(ec, ready);
}

} // namespace kwire::net
