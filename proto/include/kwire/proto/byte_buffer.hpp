// Byte buffers that grow without zero-filling, and a pool that recycles them.
//
// A consumer fills megabytes per fetch: response frames and decompressed
// batches. Allocated fresh each time, that memory costs a page fault per 4 KiB
// (the kernel zeroes every page), a memset on resize() and a brk/munmap when
// freed: profiled at over half of a consumer's CPU with lz4. byte_buffer never
// zero-fills on growth, and byte_buffer_pool hands back memory already mapped.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace kwire::proto {

// std::allocator whose value-less construct() leaves the object default-
// initialized: for std::byte, untouched memory.
template <class T>
struct default_init_allocator : std::allocator<T> {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = default_init_allocator<U>;
    };
    default_init_allocator() noexcept = default;
    template <class U>
    default_init_allocator(const default_init_allocator<U>&) noexcept {}

    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

// resize() to a larger size leaves the new bytes uninitialized.
using byte_buffer = std::vector<std::byte, default_init_allocator<std::byte>>;

// Keeps released buffers for reuse, within a byte budget. Thread-safe: a
// shared buffer may be released on any thread. Buffers below `min_pooled`
// bytes of capacity are not kept (malloc serves those well).
class byte_buffer_pool : public std::enable_shared_from_this<byte_buffer_pool> {
public:
    static constexpr std::size_t min_pooled = 64 * 1024;
    static constexpr std::size_t max_buffers = 16;

    static std::shared_ptr<byte_buffer_pool> create(std::size_t max_bytes);

    // An empty buffer: the smallest cached one whose capacity is at least
    // `size_hint`; with no hint, the largest cached one; else (and for hints
    // below min_pooled) a new buffer with `size_hint` reserved.
    byte_buffer take(std::size_t size_hint = 0);

    // Returns a buffer to the pool. The smallest cached buffers make way when
    // the budget would be exceeded; a buffer larger than the budget is freed.
    void give(byte_buffer buffer);

    // Shares `buffer`; it comes back to the pool (if the pool still exists)
    // when the last owner lets go.
    std::shared_ptr<const byte_buffer> share(byte_buffer buffer);

    std::size_t cached_bytes() const;
    std::size_t cached_buffers() const;

private:
    explicit byte_buffer_pool(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    mutable std::mutex mutex_;
    std::vector<byte_buffer> free_;  // sorted by capacity, smallest first
    std::size_t cached_bytes_ = 0;
    const std::size_t max_bytes_;
};

} // namespace kwire::proto
