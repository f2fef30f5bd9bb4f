// Opens a connection that is ready for requests: resolve and connect, the TLS
// handshake (options.tls), API versions, then SASL (options.sasl). Every step is bounded by a timeout, and a failure
// says which step failed at which broker (`connection::failure()`).
#pragma once

#include "kwire/net/api_versions.hpp"
#include "kwire/net/async_spawn.hpp"
#include "kwire/net/connection.hpp"

#include <memory>
#include <string>

namespace kwire::net {

struct ready_connection {
    std::shared_ptr<connection> conn;
    api_versions versions;
    // Why opening failed, naming the broker and the step; empty on success.
    std::string failure;
};

// Connects `conn` (fresh from connection::create) to host:port.
result_awaitable<ready_connection> open_connection(std::shared_ptr<connection> conn, std::string host,
                                                   std::string port);

// Completion: void(std::error_code, ready_connection).
template <class Token>
auto async_open_connection(asio::any_io_executor ex, std::string host, std::string port,
                           connection_options options, Token&& token) {
    auto conn = connection::create(ex, std::move(options));
    return async_spawn<ready_connection>(ex, open_connection(std::move(conn), std::move(host), std::move(port)),
                                         std::forward<Token>(token));
}

} // namespace kwire::net
