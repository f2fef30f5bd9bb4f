// A minimal JSON writer for the CLI's --json output.
#pragma once

#include <string>
#include <string_view>

namespace kwire::cli {

// Appends `s` as a JSON string. Valid UTF-8 passes through (with ", \ and
// control characters escaped); a byte that is not part of valid UTF-8 is
// written as \u00XX (its Latin-1 reading). (format.cpp)
void append_json_string(std::string& out, std::string_view s);

// `s` as a JSON string.
inline std::string json_quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

} // namespace kwire::cli
