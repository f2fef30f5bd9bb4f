// The body of the message fuzz targets (fuzz_requests, fuzz_responses).
//
// Input: byte 0 picks the API (its Kafka API key when kwire has a codec for
// it, else an index into the list of APIs), byte 1 the version (used as is
// when in the API's range, else folded into it), and the rest is a frame as
// it travels after the 4-byte size: request or response header, then body.
// Seeds are exactly that: [api key][version] + a golden capture.
//
// Decoding hostile bytes must fail cleanly or succeed. When it succeeds, the
// message must re-encode (to encoded_size() bytes), decode again to an equal
// message, and that re-encoding must be identical: anything else, like any
// sanitizer report, is a finding and aborts.
#pragma once

#include "support/message_types.hpp"

#include "kwire/proto/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

namespace kwire::fuzz {

[[noreturn]] inline void finding(const char* what, std::int16_t key, std::int16_t version) {
    std::fprintf(stderr, "FINDING: %s (api %d %.*s, version %d)\n", what, key,
                 static_cast<int>(proto::api_name(key).size()), proto::api_name(key).data(), version);
    std::abort();
}

template <class Header, class Body>
void round_trip(std::span<const std::byte> frame, std::int16_t key, std::int16_t header_version,
                std::int16_t version) {
    proto::reader r(frame);
    Header header;
    if (header.decode(r, header_version)) return;
    Body body;
    if (body.decode(r, version)) return;

    std::vector<std::byte> once;
    proto::writer w(once);
    if (header.encode(w, header_version) || body.encode(w, version) || !w.ok())
        finding("a decoded message does not re-encode", key, version);
    if (header.encoded_size(header_version) + body.encoded_size(version) != once.size())
        finding("encoded_size() differs from the bytes encode() wrote", key, version);

    proto::reader r2(once);
    Header header2;
    Body body2;
    if (header2.decode(r2, header_version) || body2.decode(r2, version))
        finding("a re-encoded message does not decode", key, version);
    if (r2.remaining() != 0) finding("bytes left over after decoding a re-encoded message", key, version);
    if (!(header2 == header) || !(body2 == body)) finding("decode(encode(m)) != m", key, version);

    std::vector<std::byte> twice;
    proto::writer w2(twice);
    if (header2.encode(w2, header_version) || body2.encode(w2, version) || twice != once)
        finding("encoding is not stable across a round trip", key, version);
}

template <bool Requests>
int fuzz_one(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto bytes = std::as_bytes(std::span(data, size));
    const std::int16_t key = data[0];
    auto run = [&]<class Request>(std::type_identity<Request>) {
        using Message = std::conditional_t<Requests, Request, typename Request::response_type>;
        constexpr int lo = Message::min_version, hi = Message::max_version;
        int v = data[1];
        if (v < lo || v > hi) v = lo + v % (hi - lo + 1);
        const auto version = static_cast<std::int16_t>(v);
        if constexpr (Requests) {
            round_trip<proto::request_header, Message>(bytes.subspan(2), Request::api_key,
                                                       proto::request_header_version(Request::api_key, version),
                                                       version);
        } else {
            round_trip<proto::response_header, Message>(bytes.subspan(2), Request::api_key,
                                                        proto::response_header_version(Request::api_key, version),
                                                        version);
        }
    };
    if (!test::visit_request_type(key, run)) test::visit_request_index(static_cast<std::size_t>(key), run);
    return 0;
}

} // namespace kwire::fuzz
