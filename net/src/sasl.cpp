#include "kwire/net/sasl.hpp"

#include "kwire/net/scram.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/sasl_authenticate.hpp"
#include "kwire/proto/messages/sasl_handshake.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames
// (its recycling operator new/delete pair) when it inlines them here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kwire::net {
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out.empty() ? std::string("none") : out;
}

// Removes any copy of the password from text that came from elsewhere (a
// broker's error message), so it cannot leak through an error line.
std::string scrub(std::string text, const std::string& password) {
    if (password.empty()) return text;
    for (auto pos = text.find(password); pos != std::string::npos; pos = text.find(password, pos))
        text.replace(pos, password.size(), "***");
    return text;
}

std::vector<std::byte> to_bytes(std::string_view s) {
    std::vector<std::byte> out(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
    return out;
}

std::string to_string(const std::vector<std::byte>& b) {
    std::string out(b.size(), '\0');
    for (std::size_t i = 0; i < b.size(); ++i) out[i] = static_cast<char>(b[i]);
    return out;
}

// One SaslAuthenticate round trip: the broker's reply, or nullopt when it
// failed (then `out` says why and the connection is closed).
asio::awaitable<std::optional<std::string>> round_trip(std::shared_ptr<connection> conn, std::int16_t version,
                                                       const std::string& step, const std::string& user_note,
                                                       sasl_outcome& out, std::string token) {
    const std::string& password = conn->options().sasl.password;
    proto::sasl_authenticate_request request;
    request.auth_bytes = to_bytes(token);
    std::fill(token.begin(), token.end(), '\0');
    auto [ec, response] = co_await conn->async_send(request, version, no_throw);
    std::fill(request.auth_bytes.begin(), request.auth_bytes.end(), std::byte{0});
    if (ec) {
        out.ec = ec;
        out.failure = conn->failure().empty() ? conn->abort(ec, step, user_note) : conn->failure();
        co_return std::nullopt;
    }
    if (response.error_code != 0) {
        const bool auth_failed =
            response.error_code == static_cast<std::int16_t>(proto::kafka_errc::sasl_authentication_failed);
        out.ec = auth_failed ? make_error_code(errc::sasl_authentication_failed) : proto::kafka_error(response.error_code);
        std::string detail = user_note;
        if (!auth_failed) detail += ": " + proto::kafka_error(response.error_code).message();
        if (response.error_message && !response.error_message->empty())
            detail += ": broker says: " + *response.error_message;
        out.failure = conn->abort(out.ec, step, scrub(detail, password));
        co_return std::nullopt;
    }
    co_return to_string(response.auth_bytes);
}

} // namespace

std::string sasl_plain_message(const std::string& username, const std::string& password) {
    std::string m;
    m.reserve(username.size() + password.size() + 2);
    m += '\0';
    m += username;
    m += '\0';
    m += password;
    return m;
}

asio::awaitable<sasl_outcome> sasl_authenticate(std::shared_ptr<connection> conn, const api_versions& versions) {
    const sasl_config& sasl = conn->options().sasl;
    const logger& log = conn->options().log;
    sasl_outcome out;
    if (!sasl.enabled()) co_return out;

    const std::string& mechanism = sasl.mechanism;
    const std::string user_note = "user '" + sasl.username + "'";
    auto failed = [&](std::error_code ec, const std::string& step, const std::string& detail) {
        out.ec = ec;
        out.failure = conn->abort(ec, step, scrub(detail, sasl.password));
    };

    // SaslHandshake v1: v0 would mean raw SASL tokens outside Kafka framing.
    using handshake_t = proto::sasl_handshake_request;
    const auto handshake_range = versions.broker_range(handshake_t::api_key);
    if (!handshake_range || !handshake_range->contains(1)) {
        {
            failed(make_error_code(errc::unsupported_api), "SASL handshake",
                         "the broker does not offer SaslHandshake v1 (Kafka 1.0 or later is needed)");
            co_return out;
        }
    }
    handshake_t handshake;
    handshake.mechanism = mechanism;
    auto [hec, hresp] = co_await conn->async_send(handshake, 1, no_throw);
    if (hec) {
        if (conn->failure().empty()) {
            failed(hec, "SASL handshake", "");
            co_return out;
        }
        out.ec = hec;
        out.failure = conn->failure();
        co_return out;
    }
    const auto handshake_error = static_cast<proto::kafka_errc>(hresp.error_code);
    if (handshake_error == proto::kafka_errc::illegal_sasl_state && hresp.mechanisms.empty()) {
        {
            failed(make_error_code(errc::sasl_not_enabled), "SASL handshake",
                         "the broker enables no SASL mechanism on this listener");
            co_return out;
        }
    }
    const bool offered = std::find(hresp.mechanisms.begin(), hresp.mechanisms.end(), mechanism) != hresp.mechanisms.end();
    if (handshake_error == proto::kafka_errc::unsupported_sasl_mechanism || (hresp.error_code == 0 && !offered)) {
        failed(make_error_code(errc::sasl_mechanism_unsupported), "SASL handshake",
               "sasl.mechanism " + mechanism + "; the broker offers: " + join(hresp.mechanisms));
        co_return out;
    }
    if (hresp.error_code != 0) {
        {
            failed(proto::kafka_error(hresp.error_code), "SASL handshake", "mechanism " + mechanism);
            co_return out;
        }
    }
    log.log(log_level::debug, log_context::security, [&] {
        return "broker " + conn->peer() + ": SASL mechanism " + mechanism + " (broker offers " +
               join(hresp.mechanisms) + ")";
    });

    using auth_t = proto::sasl_authenticate_request;
    const auto auth_version = versions.choose(auth_t::api_key, {auth_t::min_version, auth_t::max_version});
    const std::string step = "SASL " + mechanism + " authentication";
    if (!auth_version) {
        {
            failed(make_error_code(errc::unsupported_api), step,
                         "the broker offers no SaslAuthenticate version kwire speaks");
            co_return out;
        }
    }

    if (mechanism == "PLAIN") {
        std::string message = sasl_plain_message(sasl.username, sasl.password);
        auto reply = co_await round_trip(conn, *auth_version, step, user_note, out, std::move(message));
        if (!reply) co_return out;
    } else if (mechanism == "SCRAM-SHA-256" || mechanism == "SCRAM-SHA-512") {
        scram_client scram(mechanism == "SCRAM-SHA-256" ? scram_hash::sha256 : scram_hash::sha512, sasl.username,
                           sasl.password);
        // Named, not a temporary inside the co_await: GCC 12 mishandles class
        // prvalues passed by value within a co_await expression.
        std::string client_first = scram.client_first();
        auto server_first = co_await round_trip(conn, *auth_version, step, user_note, out, std::move(client_first));
        if (!server_first) co_return out;
        std::string client_final, detail;
        if (auto ec = scram.handle_server_first(*server_first, client_final, detail))
            {
            failed(ec, step, user_note + ": " + detail);
            co_return out;
        }
        auto server_final = co_await round_trip(conn, *auth_version, step, user_note, out, std::move(client_final));
        if (!server_final) co_return out;
        if (auto ec = scram.verify_server_final(*server_final, detail))
            {
            failed(ec, step, user_note + ": " + detail);
            co_return out;
        }
    } else {
        {
            failed(make_error_code(errc::sasl_mechanism_unsupported), step,
                         "kwire implements PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512");
            co_return out;
        }
    }
    log.log(log_level::debug, log_context::security, [&] {
        return "broker " + conn->peer() + ": " + step + " as " + user_note + " succeeded";
    });
    co_return out;
}

} // namespace kwire::net
