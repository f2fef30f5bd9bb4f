// The consumer group's embedded protocol; see consumer_protocol.hpp.
#include "kwire/consumer_protocol.hpp"

#include "kwire/proto/messages/consumer_protocol_assignment.hpp"
#include "kwire/proto/messages/consumer_protocol_subscription.hpp"
#include "kwire/proto/reader.hpp"
#include "kwire/proto/wire_error.hpp"
#include "kwire/proto/writer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace kwire {

namespace detail {

namespace {

// Yields the UTF-16 code units of UTF-8 text, one at a time.
class utf16_units {
public:
    explicit utf16_units(std::string_view s) noexcept : s_(s) {}

    bool next(std::uint16_t& unit) noexcept {
        if (low_) {
            unit = low_;
            low_ = 0;
            return true;
        }
        if (i_ >= s_.size()) return false;
        const std::uint32_t cp = decode();
        if (cp >= 0x10000) {
            const std::uint32_t v = cp - 0x10000;
            unit = static_cast<std::uint16_t>(0xd800 + (v >> 10));
            low_ = static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff));
        } else {
            unit = static_cast<std::uint16_t>(cp);
        }
        return true;
    }

private:
    static constexpr std::uint32_t replacement = 0xfffd;

    std::uint32_t byte(std::size_t k) const noexcept { return static_cast<unsigned char>(s_[k]); }

    std::uint32_t decode() noexcept {
        const std::uint32_t b0 = byte(i_);
        std::size_t len = 0;
        std::uint32_t cp = 0, min = 0;
        if (b0 < 0x80) {
            ++i_;
            return b0;
        } else if (b0 >= 0xc2 && b0 <= 0xdf) {
            len = 2, cp = b0 & 0x1f, min = 0x80;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
            len = 3, cp = b0 & 0x0f, min = 0x800;
        } else if (b0 >= 0xf0 && b0 <= 0xf4) {
            len = 4, cp = b0 & 0x07, min = 0x10000;
        } else {
            ++i_;
            return replacement;
        }
        if (i_ + len > s_.size()) {
            ++i_;
            return replacement;
        }
        for (std::size_t k = 1; k < len; ++k) {
            const std::uint32_t b = byte(i_ + k);
            if ((b & 0xc0) != 0x80) {
                ++i_;
                return replacement;
            }
            cp = (cp << 6) | (b & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            ++i_;
            return replacement;
        }
        i_ += len;
        return cp;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::uint16_t low_ = 0;  // the low surrogate still to yield, 0 for none
};

} // namespace

int java_string_compare(std::string_view a, std::string_view b) noexcept {
    // ASCII (all topic names, nearly all member ids): byte order is the same.
    const bool ascii = std::all_of(a.begin(), a.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }) &&
                       std::all_of(b.begin(), b.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) {
        const int c = a.compare(b);
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    utf16_units x(a), y(b);
    for (;;) {
        std::uint16_t ux = 0, uy = 0;
        const bool hx = x.next(ux), hy = y.next(uy);
        if (!hx || !hy) return hx == hy ? 0 : hx ? 1 : -1;
        if (ux != uy) return ux < uy ? -1 : 1;
    }
}

} // namespace detail

namespace {

using proto::wire_errc;

bool java_less(const std::string& a, const std::string& b) { return detail::java_string_compare(a, b) < 0; }

bool tp_java_less(const topic_partition& a, const topic_partition& b) {
    const int c = detail::java_string_compare(a.topic, b.topic);
    return c != 0 ? c < 0 : a.partition < b.partition;
}

void check_version(std::int16_t version, const char* what) {
    if (version < 0 || version > consumer_protocol_version)
        throw std::invalid_argument(std::string(what) + ": version " + std::to_string(version) + " is not 0-" +
                                    std::to_string(consumer_protocol_version));
}

template <class Message>
std::vector<std::byte> encode_versioned(const Message& m, std::int16_t version, const char* what) {
    std::vector<std::byte> out;
    proto::writer w(out);
    w.write_int16(version);
    if (const std::error_code ec = m.encode(w, version); ec || !w.ok()) {
        const std::error_code e = ec ? ec : w.error();
        throw std::invalid_argument(std::string(what) + ": cannot encode: " + e.message());
    }
    return out;
}

// The version prefix: negative is an error, above what kwire knows is read
// as the newest it knows (the newer fields are at the end and are skipped).
std::error_code read_version(proto::reader& r, std::int16_t& version) {
    version = r.read_int16();
    if (!r.ok()) return r.error();
    if (version < 0) return wire_errc::unsupported_version;
    version = std::min(version, consumer_protocol_version);
    return {};
}

} // namespace

