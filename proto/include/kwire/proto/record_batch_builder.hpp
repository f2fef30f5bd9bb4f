// Builds one magic v2 record batch directly in its wire form.
//
// Each record is sized first (cheaply) and then written in one pass straight
// into a buffer_chain, behind a batch header reserved up front; seal() patches
// the header (and compresses the records section when asked), then computes
// the CRC. Large values can be appended by reference with an owner that is
// kept alive until the builder is reset.
//
// A builder is one batch: it is reset() for the next one and keeps its
// storage, so a producer that reuses builders does not allocate per record in
// steady state.
//
//   record_batch_builder b;
//   b.reset({.producer_id = pid, .producer_epoch = epoch, .base_sequence = seq});
//   while (b.size_bytes() + record_batch_builder::max_record_size(k.size(), v.size(), {}) <= batch_size)
//       b.append(now_ms, k, v);
//   sealed_batch batch = b.seal();   // batch.buffers: scatter/gather list
#pragma once

#include "kwire/proto/buffer_chain.hpp"
#include "kwire/proto/compression.hpp"
#include "kwire/proto/record.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace kwire::proto {

// A sealed batch: views into its builder, valid until the builder is reset,
// re-stamped (then take a fresh view) or destroyed.
struct sealed_batch {
    std::span<const std::span<const std::byte>> buffers;  // the batch bytes, in order
    std::size_t size_bytes = 0;                           // sum of the buffers' sizes
    std::int32_t record_count = 0;
    std::int32_t first_offset_delta = 0;
    std::int32_t last_offset_delta = -1;
    std::int64_t base_timestamp = -1;
    std::int64_t max_timestamp = -1;
    std::size_t uncompressed_records_size = 0;  // records section before compression

    // The batch as one contiguous copy (tests, simple senders).
    std::vector<std::byte> to_vector() const;
};

class record_batch_builder {
public:
    struct options {
        compression_codec compression = compression_codec::none;
        int compression_level = default_compression_level;
        std::int64_t producer_id = -1;
        std::int16_t producer_epoch = -1;
        std::int32_t base_sequence = -1;
        bool transactional = false;
        bool control = false;
        timestamp_type timestamp = timestamp_type::create_time;
        std::int64_t base_offset = 0;
        std::int32_t partition_leader_epoch = -1;
        // Default: the first record's timestamp.
        std::optional<std::int64_t> base_timestamp;
    };

    explicit record_batch_builder(std::size_t segment_size = buffer_chain::default_segment_size,
                                  std::size_t reference_threshold = buffer_chain::default_reference_threshold);

    // Starts a new, empty batch. Fails with unsupported_codec when the codec
    // is not in this build (the builder is then unusable until the next reset).
    std::error_code reset(const options& opts);
    std::error_code reset() { return reset(options{}); }

    // Appends a record. A value at least the reference threshold long is
    // appended by reference when `value_owner` is set (the owner must keep the
    // bytes alive and unchanged; the builder holds it until reset).
    // Returns false, appending nothing, when the batch is sealed or not reset,
    // when a key, value or header is too long for its length field, or when
    // the batch would exceed the int32 limits of the format.
    bool append(std::int64_t timestamp_ms, const std::optional<std::span<const std::byte>>& key,
                const std::optional<std::span<const std::byte>>& value, std::span<const record_header> headers = {},
                const std::shared_ptr<const void>& value_owner = {});

    // An upper bound of the bytes a record takes in a batch (for batch.size
    // decisions before appending).
    static std::size_t max_record_size(std::size_t key_size, std::size_t value_size,
                                       std::span<const record_header> headers = {}) noexcept;

    // Bytes of the batch so far, uncompressed (header included); after seal(),
    // the sealed size.
    std::size_t size_bytes() const noexcept;
    std::int32_t record_count() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    bool is_sealed() const noexcept { return sealed_; }
    const options& batch_options() const noexcept { return opts_; }

    // Finishes the batch: compresses the records (if a codec is set), patches
    // the header and computes the CRC. Idempotent. On a compression failure
    // the result has no buffers and error() tells why.
    sealed_batch seal();
    sealed_batch sealed() const noexcept;
    std::error_code error() const noexcept { return error_; }

    // Sets the producer id, epoch and base sequence: before seal() for
    // seal() to write (sequences are assigned when a batch is sent), after it
    // by rewriting the header and recomputing the CRC (a retry after an epoch
    // bump).
    void restamp(std::int64_t producer_id, std::int16_t producer_epoch, std::int32_t base_sequence);
    // Sets the transactional attribute likewise.
    void restamp_transactional(bool transactional);

    // The underlying chain (records only are valid before seal()).
    const buffer_chain& chain() const noexcept { return chain_; }

private:
    void write_header();
    void update_crc();

    options opts_;
    buffer_chain chain_;
    compressor compressor_;
    byte_buffer compressed_;
    std::vector<std::span<const std::byte>> gather_;  // compression input / sealed buffers
    std::int64_t base_timestamp_ = 0;
    std::int64_t max_timestamp_ = -1;
    std::int32_t count_ = 0;
    std::size_t records_size_ = 0;
    bool active_ = false;
    bool sealed_ = false;
    std::error_code error_;
};

} // namespace kwire::proto
