// Runs an awaitable on a private io_context until it completes, with a hard
// limit so that a hang fails the test instead of stalling the run.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>

namespace kwire::test {

template <class T, class MakeAwaitable>
T run_async(MakeAwaitable make, std::chrono::seconds limit = std::chrono::seconds(60)) {
    asio::io_context io;
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(io, make(io.get_executor()), [&](std::exception_ptr e, T r) {
        error = e;
        if (!e) result = std::move(r);
        io.stop();  // abandon helpers still running (fake servers holding sockets open)
    });
    io.run_for(limit);
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("operation did not complete within the test's time limit");
    return std::move(*result);
}

} // namespace kwire::test
