#include "kwire/net/api_versions.hpp"

#include "kwire/proto/api_keys.hpp"
#include "kwire/proto/release_versions.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>

namespace kwire::net {
namespace {

// Keeps the lowest cap when an API is pinned more than once.
void cap(std::map<std::int16_t, std::int16_t>& caps, std::int16_t key, std::int16_t version) {
    auto [it, inserted] = caps.emplace(key, version);
    if (!inserted && version < it->second) it->second = version;
}

std::string known_release_range() {
    const auto known = proto::known_releases();
    return std::string(known.front()) + " to " + std::string(known.back());
}

// A decimal number without sign; nullopt for anything else.
std::optional<unsigned> number(std::string_view s) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// "X.Y" or "X.Y.Z" -> (X, Y, "X.Y"); nullopt when malformed.
struct release_name {
    unsigned major = 0, minor = 0;
    std::string_view major_minor;
};
std::optional<release_name> parse_release(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto dot2 = text.find('.', dot + 1);
    const auto major = number(text.substr(0, dot));
    const auto minor = number(text.substr(dot + 1, dot2 == std::string_view::npos ? dot2 : dot2 - dot - 1));
    if (!major || !minor) return std::nullopt;
    if (dot2 != std::string_view::npos && !number(text.substr(dot2 + 1))) return std::nullopt;
    return release_name{*major, *minor, text.substr(0, dot2)};
}

// "broker:X.Y" or "broker:X.Y.Z" (the patch does not matter): caps every API
// at the newest version Kafka X.Y offers, and those it lacks at -1 (never sent).
void pin_release(std::map<std::int16_t, std::int16_t>& caps, std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    const auto release = parse_release(text);
    if (!release) {
        throw std::invalid_argument("version pin 'broker:" + std::string(text) +
                                    "' needs a Kafka release as X.Y or X.Y.Z (known: " + known_release_range() + ")");
    }
    if (!proto::is_known_release(release->major_minor)) {
        std::string why = "version pin 'broker:" + std::string(text) +
                          "' names an unknown Kafka release; known releases are " + known_release_range();
        const auto oldest = parse_release(proto::known_releases().front());
        if (oldest && (release->major < oldest->major ||
                       (release->major == oldest->major && release->minor < oldest->minor))) {
            why += " (releases before " + std::string(oldest->major_minor) +
                   " are not supported: their client jars carry no message schemas)";
        }
        throw std::invalid_argument(why);
    }
    // Every API key that some known release offers, so that the ones this
    // release lacks are capped too.
    const auto releases = proto::known_releases();
    for (std::int16_t key = 0; key < 200; ++key) {
        bool offered = false;
        for (const auto r : releases)
            if (proto::release_max_version(r, key).value_or(-1) >= 0) {
                offered = true;
                break;
            }
        if (offered) cap(caps, key, *proto::release_max_version(release->major_minor, key));
    }
}

} // namespace

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
        if (item.substr(0, 7) == "broker:") {
            pin_release(pins.max_by_api, item.substr(7));
            continue;
        }
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            throw std::invalid_argument("version pin '" + std::string(item) +
                                        "' is not Name=version, broker:X.Y or lowest");
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
        cap(pins.max_by_api, key, version);
    }
    return pins;
}

} // namespace kwire::net
