// A segmented output buffer: the bytes of one or more record batches (or a
// whole request) as a chain of segments, ready for a scatter/gather write.
//
// Small writes are copied into owned storage blocks, which are kept across
// clear() so a reused chain stops allocating once warm. Large values can be
// appended by reference instead: the chain records the span and keeps a
// shared owner alive until it is cleared or destroyed. Bytes can be reserved
// and patched later (batch headers), and a CRC32C can be computed over any
// byte range whatever segments it crosses.
//
// Pointers returned by the append functions and the views from buffers() stay
// valid until clear(), release_storage() or destruction: storage blocks never
// move.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kwire::proto {

class buffer_chain {
public:
    using bytes_view = std::span<const std::byte>;

    static constexpr std::size_t default_segment_size = 32 * 1024;
    static constexpr std::size_t default_reference_threshold = 1024;

    explicit buffer_chain(std::size_t segment_size = default_segment_size,
                          std::size_t reference_threshold = default_reference_threshold);
    buffer_chain(buffer_chain&&) noexcept;
    buffer_chain& operator=(buffer_chain&&) noexcept;
    buffer_chain(const buffer_chain&) = delete;
    buffer_chain& operator=(const buffer_chain&) = delete;
    ~buffer_chain();

    // Total bytes in the chain.
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    // The content as a list of contiguous pieces, in order (for writev).
    std::span<const bytes_view> buffers() const noexcept { return iov_; }

    std::size_t segment_size() const noexcept { return segment_size_; }
    std::size_t reference_threshold() const noexcept { return reference_threshold_; }
    void set_reference_threshold(std::size_t n) noexcept { reference_threshold_ = n; }
    // Owned storage held (in use or not).
    std::size_t capacity() const noexcept;

    // Drops the content and the references, keeping owned storage for reuse.
    void clear() noexcept;
    // clear(), and frees the owned storage too.
    void release_storage() noexcept;

    // Copies `data` into owned storage (splitting it across blocks if needed).
    void append(bytes_view data);
    // Appends `data` without copying; `owner` is kept alive until clear().
    void append_reference(bytes_view data, std::shared_ptr<const void> owner);
    // By reference when `owner` is set and the data is at least the reference
    // threshold, copied otherwise.
    void append(bytes_view data, const std::shared_ptr<const void>& owner);

    // `n` contiguous owned bytes at the end of the chain, uninitialized, for
    // the caller to fill now; starts a new block when the current one lacks
    // room (the rest of the current block is left unused).
    std::byte* append_contiguous(std::size_t n);
    // The same, but only if the current block has room: nullptr otherwise.
    std::byte* try_append_contiguous(std::size_t n) {
        if (n > room_) return nullptr;
        std::byte* p = write_;
        write_ += n;
        room_ -= n;
        note_owned(p, n);
        return p;
    }
    // Contiguous bytes left in the current block.
    std::size_t contiguous_room() const noexcept { return room_; }

    // Reserves `n` zeroed contiguous bytes and returns their offset, to patch later.
    std::size_t reserve(std::size_t n);
    // Overwrites bytes at `offset` (which must lie in owned storage, e.g. reserved).
    void patch(std::size_t offset, bytes_view data) noexcept;
    // Copies `out.size()` bytes starting at `offset` into `out`.
    void copy_out(std::size_t offset, std::span<std::byte> out) const noexcept;
    // The whole content, linearized.
    std::vector<std::byte> to_vector() const;

    // CRC32C over [offset, offset + length), continuing from `previous`.
    std::uint32_t crc32c(std::size_t offset, std::size_t length, std::uint32_t previous = 0) const noexcept;

    // Calls f(bytes_view) for each contiguous piece of [offset, offset + length).
    template <class F>
    void for_each_range(std::size_t offset, std::size_t length, F&& f) const {
        std::size_t i = segment_at(offset);
        if (i >= iov_.size()) return;
        std::size_t skip = offset - starts_[i];
        for (; length > 0 && i < iov_.size(); ++i, skip = 0) {
            const bytes_view piece = iov_[i].subspan(skip);
            const std::size_t n = piece.size() < length ? piece.size() : length;
            if (n) f(piece.first(n));
            length -= n;
        }
    }

private:
    struct block {
        std::unique_ptr<std::byte[]> data;
        std::size_t capacity = 0;
    };

    void note_owned(std::byte* p, std::size_t n) {
        if (tail_open_) {
            bytes_view& last = iov_.back();
            last = bytes_view(last.data(), last.size() + n);
        } else {
            push_segment(p, n);
            tail_open_ = true;
        }
        size_ += n;
    }
    // Adds a segment starting at the current end (size_ not yet counted).
    void push_segment(const std::byte* p, std::size_t n);
    void next_block(std::size_t at_least);
    // Index of the segment holding byte `offset` (iov_.size() when none).
    std::size_t segment_at(std::size_t offset) const noexcept;

    std::size_t segment_size_;
    std::size_t reference_threshold_;
    std::vector<block> blocks_;
    std::size_t current_ = 0;         // index of the block being filled (when blocks_ is not empty)
    std::byte* write_ = nullptr;      // next free byte of the current block
    std::size_t room_ = 0;            // free bytes left in the current block
    bool tail_open_ = false;          // the last segment ends at write_ and can grow
    std::size_t size_ = 0;
    std::vector<bytes_view> iov_;
    std::vector<std::size_t> starts_; // offset of each segment
    std::vector<std::shared_ptr<const void>> owners_;
};

} // namespace kwire::proto
