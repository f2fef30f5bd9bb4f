// Records and record batches as views: what the batch reader yields and the
// batch builder takes. Nothing here owns bytes; every span points into a
// fetched buffer (or the reader's decompression scratch), or the caller's data.
#pragma once

#include "kwire/proto/compression.hpp"
#include "kwire/proto/varint.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

namespace kwire::proto {

enum class timestamp_type : std::int8_t { none = -1, create_time = 0, log_append_time = 1 };

// A record header. The key is a string (never null), the value bytes or null.
struct record_header {
    std::string_view key;
    std::optional<std::span<const std::byte>> value;
};

// The headers of a decoded record: a view of their encoded bytes, decoded as
// they are iterated (the reader has already validated them).
class header_list {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = record_header;
        using difference_type = std::ptrdiff_t;
        using pointer = const record_header*;
        using reference = const record_header&;

        iterator() = default;
        iterator(const std::byte* pos, const std::byte* end, std::uint32_t left)
            : pos_(pos), end_(end), left_(left), done_(false) {
            advance();
        }
        reference operator*() const noexcept { return current_; }
        pointer operator->() const noexcept { return &current_; }
        iterator& operator++() {
            advance();
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            advance();
            return old;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.done_ == b.done_ && (a.done_ || a.pos_ == b.pos_);
        }

    private:
        void advance() noexcept {
            if (left_ == 0) {
                done_ = true;
                return;
            }
            --left_;
            std::int32_t klen = 0, vlen = 0;
            const std::byte* p = decode_varint(pos_, end_, klen);
            if (!p || klen < 0 || end_ - p < klen) return stop();
            current_.key = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(klen));
            p = decode_varint(p + klen, end_, vlen);
            if (!p || vlen < -1 || end_ - p < vlen) return stop();
            if (vlen < 0) current_.value.reset();
            else current_.value = std::span<const std::byte>(p, static_cast<std::size_t>(vlen));
            pos_ = p + (vlen < 0 ? 0 : vlen);
        }
        void stop() noexcept {
            left_ = 0;
            done_ = true;
        }

        const std::byte* pos_ = nullptr;
        const std::byte* end_ = nullptr;
        std::uint32_t left_ = 0;
        bool done_ = true;
        record_header current_;
    };

    header_list() = default;
    header_list(std::span<const std::byte> encoded, std::uint32_t count) noexcept : encoded_(encoded), count_(count) {}

    std::uint32_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    iterator begin() const { return {encoded_.data(), encoded_.data() + encoded_.size(), count_}; }
    iterator end() const { return {}; }
    // The encoded header entries (without the count).
    std::span<const std::byte> encoded() const noexcept { return encoded_; }

private:
    std::span<const std::byte> encoded_;
    std::uint32_t count_ = 0;
};

// One record of a batch (or one message of a v0/v1 message set).
struct record {
    std::int64_t offset = 0;
    std::int64_t timestamp = -1;  // -1: none (magic v0)
    std::optional<std::span<const std::byte>> key;
    std::optional<std::span<const std::byte>> value;
    header_list headers;
    std::int32_t offset_delta = 0;  // from the batch's base offset
    std::int8_t attributes = 0;     // the record's own attributes (unused by Kafka)
};

// The key of a control record (in a control batch): version, then type.
enum class control_type : std::int16_t { abort = 0, commit = 1 };
struct control_record {
    std::int16_t version = 0;
    std::int16_t type = 0;  // a control_type value; others are possible from newer brokers
    bool is_abort() const noexcept { return type == static_cast<std::int16_t>(control_type::abort); }
    bool is_commit() const noexcept { return type == static_cast<std::int16_t>(control_type::commit); }
};
// Parses a control record's key; nullopt when it is null or shorter than 4 bytes.
inline std::optional<control_record> parse_control_record(std::optional<std::span<const std::byte>> key) noexcept {
    if (!key || key->size() < 4) return std::nullopt;
    return control_record{static_cast<std::int16_t>(load_be<std::uint16_t>(key->data())),
                          static_cast<std::int16_t>(load_be<std::uint16_t>(key->data() + 2))};
}

// Batch attributes (magic v2; the v0/v1 message attributes use bits 0-3 alike).
namespace batch_attr {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t timestamp_type = 0x08;  // set: log-append time
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
inline constexpr std::int16_t delete_horizon = 0x40;
} // namespace batch_attr

// Layout of the magic v2 batch header.
namespace batch_v2 {
inline constexpr std::size_t base_offset = 0;
inline constexpr std::size_t batch_length = 8;
inline constexpr std::size_t partition_leader_epoch = 12;
inline constexpr std::size_t magic = 16;
inline constexpr std::size_t crc = 17;
inline constexpr std::size_t attributes = 21;
inline constexpr std::size_t last_offset_delta = 23;
inline constexpr std::size_t base_timestamp = 27;
inline constexpr std::size_t max_timestamp = 35;
inline constexpr std::size_t producer_id = 43;
inline constexpr std::size_t producer_epoch = 51;
inline constexpr std::size_t base_sequence = 53;
inline constexpr std::size_t record_count = 57;
inline constexpr std::size_t header_size = 61;
// Bytes before the batch length field ends (base offset + length): the batch
// length counts everything after them.
inline constexpr std::size_t log_overhead = 12;
// The smallest possible record: length, attributes, timestamp delta, offset
// delta, key length, value length, header count — one byte each.
inline constexpr std::size_t min_record_size = 7;
} // namespace batch_v2

// What the reader knows about the current batch (or v0/v1 message).
struct batch_info {
    std::int64_t base_offset = 0;
    std::int64_t last_offset = 0;
    std::int32_t partition_leader_epoch = -1;
    std::int8_t magic = 2;
    std::uint32_t crc = 0;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = -1;
    std::int64_t max_timestamp = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t record_count = 0;
    std::span<const std::byte> wire;  // the whole batch as fetched

    compression_codec compression() const noexcept {
        return static_cast<compression_codec>(attributes & batch_attr::compression_mask);
    }
    timestamp_type timestamp_kind() const noexcept {
        if (magic == 0) return timestamp_type::none;
        return (attributes & batch_attr::timestamp_type) ? timestamp_type::log_append_time
                                                         : timestamp_type::create_time;
    }
    bool transactional() const noexcept { return (attributes & batch_attr::transactional) != 0; }
    bool control() const noexcept { return (attributes & batch_attr::control) != 0; }
    // Offset of the record after this batch.
    std::int64_t next_offset() const noexcept { return last_offset + 1; }
};

} // namespace kwire::proto
