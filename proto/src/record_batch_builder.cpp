#include "kwire/proto/record_batch_builder.hpp"

#include "kwire/proto/crc32c.hpp"
#include "kwire/proto/varint.hpp"
#include "kwire/proto/wire_error.hpp"

#include <array>
#include <cstring>
#include <limits>

namespace kwire::proto {
namespace {

using bytes_view = std::span<const std::byte>;
constexpr std::uint64_t int32_max = static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());
// Batch length counts the header after the length field plus the records.
constexpr std::uint64_t max_records_size = int32_max - (batch_v2::header_size - batch_v2::log_overhead);

// Writes into memory already sized for the record.
struct pointer_sink {
    std::byte* p;
    void raw(const std::byte* d, std::size_t n) noexcept {
        if (n) {
            std::memcpy(p, d, n);
            p += n;
        }
    }
    void uvarint(std::uint64_t v) noexcept { p = encode_uvarint(p, v); }
    void byte(std::byte b) noexcept { *p++ = b; }
};

// Appends piecewise to the chain (records that straddle storage blocks).
struct chain_sink {
    buffer_chain& chain;
    void raw(const std::byte* d, std::size_t n) {
        if (n) chain.append(bytes_view(d, n));
    }
    void uvarint(std::uint64_t v) {
        std::byte tmp[10];
        const std::byte* e = encode_uvarint(tmp, v);
        chain.append(bytes_view(tmp, static_cast<std::size_t>(e - tmp)));
    }
    void byte(std::byte b) { chain.append(bytes_view(&b, 1)); }
};

// Calls write(sink) for `n` bytes: directly into contiguous storage when the
// current block has room (or the record is small enough that starting a new
// block wastes little), piecewise otherwise.
template <class Write>
void emit(buffer_chain& chain, std::size_t n, Write&& write) {
    std::byte* p = chain.try_append_contiguous(n);
    if (!p && n <= chain.segment_size() / 8) p = chain.append_contiguous(n);
    if (p) {
        pointer_sink s{p};
        write(s);
    } else {
        chain_sink s{chain};
        write(s);
    }
}

} // namespace

std::vector<std::byte> sealed_batch::to_vector() const {
    std::vector<std::byte> out;
    out.reserve(size_bytes);
    for (auto b : buffers) out.insert(out.end(), b.begin(), b.end());
    return out;
}

record_batch_builder::record_batch_builder(std::size_t segment_size, std::size_t reference_threshold)
    : chain_(segment_size, reference_threshold) {}

std::error_code record_batch_builder::reset(const options& opts) {
    chain_.clear();
    compressed_.clear();
    gather_.clear();
    count_ = 0;
    records_size_ = 0;
    max_timestamp_ = -1;
    sealed_ = false;
    opts_ = opts;
    base_timestamp_ = opts.base_timestamp.value_or(-1);
    if (!codec_available(opts.compression)) {
        active_ = false;
        error_ = wire_errc::unsupported_codec;
        return error_;
    }
    error_ = {};
    active_ = true;
    chain_.reserve(batch_v2::header_size);
    return {};
}

std::size_t record_batch_builder::max_record_size(std::size_t key_size, std::size_t value_size,
                                                  std::span<const record_header> headers) noexcept {
    std::size_t n = 5 + 1 + 10 + 5 + 5 + key_size + 5 + value_size + 5;
    for (const auto& h : headers) n += 5 + h.key.size() + 5 + (h.value ? h.value->size() : 0);
    return n;
}

