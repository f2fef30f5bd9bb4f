#include "kwire/proto/crc32c.hpp"
#include "kwire/proto/message_set_v0v1.hpp"
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"
#include "kwire/proto/wire_error.hpp"
#include "kwire/proto/writer.hpp"

#include <doctest/doctest.h>

#include <zlib.h>

#include <memory>
#include <ostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace kwire::proto;

namespace {

using bytes = std::vector<std::byte>;

std::span<const std::byte> sv(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }
std::string str(std::span<const std::byte> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

bytes hex(std::initializer_list<int> v) {
    bytes out;
    for (int x : v) out.push_back(static_cast<std::byte>(x));
    return out;
}

struct owned_record {
    std::int64_t offset = 0;
    std::int64_t timestamp = 0;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    bool operator==(const owned_record&) const = default;
};

[[maybe_unused]] std::ostream& operator<<(std::ostream& os, const owned_record& r) {
    os << "{off=" << r.offset << " ts=" << r.timestamp << " key=" << (r.key ? "'" + *r.key + "'" : "null")
       << " value=" << (r.value ? "'" + r.value->substr(0, 20) + "'(" + std::to_string(r.value->size()) + ")" : "null")
       << " headers=[";
    for (const auto& [k, v] : r.headers) os << k << "=" << (v ? *v : "null") << ",";
    return os << "]}";
}

owned_record own(const record& r) {
    owned_record o;
    o.offset = r.offset;
    o.timestamp = r.timestamp;
    if (r.key) o.key = str(*r.key);
    if (r.value) o.value = str(*r.value);
    for (const auto& h : r.headers) {
        std::optional<std::string> v;
        if (h.value) v = str(*h.value);
        o.headers.emplace_back(std::string(h.key), v);
    }
    return o;
}

struct read_result {
    std::vector<batch_info> batches;
    std::vector<owned_record> records;
    std::error_code error;
    bool truncated = false;
    std::size_t consumed = 0;
};

read_result read_all(std::span<const std::byte> buf, record_batch_reader::options opts = {}) {
    record_batch_reader r(opts);
    r.reset(buf);
    read_result out;
    while (r.next_batch()) {
        out.batches.push_back(r.batch());
        record rec;
        while (r.next_record(rec)) out.records.push_back(own(rec));
    }
    out.error = r.error();
    out.truncated = r.truncated();
    out.consumed = r.bytes_consumed();
    return out;
}

// Recomputes the CRC of a v2 batch starting at `at` (after a deliberate edit).
void fix_crc(bytes& b, std::size_t at = 0) {
    const auto len = load_be<std::uint32_t>(b.data() + at + 8);
    const auto crc = crc32c(std::span(b).subspan(at + 21, len - 9));
    store_be(b.data() + at + 17, crc);
}

bytes build(const std::vector<owned_record>& recs, record_batch_builder::options opts = {}) {
    record_batch_builder b;
    REQUIRE_FALSE(b.reset(opts));
    for (const auto& r : recs) {
        std::vector<record_header> hs;
        for (const auto& [k, v] : r.headers) {
            record_header h{k, std::nullopt};
            if (v) h.value = sv(*v);
            hs.push_back(h);
        }
        std::optional<std::span<const std::byte>> k, v;
        if (r.key) k = sv(*r.key);
        if (r.value) v = sv(*r.value);
        REQUIRE(b.append(r.timestamp, k, v, hs));
    }
    const auto sealed = b.seal();
    REQUIRE(sealed.size_bytes == b.size_bytes());
    return sealed.to_vector();
}

std::vector<owned_record> sample_records(std::size_t n, unsigned seed, std::int64_t base_ts = 1700000000000) {
    std::mt19937 rng(seed);
    std::vector<owned_record> v;
    for (std::size_t i = 0; i < n; ++i) {
        owned_record r;
        r.offset = static_cast<std::int64_t>(i);
        r.timestamp = base_ts + static_cast<std::int64_t>(rng() % 5000) - 1000;  // deltas of both signs
        switch (rng() % 4) {
        case 0: break;  // null key
        case 1: r.key = ""; break;
        default: r.key = "key-" + std::to_string(rng() % 1000);
        }
        switch (rng() % 5) {
        case 0: break;  // null value (tombstone)
        case 1: r.value = ""; break;
        case 2: r.value = std::string(rng() % 3000, static_cast<char>('a' + rng() % 26)); break;
        default: r.value = "value " + std::to_string(rng());
        }
        const unsigned nh = rng() % 4;
        for (unsigned h = 0; h < nh; ++h) {
            std::optional<std::string> hv;
            if (rng() % 3) hv = "hv" + std::to_string(rng() % 100);
            r.headers.emplace_back(h == 0 ? std::string() : "h" + std::to_string(h), hv);
        }
        v.push_back(std::move(r));
    }
    return v;
}

const compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

} // namespace

TEST_CASE("record batch: golden bytes of a hand-assembled two-record batch") {
    record_batch_builder b;
    REQUIRE_FALSE(b.reset());
    const std::string k = "k", v = "v", h = "h", x = "x";
    REQUIRE(b.append(1000, sv(k), sv(v)));
    const record_header hdr{"h", sv(x)};
    REQUIRE(b.append(1005, std::nullopt, sv(v), std::span(&hdr, 1)));
    const auto sealed = b.seal();
    const bytes got = sealed.to_vector();

    bytes expect = hex({
        0, 0, 0, 0, 0, 0, 0, 0,           // base offset
        0, 0, 0, 0x46,                    // batch length: 82 - 12
        0xff, 0xff, 0xff, 0xff,           // partition leader epoch -1
        2,                                // magic
        0, 0, 0, 0,                       // crc (filled below)
        0, 0,                             // attributes
        0, 0, 0, 1,                       // last offset delta
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,     // base timestamp 1000
        0, 0, 0, 0, 0, 0, 0x03, 0xed,     // max timestamp 1005
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producer id -1
        0xff, 0xff,                       // producer epoch -1
        0xff, 0xff, 0xff, 0xff,           // base sequence -1
        0, 0, 0, 2,                       // record count
        // record 0: length 8, attributes, ts delta 0, offset delta 0, key "k", value "v", no headers
        0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0,
        // record 1: length 11, ts delta 5, offset delta 1, null key, value "v", header h=x
        0x16, 0, 0x0a, 0x02, 0x01, 0x02, 'v', 0x02, 0x02, 'h', 0x02, 'x',
    });
    REQUIRE(expect.size() == 82);
    const std::uint32_t crc = crc32c(std::span(expect).subspan(21));
    store_be(expect.data() + 17, crc);
    CHECK(got == expect);
    CHECK(sealed.size_bytes == 82);
    CHECK(sealed.record_count == 2);
    CHECK(sealed.first_offset_delta == 0);
    CHECK(sealed.last_offset_delta == 1);

    const auto r = read_all(got);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.records.size() == 2);
    CHECK(r.records[0] == owned_record{0, 1000, "k", "v", {}});
    CHECK(r.records[1] == owned_record{1, 1005, std::nullopt, "v", {{"h", "x"}}});
}

