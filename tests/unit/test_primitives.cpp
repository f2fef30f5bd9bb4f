// Round trips, known encodings and malformed input for the primitive reader/writer.
#include "kwire/proto/reader.hpp"
#include "kwire/proto/writer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream> // doctest prints std::error_code through operator<<
#include <limits>
#include <string>
#include <vector>

using namespace kwire::proto;

namespace {

std::vector<std::byte> B(std::initializer_list<int> xs) {
    std::vector<std::byte> out;
    for (int x : xs) out.push_back(static_cast<std::byte>(x));
    return out;
}

template <class F>
std::vector<std::byte> write_with(F&& f) {
    std::vector<std::byte> out;
    writer w(out);
    f(w);
    REQUIRE(w.ok());
    writer counter;
    f(counter);
    CHECK(counter.size() == out.size());
    CHECK(w.size() == out.size());
    return out;
}

template <class T>
using lim = std::numeric_limits<T>;

} // namespace

TEST_CASE("fixed-width integers round trip at their boundaries") {
    auto bytes = write_with([](writer& w) {
        w.write_bool(true);
        w.write_bool(false);
        w.write_int8(lim<std::int8_t>::min());
        w.write_int8(lim<std::int8_t>::max());
        w.write_int16(lim<std::int16_t>::min());
        w.write_int16(lim<std::int16_t>::max());
        w.write_uint16(lim<std::uint16_t>::max());
        w.write_int32(lim<std::int32_t>::min());
        w.write_int32(lim<std::int32_t>::max());
        w.write_uint32(lim<std::uint32_t>::max());
        w.write_int64(lim<std::int64_t>::min());
        w.write_int64(lim<std::int64_t>::max());
        w.write_float64(-1.5);
    });
    CHECK(bytes.size() == 2 + 2 + 4 + 2 + 8 + 4 + 16 + 8);
    reader r(bytes);
    CHECK(r.read_bool() == true);
    CHECK(r.read_bool() == false);
    CHECK(r.read_int8() == lim<std::int8_t>::min());
    CHECK(r.read_int8() == lim<std::int8_t>::max());
    CHECK(r.read_int16() == lim<std::int16_t>::min());
    CHECK(r.read_int16() == lim<std::int16_t>::max());
    CHECK(r.read_uint16() == lim<std::uint16_t>::max());
    CHECK(r.read_int32() == lim<std::int32_t>::min());
    CHECK(r.read_int32() == lim<std::int32_t>::max());
    CHECK(r.read_uint32() == lim<std::uint32_t>::max());
    CHECK(r.read_int64() == lim<std::int64_t>::min());
    CHECK(r.read_int64() == lim<std::int64_t>::max());
    CHECK(r.read_float64() == -1.5);
    CHECK(r.ok());
    CHECK(r.remaining() == 0);
}

