// Output of consumed records for `kwire consume`: kcat's -f format strings
// (%t %p %o %k %K %s %S %R %T %h, \n \r \t \\ \xNN), and one JSON object per
// record for --json. Both append to a caller's buffer (no allocation per
// record once the buffer has grown).
#pragma once

#include "json.hpp"

#include "kwire/consumer.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::cli {

// Decodes \n \r \t \0 \\ and \xNN; throws usage_error naming `flag` for an
// unknown escape. Other text is kept as is.
std::string unescape_text(const std::string& flag, std::string_view s);

class record_format {
public:
    // Parses a kcat -f format; throws usage_error for an unknown %-token or
    // escape. `null_text` replaces a null key or value (-Z; default empty).
    static record_format parse(std::string_view format, std::string null_text = {});

    void append(std::string& out, const consumer_record& r) const;

private:
    enum class field : std::uint8_t {
        literal,
        topic,           // %t
        partition,       // %p
        offset,          // %o
        key,             // %k
        key_length,      // %K (-1 for null)
        value,           // %s
        value_length,    // %S (-1 for null)
        value_length_be, // %R: %S as a big-endian 32-bit signed integer
        timestamp,       // %T (milliseconds since the epoch, -1 when none)
        headers,         // %h: name=value,name=value (a null value: name alone)
    };
    struct piece {
        field what;
        std::string text;  // for literal
    };
    std::vector<piece> pieces_;
    std::string null_text_;
};

// True when `bytes` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_utf8(std::span<const std::byte> bytes) noexcept;

// Appends standard base64 (RFC 4648, padded).
void append_base64(std::string& out, std::span<const std::byte> bytes);

// One record as one JSON object (no newline):
//   {"topic":T,"partition":P,"offset":O,"timestamp":MS,"key":K,"value":V,
//    "headers":[{"name":N,"value":V},...]}
// A key, value or header value is a JSON string when its bytes are UTF-8,
// null when null, and otherwise the base64 of the bytes with a sibling
// "key_encoding":"base64" / "value_encoding":"base64" right after it.
void append_json(std::string& out, const consumer_record& r);

} // namespace kwire::cli
