// Connections to every broker of a cluster, opened on demand and kept apart
// by kind of traffic: a long fetch never sits in front of a heartbeat, and a
// produce burst never delays a metadata refresh.
//
// A failed open is retried no sooner than an exponential backoff with
// jitter allows (reconnect.backoff.ms up to reconnect.backoff.max.ms), and
// callers that ask for the same connection while it is opening share that one
// attempt.
#pragma once

#include "kwire/net/async_spawn.hpp"
#include "kwire/net/open_connection.hpp"

#include <asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace kwire::net {

enum class traffic : std::uint8_t { metadata, produce, fetch, group };

struct backoff_options {
    std::chrono::milliseconds initial{50};   // reconnect.backoff.ms
    std::chrono::milliseconds maximum{1000}; // reconnect.backoff.max.ms
    double jitter = 0.2;                     // +-20%
};

// The delay before the attempt that follows `failures` consecutive failures.
std::chrono::milliseconds backoff_delay(const backoff_options& o, int failures, double unit_random) noexcept;

class broker_pool : public std::enable_shared_from_this<broker_pool> {
    struct private_tag {};

public:
    // Node id of a bootstrap address (not yet known by id).
    static constexpr std::int32_t bootstrap_node = -1;

    static std::shared_ptr<broker_pool> create(asio::any_io_executor ex, connection_options options,
                                               backoff_options backoff = {}) {
        return std::make_shared<broker_pool>(private_tag{}, std::move(ex), std::move(options), backoff);
    }
    broker_pool(private_tag, asio::any_io_executor ex, connection_options options, backoff_options backoff);

    asio::strand<asio::any_io_executor> get_executor() const noexcept { return strand_; }

    // Where a broker is (from metadata, or the bootstrap list with
    // bootstrap_node - index). A changed address drops the old connections.
    void set_address(std::int32_t node_id, std::string host, std::string port);

    // A ready connection to `node_id` for `kind` of traffic: the open one, or
    // a new one once the backoff allows. Completion:
    // void(std::error_code, ready_connection) — on failure, `failure` says
    // which step failed at which broker.
    template <class Token>
    auto async_get(std::int32_t node_id, traffic kind, Token&& token) {
        return async_spawn<ready_connection>(strand_, get(shared_from_this(), node_id, kind),
                                             std::forward<Token>(token));
    }

    // Closes every connection; later requests fail with errc::shut_down.
    void close();

    // Consecutive failed opens of one connection slot (for tests and logs).
    int failures(std::int32_t node_id, traffic kind) const;

private:
    struct slot {
        ready_connection ready;
        bool opening = false;
        std::vector<erased_handler<std::error_code, ready_connection>> waiters;
        int failures = 0;
        std::chrono::steady_clock::time_point next_attempt{};
        std::error_code last_error;
        std::string last_failure;
    };
    struct address {
        std::string host, port;
    };
    using slot_key = std::pair<std::int32_t, traffic>;

    static result_awaitable<ready_connection> get(std::shared_ptr<broker_pool> self, std::int32_t node_id,
                                                  traffic kind);
    static asio::awaitable<void> open(std::shared_ptr<broker_pool> self, slot_key key, address where);
    void finish_open(const slot_key& key, std::error_code ec, ready_connection ready);

    asio::strand<asio::any_io_executor> strand_;
    connection_options options_;
    backoff_options backoff_;
    std::map<std::int32_t, address> addresses_;
    std::map<slot_key, slot> slots_;
    std::minstd_rand random_;
    bool closed_ = false;
};

} // namespace kwire::net
