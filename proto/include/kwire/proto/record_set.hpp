// The "records" field of Produce and Fetch: the bytes of zero or more record
// batches, held without copying.
//
// Decoded from a response, a record set views the response frame and keeps
// the frame alive through a shared owner. To be sent, it views the segments of
// sealed batches (a buffer sequence) that the writer hands to the socket as
// they are, so a record's bytes are not copied into the request.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace kwire::proto {

class record_set {
public:
    using bytes_view = std::span<const std::byte>;

    record_set() = default;

    // Owns `bytes`.
    record_set(std::vector<std::byte> bytes) {  // NOLINT: implicit, like the vector it wraps
        auto held = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
        first_ = bytes_view(*held);
        size_ = first_.size();
        owner_ = std::move(held);
    }

    // Views `bytes`, kept alive by `owner` (may be null when the caller
    // guarantees the lifetime).
    record_set(bytes_view bytes, std::shared_ptr<const void> owner)
        : first_(bytes), size_(bytes.size()), owner_(std::move(owner)) {}

    // Views several segments, sent in order.
    record_set(std::span<const bytes_view> segments, std::shared_ptr<const void> owner) : owner_(std::move(owner)) {
        for (const auto& s : segments) append(s);
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Calls `f(bytes_view)` for each segment in order.
    template <class F>
    void for_each_segment(F&& f) const {
        if (!first_.empty()) f(first_);
        for (const auto& s : more_) f(s);
    }

    // Whether the bytes are one contiguous view (always so for decoded sets).
    bool is_contiguous() const noexcept { return more_.empty(); }
    // The bytes as one view; only for contiguous sets (else empty).
    bytes_view contiguous() const noexcept { return more_.empty() ? first_ : bytes_view{}; }

    const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

    // Equal bytes, however they are segmented.
    friend bool operator==(const record_set& a, const record_set& b) noexcept {
        if (a.size_ != b.size_) return false;
        std::vector<std::byte> x, y;
        a.for_each_segment([&](bytes_view s) { x.insert(x.end(), s.begin(), s.end()); });
        b.for_each_segment([&](bytes_view s) { y.insert(y.end(), s.begin(), s.end()); });
        return x == y;
    }

private:
    void append(bytes_view s) {
        if (s.empty()) return;
        if (first_.empty() && more_.empty()) first_ = s;
        else more_.push_back(s);
        size_ += s.size();
    }

    bytes_view first_;
    std::vector<bytes_view> more_;
    std::size_t size_ = 0;
    std::shared_ptr<const void> owner_;
};

} // namespace kwire::proto
