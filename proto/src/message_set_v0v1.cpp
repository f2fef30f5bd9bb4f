#include "kwire/proto/message_set_v0v1.hpp"

#include "kwire/proto/reader.hpp"
#include "kwire/proto/wire_error.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace kwire::proto {

std::uint32_t crc32_ieee(std::span<const std::byte> data, std::uint32_t previous) noexcept {
    uLong crc = previous;
    const auto* p = reinterpret_cast<const Bytef*>(data.data());
    std::size_t left = data.size();
    while (left > 0) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
        crc = ::crc32(crc, p, n);
        p += n;
        left -= n;
    }
    return static_cast<std::uint32_t>(crc);
}

std::error_code parse_legacy_message(std::span<const std::byte> entry, legacy_message& out, bool verify_crc) noexcept {
    using namespace message_v0v1;
    reader r(entry);
    out.offset = r.read_int64();
    const std::int32_t size = r.read_int32();
    if (!r.ok() || size < 0 || static_cast<std::size_t>(size) != r.remaining()) return wire_errc::bad_record;
    out.crc = r.read_uint32();
    const std::span<const std::byte> covered = r.rest();
    out.magic = r.read_int8();
    if (out.magic != 0 && out.magic != 1) return wire_errc::bad_record;
    if (static_cast<std::size_t>(size) < (out.magic == 0 ? min_size_v0 : min_size_v1)) return wire_errc::bad_record;
    out.attributes = r.read_int8();
    out.timestamp = out.magic == 0 ? -1 : r.read_int64();
    out.key = r.read_nullable_bytes();
    out.value = r.read_nullable_bytes();
    if (!r.ok() || r.remaining() != 0) return wire_errc::bad_record;
    if (verify_crc && crc32_ieee(covered) != out.crc) return wire_errc::bad_crc;
    return {};
}

} // namespace kwire::proto