TEST_CASE("fixed-width integers are big-endian") {
    CHECK(write_with([](writer& w) { w.write_int16(0x0102); }) == B({0x01, 0x02}));
    CHECK(write_with([](writer& w) { w.write_int32(-2); }) == B({0xff, 0xff, 0xff, 0xfe}));
    CHECK(write_with([](writer& w) { w.write_int64(0x0102030405060708); }) ==
          B({1, 2, 3, 4, 5, 6, 7, 8}));
    CHECK(write_with([](writer& w) { w.write_float64(1.0); }) == B({0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE("unsigned varints: known encodings and round trips") {
    struct row {
        std::uint32_t value;
        std::vector<std::byte> bytes;
    };
    const row rows[] = {
        {0, B({0x00})},
        {1, B({0x01})},
        {127, B({0x7f})},
        {128, B({0x80, 0x01})},
        {300, B({0xac, 0x02})},
        {16383, B({0xff, 0x7f})},
        {16384, B({0x80, 0x80, 0x01})},
        {lim<std::uint32_t>::max(), B({0xff, 0xff, 0xff, 0xff, 0x0f})},
    };
    for (const auto& row : rows) {
        CAPTURE(row.value);
        CHECK(write_with([&](writer& w) { w.write_uvarint(row.value); }) == row.bytes);
        CHECK(writer::uvarint_size(row.value) == row.bytes.size());
        reader r(row.bytes);
        CHECK(r.read_uvarint() == row.value);
        CHECK(r.ok());
        CHECK(r.remaining() == 0);
    }
    auto max64 = write_with([](writer& w) { w.write_uvarlong(lim<std::uint64_t>::max()); });
    CHECK(max64 == B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    reader r(max64);
    CHECK(r.read_uvarlong() == lim<std::uint64_t>::max());
    CHECK(r.ok());
}

TEST_CASE("signed varints use zigzag encoding") {
    CHECK(write_with([](writer& w) { w.write_varint(0); }) == B({0x00}));
    CHECK(write_with([](writer& w) { w.write_varint(-1); }) == B({0x01}));
    CHECK(write_with([](writer& w) { w.write_varint(1); }) == B({0x02}));
    CHECK(write_with([](writer& w) { w.write_varint(-2); }) == B({0x03}));
    CHECK(write_with([](writer& w) { w.write_varint(300); }) == B({0xd8, 0x04}));
    CHECK(write_with([](writer& w) { w.write_varint(lim<std::int32_t>::min()); }) ==
          B({0xff, 0xff, 0xff, 0xff, 0x0f}));
    CHECK(write_with([](writer& w) { w.write_varint(lim<std::int32_t>::max()); }) ==
          B({0xfe, 0xff, 0xff, 0xff, 0x0f}));
    CHECK(write_with([](writer& w) { w.write_varlong(lim<std::int64_t>::min()); }) ==
          B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
    CHECK(write_with([](writer& w) { w.write_varlong(lim<std::int64_t>::max()); }) ==
          B({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));

    for (std::int32_t v : {0, 1, -1, 63, -64, 64, -65, 300, -300, lim<std::int32_t>::min(),
                           lim<std::int32_t>::max()}) {
        CAPTURE(v);
        auto b = write_with([&](writer& w) { w.write_varint(v); });
        reader r(b);
        CHECK(r.read_varint() == v);
        CHECK(r.ok());
        CHECK(r.remaining() == 0);
    }
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, std::int64_t{1} << 40,
                           -(std::int64_t{1} << 40), lim<std::int64_t>::min(), lim<std::int64_t>::max()}) {
        CAPTURE(v);
        auto b = write_with([&](writer& w) { w.write_varlong(v); });
        reader r(b);
        CHECK(r.read_varlong() == v);
        CHECK(r.ok());
        CHECK(r.remaining() == 0);
    }
}

TEST_CASE("varints that do not end in time are rejected") {
    auto six = B({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    reader r1(six);
    CHECK(r1.read_uvarint() == 0);
    CHECK(r1.error() == wire_errc::varint_too_long);
    reader r2(six);
    r2.read_varint();
    CHECK(r2.error() == wire_errc::varint_too_long);

    // A fifth byte with bits beyond 32 bits.
    auto overflow32 = B({0xff, 0xff, 0xff, 0xff, 0x1f});
    reader r3(overflow32);
    r3.read_uvarint();
    CHECK(r3.error() == wire_errc::varint_too_long);

    auto eleven = B({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    reader r4(eleven);
    CHECK(r4.read_varlong() == 0);
    CHECK(r4.error() == wire_errc::varint_too_long);
    auto overflow64 = B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
    reader r5(overflow64);
    r5.read_uvarlong();
    CHECK(r5.error() == wire_errc::varint_too_long);

    auto truncated = B({0x80, 0x80});
    reader r6(truncated);
    r6.read_uvarint();
    CHECK(r6.error() == wire_errc::truncated);
}

TEST_CASE("strings: classic and compact, empty and null") {
    auto b = write_with([](writer& w) {
        w.write_string("");
        w.write_string("kafka");
        w.write_nullable_string(std::nullopt);
        w.write_compact_string("");
        w.write_compact_string("kafka");
        w.write_compact_nullable_string(std::nullopt);
    });
    CHECK(b == B({0x00, 0x00, 0x00, 0x05, 'k', 'a', 'f', 'k', 'a', 0xff, 0xff, 0x01, 0x06, 'k', 'a', 'f',
                  'k', 'a', 0x00}));
    reader r(b);
    CHECK(r.read_string() == "");
    CHECK(r.read_string() == "kafka");
    CHECK(r.read_nullable_string() == std::nullopt);
    auto empty = r.read_compact_nullable_string();
    REQUIRE(empty.has_value());
    CHECK(empty->empty());
    CHECK(r.read_compact_string() == "kafka");
    CHECK(r.read_compact_nullable_string() == std::nullopt);
    CHECK(r.ok());
    CHECK(r.remaining() == 0);

    auto null_classic = B({0xff, 0xff});
    reader r2(null_classic);
    CHECK(r2.read_string().empty());
    CHECK(r2.error() == wire_errc::null_not_allowed);
    auto null_compact = B({0x00});
    reader r3(null_compact);
    r3.read_compact_string();
    CHECK(r3.error() == wire_errc::null_not_allowed);
}

TEST_CASE("bytes: classic and compact, empty and null") {
    const auto payload = B({1, 2, 3});
    auto b = write_with([&](writer& w) {
        w.write_bytes({});
        w.write_bytes(payload);
        w.write_nullable_bytes(std::nullopt);
        w.write_compact_bytes({});
        w.write_compact_bytes(payload);
        w.write_compact_nullable_bytes(std::nullopt);
    });
    CHECK(b == B({0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 0xff, 0xff, 0xff, 0xff, 0x01, 0x04, 1, 2, 3, 0x00}));
    reader r(b);
    CHECK(r.read_bytes().empty());
    auto p = r.read_bytes();
    CHECK(std::vector<std::byte>(p.begin(), p.end()) == payload);
    CHECK(!r.read_nullable_bytes().has_value());
    auto e = r.read_compact_nullable_bytes();
    REQUIRE(e.has_value());
    CHECK(e->empty());
    p = r.read_compact_bytes();
    CHECK(std::vector<std::byte>(p.begin(), p.end()) == payload);
    CHECK(!r.read_compact_nullable_bytes().has_value());
    CHECK(r.ok());
    CHECK(r.remaining() == 0);
}

TEST_CASE("arrays: lengths, null arrays, counts beyond the input") {
    auto b = write_with([](writer& w) {
        w.write_array_length(2);
        w.write_array_length(-1);
        w.write_compact_array_length(2);
        w.write_compact_array_length(-1);
        w.write_compact_array_length(0);
    });
    CHECK(b == B({0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0x03, 0x00, 0x01}));
    {
        // Counts are checked against the bytes left, so give each array some room.
        auto with_room = b;
        with_room.resize(with_room.size() + 8);
        reader r(with_room);
        CHECK(r.read_array_length() == 2);
        CHECK(r.read_array_length() == -1);
        CHECK(r.read_compact_array_length() == 2);
        CHECK(r.read_compact_array_length() == -1);
        CHECK(r.read_compact_array_length() == 0);
        CHECK(r.ok());
    }
    auto too_many = B({0, 0, 0, 5, 1, 2, 3});
    reader r1(too_many);
    CHECK(r1.read_array_length() == 0);
    CHECK(r1.error() == wire_errc::length_exceeds_input);
    auto too_many_compact = B({0x06, 1, 2});
    reader r2(too_many_compact);
    r2.read_compact_array_length();
    CHECK(r2.error() == wire_errc::length_exceeds_input);

    std::vector<std::byte> sink;
    writer w(sink);
    w.write_array_length(-2);
    CHECK(w.error() == wire_errc::value_too_large);
}

TEST_CASE("negative and huge lengths are rejected without allocating") {
    auto neg_string = B({0xff, 0xfe, 'a', 'b'});
    reader r1(neg_string);
    r1.read_nullable_string();
    CHECK(r1.error() == wire_errc::negative_length);

    auto neg_bytes = B({0xff, 0xff, 0xff, 0xfe, 1, 2});
    reader r2(neg_bytes);
    r2.read_nullable_bytes();
    CHECK(r2.error() == wire_errc::negative_length);

    auto neg_array = B({0xff, 0xff, 0xff, 0xfe, 1, 2});
    reader r3(neg_array);
    r3.read_array_length();
    CHECK(r3.error() == wire_errc::negative_length);

    auto huge_string = B({0x7f, 0xff, 'a'});
    reader r4(huge_string);
    r4.read_string();
    CHECK(r4.error() == wire_errc::length_exceeds_input);

    auto huge_bytes = B({0x7f, 0xff, 0xff, 0xff, 1, 2, 3});
    reader r5(huge_bytes);
    r5.read_bytes();
    CHECK(r5.error() == wire_errc::length_exceeds_input);

    auto huge_array = B({0x7f, 0xff, 0xff, 0xff, 1, 2, 3});
    reader r6(huge_array);
    r6.read_array_length();
    CHECK(r6.error() == wire_errc::length_exceeds_input);

    auto huge_compact = B({0xff, 0xff, 0xff, 0xff, 0x0f, 'x'});
    reader r7(huge_compact);
    r7.read_compact_string();
    CHECK(r7.error() == wire_errc::length_exceeds_input);
    reader r8(huge_compact);
    r8.read_compact_bytes();
    CHECK(r8.error() == wire_errc::length_exceeds_input);
    reader r9(huge_compact);
    r9.read_compact_array_length();
    CHECK(r9.error() == wire_errc::length_exceeds_input);
}

TEST_CASE("uuid round trip") {
    uuid u;
    for (std::size_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::byte>(i * 17);
    auto b = write_with([&](writer& w) { w.write_uuid(u); });
    CHECK(b.size() == 16);
    CHECK(b[1] == std::byte{17});
    reader r(b);
    CHECK(r.read_uuid() == u);
    CHECK(uuid{}.is_zero());
    CHECK(!u.is_zero());
    auto short_input = B({1, 2, 3});
    reader r2(short_input);
    CHECK(r2.read_uuid().is_zero());
    CHECK(r2.error() == wire_errc::truncated);
}

TEST_CASE("tagged-field sections") {
    SUBCASE("fields are delivered with their value bytes") {
        auto b = B({0x02, 0x01, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x7f});
        reader r(b);
        std::vector<std::pair<std::uint32_t, std::vector<std::byte>>> seen;
        r.read_tagged_fields([&](std::uint32_t tag, reader& value) {
            auto rest = value.rest();
            seen.emplace_back(tag, std::vector<std::byte>(rest.begin(), rest.end()));
        });
        CHECK(r.ok());
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].first == 1);
        CHECK(seen[0].second == B({0xaa, 0xbb}));
        CHECK(seen[1].first == 5);
        CHECK(seen[1].second.empty());
        CHECK(r.read_int8() == 0x7f);
        CHECK(r.remaining() == 0);
    }
    SUBCASE("an empty section") {
        auto b = B({0x00});
        reader r(b);
        int calls = 0;
        r.read_tagged_fields([&](std::uint32_t, reader&) { ++calls; });
        CHECK(r.ok());
        CHECK(calls == 0);
    }
    SUBCASE("out-of-order and repeated tags are rejected") {
        for (auto b : {B({0x02, 0x05, 0x00, 0x01, 0x00}), B({0x02, 0x03, 0x00, 0x03, 0x00})}) {
            reader r(b);
            r.read_tagged_fields([](std::uint32_t, reader&) {});
            CHECK(r.error() == wire_errc::bad_tagged_fields);
        }
    }
    SUBCASE("sizes and counts beyond the input are rejected") {
        auto big_size = B({0x01, 0x00, 0x10, 0x01});
        reader r1(big_size);
        r1.read_tagged_fields([](std::uint32_t, reader&) {});
        CHECK(r1.error() == wire_errc::length_exceeds_input);
        auto big_count = B({0x7f, 0x00, 0x00});
        reader r2(big_count);
        r2.read_tagged_fields([](std::uint32_t, reader&) {});
        CHECK(r2.error() == wire_errc::length_exceeds_input);
    }
    SUBCASE("an error inside a value stops the section") {
        auto b = B({0x01, 0x00, 0x01, 0xaa});
        reader r(b);
        r.read_tagged_fields([](std::uint32_t, reader& value) { value.read_int32(); });
        CHECK(r.error() == wire_errc::truncated);
    }
}

TEST_CASE("reader errors are sticky") {
    auto b = B({0x00, 0x01, 0x02});
    reader r(b);
    CHECK(r.read_int16() == 1);
    CHECK(r.read_int32() == 0); // only one byte left
    CHECK(r.error() == wire_errc::truncated);
    CHECK(r.remaining() == 0);
    CHECK(r.read_int8() == 0);
    CHECK(r.read_uvarint() == 0);
    CHECK(r.read_string().empty());
    CHECK(r.read_array_length() == 0);
    r.fail(wire_errc::bad_crc);
    CHECK(r.error() == wire_errc::truncated); // the first error is kept
    CHECK(!r.ok());
}

TEST_CASE("truncation at every byte position of a primitive sequence") {
    auto full = write_with([](writer& w) {
        w.write_int16(7);
        w.write_compact_string("abc");
        w.write_varlong(-123456789);
        w.write_bytes(B({1, 2}));
        w.write_int64(42);
    });
    for (std::size_t n = 0; n < full.size(); ++n) {
        CAPTURE(n);
        reader r(std::span(full.data(), n));
        r.read_int16();
        r.read_compact_string();
        r.read_varlong();
        r.read_bytes();
        r.read_int64();
        CHECK(!r.ok());
    }
    reader r(full);
    CHECK(r.read_int16() == 7);
    CHECK(r.read_compact_string() == "abc");
    CHECK(r.read_varlong() == -123456789);
    CHECK(r.read_bytes().size() == 2);
    CHECK(r.read_int64() == 42);
    CHECK(r.ok());
}

TEST_CASE("writer limits") {
    std::string ok(32767, 'x');
    std::string too_long(32768, 'x');
    {
        std::vector<std::byte> out;
        writer w(out);
        w.write_string(ok);
        CHECK(w.ok());
        CHECK(out.size() == 32769);
        w.write_string(too_long);
        CHECK(w.error() == wire_errc::value_too_large);
        CHECK(out.size() == 32769); // nothing written for the rejected value
        w.write_int8(1);
        CHECK(w.error() == wire_errc::value_too_large); // sticky
    }
    {
        writer counter;
        counter.write_nullable_string(too_long);
        CHECK(counter.error() == wire_errc::value_too_large);
    }
    {
        writer counter;
        counter.write_compact_string(too_long); // compact strings have a varint length
        CHECK(counter.ok());
        CHECK(counter.size() == 3 + too_long.size());
    }
}
