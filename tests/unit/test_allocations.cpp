// Counts heap allocations to show that the producer and consumer hot paths do
// not allocate per record once warm.
//
// Counted by support/allocation_counter (read as deltas, on the test's own
// thread).
#include "support/allocation_counter.hpp"

#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

using namespace kwire::proto;

namespace {

constexpr int records_per_batch = 10000;

struct workload {
    std::string key = "key-000000";
    std::string small_value = std::string(100, 'v');
    std::shared_ptr<const std::string> big_value = std::make_shared<const std::string>(4096, 'B');
    std::shared_ptr<const void> big_owner{big_value, big_value->data()};
    std::string trace = "trace-id-1234";
    record_header headers[1] = {{"trace", std::as_bytes(std::span(trace.data(), trace.size()))}};

    std::span<const std::byte> bytes(const std::string& s) const { return std::as_bytes(std::span(s.data(), s.size())); }

    // Fills `b` with one batch; every 50th record has a large value appended by reference.
    void fill(record_batch_builder& b, compression_codec codec) const {
        record_batch_builder::options o;
        o.compression = codec;
        o.producer_id = 1;
        o.producer_epoch = 0;
        o.base_sequence = 0;
        REQUIRE_FALSE(b.reset(o));
        for (int i = 0; i < records_per_batch; ++i) {
            const bool big = i % 50 == 0;
            const bool ok = b.append(1700000000000 + i, bytes(key), big ? bytes(*big_value) : bytes(small_value),
                                     headers, big ? big_owner : nullptr);
            if (!ok) FAIL("append failed");
        }
        (void)b.seal();
    }
};

std::size_t read_everything(record_batch_reader& r, std::span<const std::byte> wire) {
    r.reset(wire);
    std::size_t sum = 0;
    while (r.next_batch()) {
        record rec;
        while (r.next_record(rec)) {
            sum += rec.value ? rec.value->size() : 0;
            for (const auto& h : rec.headers) sum += h.key.size();
        }
    }
    return sum;
}

} // namespace

TEST_CASE("allocations: a reused builder appends records without allocating") {
    const workload w;
    for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::lz4,
                       compression_codec::zstd, compression_codec::snappy}) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        record_batch_builder b;
        w.fill(b, codec);  // warm up: storage, compression contexts
        w.fill(b, codec);
        const std::size_t before = kwire::test::thread_allocations();
        w.fill(b, codec);
        const std::size_t delta = kwire::test::thread_allocations() - before;
        CHECK(b.record_count() == records_per_batch);
        // Zero when uncompressed; a codec may allocate O(1) per batch, never per
        // record — except libsnappy, which allocates its working memory on each
        // 32 KiB block it compresses (xerial framing), still far below one per record.
        if (codec == compression_codec::none) CHECK(delta == 0);
        else if (codec == compression_codec::snappy)
            CHECK(delta <= 2 * (b.sealed().uncompressed_records_size / (32 * 1024) + 1) + 4);
        else CHECK(delta <= 4);
        CHECK(delta < records_per_batch / 100);
    }
}

TEST_CASE("allocations: reading records from a buffer does not allocate") {
    const workload w;
    for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::lz4,
                       compression_codec::zstd, compression_codec::snappy}) {
        if (!codec_available(codec)) continue;
        CAPTURE(codec_name(codec));
        record_batch_builder b;
        w.fill(b, codec);
        const std::vector<std::byte> wire = b.sealed().to_vector();
        record_batch_reader r;
        const std::size_t expect = read_everything(r, wire);  // warm up (decompression scratch)
        CHECK_FALSE(r.error());
        const std::size_t before = kwire::test::thread_allocations();
        const std::size_t got = read_everything(r, wire);
        const std::size_t delta = kwire::test::thread_allocations() - before;
        CHECK(got == expect);
        CHECK_FALSE(r.error());
        if (codec == compression_codec::none) CHECK(delta == 0);
        else CHECK(delta <= 4);
    }
}
