// Errors raised while encoding or decoding Kafka wire data.
#pragma once

#include <system_error>

namespace kwire::proto {

enum class wire_errc {
    truncated = 1,          // input ended inside a value
    negative_length,        // a length below -1, or -1 where null is not allowed
    length_exceeds_input,   // a length or element count larger than the bytes left
    varint_too_long,        // a varint that does not end within its maximum size
    bad_tagged_fields,      // tagged fields out of order or repeated
    unsupported_version,    // a message version outside the schema's range
    field_not_in_version,   // a set, non-ignorable field the chosen version cannot carry
    null_not_allowed,       // a null value for a field that is not nullable at this version
    value_too_large,        // a string, array or bytes too long for its length prefix
    frame_too_large,        // a frame longer than the configured maximum
    trailing_bytes,         // bytes left over after a complete message
    bad_crc,                // a record batch whose CRC does not match its bytes
    bad_record,             // a record batch or record whose structure is malformed
    decompression_failed,   // compressed data that cannot be decompressed
    decompressed_too_large, // decompressed data beyond the configured cap
    unsupported_codec,      // a compression codec this build does not include
};

const std::error_category& wire_category() noexcept;

inline std::error_code make_error_code(wire_errc e) noexcept {
    return {static_cast<int>(e), wire_category()};
}

} // namespace kwire::proto

template <>
struct std::is_error_code_enum<kwire::proto::wire_errc> : std::true_type {};