TEST_CASE("record batch: round trips with every available codec") {
    for (auto codec : all_codecs) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        for (std::size_t n : {1u, 2u, 17u, 1000u}) {
            CAPTURE(n);
            const auto recs = sample_records(n, static_cast<unsigned>(n) + static_cast<unsigned>(codec));
            record_batch_builder::options o;
            o.compression = codec;
            o.producer_id = 12345;
            o.producer_epoch = 7;
            o.base_sequence = 99;
            o.transactional = true;
            o.base_offset = 500;
            const bytes wire = build(recs, o);
            const auto r = read_all(wire);
            REQUIRE_FALSE(r.error);
            REQUIRE(r.batches.size() == 1);
            const auto& b = r.batches[0];
            CHECK(b.compression() == codec);
            CHECK(b.magic == 2);
            CHECK(b.producer_id == 12345);
            CHECK(b.producer_epoch == 7);
            CHECK(b.base_sequence == 99);
            CHECK(b.transactional());
            CHECK_FALSE(b.control());
            CHECK(b.base_offset == 500);
            CHECK(b.last_offset == 500 + static_cast<std::int64_t>(n) - 1);
            CHECK(b.record_count == static_cast<std::int32_t>(n));
            CHECK(b.timestamp_kind() == timestamp_type::create_time);
            REQUIRE(r.records.size() == n);
            std::int64_t max_ts = recs[0].timestamp;
            for (std::size_t i = 0; i < n; ++i) {
                auto expect = recs[i];
                expect.offset = 500 + static_cast<std::int64_t>(i);
                CHECK(r.records[i] == expect);
                max_ts = std::max(max_ts, recs[i].timestamp);
            }
            CHECK(b.max_timestamp == max_ts);
            CHECK(b.base_timestamp == recs[0].timestamp);
            CHECK(r.consumed == wire.size());
            if (codec != compression_codec::none && n == 1000) CHECK(wire.size() < build(recs).size());
        }
    }
}

