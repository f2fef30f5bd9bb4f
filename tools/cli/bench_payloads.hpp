// The record values the bench commands send: a pool made (or read) before the
// clock starts, so no client spends measured time generating payloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kwire::cli {

class payload_pool {
public:
    // 16 MiB of random bytes cut into `record_size` values (at least two), so
    // consecutive batches never repeat a value.
    static payload_pool random(std::size_t record_size);
    // One value per line of `path` (separated by '\n'; a final newline is
    // optional), the format of Java's ProducerPerformance --payload-file.
    // Throws usage_error for an unreadable or empty file.
    static payload_pool from_file(const std::string& path);

    // Value number i of the stream: the pool's values in order, repeated.
    std::span<const std::byte> at(std::uint64_t i) const noexcept {
        const std::size_t slot = static_cast<std::size_t>(i % count());
        return {bytes_.data() + offsets_[slot], offsets_[slot + 1] - offsets_[slot]};
    }
    std::size_t count() const noexcept { return offsets_.size() - 1; }
    double mean_size() const noexcept { return static_cast<double>(bytes_.size()) / static_cast<double>(count()); }

private:
    std::vector<std::byte> bytes_;
    std::vector<std::size_t> offsets_;  // value i is [offsets_[i], offsets_[i + 1])
};

} // namespace kwire::cli
