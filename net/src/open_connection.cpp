#include "kwire/net/open_connection.hpp"

#include "kwire/net/sasl.hpp"
#include "kwire/net/version_negotiation.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace kwire::net {

result_awaitable<ready_connection> open_connection(std::shared_ptr<connection> conn, std::string host,
                                                   std::string port) {
    constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
    ready_connection out;
    out.conn = std::move(conn);
    auto [connect_ec] = co_await out.conn->async_connect(host, port, no_throw);
    if (connect_ec) {
        out.failure = out.conn->failure();
        co_return std::pair{connect_ec, std::move(out)};
    }
    auto [version_ec, versions] = co_await async_negotiate_versions(out.conn, no_throw);
    if (version_ec) {
        out.failure = out.conn->failure();
        if (out.failure.empty())
            out.failure = "broker " + out.conn->peer() + ": ApiVersions failed: " + version_ec.message();
        out.conn->close();
        co_return std::pair{version_ec, std::move(out)};
    }
    out.versions = std::move(versions);
    out.conn->options().log.log(log_level::debug, log_context::protocol, [&] {
        return "broker " + out.conn->peer() + ": ApiVersions: the broker offers " +
               std::to_string(out.versions.all().size()) + " APIs";
    });
    if (out.conn->options().sasl.enabled()) {
        auto sasl = co_await sasl_authenticate(out.conn, out.versions);
        if (sasl.ec) {
            out.failure = std::move(sasl.failure);
            co_return std::pair{sasl.ec, std::move(out)};
        }
    }
    co_return std::pair{std::error_code{}, std::move(out)};
}

} // namespace kwire::net
