// What the admin client and the consumer share about sending one request
// (private to client/src): the result of a call, the version range kwire
// sends, and how a request that any broker can answer finds a live broker.
#pragma once

#include "kwire/cluster_metadata.hpp"
#include "kwire/net/errors.hpp"

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace kwire::client_detail {

using clock = std::chrono::steady_clock;
inline constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

// One request's answer, or why there is none.
template <class Response>
struct rpc_result {
    std::error_code ec;
    std::int32_t node = -1;  // the broker asked
    std::int16_t version = -1;
    Response response;
    std::string failure;  // which broker, which step
};

// The newest version of `Request` kwire sends, at most `max_version`: the
// latest version of an API Kafka marks unstable is left out.
template <class Request>
constexpr std::int16_t newest_version(std::int16_t max_version) {
    return std::min<std::int16_t>(max_version,
                                  Request::latest_version_unstable ? Request::max_version - 1 : Request::max_version);
}

// The brokers to ask, one after the other, for a request any broker answers:
// `preferred` first when metadata knows it, then the known brokers starting
// with the `turn`-th (successive calls start at different brokers, so one
// broker down does not take every first attempt); the first bootstrap
// address when metadata knows no broker.
inline std::vector<std::int32_t> brokers_in_turn(const cluster_snapshot& snap, std::size_t turn,
                                                 std::optional<std::int32_t> preferred = std::nullopt) {
    std::vector<std::int32_t> out;
    for (const auto& [id, b] : snap.brokers) out.push_back(id);
    if (out.empty()) return {net::broker_pool::bootstrap_node};
    std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(turn % out.size()), out.end());
    if (preferred) {
        if (auto it = std::find(out.begin(), out.end(), *preferred); it != out.end())
            std::rotate(out.begin(), it, it + 1);
    }
    return out;
}

// Sends through `send(node)` (an awaitable rpc_result) to each broker of
// `brokers` in turn until one answers, or fails in a way that asking another
// broker would not change: a broker that cannot be reached is skipped.
template <class Result, class Send>
asio::awaitable<Result> first_answer(std::vector<std::int32_t> brokers, Send send) {
    Result r;
    for (const std::int32_t node : brokers) {
        r = co_await send(node);
        if (!r.ec || !net::is_retriable(r.ec)) break;
    }
    co_return r;
}

} // namespace kwire::client_detail
