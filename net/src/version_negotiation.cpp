#include "kwire/net/version_negotiation.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/api_versions.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace kwire::net {
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::int16_t unsupported_version = 35;

} // namespace

result_awaitable<api_versions> negotiate_versions(std::shared_ptr<connection> conn) {
    using request_t = proto::api_versions_request;
    using response_t = proto::api_versions_response;

    request_t request;
    request.client_software_name = "kwire";
    request.client_software_version = KWIRE_VERSION_STRING;

    // An unstable newest version is never offered by production brokers.
    std::int16_t version = request_t::latest_version_unstable ? request_t::max_version - 1 : request_t::max_version;
    const version_pins& pins = conn->options().pins;
    if (auto p = pins.max_by_api.find(request_t::api_key); p != pins.max_by_api.end() && p->second < version)
        version = p->second;
    if (pins.lowest) version = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::vector<std::byte> body;
        proto::writer w(body);
        if (auto ec = request.encode(w, version)) co_return std::pair{ec, api_versions{}};
        auto [ec, resp] = co_await conn->async_request(request_t::api_key, version, std::move(body), no_throw);
        if (ec) co_return std::pair{ec, api_versions{}};

        // A broker that does not speak `version` answers in version 0 with
        // UNSUPPORTED_VERSION and its own ApiVersions range.
        response_t decoded;
        proto::reader r(resp.body());
        const bool parsed = !decoded.decode(r, version);
        if (!parsed || decoded.error_code == unsupported_version) {
            decoded = response_t{};
            proto::reader r0(resp.body());
            if (auto dec = decoded.decode(r0, 0)) co_return std::pair{dec, api_versions{}};
        }
        if (decoded.error_code == unsupported_version && attempt == 0) {
            std::int16_t broker_max = 0;
            for (const auto& k : decoded.api_keys)
                if (k.api_key == request_t::api_key) broker_max = k.max_version;
            version = broker_max < version ? broker_max : static_cast<std::int16_t>(0);
            continue;
        }
        if (decoded.error_code != 0) co_return std::pair{proto::kafka_error(decoded.error_code), api_versions{}};

        api_versions result;
        result.pin(pins);
        for (const auto& k : decoded.api_keys) result.set(k.api_key, version_range{k.min_version, k.max_version});
        co_return std::pair{std::error_code{}, std::move(result)};
    }
    co_return std::pair{make_error_code(errc::no_common_version), api_versions{}};
}

} // namespace kwire::net
