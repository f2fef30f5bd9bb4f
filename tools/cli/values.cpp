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

const std::string& option_value::need(const std::string& what) {
    if (!next_) throw usage_error(flag_ + " needs " + what);
    used_ = true;
    return *next_;
}

const std::string& option_value::non_empty(const std::string& noun) {
    const std::string& v = need("a " + noun);
    if (v.empty()) throw usage_error(flag_ + " needs a non-empty " + noun);
    return v;
}

std::uint64_t option_value::count(const std::string& what, std::uint64_t min) {
    return parse_count(flag_, need(what), min);
}

std::int32_t option_value::partition() {
    const std::uint64_t n = count("a partition number", 0);
    if (n > 2147483647) throw usage_error(flag_ + " is out of range");
    return static_cast<std::int32_t>(n);
}

std::string join_ints(const std::vector<std::int32_t>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

} // namespace kwire::cli
