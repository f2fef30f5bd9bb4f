// The API version ranges a broker offers, and the choice of the version to
// send: the highest that kwire, the broker and the user's pin all allow.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace kwire::net {

struct version_range {
    std::int16_t min = 0;
    std::int16_t max = -1;
    bool contains(std::int16_t v) const noexcept { return v >= min && v <= max; }
};

// Limits a user puts on the versions kwire sends, for brokers or proxies that
// advertise more than they handle, and for conformance tests of old versions.
struct version_pins {
    std::map<std::int16_t, std::int16_t> max_by_api;  // api key -> highest version to send
    bool lowest = false;                               // send the lowest version both sides speak

    // A comma-separated list of: "lowest"; Name=version (Produce=7,Fetch=11;
    // names as in Kafka's protocol guide); broker:X.Y or broker:X.Y.Z (every
    // API capped at what Kafka release X.Y offers, 2.4 and later, like
    // kafka-python's api_version; APIs it lacks are never sent). When an API
    // is capped more than once the lowest cap wins. Throws std::invalid_argument.
    static version_pins parse(std::string_view text);
    bool empty() const noexcept { return max_by_api.empty() && !lowest; }
};

class api_versions {
    using entry = std::pair<std::int16_t, version_range>;
    template <class Ranges>
    static auto lower_bound(Ranges& ranges, std::int16_t api_key) {
        return std::lower_bound(ranges.begin(), ranges.end(), api_key,
                                [](const entry& e, std::int16_t key) { return e.first < key; });
    }

public:
    void set(std::int16_t api_key, version_range range) {
        auto it = lower_bound(ranges_, api_key);
        if (it != ranges_.end() && it->first == api_key) it->second = range;
        else ranges_.insert(it, {api_key, range});
    }
    void pin(version_pins pins) { pins_ = std::move(pins); }
    const version_pins& pins() const noexcept { return pins_; }

    std::optional<version_range> broker_range(std::int16_t api_key) const {
        auto it = lower_bound(ranges_, api_key);
        if (it == ranges_.end() || it->first != api_key) return std::nullopt;
        return it->second;
    }

    // The version to send: the highest in both `ours` and the broker's range
    // and at most the user's pin (the lowest common one in "lowest" mode);
    // nullopt when there is none.
    std::optional<std::int16_t> choose(std::int16_t api_key, version_range ours) const {
        const auto theirs = broker_range(api_key);
        if (!theirs) return std::nullopt;
        std::int16_t top = ours.max < theirs->max ? ours.max : theirs->max;
        if (auto p = pins_.max_by_api.find(api_key); p != pins_.max_by_api.end() && p->second < top) top = p->second;
        const std::int16_t bottom = ours.min > theirs->min ? ours.min : theirs->min;
        if (top < bottom) return std::nullopt;
        return pins_.lowest ? bottom : top;
    }

    // Every API the broker offers, by api key.
    const std::vector<std::pair<std::int16_t, version_range>>& all() const noexcept { return ranges_; }

private:
    // Sorted by api key: one allocation per copy (connections hand these
    // out with every ready connection), not one per API.
    std::vector<entry> ranges_;
    version_pins pins_;
};

} // namespace kwire::net
