#include "kwire/proto/wire_error.hpp"

#include <string>

namespace kwire::proto {
namespace {

class wire_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.wire"; }

    std::string message(int ev) const override {
        switch (static_cast<wire_errc>(ev)) {
        case wire_errc::truncated: return "input ended inside a value";
        case wire_errc::negative_length: return "negative length";
        case wire_errc::length_exceeds_input: return "length exceeds the remaining input";
        case wire_errc::varint_too_long: return "varint too long";
        case wire_errc::bad_tagged_fields: return "tagged fields out of order or repeated";
        case wire_errc::unsupported_version: return "message version not supported";
        case wire_errc::field_not_in_version: return "field cannot be sent at this message version";
        case wire_errc::null_not_allowed: return "null value for a non-nullable field";
        case wire_errc::value_too_large: return "value too large for its length prefix";
        case wire_errc::frame_too_large: return "frame larger than the allowed maximum";
        case wire_errc::trailing_bytes: return "unexpected bytes after the end of the message";
        case wire_errc::bad_crc: return "record batch CRC mismatch";
        case wire_errc::bad_record: return "malformed record batch";
        case wire_errc::decompression_failed: return "decompression failed";
        case wire_errc::decompressed_too_large: return "decompressed data exceeds the limit";
        case wire_errc::unsupported_codec: return "compression codec not available in this build";
        }
        return "unknown wire error";
    }
};

} // namespace

const std::error_category& wire_category() noexcept {
    static const wire_category_impl category;
    return category;
}

} // namespace kwire::proto
