"""The shared helper header emitted as proto/include/kwire/proto/messages/support.hpp."""

SUPPORT_HPP = r"""// Helpers shared by the generated message codecs.
#pragma once

#include "kwire/proto/reader.hpp"
#include "kwire/proto/record_set.hpp"
#include "kwire/proto/tagged_fields.hpp"
#include "kwire/proto/uuid.hpp"
#include "kwire/proto/wire_error.hpp"
#include "kwire/proto/writer.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::proto {

// The type of "records" fields (Produce and Fetch record sets): a view that
// keeps its bytes alive (see record_set.hpp). Null is std::nullopt.
using records_bytes = std::optional<record_set>;

namespace detail {

// Kafka's generated code limits every string, compact or not, to 0x7fff bytes.
inline constexpr std::size_t max_string_length = 0x7fff;
// Elements reserved up front when decoding an array; larger arrays grow.
inline constexpr std::size_t max_array_reserve = 1024;

inline void write_string(writer& w, std::string_view s, bool flex) {
    if (s.size() > max_string_length) return w.fail(wire_errc::value_too_large);
    if (flex) w.write_compact_string(s);
    else w.write_string(s);
}
inline void write_string(writer& w, const std::optional<std::string>& s, bool flex, bool nullable) {
    if (s) return write_string(w, *s, flex);
    if (!nullable) return w.fail(wire_errc::null_not_allowed);
    if (flex) w.write_compact_nullable_string(std::nullopt);
    else w.write_nullable_string(std::nullopt);
}
inline std::optional<std::string_view> read_string_view(reader& r, bool flex, bool nullable) {
    auto s = flex ? r.read_compact_nullable_string() : r.read_nullable_string();
    if (!s) {
        if (!nullable) r.fail(wire_errc::null_not_allowed);
        return std::nullopt;
    }
    if (s->size() > max_string_length) {
        r.fail(wire_errc::value_too_large);
        return std::string_view{};
    }
    return s;
}
inline void read_string(reader& r, std::string& out, bool flex) {
    out.assign(read_string_view(r, flex, false).value_or(std::string_view{}));
}
inline void read_string(reader& r, std::optional<std::string>& out, bool flex, bool nullable) {
    auto s = read_string_view(r, flex, nullable);
    if (s) out.emplace(*s);
    else out.reset();
}

inline void write_bytes(writer& w, const std::vector<std::byte>& b, bool flex) {
    if (flex) w.write_compact_bytes(b);
    else w.write_bytes(b);
}
inline void write_bytes(writer& w, const std::optional<std::vector<std::byte>>& b, bool flex, bool nullable) {
    if (b) return write_bytes(w, *b, flex);
    if (!nullable) return w.fail(wire_errc::null_not_allowed);
    if (flex) w.write_compact_nullable_bytes(std::nullopt);
    else w.write_nullable_bytes(std::nullopt);
}
inline std::optional<bytes_view> read_bytes_view(reader& r, bool flex, bool nullable) {
    auto b = flex ? r.read_compact_nullable_bytes() : r.read_nullable_bytes();
    if (!b && !nullable) r.fail(wire_errc::null_not_allowed);
    return b;
}
inline void read_bytes(reader& r, std::vector<std::byte>& out, bool flex) {
    auto b = read_bytes_view(r, flex, false);
    if (b) out.assign(b->begin(), b->end());
    else out.clear();
}
inline void read_bytes(reader& r, std::optional<std::vector<std::byte>>& out, bool flex, bool nullable) {
    auto b = read_bytes_view(r, flex, nullable);
    if (b) out.emplace(b->begin(), b->end());
    else out.reset();
}

inline void write_records(writer& w, const records_bytes& b, bool flex, bool nullable) {
    if (!b) {
        if (!nullable) return w.fail(wire_errc::null_not_allowed);
        if (flex) w.write_uvarint(0);
        else w.write_int32(-1);
        return;
    }
    if (b->size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() - 1))
        return w.fail(wire_errc::value_too_large);
    if (flex) w.write_uvarint(static_cast<std::uint32_t>(b->size() + 1));
    else w.write_int32(static_cast<std::int32_t>(b->size()));
    b->for_each_segment([&](bytes_view s) { w.write_external(s); });
}
// Views into the input when the reader has an owner for it, else a copy.
inline void read_records(reader& r, records_bytes& out, bool flex, bool nullable) {
    auto b = read_bytes_view(r, flex, nullable);
    if (!b) return out.reset();
    if (r.owner()) out.emplace(*b, *r.owner());
    else out.emplace(std::vector<std::byte>(b->begin(), b->end()));
}

// Array elements.
inline void write_elem(writer& w, bool v, bool, std::int16_t) { w.write_bool(v); }
inline void write_elem(writer& w, std::int8_t v, bool, std::int16_t) { w.write_int8(v); }
inline void write_elem(writer& w, std::int16_t v, bool, std::int16_t) { w.write_int16(v); }
inline void write_elem(writer& w, std::uint16_t v, bool, std::int16_t) { w.write_uint16(v); }
inline void write_elem(writer& w, std::int32_t v, bool, std::int16_t) { w.write_int32(v); }
inline void write_elem(writer& w, std::uint32_t v, bool, std::int16_t) { w.write_uint32(v); }
inline void write_elem(writer& w, std::int64_t v, bool, std::int16_t) { w.write_int64(v); }
inline void write_elem(writer& w, double v, bool, std::int16_t) { w.write_float64(v); }
inline void write_elem(writer& w, const uuid& v, bool, std::int16_t) { w.write_uuid(v); }
inline void write_elem(writer& w, const std::string& v, bool flex, std::int16_t) { write_string(w, v, flex); }
template <class T>
    requires requires(const T& t, writer& w) { t.encode(w, std::int16_t{}); }
void write_elem(writer& w, const T& v, bool, std::int16_t version) {
    v.encode(w, version);
}

inline void read_elem(reader& r, bool& v, bool, std::int16_t) { v = r.read_bool(); }
inline void read_elem(reader& r, std::int8_t& v, bool, std::int16_t) { v = r.read_int8(); }
inline void read_elem(reader& r, std::int16_t& v, bool, std::int16_t) { v = r.read_int16(); }
inline void read_elem(reader& r, std::uint16_t& v, bool, std::int16_t) { v = r.read_uint16(); }
inline void read_elem(reader& r, std::int32_t& v, bool, std::int16_t) { v = r.read_int32(); }
inline void read_elem(reader& r, std::uint32_t& v, bool, std::int16_t) { v = r.read_uint32(); }
inline void read_elem(reader& r, std::int64_t& v, bool, std::int16_t) { v = r.read_int64(); }
inline void read_elem(reader& r, double& v, bool, std::int16_t) { v = r.read_float64(); }
inline void read_elem(reader& r, uuid& v, bool, std::int16_t) { v = r.read_uuid(); }
inline void read_elem(reader& r, std::string& v, bool flex, std::int16_t) { read_string(r, v, flex); }
template <class T>
    requires requires(T& t, reader& r) { t.decode(r, std::int16_t{}); }
void read_elem(reader& r, T& v, bool, std::int16_t version) {
    v.decode(r, version);
}

template <class T>
void write_array(writer& w, const std::vector<T>& v, bool flex, std::int16_t version) {
    if (flex) w.write_compact_array_length(static_cast<std::int64_t>(v.size()));
    else w.write_array_length(static_cast<std::int64_t>(v.size()));
    for (const auto& e : v) write_elem(w, e, flex, version);
}
template <class T>
void write_array(writer& w, const std::optional<std::vector<T>>& v, bool flex, bool nullable,
                 std::int16_t version) {
    if (v) return write_array(w, *v, flex, version);
    if (!nullable) return w.fail(wire_errc::null_not_allowed);
    if (flex) w.write_compact_array_length(-1);
    else w.write_array_length(-1);
}
// Returns the element count, or -1 for null (an error unless nullable).
inline std::int32_t read_array_length(reader& r, bool flex, bool nullable) {
    const std::int32_t n = flex ? r.read_compact_array_length() : r.read_array_length();
    if (n < 0 && !nullable) r.fail(wire_errc::null_not_allowed);
    return n;
}
template <class T>
void read_elements(reader& r, std::vector<T>& v, std::int32_t n, bool flex, std::int16_t version) {
    v.clear();
    if (n <= 0) return;
    // The reader has checked n against the bytes left; still cap the up-front
    // allocation, since one input byte may stand for a large element.
    v.reserve(std::min(static_cast<std::size_t>(n), max_array_reserve));
    for (std::int32_t i = 0; i < n && r.ok(); ++i) read_elem(r, v.emplace_back(), flex, version);
}
template <class T>
void read_array(reader& r, std::vector<T>& v, bool flex, std::int16_t version) {
    read_elements(r, v, read_array_length(r, flex, false), flex, version);
}
template <class T>
void read_array(reader& r, std::optional<std::vector<T>>& v, bool flex, bool nullable, std::int16_t version) {
    const std::int32_t n = read_array_length(r, flex, nullable);
    if (n < 0) {
        v.reset();
        return;
    }
    read_elements(r, v.emplace(), n, flex, version);
}

// Nullable struct fields: int8 -1 for null, 1 followed by the struct.
template <class T>
void write_struct(writer& w, const std::optional<T>& v, bool nullable, std::int16_t version) {
    if (!v) {
        if (!nullable) return w.fail(wire_errc::null_not_allowed);
        return w.write_int8(-1);
    }
    w.write_int8(1);
    v->encode(w, version);
}
template <class T>
void read_struct(reader& r, std::optional<T>& v, bool nullable, std::int16_t version) {
    if (r.read_int8() < 0) {
        if (!nullable) r.fail(wire_errc::null_not_allowed);
        v.reset();
        return;
    }
    v.emplace().decode(r, version);
}

// Writes a tagged-field section: known fields and unknown ones merged in tag
// order. Unknown fields must be sorted by tag and must not repeat a known tag.
class tag_writer {
public:
    tag_writer(writer& w, const unknown_tagged_fields& unknown, std::size_t known_count)
        : w_(w), unknown_(unknown) {
        const std::size_t count = known_count + unknown.size();
        if (count > 0xffffffffu) w.fail(wire_errc::value_too_large);
        else w.write_uvarint(static_cast<std::uint32_t>(count));
    }
    template <class F>
    void field(std::uint32_t tag, F&& write_value) {
        flush(tag);
        if (next_ < unknown_.size() && unknown_[next_].tag == tag) w_.fail(wire_errc::bad_tagged_fields);
        writer counter;
        write_value(counter);
        if (!counter.ok()) w_.fail(counter.error());
        if (counter.size() > 0xffffffffu) return w_.fail(wire_errc::value_too_large);
        header(tag, counter.size());
        write_value(w_);
    }
    void finish() { flush(0x100000000LL); }

private:
    void flush(std::int64_t below) {
        for (; next_ < unknown_.size() && unknown_[next_].tag < below; ++next_) {
            const auto& f = unknown_[next_];
            if (f.data.size() > 0xffffffffu) return w_.fail(wire_errc::value_too_large);
            header(f.tag, f.data.size());
            w_.write_raw(f.data);
        }
    }
    void header(std::uint32_t tag, std::size_t size) {
        if (static_cast<std::int64_t>(tag) <= last_) w_.fail(wire_errc::bad_tagged_fields);
        last_ = tag;
        w_.write_uvarint(tag);
        w_.write_uvarint(static_cast<std::uint32_t>(size));
    }

    writer& w_;
    const unknown_tagged_fields& unknown_;
    std::size_t next_ = 0;
    std::int64_t last_ = -1;
};

inline void keep_unknown_tag(unknown_tagged_fields& unknown, std::uint32_t tag, reader& value) {
    const bytes_view b = value.rest();
    unknown.push_back(tagged_field{tag, std::vector<std::byte>(b.begin(), b.end())});
}

} // namespace detail
} // namespace kwire::proto
"""