std::vector<std::byte> encode_subscription(const member_subscription& s, std::int16_t version) {
    check_version(version, "encode_subscription");
    proto::consumer_protocol_subscription m;

    m.topics = s.topics;
    std::sort(m.topics.begin(), m.topics.end(), java_less);
    m.topics.erase(std::unique(m.topics.begin(), m.topics.end()), m.topics.end());

    if (!s.user_data.empty()) m.user_data = s.user_data;

    std::vector<topic_partition> owned = s.owned_partitions;
    std::sort(owned.begin(), owned.end(), tp_java_less);
    owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
    for (const auto& tp : owned) {
        if (m.owned_partitions.empty() || m.owned_partitions.back().topic != tp.topic)
            m.owned_partitions.push_back({tp.topic, {}});
        m.owned_partitions.back().partitions.push_back(tp.partition);
    }

    m.generation_id = s.generation;
    m.rack_id = s.rack;
    return encode_versioned(m, version, "encode_subscription");
}

std::error_code decode_subscription(std::span<const std::byte> bytes, member_subscription& out) {
    proto::reader r(bytes);
    std::int16_t version = 0;
    if (const auto ec = read_version(r, version)) return ec;
    proto::consumer_protocol_subscription m;
    if (const auto ec = m.decode(r, version)) return ec;

    out.topics = std::move(m.topics);
    out.user_data = m.user_data ? std::move(*m.user_data) : std::vector<std::byte>{};
    out.owned_partitions.clear();
    for (auto& t : m.owned_partitions)
        for (std::int32_t p : t.partitions) out.owned_partitions.push_back({t.topic, p});
    out.generation = version >= 2 ? m.generation_id : -1;
    if (version >= 3 && m.rack_id && !m.rack_id->empty()) out.rack = std::move(m.rack_id);
    else out.rack.reset();
    return {};
}

std::vector<std::byte> encode_assignment(const std::vector<topic_partition>& partitions,
                                         std::span<const std::byte> user_data, std::int16_t version) {
    check_version(version, "encode_assignment");
    proto::consumer_protocol_assignment m;
    for (const auto& tp : partitions) {
        auto it = std::find_if(m.assigned_partitions.begin(), m.assigned_partitions.end(),
                               [&](const auto& t) { return t.topic == tp.topic; });
        if (it == m.assigned_partitions.end()) {
            m.assigned_partitions.push_back({tp.topic, {}});
            it = std::prev(m.assigned_partitions.end());
        }
        it->partitions.push_back(tp.partition);
    }
    if (!user_data.empty()) m.user_data.emplace(user_data.begin(), user_data.end());
    return encode_versioned(m, version, "encode_assignment");
}

std::error_code decode_assignment(std::span<const std::byte> bytes, std::vector<topic_partition>& out,
                                  std::vector<std::byte>& user_data) {
    if (bytes.empty()) {
        out.clear();
        user_data.clear();
        return {};
    }
    proto::reader r(bytes);
    std::int16_t version = 0;
    if (const auto ec = read_version(r, version)) return ec;
    proto::consumer_protocol_assignment m;
    if (const auto ec = m.decode(r, version)) return ec;

    std::vector<topic_partition> partitions;
    for (auto& t : m.assigned_partitions)
        for (std::int32_t p : t.partitions) partitions.push_back({t.topic, p});
    out = std::move(partitions);
    user_data = m.user_data ? std::move(*m.user_data) : std::vector<std::byte>{};
    return {};
}

std::error_code decode_assignment(std::span<const std::byte> bytes, std::vector<topic_partition>& out) {
    std::vector<std::byte> user_data;
    return decode_assignment(bytes, out, user_data);
}

} // namespace kwire
