#include "kwire/proto/buffer_chain.hpp"

#include "kwire/proto/crc32c.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace kwire::proto {

buffer_chain::buffer_chain(std::size_t segment_size, std::size_t reference_threshold)
    : segment_size_(segment_size < 64 ? 64 : segment_size), reference_threshold_(reference_threshold) {}

buffer_chain::buffer_chain(buffer_chain&&) noexcept = default;
buffer_chain& buffer_chain::operator=(buffer_chain&&) noexcept = default;
buffer_chain::~buffer_chain() = default;

std::size_t buffer_chain::capacity() const noexcept {
    std::size_t n = 0;
    for (const auto& b : blocks_) n += b.capacity;
    return n;
}

void buffer_chain::clear() noexcept {
    iov_.clear();
    starts_.clear();
    owners_.clear();
    size_ = 0;
    tail_open_ = false;
    current_ = 0;
    if (blocks_.empty()) {
        write_ = nullptr;
        room_ = 0;
    } else {
        write_ = blocks_[0].data.get();
        room_ = blocks_[0].capacity;
    }
}

void buffer_chain::release_storage() noexcept {
    clear();
    blocks_.clear();
    blocks_.shrink_to_fit();
    iov_.shrink_to_fit();
    starts_.shrink_to_fit();
    owners_.shrink_to_fit();
    write_ = nullptr;
    room_ = 0;
}

void buffer_chain::push_segment(const std::byte* p, std::size_t n) {
    iov_.emplace_back(p, n);
    starts_.push_back(size_);
}

// Moves to a block with at least `at_least` free bytes: the next kept block if
// it is big enough, a new one otherwise.
void buffer_chain::next_block(std::size_t at_least) {
    tail_open_ = false;
    std::size_t next = blocks_.empty() ? 0 : current_ + 1;
    if (next < blocks_.size() && blocks_[next].capacity < at_least) {
        // Too small for this request: put a fitting block in front of it.
        block b{std::make_unique_for_overwrite<std::byte[]>(at_least), at_least};
        blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(next), std::move(b));
    } else if (next == blocks_.size()) {
        const std::size_t cap = std::max(segment_size_, at_least);
        blocks_.push_back(block{std::make_unique_for_overwrite<std::byte[]>(cap), cap});
    }
    current_ = next;
    write_ = blocks_[current_].data.get();
    room_ = blocks_[current_].capacity;
}

void buffer_chain::append(bytes_view data) {
    const std::byte* src = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        if (room_ == 0) next_block(1);
        const std::size_t n = std::min(left, room_);
        std::byte* p = try_append_contiguous(n);
        std::memcpy(p, src, n);
        src += n;
        left -= n;
    }
}

void buffer_chain::append_reference(bytes_view data, std::shared_ptr<const void> owner) {
    if (data.empty()) return;
    push_segment(data.data(), data.size());
    size_ += data.size();
    tail_open_ = false;
    if (owner) owners_.push_back(std::move(owner));
}

void buffer_chain::append(bytes_view data, const std::shared_ptr<const void>& owner) {
    if (owner && data.size() >= reference_threshold_) append_reference(data, owner);
    else append(data);
}

std::byte* buffer_chain::append_contiguous(std::size_t n) {
    if (n > room_) next_block(n);
    return try_append_contiguous(n);
}

std::size_t buffer_chain::reserve(std::size_t n) {
    const std::size_t offset = size_;
    std::byte* p = append_contiguous(n);
    if (n) std::memset(p, 0, n);
    return offset;
}

std::size_t buffer_chain::segment_at(std::size_t offset) const noexcept {
    // The last segment starting at or before `offset`.
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    if (it == starts_.begin()) return iov_.size();
    const auto i = static_cast<std::size_t>(it - starts_.begin()) - 1;
    if (offset >= starts_[i] + iov_[i].size()) return iov_.size();
    return i;
}

void buffer_chain::patch(std::size_t offset, bytes_view data) noexcept {
    assert(offset + data.size() <= size_);
    const std::byte* src = data.data();
    for_each_range(offset, data.size(), [&](bytes_view piece) {
        // Owned storage is mutable; the chain only hands out const views of it.
        std::memcpy(const_cast<std::byte*>(piece.data()), src, piece.size());
        src += piece.size();
    });
}

void buffer_chain::copy_out(std::size_t offset, std::span<std::byte> out) const noexcept {
    std::byte* dst = out.data();
    for_each_range(offset, out.size(), [&](bytes_view piece) {
        std::memcpy(dst, piece.data(), piece.size());
        dst += piece.size();
    });
}

std::vector<std::byte> buffer_chain::to_vector() const {
    std::vector<std::byte> v(size_);
    copy_out(0, v);
    return v;
}

std::uint32_t buffer_chain::crc32c(std::size_t offset, std::size_t length, std::uint32_t previous) const noexcept {
    std::uint32_t crc = previous;
    for_each_range(offset, length, [&](bytes_view piece) { crc = proto::crc32c(piece, crc); });
    return crc;
}

} // namespace kwire::proto