TEST_CASE("record batch reader: a decompressed batch outlives the reader and its buffer is reused") {
    if (!codec_available(compression_codec::lz4)) return;
    record_batch_builder::options o;
    o.compression = compression_codec::lz4;
    const auto first_records = sample_records(50, 1);
    bytes buf = build(first_records, o);
    o.base_offset = 50;
    const bytes second = build(sample_records(50, 2), o);
    buf.insert(buf.end(), second.begin(), second.end());

    record_batch_reader r;
    r.reset(buf);
    REQUIRE(r.next_batch());
    byte_buffer taken = r.take_decompressed();  // the first batch's records view this
    const auto inside = [](const byte_buffer& b, std::span<const std::byte> v) {
        return v.data() >= b.data() && v.data() + v.size() <= b.data() + b.size();
    };
    record rec;
    REQUIRE(r.next_record(rec));
    REQUIRE(rec.value);
    CHECK(inside(taken, *rec.value));
    CHECK(own(rec) == first_records[0]);

    // The next batch decompresses into the buffer handed back, not a new one.
    byte_buffer recycled;
    recycled.reserve(1 << 20);
    const std::byte* memory = recycled.data();
    r.reuse_buffer(std::move(recycled));
    while (r.next_record(rec)) {
    }
    REQUIRE(r.next_batch());
    REQUIRE(r.next_record(rec));
    CHECK(rec.offset == 50);
    REQUIRE(rec.value);
    CHECK(rec.value->data() >= memory);
    CHECK(rec.value->data() < memory + (1 << 20));
    CHECK_FALSE(inside(taken, *rec.value));
    CHECK_FALSE(r.error());
}

TEST_CASE("record batch: several batches in one buffer, log-append time, reader reuse") {
    bytes buf;
    std::vector<owned_record> all;
    for (int i = 0; i < 5; ++i) {
        auto recs = sample_records(10 + i, 100 + i);
        record_batch_builder::options o;
        o.base_offset = 10 * i * 2;
        o.compression = i % 2 ? compression_codec::gzip : compression_codec::none;
        const bytes w = build(recs, o);
        buf.insert(buf.end(), w.begin(), w.end());
        for (std::size_t j = 0; j < recs.size(); ++j) {
            recs[j].offset = o.base_offset + static_cast<std::int64_t>(j);
            all.push_back(recs[j]);
        }
    }
    auto r = read_all(buf);
    REQUIRE_FALSE(r.error);
    CHECK(r.batches.size() == 5);
    CHECK(r.records == all);
    CHECK_FALSE(r.truncated);

    // Log-append time: every record carries the batch's max timestamp.
    record_batch_builder::options o;
    o.timestamp = timestamp_type::log_append_time;
    o.base_timestamp = 50;
    auto w = build(sample_records(3, 1, 100), o);
    // The broker sets max timestamp to the append time.
    store_be(w.data() + 35, std::uint64_t{777});
    fix_crc(w);
    r = read_all(w);
    REQUIRE_FALSE(r.error);
    CHECK(r.batches[0].timestamp_kind() == timestamp_type::log_append_time);
    for (const auto& rec : r.records) CHECK(rec.timestamp == 777);
}

