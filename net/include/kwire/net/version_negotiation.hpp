// ApiVersions on a fresh connection: learns which versions of each API the
// broker speaks, stepping down when the broker rejects kwire's request version.
#pragma once

#include "kwire/net/api_versions.hpp"
#include "kwire/net/async_spawn.hpp"
#include "kwire/net/connection.hpp"

#include <memory>

namespace kwire::net {

result_awaitable<api_versions> negotiate_versions(std::shared_ptr<connection> conn);

// Completion: void(std::error_code, api_versions).
template <class Token>
auto async_negotiate_versions(std::shared_ptr<connection> conn, Token&& token) {
    auto ex = conn->get_executor();
    return async_spawn<api_versions>(ex, negotiate_versions(std::move(conn)), std::forward<Token>(token));
}

} // namespace kwire::net
