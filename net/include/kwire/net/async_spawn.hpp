// Runs a coroutine that reports failure as an error_code (never by throwing)
// and completes a caller's completion token with void(std::error_code, T):
// callbacks, futures and use_awaitable all work on kwire's composed operations.
#pragma once

#include "kwire/net/erased_handler.hpp"
#include "kwire/net/errors.hpp"

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>

#include <exception>
#include <system_error>
#include <utility>

namespace kwire::net {

template <class T>
using result_awaitable = asio::awaitable<std::pair<std::error_code, T>>;

template <class T, class Token>
auto async_spawn(asio::any_io_executor ex, result_awaitable<T> op, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, T)>(
        [ex](auto handler, result_awaitable<T> op) {
            erased_handler<std::error_code, T> done(std::move(handler), ex);
            asio::co_spawn(ex, std::move(op),
                           [done = std::move(done)](std::exception_ptr e, std::pair<std::error_code, T> r) mutable {
                               if (e) r.first = make_error_code(errc::internal_error);
                               done(r.first, std::move(r.second));
                           });
        },
        token, std::move(op));
}

} // namespace kwire::net