TEST_CASE("record batch: values by reference stay alive and are not copied") {
    auto value = std::make_shared<std::string>(4096, 'z');
    std::shared_ptr<const void> owner(value, value->data());
    record_batch_builder b(32 * 1024, 1024);
    REQUIRE_FALSE(b.reset());
    const std::string key = "key";
    for (int i = 0; i < 3; ++i) REQUIRE(b.append(1, sv(key), sv(*value), {}, owner));
    CHECK(value.use_count() == 5);
    const auto sealed = b.seal();
    int refs = 0;
    for (auto piece : sealed.buffers) refs += piece.data() == reinterpret_cast<const std::byte*>(value->data());
    CHECK(refs == 3);
    const auto wire = sealed.to_vector();
    const auto r = read_all(wire);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.records.size() == 3);
    CHECK(r.records[2].value == *value);
    REQUIRE_FALSE(b.reset());
    CHECK(value.use_count() == 2);
}

TEST_CASE("record batch: restamping producer id, epoch and sequence redoes the CRC") {
    for (auto codec : {compression_codec::none, compression_codec::gzip}) {
        record_batch_builder b;
        record_batch_builder::options o;
        o.compression = codec;
        REQUIRE_FALSE(b.reset(o));
        const std::string v = "payload";
        for (int i = 0; i < 10; ++i) REQUIRE(b.append(i, std::nullopt, sv(v)));
        const auto before = b.seal().to_vector();
        b.restamp(77, 3, 1000);
        b.restamp_transactional(true);
        const auto after = b.sealed().to_vector();
        CHECK(after.size() == before.size());
        const auto r = read_all(after);
        REQUIRE_FALSE(r.error);
        CHECK(r.batches[0].producer_id == 77);
        CHECK(r.batches[0].producer_epoch == 3);
        CHECK(r.batches[0].base_sequence == 1000);
        CHECK(r.batches[0].transactional());
        CHECK(r.records.size() == 10);
        CHECK(b.append(1, std::nullopt, sv(v)) == false);  // sealed
    }
}

TEST_CASE("record batch: control batches") {
    record_batch_builder::options o;
    o.control = true;
    o.transactional = true;
    o.producer_id = 5;
    bytes buf;
    for (int type : {0, 1}) {
        const bytes key = hex({0, 0, 0, type});
        record_batch_builder b;
        REQUIRE_FALSE(b.reset(o));
        const bytes value = hex({0, 0, 0, 0, 0, 7});
        REQUIRE(b.append(10, std::span(key), std::span(value)));
        const auto w = b.seal().to_vector();
        buf.insert(buf.end(), w.begin(), w.end());
    }
    record_batch_reader r;
    r.reset(buf);
    std::vector<control_record> seen;
    while (r.next_batch()) {
        CHECK(r.batch().control());
        CHECK(r.batch().transactional());
        record rec;
        while (r.next_record(rec)) {
            auto c = parse_control_record(rec.key);
            REQUIRE(c.has_value());
            seen.push_back(*c);
        }
    }
    CHECK_FALSE(r.error());
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].is_abort());
    CHECK(seen[1].is_commit());
    CHECK_FALSE(parse_control_record(std::nullopt));
    CHECK_FALSE(parse_control_record(std::span(buf).first(3)));
}

