// Counts heap allocations to show that the producer and consumer hot paths do
// not allocate per record once warm.
//
// This file replaces the global operator new/delete for the whole test binary;
// the replacements only add a thread-local counter (read as deltas, on the
// test's own thread) on top of malloc/free.
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {
thread_local std::size_t allocation_count = 0;

void* counted_alloc(std::size_t n) {
    ++allocation_count;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* counted_alloc_aligned(std::size_t n, std::align_val_t al) {
    ++allocation_count;
    const auto a = static_cast<std::size_t>(al);
    const std::size_t rounded = ((n ? n : 1) + a - 1) / a * a;
    if (void* p = std::aligned_alloc(a, rounded)) return p;
    throw std::bad_alloc();
}
} // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++allocation_count;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    ++allocation_count;
    return std::malloc(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t al) { return counted_alloc_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return counted_alloc_aligned(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc_aligned(n, al);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc_aligned(n, al);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

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
        const std::size_t before = allocation_count;
        w.fill(b, codec);
        const std::size_t delta = allocation_count - before;
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
        const std::size_t before = allocation_count;
        const std::size_t got = read_everything(r, wire);
        const std::size_t delta = allocation_count - before;
        CHECK(got == expect);
        CHECK_FALSE(r.error());
        if (codec == compression_codec::none) CHECK(delta == 0);
        else CHECK(delta <= 4);
    }
}