bool record_batch_builder::append(std::int64_t timestamp_ms, const std::optional<bytes_view>& key,
                                  const std::optional<bytes_view>& value, std::span<const record_header> headers,
                                  const std::shared_ptr<const void>& value_owner) {
    if (!active_ || sealed_ || count_ == std::numeric_limits<std::int32_t>::max()) return false;
    if (count_ == 0 && !opts_.base_timestamp) base_timestamp_ = timestamp_ms;

    // Size the record.
    const auto ts_delta = static_cast<std::int64_t>(static_cast<std::uint64_t>(timestamp_ms) -
                                                    static_cast<std::uint64_t>(base_timestamp_));
    const std::int32_t offset_delta = count_;
    if ((key && key->size() > int32_max) || (value && value->size() > int32_max) || headers.size() > int32_max)
        return false;
    const std::int32_t key_len = key ? static_cast<std::int32_t>(key->size()) : -1;
    const std::int32_t value_len = value ? static_cast<std::int32_t>(value->size()) : -1;
    std::uint64_t header_bytes = varint_size(static_cast<std::int32_t>(headers.size()));
    for (const auto& h : headers) {
        if (h.key.size() > int32_max || (h.value && h.value->size() > int32_max)) return false;
        header_bytes += varint_size(static_cast<std::int32_t>(h.key.size())) + h.key.size();
        header_bytes += h.value ? varint_size(static_cast<std::int32_t>(h.value->size())) + h.value->size() : 1;
    }
    const std::uint64_t head_fields = 1 + varlong_size(ts_delta) + varint_size(offset_delta) + varint_size(key_len) +
                                      (key ? key->size() : 0) + varint_size(value_len);
    const std::uint64_t body = head_fields + (value ? value->size() : 0) + header_bytes;
    if (body > int32_max) return false;
    const std::uint64_t total = varint_size(static_cast<std::int32_t>(body)) + body;
    if (records_size_ + total > max_records_size) return false;

    auto write_head = [&](auto& s) {
        s.uvarint(zigzag32(static_cast<std::int32_t>(body)));
        s.byte(std::byte{0});  // record attributes
        s.uvarint(zigzag64(ts_delta));
        s.uvarint(zigzag32(offset_delta));
        s.uvarint(zigzag32(key_len));
        if (key) s.raw(key->data(), key->size());
        s.uvarint(zigzag32(value_len));
    };
    auto write_headers = [&](auto& s) {
        s.uvarint(zigzag32(static_cast<std::int32_t>(headers.size())));
        for (const auto& h : headers) {
            s.uvarint(zigzag32(static_cast<std::int32_t>(h.key.size())));
            s.raw(reinterpret_cast<const std::byte*>(h.key.data()), h.key.size());
            if (h.value) {
                s.uvarint(zigzag32(static_cast<std::int32_t>(h.value->size())));
                s.raw(h.value->data(), h.value->size());
            } else {
                s.uvarint(zigzag32(-1));
            }
        }
    };

    if (value_owner && value && value->size() >= chain_.reference_threshold()) {
        const std::size_t head_size = static_cast<std::size_t>(total - value->size() - header_bytes);
        emit(chain_, head_size, write_head);
        chain_.append_reference(*value, value_owner);
        emit(chain_, static_cast<std::size_t>(header_bytes), write_headers);
    } else {
        emit(chain_, static_cast<std::size_t>(total), [&](auto& s) {
            write_head(s);
            if (value) s.raw(value->data(), value->size());
            write_headers(s);
        });
    }

    records_size_ += total;
    if (count_ == 0 || timestamp_ms > max_timestamp_) max_timestamp_ = timestamp_ms;
    ++count_;
    return true;
}

std::size_t record_batch_builder::size_bytes() const noexcept {
    if (sealed_ && opts_.compression != compression_codec::none) return batch_v2::header_size + compressed_.size();
    return batch_v2::header_size + records_size_;
}

