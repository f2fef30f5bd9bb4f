// Generated message codecs: round trips for every message and version, tagged
// fields, version rules, golden bytes and truncated input.
#include "generated/samples.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream> // doctest prints std::error_code through operator<<
#include <string>
#include <vector>

using namespace kwire::proto;

namespace {

std::vector<std::byte> B(std::initializer_list<int> xs) {
    std::vector<std::byte> out;
    for (int x : xs) out.push_back(static_cast<std::byte>(x));
    return out;
}

std::vector<std::byte> B(std::string_view s) { return testing::bytes_of(s); }

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> parts) {
    std::vector<std::byte> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

template <class T>
std::vector<std::byte> encode_ok(const T& m, std::int16_t version) {
    std::vector<std::byte> out;
    writer w(out);
    const std::error_code ec = m.encode(w, version);
    CHECK_MESSAGE(!ec, ec.message());
    return out;
}

template <class T>
std::error_code encode_error(const T& m, std::int16_t version) {
    writer w;
    return m.encode(w, version);
}

template <class T>
T decode_ok(const std::vector<std::byte>& bytes, std::int16_t version) {
    T m;
    reader r(bytes);
    const std::error_code ec = m.decode(r, version);
    CHECK_MESSAGE(!ec, ec.message());
    CHECK(r.remaining() == 0);
    return m;
}

template <class T>
constexpr bool has_unknown_tagged = requires(T t) { t.unknown_tagged; };

} // namespace

TEST_CASE_TEMPLATE("every message round trips at every version", T, KWIRE_GENERATED_MESSAGE_TYPES) {
    for (std::int16_t v = T::min_version; v <= T::max_version; ++v) {
        for (int variant : {0, 1}) {
            CAPTURE(v);
            CAPTURE(variant);
            const T sample = testing::sample<T>(v, variant);
            const auto bytes = encode_ok(sample, v);
            CHECK(sample.encoded_size(v) == bytes.size());
            const T decoded = decode_ok<T>(bytes, v);
            CHECK(decoded == sample);
            CHECK(encode_ok(decoded, v) == bytes);

            // Every strict prefix fails cleanly.
            std::size_t accepted_prefixes = 0;
            for (std::size_t n = 0; n < bytes.size(); ++n) {
                T m;
                reader r(std::span(bytes.data(), n));
                if (!m.decode(r, v)) ++accepted_prefixes;
            }
            CHECK(accepted_prefixes == 0);
        }
    }
}

TEST_CASE_TEMPLATE("versions outside the schema's range are refused", T, KWIRE_GENERATED_MESSAGE_TYPES) {
    const T m;
    CHECK(encode_error(m, static_cast<std::int16_t>(T::max_version + 1)) == wire_errc::unsupported_version);
    CHECK(encode_error(m, -1) == wire_errc::unsupported_version);
    if (T::min_version > 0)
        CHECK(encode_error(m, static_cast<std::int16_t>(T::min_version - 1)) == wire_errc::unsupported_version);
    const auto bytes = B({0, 0, 0, 0});
    T d;
    reader r(bytes);
    CHECK(d.decode(r, static_cast<std::int16_t>(T::max_version + 1)) == wire_errc::unsupported_version);
}

TEST_CASE_TEMPLATE("a default message encodes at every version", T, KWIRE_GENERATED_MESSAGE_TYPES) {
    for (std::int16_t v = T::min_version; v <= T::max_version; ++v) {
        CAPTURE(v);
        const T m;
        const auto bytes = encode_ok(m, v);
        CHECK(decode_ok<T>(bytes, v) == m);
    }
}

TEST_CASE_TEMPLATE("unknown tagged fields survive a round trip", T, KWIRE_GENERATED_MESSAGE_TYPES) {
    if constexpr (has_unknown_tagged<T>) {
        for (std::int16_t v = T::min_version; v <= T::max_version; ++v) {
            CAPTURE(v);
            T m = testing::sample<T>(v);
            m.unknown_tagged = {tagged_field{9000, B({0xde, 0xad})}, tagged_field{70000, {}}};
            if (v >= T::first_flexible_version && T::first_flexible_version >= 0) {
                const auto bytes = encode_ok(m, v);
                const T d = decode_ok<T>(bytes, v);
                CHECK(d.unknown_tagged == m.unknown_tagged);
                CHECK(d == m);
                CHECK(encode_ok(d, v) == bytes);
            } else {
                CHECK(encode_error(m, v) == wire_errc::field_not_in_version);
            }
        }
    }
}

