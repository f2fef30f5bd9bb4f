// A topic's partition, and a committed position in it.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kwire {

struct topic_partition {
    std::string topic;
    std::int32_t partition = 0;

    friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
    friend bool operator==(const topic_partition&, const topic_partition&) = default;
    // "topic/3", for messages.
    std::string to_string() const { return topic + "/" + std::to_string(partition); }
};

struct offset_and_metadata {
    std::int64_t offset = -1;                 // the next record to read
    std::optional<std::int32_t> leader_epoch; // of the last record read, when known
    std::string metadata;
    friend bool operator==(const offset_and_metadata&, const offset_and_metadata&) = default;
};

} // namespace kwire

template <>
struct std::hash<kwire::topic_partition> {
    std::size_t operator()(const kwire::topic_partition& tp) const noexcept {
        return std::hash<std::string>{}(tp.topic) * 31 + static_cast<std::size_t>(tp.partition);
    }
};
