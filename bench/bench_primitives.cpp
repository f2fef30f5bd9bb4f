// CRC32C and varints, next to memcpy of the same bytes.
#include "kwire/proto/crc32c.hpp"
#include "kwire/proto/varint.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

using namespace kwire::proto;

namespace {

std::vector<std::byte> random_bytes(std::size_t n) {
    std::mt19937 rng(1);
    std::vector<std::byte> v(n);
    for (auto& b : v) b = static_cast<std::byte>(rng());
    return v;
}

void BM_memcpy(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto src = random_bytes(n);
    std::vector<std::byte> dst(n);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), n);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_crc32c_hardware(benchmark::State& state) {
    const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
    if (!crc32c_is_hardware()) state.SetLabel("no hardware CRC32C: portable");
    for (auto _ : state) benchmark::DoNotOptimize(crc32c(data));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

void BM_crc32c_portable(benchmark::State& state) {
    const auto data = random_bytes(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(crc32c_portable(data));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

// Values shaped like record fields: mostly small, some large, some negative.
std::vector<std::int32_t> varint_values() {
    std::mt19937 rng(2);
    std::vector<std::int32_t> v(1 << 16);
    for (auto& x : v) {
        switch (rng() % 4) {
        case 0: x = static_cast<std::int32_t>(rng() % 64); break;
        case 1: x = static_cast<std::int32_t>(rng() % 8192); break;
        case 2: x = static_cast<std::int32_t>(rng()); break;
        default: x = -1;
        }
    }
    return v;
}

std::size_t encoded_size(const std::vector<std::int32_t>& v) {
    std::size_t n = 0;
    for (auto x : v) n += varint_size(x);
    return n;
}

void BM_varint_encode(benchmark::State& state) {
    const auto values = varint_values();
    std::vector<std::byte> out(values.size() * 5);
    const std::size_t bytes = encoded_size(values);
    for (auto _ : state) {
        std::byte* p = out.data();
        for (auto x : values) p = encode_varint(p, x);
        benchmark::DoNotOptimize(p);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["values/s"] = benchmark::Counter(static_cast<double>(values.size()), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_varint_decode(benchmark::State& state) {
    const auto values = varint_values();
    std::vector<std::byte> buf(values.size() * 5);
    std::byte* e = buf.data();
    for (auto x : values) e = encode_varint(e, x);
    const std::byte* end = e;
    const std::size_t bytes = static_cast<std::size_t>(end - buf.data());
    for (auto _ : state) {
        const std::byte* p = buf.data();
        std::int64_t sum = 0;
        while (p != end) {
            std::int32_t v;
            p = decode_varint(p, end, v);
            sum += v;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
    state.counters["values/s"] = benchmark::Counter(static_cast<double>(values.size()), benchmark::Counter::kIsIterationInvariantRate);
}

// memcpy of the same bytes the varint benchmarks produce / consume.
void BM_memcpy_varint_bytes(benchmark::State& state) {
    const std::size_t bytes = encoded_size(varint_values());
    const auto src = random_bytes(bytes);
    std::vector<std::byte> dst(bytes);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), bytes);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

} // namespace

BENCHMARK(BM_memcpy)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_crc32c_hardware)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_crc32c_portable)->Arg(4096)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_memcpy_varint_bytes);
BENCHMARK(BM_varint_encode);
BENCHMARK(BM_varint_decode);