TEST_CASE_TEMPLATE("fields absent from a version: error unless ignorable", T, KWIRE_GENERATED_MESSAGE_TYPES) {
    for (std::int16_t v = T::min_version; v <= T::max_version; ++v) {
        CAPTURE(v);
        for (const auto& [m, ignorable] : testing::absent_field_cases<T>(v)) {
            const std::error_code ec = encode_error(m, v);
            if (ignorable) CHECK(!ec);
            else CHECK(ec == wire_errc::field_not_in_version);
        }
    }
}

TEST_CASE("golden bytes: ApiVersionsRequest v3") {
    api_versions_request req;
    req.client_software_name = "kwire";
    req.client_software_version = "0.1.0";
    const auto expected = cat({B({0x06}), B("kwire"), B({0x06}), B("0.1.0"), B({0x00})});
    CHECK(encode_ok(req, 3) == expected);
    CHECK(req.encoded_size(3) == expected.size());
    CHECK(decode_ok<api_versions_request>(expected, 3) == req);

    // v0-v2 have no body; the software name is ignorable and silently dropped.
    CHECK(encode_ok(req, 2).empty());

    // An unknown tagged field injected into the encoding comes back out.
    auto injected = expected;
    injected.back() = std::byte{0x01};
    injected.insert(injected.end(), {std::byte{0x05}, std::byte{0x02}, std::byte{0xaa}, std::byte{0xbb}});
    const auto d = decode_ok<api_versions_request>(injected, 3);
    CHECK(d.client_software_name == "kwire");
    REQUIRE(d.unknown_tagged.size() == 1);
    CHECK(d.unknown_tagged[0].tag == 5);
    CHECK(d.unknown_tagged[0].data == B({0xaa, 0xbb}));
    CHECK(encode_ok(d, 3) == injected);
}

TEST_CASE("golden bytes: RequestHeader v1 and v2") {
    request_header h;
    h.request_api_key = api_versions_request::api_key;
    h.request_api_version = 3;
    h.correlation_id = 1;
    h.client_id = "kwire";
    const auto v1 = cat({B({0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05}), B("kwire")});
    const auto v2 = cat({v1, B({0x00})}); // client id keeps its int16 length; then tags
    CHECK(encode_ok(h, 1) == v1);
    CHECK(encode_ok(h, 2) == v2);
    CHECK(decode_ok<request_header>(v2, 2) == h);

    h.client_id = std::nullopt;
    CHECK(encode_ok(h, 2) == B({0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00}));
}

TEST_CASE("golden bytes: ResponseHeader and ApiVersionsResponse v3") {
    response_header h;
    h.correlation_id = 7;
    CHECK(encode_ok(h, 0) == B({0, 0, 0, 7}));
    CHECK(encode_ok(h, 1) == B({0, 0, 0, 7, 0}));

    const auto body = B({
        0x00, 0x00,                                     // error_code
        0x03,                                           // 2 api keys
        0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,       // ApiVersions 0-4, no tags
        0x00, 0x03, 0x00, 0x00, 0x00, 0x0d, 0x00,       // Metadata 0-13, no tags
        0x00, 0x00, 0x00, 0x00,                         // throttle_time_ms
        0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x2a,    // tag 1: finalized_features_epoch = 42
    });
    const auto r = decode_ok<api_versions_response>(body, 3);
    CHECK(r.error_code == 0);
    REQUIRE(r.api_keys.size() == 2);
    CHECK(r.api_keys[0].api_key == 18);
    CHECK(r.api_keys[0].max_version == 4);
    CHECK(r.api_keys[1].api_key == 3);
    CHECK(r.api_keys[1].max_version == 13);
    CHECK(r.finalized_features_epoch == 42);
    CHECK(r.supported_features.empty());
    CHECK(r.unknown_tagged.empty());
    CHECK(encode_ok(r, 3) == body);
}

TEST_CASE("nullability follows the version") {
    metadata_request m;
    m.topics = std::nullopt; // "all topics": null only from v1
    CHECK(encode_error(m, 0) == wire_errc::null_not_allowed);
    CHECK(encode_ok(m, 1) == B({0xff, 0xff, 0xff, 0xff}));
    CHECK(encode_ok(m, 9) == B({0x00, 0x01, 0x00, 0x00, 0x00}));
    CHECK(!decode_ok<metadata_request>(B({0xff, 0xff, 0xff, 0xff}), 1).topics.has_value());

    metadata_request d;
    const auto null_v0 = B({0xff, 0xff, 0xff, 0xff});
    reader r(null_v0);
    CHECK(d.decode(r, 0) == wire_errc::null_not_allowed);
}

