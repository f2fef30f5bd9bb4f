#include "kwire/proto/record_batch_reader.hpp"

#include "kwire/proto/crc32c.hpp"
#include "kwire/proto/message_set_v0v1.hpp"
#include "kwire/proto/varint.hpp"
#include "kwire/proto/wire_error.hpp"

#include <algorithm>

namespace kwire::proto {
namespace {

using bytes_view = std::span<const std::byte>;

// Bytes up to and including the magic byte, common to every message format.
constexpr std::size_t header_through_magic = 17;
// The smallest body of a v2 record (after its length): attributes, timestamp
// delta, offset delta, key length, value length, header count.
constexpr std::int32_t min_record_body = 6;

std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// Reads a varint length field: -1 (null) or a length that fits before `end`.
// Returns nullptr when malformed.
const std::byte* read_length(const std::byte* p, const std::byte* end, std::int32_t& len, bool nullable) noexcept {
    p = decode_varint(p, end, len);
    if (!p) return nullptr;
    if (len < (nullable ? -1 : 0)) return nullptr;
    if (len > end - p) return nullptr;
    return p;
}

} // namespace

void record_batch_reader::reset(bytes_view buffer) noexcept {
    begin_ = next_ = buffer.data();
    end_ = buffer.data() + buffer.size();
    error_ = {};
    truncated_ = false;
    mode_ = mode::idle;
    batch_ = {};
    records_left_ = 0;
}

bool record_batch_reader::fail(std::error_code ec) noexcept {
    if (!error_) error_ = ec;
    mode_ = mode::idle;
    records_left_ = 0;
    return false;
}

bool record_batch_reader::next_batch() {
    mode_ = mode::idle;
    records_left_ = 0;
    if (error_ || truncated_) return false;
    const auto left = static_cast<std::size_t>(end_ - next_);
    if (left == 0) return false;
    if (left < header_through_magic) {
        truncated_ = true;
        return false;
    }
    const auto size = static_cast<std::int32_t>(load_be<std::uint32_t>(next_ + batch_v2::batch_length));
    const auto magic = static_cast<std::int8_t>(next_[batch_v2::magic]);
    if (magic < 0 || magic > 2) return fail(wire_errc::bad_record);
    const std::size_t min_size = magic == 2   ? batch_v2::header_size - batch_v2::log_overhead
                                 : magic == 1 ? message_v0v1::min_size_v1
                                              : message_v0v1::min_size_v0;
    if (size < 0 || static_cast<std::size_t>(size) < min_size) return fail(wire_errc::bad_record);
    if (static_cast<std::size_t>(size) > left - batch_v2::log_overhead) {
        truncated_ = true;  // the fetch cut the last batch short
        return false;
    }
    const bytes_view wire(next_, batch_v2::log_overhead + static_cast<std::size_t>(size));
    const bool ok = magic == 2 ? open_v2(wire) : open_legacy(wire);
    if (ok) next_ += wire.size();
    return ok;
}

std::error_code record_batch_reader::decompress(compression_codec codec, bytes_view data, bool lz4_legacy) {
    if (static_cast<int>(codec) > static_cast<int>(compression_codec::zstd)) return wire_errc::unsupported_codec;
    decompress_options o;
    o.max_size = opts_.max_decompressed_size;
    if (opts_.max_compression_ratio != 0) {
        constexpr std::size_t floor = 1024 * 1024;
        const std::size_t by_ratio = data.size() > o.max_size / opts_.max_compression_ratio
                                         ? o.max_size
                                         : data.size() * opts_.max_compression_ratio;
        o.max_size = std::min(o.max_size, std::max(by_ratio, floor));
    }
    o.lz4_legacy_checksum = lz4_legacy;
    return decompressor_.decompress(codec, data, scratch_, o);
}

bool record_batch_reader::open_v2(bytes_view wire) {
    const std::byte* w = wire.data();
    batch_info b;
    b.base_offset = static_cast<std::int64_t>(load_be<std::uint64_t>(w + batch_v2::base_offset));
    b.partition_leader_epoch = static_cast<std::int32_t>(load_be<std::uint32_t>(w + batch_v2::partition_leader_epoch));
    b.magic = 2;
    b.crc = load_be<std::uint32_t>(w + batch_v2::crc);
    b.attributes = static_cast<std::int16_t>(load_be<std::uint16_t>(w + batch_v2::attributes));
    b.last_offset_delta = static_cast<std::int32_t>(load_be<std::uint32_t>(w + batch_v2::last_offset_delta));
    b.base_timestamp = static_cast<std::int64_t>(load_be<std::uint64_t>(w + batch_v2::base_timestamp));
    b.max_timestamp = static_cast<std::int64_t>(load_be<std::uint64_t>(w + batch_v2::max_timestamp));
    b.producer_id = static_cast<std::int64_t>(load_be<std::uint64_t>(w + batch_v2::producer_id));
    b.producer_epoch = static_cast<std::int16_t>(load_be<std::uint16_t>(w + batch_v2::producer_epoch));
    b.base_sequence = static_cast<std::int32_t>(load_be<std::uint32_t>(w + batch_v2::base_sequence));
    b.record_count = static_cast<std::int32_t>(load_be<std::uint32_t>(w + batch_v2::record_count));
    b.last_offset = wrapping_add(b.base_offset, b.last_offset_delta);
    b.wire = wire;
    batch_ = b;

    if (opts_.verify_crc && crc32c(wire.subspan(batch_v2::attributes)) != b.crc) return fail(wire_errc::bad_crc);
    if (b.record_count < 0) return fail(wire_errc::bad_record);

    bytes_view records = wire.subspan(batch_v2::header_size);
    if (b.compression() != compression_codec::none) {
        if (auto ec = decompress(b.compression(), records, false)) return fail(ec);
        records = scratch_;
    }
    // Every record takes at least 7 bytes: a count the bytes cannot hold is a lie.
    if (static_cast<std::uint64_t>(b.record_count) * batch_v2::min_record_size > records.size())
        return fail(wire_errc::bad_record);
    rec_ = records.data();
    rec_end_ = records.data() + records.size();
    records_left_ = b.record_count;
    mode_ = mode::v2;
    return true;
}

bool record_batch_reader::next_v2(record& out) noexcept {
    if (records_left_ == 0) {
        // The count is exhausted: the records section must be too.
        if (rec_ != rec_end_) return fail(wire_errc::bad_record);
        return false;
    }
    std::int32_t len = 0;
    const std::byte* p = decode_varint(rec_, rec_end_, len);
    if (!p || len < min_record_body || len > rec_end_ - p) return fail(wire_errc::bad_record);
    const std::byte* const end = p + len;

    const auto attributes = static_cast<std::int8_t>(*p++);
    std::int64_t ts_delta = 0;
    std::int32_t offset_delta = 0, key_len = 0, value_len = 0, header_count = 0;
    if (!(p = decode_varlong(p, end, ts_delta))) return fail(wire_errc::bad_record);
    if (!(p = decode_varint(p, end, offset_delta))) return fail(wire_errc::bad_record);
    if (!(p = read_length(p, end, key_len, true))) return fail(wire_errc::bad_record);
    const std::byte* key = p;
    p += key_len < 0 ? 0 : key_len;
    if (!(p = read_length(p, end, value_len, true))) return fail(wire_errc::bad_record);
    const std::byte* value = p;
    p += value_len < 0 ? 0 : value_len;
    if (!(p = decode_varint(p, end, header_count))) return fail(wire_errc::bad_record);
    // Each header takes at least 2 bytes (key and value lengths).
    if (header_count < 0 || header_count > (end - p) / 2) return fail(wire_errc::bad_record);
    const std::byte* const headers = p;
    for (std::int32_t i = 0; i < header_count; ++i) {
        std::int32_t hk = 0, hv = 0;
        if (!(p = read_length(p, end, hk, false))) return fail(wire_errc::bad_record);
        p += hk;
        if (!(p = read_length(p, end, hv, true))) return fail(wire_errc::bad_record);
        p += hv < 0 ? 0 : hv;
    }
    if (p != end) return fail(wire_errc::bad_record);

    out.offset = wrapping_add(batch_.base_offset, offset_delta);
    out.timestamp = batch_.timestamp_kind() == timestamp_type::log_append_time
                        ? batch_.max_timestamp
                        : wrapping_add(batch_.base_timestamp, ts_delta);
    if (key_len < 0) out.key.reset();
    else out.key = bytes_view(key, static_cast<std::size_t>(key_len));
    if (value_len < 0) out.value.reset();
    else out.value = bytes_view(value, static_cast<std::size_t>(value_len));
    out.headers = header_list(bytes_view(headers, static_cast<std::size_t>(end - headers)),
                              static_cast<std::uint32_t>(header_count));
    out.offset_delta = offset_delta;
    out.attributes = attributes;
    rec_ = end;
    --records_left_;
    return true;
}

bool record_batch_reader::open_legacy(bytes_view wire) {
    legacy_message m;
    if (auto ec = parse_legacy_message(wire, m, opts_.verify_crc)) return fail(ec);
    batch_info b;
    b.base_offset = m.offset;
    b.last_offset = m.offset;
    b.magic = m.magic;
    b.crc = m.crc;
    // Only compression and timestamp type exist in v0/v1 attributes.
    b.attributes = static_cast<std::int16_t>(m.attributes & 0x0f);
    b.base_timestamp = m.timestamp;
    b.max_timestamp = m.timestamp;
    b.record_count = 1;
    b.wire = wire;
    batch_ = b;

    if (m.compression() == compression_codec::none) {
        single_ = record{};
        single_.offset = m.offset;
        single_.timestamp = m.timestamp;
        single_.key = m.key;
        single_.value = m.value;
        single_.attributes = m.attributes;
        records_left_ = 1;
        mode_ = mode::legacy_single;
        return true;
    }

    if (!m.value) return fail(wire_errc::bad_record);
    if (auto ec = decompress(m.compression(), *m.value, m.magic == 0)) return fail(ec);

    // Validate the whole inner message set first: v1 inner offsets are
    // relative to the last one's.
    const std::byte* p = scratch_.data();
    const std::byte* const e = p + scratch_.size();
    std::int32_t count = 0;
    std::int64_t first_inner = 0, last_inner = 0;
    while (p != e) {
        if (e - p < static_cast<std::ptrdiff_t>(message_v0v1::log_overhead)) return fail(wire_errc::bad_record);
        const auto size = static_cast<std::int32_t>(load_be<std::uint32_t>(p + 8));
        if (size < 0 || size > e - p - static_cast<std::ptrdiff_t>(message_v0v1::log_overhead))
            return fail(wire_errc::bad_record);
        legacy_message inner;
        if (auto ec = parse_legacy_message(bytes_view(p, message_v0v1::log_overhead + static_cast<std::size_t>(size)),
                                           inner, opts_.verify_crc))
            return fail(ec);
        // One level of nesting only, and the inner magic must match.
        if (inner.magic != m.magic || inner.compression() != compression_codec::none)
            return fail(wire_errc::bad_record);
        if (count == 0) first_inner = inner.offset;
        last_inner = inner.offset;
        ++count;
        p += message_v0v1::log_overhead + static_cast<std::size_t>(size);
    }
    inner_base_ = m.magic >= 1 ? m.offset - last_inner : 0;
    wrapper_timestamp_ = m.timestamp;
    wrapper_log_append_ = m.log_append_time();
    batch_.base_offset = count > 0 ? wrapping_add(inner_base_, first_inner) : m.offset;
    batch_.record_count = count;
    rec_ = scratch_.data();
    rec_end_ = e;
    records_left_ = count;
    mode_ = mode::legacy_inner;
    return true;
}

bool record_batch_reader::next_legacy_inner(record& out) noexcept {
    if (records_left_ == 0) return false;
    const auto size = static_cast<std::size_t>(load_be<std::uint32_t>(rec_ + 8));
    legacy_message m;
    if (auto ec = parse_legacy_message(bytes_view(rec_, message_v0v1::log_overhead + size), m, false))
        return fail(ec);  // cannot happen: validated when the batch was opened
    out = record{};
    out.offset = wrapping_add(inner_base_, m.offset);
    out.timestamp = wrapper_log_append_ ? wrapper_timestamp_ : m.timestamp;
    out.key = m.key;
    out.value = m.value;
    out.offset_delta = static_cast<std::int32_t>(out.offset - batch_.base_offset);
    out.attributes = m.attributes;
    rec_ += message_v0v1::log_overhead + size;
    --records_left_;
    return true;
}

bool record_batch_reader::next_record(record& out) noexcept {
    switch (mode_) {
    case mode::v2: return next_v2(out);
    case mode::legacy_single:
        if (records_left_ == 0) return false;
        records_left_ = 0;
        out = single_;
        return true;
    case mode::legacy_inner: return next_legacy_inner(out);
    case mode::idle: break;
    }
    return false;
}

} // namespace kwire::proto
