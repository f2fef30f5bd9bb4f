#include "kwire/net/api_versions.hpp"

#include "kwire/proto/api_keys.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

namespace kwire::net {

version_pins version_pins::parse(std::string_view text) {
    version_pins pins;
    while (!text.empty()) {
        const auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) continue;
        if (item == "lowest") {
            pins.lowest = true;
            continue;
        }
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            throw std::invalid_argument("version pin '" + std::string(item) + "' is not Name=version or lowest");
        }
        const std::string_view name = item.substr(0, eq), number = item.substr(eq + 1);
        std::int16_t key = -1;
        for (std::int16_t k = 0; k < 200 && key < 0; ++k)
            if (proto::api_name(k) == name) key = k;
        if (key < 0) throw std::invalid_argument("version pin names an unknown API '" + std::string(name) + "'");
        std::int16_t version = 0;
        const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
        if (ec != std::errc{} || end != number.data() + number.size() || version < 0) {
            throw std::invalid_argument("version pin for " + std::string(name) + " needs a version number");
        }
        pins.max_by_api[key] = version;
    }
    return pins;
}

} // namespace kwire::net
