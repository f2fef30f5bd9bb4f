// Small value parsers and printers shared by the commands.
#include "cli.hpp"

#include <charconv>
#include <cstdio>

namespace kwire::cli {

std::uint64_t parse_count(const std::string& flag, const std::string& v, std::uint64_t min) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min)
        throw usage_error(flag + " needs a whole number of at least " + std::to_string(min) + ", got '" + v + "'");
    return n;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

} // namespace kwire::cli
