// Record batch encoding and decoding, each next to memcpy (+ CRC32C) of the
// same bytes in the same run, so that ratios can be quoted. Every benchmark of
// a group reports bytes/s over the same byte count (the batch's wire size).
#include "kwire/proto/crc32c.hpp"
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace kwire::proto;

namespace {

constexpr std::size_t batch_payload = 1 << 20;  // ~1 MiB of values per batch

// Keys and values laid out contiguously (as a producer's accumulator would
// hold them), so that the benchmark measures encoding rather than cache misses
// on scattered heap objects.
struct dataset {
    std::size_t value_size;
    std::size_t count;
    std::shared_ptr<std::string> arena;  // all values, back to back
    std::vector<std::string_view> keys;
    std::vector<std::string_view> values;
    std::vector<std::shared_ptr<const void>> owners;  // aliasing owners of each value
    std::string key_arena;

    explicit dataset(std::size_t vs) : value_size(vs), count(batch_payload / vs) {
        arena = std::make_shared<std::string>(count * vs, ' ');
        for (std::size_t i = 0; i < arena->size(); ++i) (*arena)[i] = static_cast<char>('a' + (i * 7 + i / vs * 31) % 26);
        for (std::size_t i = 0; i < count; ++i) key_arena += "key-" + std::to_string(100000 + i % 100000);
        const std::size_t key_len = key_arena.size() / count;
        for (std::size_t i = 0; i < count; ++i) {
            keys.emplace_back(key_arena.data() + i * key_len, key_len);
            values.emplace_back(arena->data() + i * vs, vs);
            owners.emplace_back(arena, arena->data() + i * vs);
        }
    }
    static std::span<const std::byte> bytes(std::string_view s) {
        return std::as_bytes(std::span(s.data(), s.size()));
    }
    sealed_batch encode(record_batch_builder& b, compression_codec codec, bool by_reference) const {
        record_batch_builder::options o;
        o.compression = codec;
        o.producer_id = 4000;
        o.producer_epoch = 1;
        o.base_sequence = 0;
        b.reset(o);
        static const std::shared_ptr<const void> none;
        for (std::size_t i = 0; i < count; ++i)
            b.append(1700000000000 + static_cast<std::int64_t>(i), bytes(keys[i]), bytes(values[i]), {},
                     by_reference ? owners[i] : none);
        return b.seal();
    }
};

const dataset& data_for(std::size_t value_size) {
    static const dataset d100(100), d1k(1024);
    return value_size == 100 ? d100 : d1k;
}

std::size_t wire_size(std::size_t value_size) {
    record_batch_builder b;
    return data_for(value_size).encode(b, compression_codec::none, false).size_bytes;
}

void encode(benchmark::State& state, std::size_t value_size, compression_codec codec, bool by_reference) {
    const dataset& d = data_for(value_size);
    record_batch_builder b;
    d.encode(b, codec, by_reference);  // warm up
    const std::size_t bytes = wire_size(value_size);
    for (auto _ : state) {
        const sealed_batch s = d.encode(b, codec, by_reference);
        benchmark::DoNotOptimize(s.buffers.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["records"] = static_cast<double>(d.count);
    record_batch_builder check;
    state.counters["wire_bytes"] = static_cast<double>(d.encode(check, codec, by_reference).size_bytes);
}

// The baseline: copy the batch's bytes once, and optionally checksum them.
void memcpy_baseline(benchmark::State& state, std::size_t value_size, bool crc) {
    const std::size_t bytes = wire_size(value_size);
    std::vector<std::byte> src(bytes, std::byte{'x'}), dst(bytes);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), bytes);
        if (crc) benchmark::DoNotOptimize(crc32c(dst));
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// Per-record copies of key and value into one buffer (what encoding must at least do).
void memcpy_records(benchmark::State& state, std::size_t value_size) {
    const dataset& d = data_for(value_size);
    const std::size_t bytes = wire_size(value_size);
    std::vector<std::byte> dst(bytes);
    for (auto _ : state) {
        std::byte* p = dst.data();
        for (std::size_t i = 0; i < d.count; ++i) {
            std::memcpy(p, d.keys[i].data(), d.keys[i].size());
            p += d.keys[i].size();
            std::memcpy(p, d.values[i].data(), d.values[i].size());
            p += d.values[i].size();
        }
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void decode(benchmark::State& state, std::size_t value_size, compression_codec codec) {
    const dataset& d = data_for(value_size);
    record_batch_builder b;
    const std::vector<std::byte> wire = d.encode(b, codec, false).to_vector();
    const std::size_t bytes = wire_size(value_size);
    record_batch_reader r;
    for (auto _ : state) {
        r.reset(wire);
        std::size_t sum = 0;
        while (r.next_batch()) {
            record rec;
            while (r.next_record(rec)) sum += rec.value->size() + rec.key->size();
        }
        if (r.error()) state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(sum);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

} // namespace

// 100-byte records.
BENCHMARK_CAPTURE(memcpy_baseline, memcpy_100B_records, 100, false);
BENCHMARK_CAPTURE(memcpy_baseline, memcpy_plus_crc32c_100B_records, 100, true);
BENCHMARK_CAPTURE(memcpy_records, memcpy_per_record_100B_records, 100);
BENCHMARK_CAPTURE(encode, encode_100B_records, 100, compression_codec::none, false);
BENCHMARK_CAPTURE(decode, decode_100B_records, 100, compression_codec::none);

// 1 KiB records.
BENCHMARK_CAPTURE(memcpy_baseline, memcpy_1KiB_records, 1024, false);
BENCHMARK_CAPTURE(memcpy_baseline, memcpy_plus_crc32c_1KiB_records, 1024, true);
BENCHMARK_CAPTURE(memcpy_records, memcpy_per_record_1KiB_records, 1024);
BENCHMARK_CAPTURE(encode, encode_1KiB_records, 1024, compression_codec::none, false);
BENCHMARK_CAPTURE(encode, encode_1KiB_records_by_reference, 1024, compression_codec::none, true);
BENCHMARK_CAPTURE(decode, decode_1KiB_records, 1024, compression_codec::none);

// Compressed 1 KiB records (bytes/s over the uncompressed wire size).
BENCHMARK_CAPTURE(encode, encode_1KiB_records_gzip, 1024, compression_codec::gzip, false);
BENCHMARK_CAPTURE(encode, encode_1KiB_records_snappy, 1024, compression_codec::snappy, false);
BENCHMARK_CAPTURE(encode, encode_1KiB_records_lz4, 1024, compression_codec::lz4, false);
BENCHMARK_CAPTURE(encode, encode_1KiB_records_zstd, 1024, compression_codec::zstd, false);
BENCHMARK_CAPTURE(decode, decode_1KiB_records_gzip, 1024, compression_codec::gzip);
BENCHMARK_CAPTURE(decode, decode_1KiB_records_snappy, 1024, compression_codec::snappy);
BENCHMARK_CAPTURE(decode, decode_1KiB_records_lz4, 1024, compression_codec::lz4);
BENCHMARK_CAPTURE(decode, decode_1KiB_records_zstd, 1024, compression_codec::zstd);