TEST_CASE("record batch reader: every truncation is a partial batch, never an error") {
    const bytes one = build(sample_records(20, 9));
    bytes two = one;
    record_batch_builder::options o;
    o.compression = compression_codec::gzip;
    o.base_offset = 20;
    const bytes second = build(sample_records(5, 10), o);
    two.insert(two.end(), second.begin(), second.end());
    for (std::size_t cut = 0; cut <= two.size(); ++cut) {
        CAPTURE(cut);
        const auto r = read_all(std::span(two).first(cut));
        CHECK_FALSE(r.error);
        if (cut < one.size()) {
            CHECK(r.records.empty());
            CHECK(r.consumed == 0);
            CHECK(r.truncated == (cut > 0));
        } else if (cut < two.size()) {
            CHECK(r.records.size() == 20);
            CHECK(r.consumed == one.size());
            CHECK(r.truncated == (cut > one.size()));
        } else {
            CHECK(r.records.size() == 25);
            CHECK_FALSE(r.truncated);
        }
    }
}

TEST_CASE("record batch reader: corrupted bytes") {
    const bytes good = build(sample_records(8, 3));
    SUBCASE("any flipped byte after the magic is a bad CRC") {
        for (std::size_t i = 17; i < good.size(); ++i) {
            bytes b = good;
            b[i] ^= std::byte{0x40};
            CAPTURE(i);
            CHECK(read_all(b).error == wire_errc::bad_crc);
        }
    }
    SUBCASE("bad magic") {
        for (int magic : {3, 0x7f, -1}) {
            bytes b = good;
            b[16] = static_cast<std::byte>(magic);
            CHECK(read_all(b).error == wire_errc::bad_record);
        }
    }
    SUBCASE("batch length below the header size") {
        for (std::uint32_t len : {0u, 10u, 48u, 0x80000000u, 0xffffffffu}) {
            bytes b = good;
            store_be(b.data() + 8, len);
            CAPTURE(len);
            CHECK(read_all(b).error == wire_errc::bad_record);
        }
    }
    SUBCASE("batch length beyond the buffer is a truncated batch") {
        bytes b = good;
        store_be(b.data() + 8, std::uint32_t{0x7fffffff});
        const auto r = read_all(b);
        CHECK_FALSE(r.error);
        CHECK(r.truncated);
    }
    SUBCASE("negative and huge record counts") {
        for (std::uint32_t count : {0xffffffffu, 0x80000000u, 0x7fffffffu, 1000000u}) {
            bytes b = good;
            store_be(b.data() + 57, count);
            fix_crc(b);
            CAPTURE(count);
            CHECK(read_all(b).error == wire_errc::bad_record);
        }
    }
    SUBCASE("a count lower than the records present leaves trailing bytes") {
        bytes b = good;
        store_be(b.data() + 57, std::uint32_t{7});
        fix_crc(b);
        const auto r = read_all(b);
        CHECK(r.error == wire_errc::bad_record);
        CHECK(r.records.size() == 7);
    }
    SUBCASE("a count higher than the records present") {
        bytes b = good;
        store_be(b.data() + 57, std::uint32_t{9});
        fix_crc(b);
        CHECK(read_all(b).error == wire_errc::bad_record);
    }
}

