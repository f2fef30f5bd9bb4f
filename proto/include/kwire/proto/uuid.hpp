// Kafka's 128-bit UUID (topic ids, directory ids), stored as big-endian bytes.
#pragma once

#include <array>
#include <cstddef>
#include <string>

namespace kwire::proto {

struct uuid {
    std::array<std::byte, 16> bytes{};

    bool is_zero() const noexcept {
        for (auto b : bytes)
            if (b != std::byte{0}) return false;
        return true;
    }
    friend bool operator==(const uuid&, const uuid&) = default;

    // Kafka prints UUIDs as URL-safe base64 without padding (22 characters).
    std::string to_base64() const;
};

} // namespace kwire::proto
