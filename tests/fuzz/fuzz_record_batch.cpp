// libFuzzer target: the record batch reader on hostile fetched bytes.
//
// Input: byte 0 holds option bits (bit 0: verify CRCs, bit 1: cap the
// compression ratio, bit 2: skip the records of every other batch), the rest
// is a partition's records buffer as a Fetch response carries it. Every record
// of every batch is walked and every byte it points at is read (so ASan sees
// any view that strays outside the input or the decompression buffer).
// Seeds: the record batches of the golden Produce and Fetch frames, with and
// without CRC checks and gzip-compressed (tests/fuzz/seed_corpus.py).
#include "kwire/proto/record_batch_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "FINDING: %s\n", what);
    std::abort();
}

std::uint32_t touch(std::span<const std::byte> s) {
    std::uint32_t sum = 0;
    for (std::byte b : s) sum += std::to_integer<std::uint8_t>(b);
    return sum;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    using kwire::proto::record_batch_reader;
    record_batch_reader::options opts;
    opts.verify_crc = (data[0] & 1) != 0;
    opts.max_compression_ratio = (data[0] & 2) ? 8 : 0;
    opts.max_decompressed_size = 4 * 1024 * 1024;  // keeps each run quick
    const bool skip_alternate = (data[0] & 4) != 0;
    const auto buffer = std::as_bytes(std::span(data + 1, size - 1));

    record_batch_reader reader(opts);
    reader.reset(buffer);
    volatile std::uint32_t sink = 0;
    std::size_t batches = 0;
    while (reader.next_batch()) {
        const auto& b = reader.batch();
        if (b.wire.data() < buffer.data() || b.wire.data() + b.wire.size() > buffer.data() + buffer.size())
            finding("batch_info::wire is outside the input");
        sink = sink + touch(b.wire);
        if (reader.bytes_consumed() > buffer.size()) finding("bytes_consumed() beyond the input");
        if (skip_alternate && batches++ % 2 == 1) continue;
        kwire::proto::record rec;
        std::int64_t records = 0;
        while (reader.next_record(rec)) {
            ++records;
            if (rec.key) sink = sink + touch(*rec.key);
            if (rec.value) sink = sink + touch(*rec.value);
            std::uint32_t headers = 0;
            for (const auto& h : rec.headers) {
                ++headers;
                sink = sink + touch(std::as_bytes(std::span(h.key.data(), h.key.size())));
                if (h.value) sink = sink + touch(*h.value);
            }
            if (headers > rec.headers.size()) finding("more headers iterated than the record declares");
            (void)kwire::proto::parse_control_record(rec.key);
        }
        if (!reader.error() && b.magic == 2 && records > b.record_count && b.record_count >= 0)
            finding("more records than the batch declares");
    }
    if (reader.bytes_consumed() + reader.bytes_remaining() != buffer.size())
        finding("bytes_consumed() + bytes_remaining() != input size");
    return 0;
}
