// Pieces of FAKE brokers on loopback, for what a real broker cannot be made
// to do: reading a client's request frame, and writing a response frame.
#pragma once

#include "kwire/proto/api_keys.hpp"
#include "kwire/proto/reader.hpp"
#include "kwire/proto/writer.hpp"

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace kwire::test {

// The header of a request a fake broker read.
struct request_head {
    std::int16_t api_key = -1;
    std::int16_t version = -1;
    std::int32_t correlation_id = -1;
};

// Reads one request frame from `socket`; nullopt when the client is gone.
inline asio::awaitable<std::optional<request_head>> read_request(asio::ip::tcp::socket& socket) {
    constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
    std::array<std::byte, 4> size_bytes{};
    auto [e1, n1] = co_await asio::async_read(socket, asio::buffer(size_bytes), no_throw);
    if (e1) co_return std::nullopt;
    proto::reader sr(size_bytes);
    std::vector<std::byte> request(static_cast<std::size_t>(sr.read_int32()));
    auto [e2, n2] = co_await asio::async_read(socket, asio::buffer(request), no_throw);
    if (e2) co_return std::nullopt;
    proto::reader r(request);
    request_head head;
    head.api_key = r.read_int16();
    head.version = r.read_int16();
    head.correlation_id = r.read_int32();
    co_return head;
}

// A response frame: size, the response header for `api_key` at `version`,
// and `body` encoded at `version`.
inline std::vector<std::byte> response_frame(std::int32_t correlation_id, std::int16_t api_key, std::int16_t version,
                                             const auto& body) {
    std::vector<std::byte> out;
    proto::writer w(out);
    w.write_int32(0);
    w.write_int32(correlation_id);
    if (proto::response_header_version(api_key, version) >= 1) w.write_uvarint(0);  // no tagged fields
    REQUIRE(!body.encode(w, version));
    const auto size = static_cast<std::uint32_t>(out.size() - 4);
    for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>(size >> (24 - 8 * i));
    return out;
}

} // namespace kwire::test
