#include "kwire/proto/byte_buffer.hpp"

#include <algorithm>

namespace kwire::proto {

std::shared_ptr<byte_buffer_pool> byte_buffer_pool::create(std::size_t max_bytes) {
    return std::shared_ptr<byte_buffer_pool>(new byte_buffer_pool(max_bytes));
}

byte_buffer byte_buffer_pool::take(std::size_t size_hint) {
    if (size_hint == 0 || size_hint >= min_pooled) {
        std::lock_guard lock(mutex_);
        if (!free_.empty()) {
            auto it = size_hint == 0 ? free_.end() - 1
                                     : std::find_if(free_.begin(), free_.end(),
                                                    [&](const byte_buffer& b) { return b.capacity() >= size_hint; });
            if (it != free_.end()) {
                byte_buffer b = std::move(*it);
                free_.erase(it);
                cached_bytes_ -= b.capacity();
                return b;
            }
        }
    }
    byte_buffer b;
    b.reserve(size_hint);
    return b;
}

void byte_buffer_pool::give(byte_buffer buffer) {
    const std::size_t cap = buffer.capacity();
    if (cap < min_pooled || cap > max_bytes_) return;
    buffer.clear();
    std::vector<byte_buffer> evicted;  // freed outside the lock
    std::lock_guard lock(mutex_);
    while (!free_.empty() && (cached_bytes_ + cap > max_bytes_ || free_.size() >= max_buffers)) {
        cached_bytes_ -= free_.front().capacity();
        evicted.push_back(std::move(free_.front()));
        free_.erase(free_.begin());
    }
    const auto at = std::lower_bound(free_.begin(), free_.end(), cap,
                                     [](const byte_buffer& b, std::size_t c) { return b.capacity() < c; });
    free_.insert(at, std::move(buffer));
    cached_bytes_ += cap;
}

namespace {

// One allocation per share: the buffer and the way back to its pool.
struct returning_buffer {
    returning_buffer(byte_buffer b, std::weak_ptr<byte_buffer_pool> p) : buffer(std::move(b)), pool(std::move(p)) {}
    returning_buffer(const returning_buffer&) = delete;
    returning_buffer& operator=(const returning_buffer&) = delete;
    ~returning_buffer() {
        if (auto p = pool.lock()) p->give(std::move(buffer));
    }

    byte_buffer buffer;
    std::weak_ptr<byte_buffer_pool> pool;
};

} // namespace

std::shared_ptr<const byte_buffer> byte_buffer_pool::share(byte_buffer buffer) {
    auto holder = std::make_shared<returning_buffer>(std::move(buffer), weak_from_this());
    return std::shared_ptr<const byte_buffer>(holder, &holder->buffer);
}

std::size_t byte_buffer_pool::cached_bytes() const {
    std::lock_guard lock(mutex_);
    return cached_bytes_;
}

std::size_t byte_buffer_pool::cached_buffers() const {
    std::lock_guard lock(mutex_);
    return free_.size();
}

} // namespace kwire::proto