void record_batch_builder::write_header() {
    std::array<std::byte, batch_v2::header_size> h{};
    std::int16_t attributes = static_cast<std::int16_t>(opts_.compression);
    if (opts_.timestamp == timestamp_type::log_append_time) attributes |= batch_attr::timestamp_type;
    if (opts_.transactional) attributes |= batch_attr::transactional;
    if (opts_.control) attributes |= batch_attr::control;
    std::byte* p = h.data();
    p = store_be(p, static_cast<std::uint64_t>(opts_.base_offset));
    p = store_be(p, static_cast<std::uint32_t>(size_bytes() - batch_v2::log_overhead));
    p = store_be(p, static_cast<std::uint32_t>(opts_.partition_leader_epoch));
    p = store_be(p, std::uint8_t{2});
    p = store_be(p, std::uint32_t{0});  // CRC, computed last
    p = store_be(p, static_cast<std::uint16_t>(attributes));
    p = store_be(p, static_cast<std::uint32_t>(count_ > 0 ? count_ - 1 : 0));
    p = store_be(p, static_cast<std::uint64_t>(base_timestamp_));
    p = store_be(p, static_cast<std::uint64_t>(max_timestamp_));
    p = store_be(p, static_cast<std::uint64_t>(opts_.producer_id));
    p = store_be(p, static_cast<std::uint16_t>(opts_.producer_epoch));
    p = store_be(p, static_cast<std::uint32_t>(opts_.base_sequence));
    store_be(p, static_cast<std::uint32_t>(count_));
    chain_.patch(0, h);
}

void record_batch_builder::update_crc() {
    const sealed_batch b = sealed();
    std::uint32_t crc = 0;
    std::size_t skip = batch_v2::attributes;
    for (auto piece : b.buffers) {
        if (skip >= piece.size()) {
            skip -= piece.size();
            continue;
        }
        crc = crc32c(piece.subspan(skip), crc);
        skip = 0;
    }
    std::byte c[4];
    store_be(c, crc);
    chain_.patch(batch_v2::crc, c);
}

sealed_batch record_batch_builder::seal() {
    if (!active_ || error_) return {};
    if (sealed_) return sealed();
    if (opts_.compression != compression_codec::none) {
        const auto pieces = chain_.buffers();
        gather_.assign(pieces.begin(), pieces.end());
        gather_[0] = gather_[0].subspan(batch_v2::header_size);
        if (auto ec = compressor_.compress(opts_.compression, gather_, compressed_, opts_.compression_level)) {
            error_ = ec;
            return {};
        }
        if (compressed_.size() > max_records_size) {
            error_ = wire_errc::value_too_large;
            return {};
        }
        gather_.clear();
        gather_.push_back(pieces[0].first(batch_v2::header_size));
        gather_.push_back(compressed_);
    }
    sealed_ = true;
    write_header();
    update_crc();
    return sealed();
}

sealed_batch record_batch_builder::sealed() const noexcept {
    if (!sealed_) return {};
    sealed_batch b;
    b.buffers = opts_.compression != compression_codec::none ? std::span<const bytes_view>(gather_) : chain_.buffers();
    b.size_bytes = size_bytes();
    b.record_count = count_;
    b.first_offset_delta = 0;
    b.last_offset_delta = count_ > 0 ? count_ - 1 : -1;
    b.base_timestamp = base_timestamp_;
    b.max_timestamp = max_timestamp_;
    b.uncompressed_records_size = records_size_;
    return b;
}

void record_batch_builder::restamp(std::int64_t producer_id, std::int16_t producer_epoch, std::int32_t base_sequence) {
    opts_.producer_id = producer_id;
    opts_.producer_epoch = producer_epoch;
    opts_.base_sequence = base_sequence;
    if (!sealed_) return;  // seal() writes them
    std::byte f[14];
    std::byte* p = store_be(f, static_cast<std::uint64_t>(producer_id));
    p = store_be(p, static_cast<std::uint16_t>(producer_epoch));
    store_be(p, static_cast<std::uint32_t>(base_sequence));
    chain_.patch(batch_v2::producer_id, f);
    update_crc();
}

void record_batch_builder::restamp_transactional(bool transactional) {
    if (!sealed_) return;
    opts_.transactional = transactional;
    write_header();
    update_crc();
}

} // namespace kwire::proto
