// Walks the records of a fetched partition buffer: magic v2 record batches and
// magic v0/v1 message sets, yielding views (no copy per record).
//
// The buffer may end with a partial batch (fetch responses truncate the last
// one): that is not an error, iteration just stops there; truncated() tells,
// and bytes_consumed() counts the bytes of the complete batches read.
//
//   record_batch_reader r;
//   r.reset(partition.records);
//   while (r.next_batch()) {
//       const batch_info& b = r.batch();
//       record rec;
//       while (r.next_record(rec)) { ... }
//   }
//   if (r.error()) ...   // malformed input: bad_crc, bad_record, ...
//
// Every length and count is checked against the bytes present before use;
// nothing is allocated from a count read off the wire. Compressed batches are
// decompressed into a scratch buffer owned by the reader (kept across
// batches): views into a compressed batch's records are valid until the next
// call to next_batch() or reset(); views into uncompressed batches point into
// the fetched buffer itself.
#pragma once

#include "kwire/proto/compression.hpp"
#include "kwire/proto/record.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace kwire::proto {

class record_batch_reader {
public:
    struct options {
        // Cap on one batch's decompressed records (decompressed_too_large beyond).
        std::size_t max_decompressed_size = 64 * 1024 * 1024;
        // When non-zero, also caps decompressed size at this multiple of the
        // compressed size (floor: 1 MiB). Off by default: legitimate batches of
        // repetitive data compress beyond 1000:1 with zstd.
        std::size_t max_compression_ratio = 0;
        bool verify_crc = true;
    };

    record_batch_reader() : record_batch_reader(options{}) {}
    explicit record_batch_reader(const options& opts) : opts_(opts) {}

    // Starts reading `buffer` (clears any error).
    void reset(std::span<const std::byte> buffer) noexcept;

    // Moves to the next complete batch (skipping the rest of the current one).
    // False at the end of the buffer, at a truncated final batch, or on error.
    bool next_batch();
    const batch_info& batch() const noexcept { return batch_; }

    // The next record of the current batch. False when the batch has no more
    // records, or on error (a malformed record).
    bool next_record(record& out) noexcept;

    std::error_code error() const noexcept { return error_; }
    // Hands over the decompression buffer of the current (compressed) batch,
    // which its records view: moving a vector keeps its bytes in place, so
    // records read after this still point into the returned buffer. The next
    // compressed batch gets a new buffer: the one given by reuse_buffer(), if
    // any (a recycled one, its memory already mapped).
    byte_buffer take_decompressed() noexcept { return std::move(scratch_); }
    void reuse_buffer(byte_buffer buffer) noexcept { scratch_ = std::move(buffer); }
    // Whether reading stopped at an incomplete final batch.
    bool truncated() const noexcept { return truncated_; }
    // Bytes of the buffer in complete batches moved past (or current).
    std::size_t bytes_consumed() const noexcept { return static_cast<std::size_t>(next_ - begin_); }
    std::size_t bytes_remaining() const noexcept { return static_cast<std::size_t>(end_ - next_); }

private:
    enum class mode : std::uint8_t { idle, v2, legacy_single, legacy_inner };

    bool fail(std::error_code ec) noexcept;
    bool open_v2(std::span<const std::byte> wire);
    bool open_legacy(std::span<const std::byte> wire);
    std::error_code decompress(compression_codec codec, std::span<const std::byte> data, bool lz4_legacy);
    bool next_v2(record& out) noexcept;
    bool next_legacy_inner(record& out) noexcept;

    options opts_;
    const std::byte* begin_ = nullptr;
    const std::byte* next_ = nullptr;  // start of the next batch
    const std::byte* end_ = nullptr;
    std::error_code error_;
    bool truncated_ = false;

    mode mode_ = mode::idle;
    batch_info batch_;
    const std::byte* rec_ = nullptr;      // next record
    const std::byte* rec_end_ = nullptr;  // end of the records section
    std::int32_t records_left_ = 0;
    // Legacy message sets.
    record single_;                 // an uncompressed v0/v1 message
    std::int64_t inner_base_ = 0;   // added to inner offsets (v1: relative)
    std::int64_t wrapper_timestamp_ = -1;
    bool wrapper_log_append_ = false;

    decompressor decompressor_;
    byte_buffer scratch_;
};

} // namespace kwire::proto
