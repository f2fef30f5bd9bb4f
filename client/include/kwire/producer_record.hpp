// What a producer sends and what it reports back.
//
// Who owns a key's or value's bytes is visible in what you pass:
//   - a view (std::string_view, const char*, std::span<const std::byte>):
//     copied by send(); the view only has to last for the call;
//   - an rvalue std::string or std::vector<std::byte>: moved in, kwire owns it;
//   - payload::borrow(bytes, owner): not copied; `owner` keeps the bytes
//     alive and unchanged until the record's delivery is reported.
#pragma once

#include "kwire/proto/record.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kwire {

class payload {
public:
    enum class ownership { null, copied, moved_in, borrowed };

    payload() noexcept = default;  // null (a record without key, or a tombstone value)
    payload(std::nullptr_t) noexcept {}
    payload(std::string_view s) noexcept : view_(as_bytes(s)), kind_(ownership::copied) {}
    payload(const char* s) noexcept : payload(std::string_view(s)) {}
    payload(std::span<const std::byte> b) noexcept : view_(b), kind_(ownership::copied) {}
    payload(std::string&& s) : owned_(std::move(s)), kind_(ownership::moved_in) { view_ = as_bytes(std::get<std::string>(owned_)); }
    payload(std::vector<std::byte>&& v) : owned_(std::move(v)), kind_(ownership::moved_in) {
        view_ = std::get<std::vector<std::byte>>(owned_);
    }
    payload(const std::string& s) noexcept : payload(std::string_view(s)) {}
    payload(const std::vector<std::byte>& v) noexcept : payload(std::span<const std::byte>(v)) {}

    // Not copied: `owner` is held until delivery is reported.
    static payload borrow(std::span<const std::byte> bytes, std::shared_ptr<const void> owner) {
        payload p;
        p.view_ = bytes;
        p.owned_ = std::move(owner);
        p.kind_ = ownership::borrowed;
        return p;
    }

    payload(payload&& o) noexcept : owned_(std::move(o.owned_)), kind_(o.kind_) { view_ = o.rebase(owned_); }
    payload& operator=(payload&& o) noexcept {
        owned_ = std::move(o.owned_);
        kind_ = o.kind_;
        view_ = o.rebase(owned_);
        return *this;
    }
    payload(const payload&) = delete;
    payload& operator=(const payload&) = delete;

    bool is_null() const noexcept { return kind_ == ownership::null; }
    ownership kind() const noexcept { return kind_; }
    std::span<const std::byte> bytes() const noexcept { return view_; }
    std::size_t size() const noexcept { return view_.size(); }
    std::optional<std::span<const std::byte>> optional_bytes() const noexcept {
        if (is_null()) return std::nullopt;
        return view_;
    }

    // Makes the bytes independent of the caller: a copied view becomes owned
    // (used when a record has to wait, e.g. for the topic's metadata).
    void own() {
        if (kind_ != ownership::copied) return;
        owned_ = std::vector<std::byte>(view_.begin(), view_.end());
        view_ = std::get<std::vector<std::byte>>(owned_);
        kind_ = ownership::moved_in;
    }

    // A shared owner of the bytes, made on demand for moved-in bytes (so a
    // large value can be referenced by a batch instead of copied into it).
    std::shared_ptr<const void> share() {
        if (kind_ == ownership::borrowed) return std::get<std::shared_ptr<const void>>(owned_);
        if (kind_ != ownership::moved_in) return nullptr;
        std::shared_ptr<const void> holder;
        if (auto* s = std::get_if<std::string>(&owned_)) {
            auto h = std::make_shared<const std::string>(std::move(*s));
            view_ = as_bytes(*h);
            holder = std::move(h);
        } else {
            auto h = std::make_shared<const std::vector<std::byte>>(std::move(std::get<std::vector<std::byte>>(owned_)));
            view_ = *h;
            holder = std::move(h);
        }
        owned_ = holder;
        kind_ = ownership::borrowed;
        return holder;
    }

private:
    static std::span<const std::byte> as_bytes(std::string_view s) noexcept {
        return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
    }
    // The view after a move: moved-in strings may live inside the object
    // (small-string optimisation), so re-point at the new storage.
    std::span<const std::byte> rebase(const std::variant<std::monostate, std::string, std::vector<std::byte>,
                                                         std::shared_ptr<const void>>& now) const noexcept {
        if (kind_ == ownership::moved_in) {
            if (auto* s = std::get_if<std::string>(&now)) return as_bytes(*s);
            if (auto* v = std::get_if<std::vector<std::byte>>(&now)) return *v;
        }
        return view_;
    }

    std::variant<std::monostate, std::string, std::vector<std::byte>, std::shared_ptr<const void>> owned_;
    std::span<const std::byte> view_;
    ownership kind_ = ownership::null;
};

// A header of a produced record: the name is copied at send(); the value
// follows the payload rules above.
struct header {
    std::string name;
    payload value;
};

struct producer_record {
    std::string topic;
    std::optional<std::int32_t> partition;  // unset: the partitioner chooses
    payload key;
    payload value;
    std::vector<header> headers;
    std::optional<std::int64_t> timestamp_ms;  // unset: the time of send()
};

// Where a record landed. `offset` is -1 with acks=0 (the broker does not
// answer); `timestamp_ms` is the broker's when the topic uses LogAppendTime.
struct record_metadata {
    std::string_view topic;  // valid as long as the producer
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp_ms = -1;
};

} // namespace kwire
