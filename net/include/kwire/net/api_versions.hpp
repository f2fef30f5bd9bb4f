// The API version ranges a broker offers, and the choice of the version to
// send: the highest that kwire, the broker and the user's pin all allow.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace kwire::net {

struct version_range {
    std::int16_t min = 0;
    std::int16_t max = -1;
    bool contains(std::int16_t v) const noexcept { return v >= min && v <= max; }
};

class api_versions {
public:
    void set(std::int16_t api_key, version_range range) { ranges_[api_key] = range; }

    std::optional<version_range> broker_range(std::int16_t api_key) const {
        auto it = ranges_.find(api_key);
        if (it == ranges_.end()) return std::nullopt;
        return it->second;
    }

    // Highest version in both `ours` and the broker's range, at most `pin`
    // when given; nullopt when there is none.
    std::optional<std::int16_t> choose(std::int16_t api_key, version_range ours,
                                       std::optional<std::int16_t> pin = std::nullopt) const {
        const auto theirs = broker_range(api_key);
        if (!theirs) return std::nullopt;
        std::int16_t top = ours.max < theirs->max ? ours.max : theirs->max;
        if (pin && *pin < top) top = *pin;
        const std::int16_t bottom = ours.min > theirs->min ? ours.min : theirs->min;
        if (top < bottom) return std::nullopt;
        return top;
    }

    const std::map<std::int16_t, version_range>& all() const noexcept { return ranges_; }

private:
    std::map<std::int16_t, version_range> ranges_;
};

} // namespace kwire::net