TEST_CASE("record batch reader: malformed records") {
    // One record: length, attributes, ts delta, offset delta, key len, key, value len, value, header count.
    auto batch_with = [](bytes rec, std::int32_t count = 1) {
        bytes b(61);
        store_be(b.data() + 8, static_cast<std::uint32_t>(49 + rec.size()));
        b[16] = std::byte{2};
        store_be(b.data() + 57, static_cast<std::uint32_t>(count));
        b.insert(b.end(), rec.begin(), rec.end());
        fix_crc(b);
        return b;
    };
    CHECK_FALSE(read_all(batch_with(hex({0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0}))).error);
    // Key length -2.
    CHECK(read_all(batch_with(hex({0x10, 0, 0, 0, 0x03, 'k', 0x02, 'v', 0}))).error == wire_errc::bad_record);
    // Value length -5.
    CHECK(read_all(batch_with(hex({0x10, 0, 0, 0, 0x02, 'k', 0x09, 'v', 0}))).error == wire_errc::bad_record);
    // Key length beyond the record.
    CHECK(read_all(batch_with(hex({0x10, 0, 0, 0, 0x40, 'k', 0x02, 'v', 0}))).error == wire_errc::bad_record);
    // Record length beyond the batch; negative record length.
    CHECK(read_all(batch_with(hex({0x30, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0}))).error == wire_errc::bad_record);
    CHECK(read_all(batch_with(hex({0x0f, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0}))).error == wire_errc::bad_record);
    // Record length shorter than its fields.
    CHECK(read_all(batch_with(hex({0x0c, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0}))).error == wire_errc::bad_record);
    // Negative and huge header counts; a header with a negative key length.
    CHECK(read_all(batch_with(hex({0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0x01}))).error == wire_errc::bad_record);
    CHECK(read_all(batch_with(hex({0x14, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0xfe, 0xff, 0x0f}))).error ==
          wire_errc::bad_record);
    CHECK(read_all(batch_with(hex({0x14, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0x02, 0x01, 0x01}))).error ==
          wire_errc::bad_record);
    // Overlong varint.
    CHECK(read_all(batch_with(hex({0x24, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0,
                                   0x02, 'k', 0x02, 'v', 0})))
              .error == wire_errc::bad_record);
    // Random garbage records with valid CRCs: errors, never crashes (sanitizers watch).
    std::mt19937 rng(77);
    for (int i = 0; i < 2000; ++i) {
        bytes rec(rng() % 40);
        for (auto& x : rec) x = static_cast<std::byte>(rng() % 4 ? rng() % 16 : rng());
        (void)read_all(batch_with(rec, static_cast<std::int32_t>(rng() % 5)));
    }
}

TEST_CASE("record batch reader: decompression bomb in a batch") {
    const std::vector<std::byte> mib(1 << 20, std::byte{0});
    std::vector<std::span<const std::byte>> pieces(100, std::span<const std::byte>(mib));
    byte_buffer packed;
    compressor c;
    REQUIRE_FALSE(c.compress(compression_codec::gzip, pieces, packed));
    bytes b(61);
    store_be(b.data() + 8, static_cast<std::uint32_t>(49 + packed.size()));
    b[16] = std::byte{2};
    store_be(b.data() + 21, std::uint16_t{1});  // gzip
    store_be(b.data() + 57, std::uint32_t{1});
    b.insert(b.end(), packed.begin(), packed.end());
    fix_crc(b);
    record_batch_reader::options o;
    o.max_decompressed_size = 1 << 20;
    CHECK(read_all(b, o).error == wire_errc::decompressed_too_large);
    // The ratio check alone catches it too.
    record_batch_reader::options ratio;
    ratio.max_compression_ratio = 100;
    CHECK(read_all(b, ratio).error == wire_errc::decompressed_too_large);
    // Unknown codec 6.
    store_be(b.data() + 21, std::uint16_t{6});
    fix_crc(b);
    CHECK(read_all(b).error == wire_errc::unsupported_codec);
}

// ---------------------------------------------------------------------------
// Magic v0 / v1 message sets, hand-built with zlib's CRC-32.

