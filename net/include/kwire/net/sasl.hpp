// SASL authentication on a connection whose API versions are known:
// SaslHandshake v1 (is the mechanism enabled?), then SaslAuthenticate
// carrying PLAIN credentials or the SCRAM exchange. Every request is bounded
// by the connection's request timeout. On failure the connection is closed
// and `failure` names the broker, the step ("SASL PLAIN authentication") and
// the user -- never the password.
#pragma once

#include "kwire/net/api_versions.hpp"
#include "kwire/net/connection.hpp"

#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace kwire::net {

struct sasl_outcome {
    std::error_code ec;
    std::string failure;  // empty on success
};

// Uses conn->options().sasl; does nothing when SASL is not enabled.
asio::awaitable<sasl_outcome> sasl_authenticate(std::shared_ptr<connection> conn, const api_versions& versions);

// PLAIN's message: authzid (empty) NUL user NUL password.
std::string sasl_plain_message(const std::string& username, const std::string& password);

} // namespace kwire::net