TEST_CASE("non-ignorable fields absent from a version") {
    metadata_request m;
    m.allow_auto_topic_creation = false; // v4+
    CHECK(encode_error(m, 3) == wire_errc::field_not_in_version);
    CHECK(!encode_error(m, 4));
    m.allow_auto_topic_creation = true; // the default is fine anywhere
    CHECK(!encode_error(m, 3));

    api_versions_response resp;
    resp.throttle_time_ms = 100; // ignorable
    CHECK(!encode_error(resp, 0));
}

TEST_CASE("hostile array counts fail without large allocations") {
    // MetadataResponse v12 claiming INT32_MAX-1 brokers in a few bytes.
    const auto bytes = B({0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x07, 0x01});
    metadata_response m;
    reader r(bytes);
    CHECK(m.decode(r, 12) == wire_errc::length_exceeds_input);
    CHECK(m.brokers.capacity() == 0);

    // A count that passes the check (one byte per element) still fails cleanly.
    std::vector<std::byte> many(4 + 2 + 1000, std::byte{0});
    many[4] = std::byte{0xe9};
    many[5] = std::byte{0x07}; // uvarint 1001 -> 1000 elements
    reader r2(many);
    CHECK(m.decode(r2, 12));
}

TEST_CASE("api keys and header versions") {
    CHECK(api_name(0) == "Produce");
    CHECK(api_name(1) == "Fetch");
    CHECK(api_name(3) == "Metadata");
    CHECK(api_name(18) == "ApiVersions");
    CHECK(api_name(-1) == "Unknown");
    CHECK(api_name(30000) == "Unknown");
    CHECK(static_cast<std::int16_t>(api_key::api_versions) == 18);
    CHECK(static_cast<std::int16_t>(api_key::metadata) == 3);
    CHECK(static_cast<std::int16_t>(api_key::sasl_authenticate) == 36);

    CHECK(request_header_version(18, 2) == 1);
    CHECK(request_header_version(18, 3) == 2);
    CHECK(response_header_version(18, 3) == 0); // ApiVersions: always v0
    CHECK(response_header_version(18, 0) == 0);
    CHECK(request_header_version(3, 8) == 1);
    CHECK(request_header_version(3, 9) == 2);
    CHECK(response_header_version(3, 8) == 0);
    CHECK(response_header_version(3, 9) == 1);
    CHECK(request_header_version(17, 1) == 1); // SaslHandshake is never flexible
    CHECK(response_header_version(17, 1) == 0);
    CHECK(request_header_version(-7, 0) == -1);

    const api_info* fetch = find_api(1);
    REQUIRE(fetch != nullptr);
    CHECK(fetch->max_version == fetch_request::max_version);
    CHECK(fetch->first_flexible_request_version == fetch_request::first_flexible_version);
    CHECK(all_apis().size() > 40);
    CHECK(api_versions_request::api_key == 18);
    CHECK(std::is_same_v<api_versions_request::response_type, api_versions_response>);
}

TEST_CASE("tagged struct fields are written only when not default") {
    fetch_response::partition_data p;
    const auto plain = p.encoded_size(12);
    p.current_leader.leader_id = 5; // tag 1
    CHECK(p.encoded_size(12) > plain);
    fetch_response::partition_data d;
    const auto bytes = encode_ok(p, 12);
    reader r(bytes);
    CHECK(!d.decode(r, 12));
    CHECK(d.current_leader.leader_id == 5);
    CHECK(d.current_leader.leader_epoch == -1);
    CHECK(d == p);
}

TEST_CASE("unknown tags that repeat a known tag are refused") {
    api_versions_response r;
    r.finalized_features_epoch = 3; // tag 1
    r.unknown_tagged = {tagged_field{1, B({0x00})}};
    CHECK(encode_error(r, 3) == wire_errc::bad_tagged_fields);
    r.unknown_tagged = {tagged_field{9, {}}, tagged_field{4, {}}}; // unsorted
    CHECK(encode_error(r, 3) == wire_errc::bad_tagged_fields);
}