namespace {

bytes legacy_message_bytes(std::int64_t offset, std::int8_t magic, std::int8_t attributes, std::int64_t timestamp,
                           std::optional<std::string> key, std::optional<bytes> value) {
    bytes body;
    writer w(body);
    w.write_int8(magic);
    w.write_int8(attributes);
    if (magic == 1) w.write_int64(timestamp);
    if (key) w.write_bytes(sv(*key));
    else w.write_int32(-1);
    if (value) w.write_bytes(*value);
    else w.write_int32(-1);
    const auto crc = static_cast<std::uint32_t>(
        ::crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    bytes out;
    writer o(out);
    o.write_int64(offset);
    o.write_int32(static_cast<std::int32_t>(4 + body.size()));
    o.write_uint32(crc);
    o.write_raw(body);
    return out;
}

bytes text(const std::string& s) {
    const auto b = sv(s);
    return bytes(b.begin(), b.end());
}

void append(bytes& to, const bytes& from) { to.insert(to.end(), from.begin(), from.end()); }

} // namespace

TEST_CASE("message sets v0/v1: uncompressed") {
    bytes set;
    append(set, legacy_message_bytes(5, 0, 0, -1, "k0", text("v0")));
    append(set, legacy_message_bytes(6, 0, 0, -1, std::nullopt, std::nullopt));
    append(set, legacy_message_bytes(7, 1, 0, 1234, "k1", text("")));
    append(set, legacy_message_bytes(8, 1, 0x08, 5678, std::nullopt, text("v1")));
    const auto r = read_all(set);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.records.size() == 4);
    CHECK(r.records[0] == owned_record{5, -1, "k0", "v0", {}});
    CHECK(r.records[1] == owned_record{6, -1, std::nullopt, std::nullopt, {}});
    CHECK(r.records[2] == owned_record{7, 1234, "k1", "", {}});
    CHECK(r.records[3] == owned_record{8, 5678, std::nullopt, "v1", {}});
    CHECK(r.batches[0].magic == 0);
    CHECK(r.batches[0].timestamp_kind() == timestamp_type::none);
    CHECK(r.batches[3].timestamp_kind() == timestamp_type::log_append_time);
    CHECK(r.consumed == set.size());

    // Truncations stop cleanly.
    for (std::size_t cut = 0; cut < set.size(); ++cut) {
        const auto t = read_all(std::span(set).first(cut));
        CHECK_FALSE(t.error);
    }
    // A flipped byte in the CRC-covered part.
    bytes bad = set;
    bad[set.size() - 1] ^= std::byte{1};
    CHECK(read_all(bad).error == wire_errc::bad_crc);
    // A message size too small for the format.
    bad = set;
    store_be(bad.data() + 8, std::uint32_t{13});
    CHECK(read_all(bad).error == wire_errc::bad_record);
}

TEST_CASE("message sets v0/v1: compressed wrappers") {
    for (auto codec : {compression_codec::gzip, compression_codec::snappy, compression_codec::lz4}) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        const auto compress_into = [codec](const bytes& in, bytes& out) {
            byte_buffer packed;
            const auto ec = compress(codec, in, packed);
            out.assign(packed.begin(), packed.end());
            return ec;
        };
        // v1: relative inner offsets 0..2, wrapper offset = last absolute offset (102).
        bytes inner;
        for (int i = 0; i < 3; ++i)
            append(inner, legacy_message_bytes(i, 1, 0, 1000 + i, "k" + std::to_string(i), text("v" + std::to_string(i))));
        bytes packed;
        REQUIRE_FALSE(compress_into(inner, packed));
        bytes set = legacy_message_bytes(102, 1, static_cast<std::int8_t>(codec), 2000, std::nullopt, packed);
        auto r = read_all(set);
        REQUIRE_FALSE(r.error);
        REQUIRE(r.records.size() == 3);
        for (int i = 0; i < 3; ++i)
            CHECK(r.records[static_cast<std::size_t>(i)] ==
                  owned_record{100 + i, 1000 + i, "k" + std::to_string(i), "v" + std::to_string(i), {}});
        CHECK(r.batches[0].base_offset == 100);
        CHECK(r.batches[0].last_offset == 102);
        CHECK(r.batches[0].compression() == codec);

        // Log-append time on the wrapper applies to every inner message.
        set = legacy_message_bytes(102, 1, static_cast<std::int8_t>(static_cast<int>(codec) | 0x08), 2000,
                                   std::nullopt, packed);
        r = read_all(set);
        REQUIRE_FALSE(r.error);
        for (const auto& rec : r.records) CHECK(rec.timestamp == 2000);

        // v0 (gzip/snappy only in Kafka, but any codec decodes): inner offsets are absolute.
        inner.clear();
        for (int i = 0; i < 2; ++i) append(inner, legacy_message_bytes(40 + i, 0, 0, -1, std::nullopt, text("x")));
        REQUIRE_FALSE(compress_into(inner, packed));
        set = legacy_message_bytes(41, 0, static_cast<std::int8_t>(codec), -1, std::nullopt, packed);
        // Followed by a v2 batch in the same buffer.
        record_batch_builder::options at42;
        at42.base_offset = 42;
        append(set, build(sample_records(2, 4), at42));
        r = read_all(set);
        REQUIRE_FALSE(r.error);
        REQUIRE(r.records.size() == 4);
        CHECK(r.records[0].offset == 40);
        CHECK(r.records[1].offset == 41);
        CHECK(r.records[2].offset == 42);
        CHECK(r.records[3].offset == 43);

        // Nested compression and mismatched inner magic are rejected.
        bytes nested = legacy_message_bytes(0, 1, static_cast<std::int8_t>(codec), 0, std::nullopt, packed);
        REQUIRE_FALSE(compress_into(nested, packed));
        CHECK(read_all(legacy_message_bytes(9, 1, static_cast<std::int8_t>(codec), 0, std::nullopt, packed)).error ==
              wire_errc::bad_record);
        // A corrupt inner message.
        inner = legacy_message_bytes(0, 1, 0, 0, std::nullopt, text("abc"));
        inner.back() ^= std::byte{1};
        REQUIRE_FALSE(compress_into(inner, packed));
        CHECK(read_all(legacy_message_bytes(0, 1, static_cast<std::int8_t>(codec), 0, std::nullopt, packed)).error ==
              wire_errc::bad_crc);
        // A truncated inner message set.
        inner = legacy_message_bytes(0, 1, 0, 0, std::nullopt, text("abc"));
        inner.pop_back();
        REQUIRE_FALSE(compress_into(inner, packed));
        CHECK(read_all(legacy_message_bytes(0, 1, static_cast<std::int8_t>(codec), 0, std::nullopt, packed)).error ==
              wire_errc::bad_record);
        // A compressed wrapper with a null value.
        CHECK(read_all(legacy_message_bytes(0, 1, static_cast<std::int8_t>(codec), 0, std::nullopt, std::nullopt))
                  .error == wire_errc::bad_record);
    }
}

TEST_CASE("message sets v0: LZ4 with Kafka's old header checksum") {
    if (!codec_available(compression_codec::lz4)) return;
    bytes inner = legacy_message_bytes(3, 0, 0, -1, std::nullopt, text("lz4 v0"));
    byte_buffer packed;
    REQUIRE_FALSE(compress(compression_codec::lz4, inner, packed));
    bytes frame(packed.begin(), packed.end());
    const auto flg = std::to_integer<unsigned>(frame[4]);
    const std::size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    frame[4 + desc] = static_cast<std::byte>((detail::xxh32(std::span(frame).first(4 + desc), 0) >> 8) & 0xff);
    const auto r = read_all(legacy_message_bytes(3, 0, 3, -1, std::nullopt, frame));
    REQUIRE_FALSE(r.error);
    REQUIRE(r.records.size() == 1);
    CHECK(r.records[0].value == "lz4 v0");
}

TEST_CASE("record batch reader: random corruption with valid CRCs never crashes") {
    std::mt19937 rng(2024);
    for (auto codec : all_codecs) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        record_batch_builder::options o;
        o.compression = codec;
        const bytes good = build(sample_records(30, 8), o);
        for (int i = 0; i < 300; ++i) {
            bytes b = good;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f) b[21 + rng() % (b.size() - 21)] ^= static_cast<std::byte>(1 + rng() % 255);
            fix_crc(b);
            const auto r = read_all(b);  // an error or other records; the sanitizers check the rest
            CHECK(r.records.size() <= 30 + 1000);
        }
    }
}
