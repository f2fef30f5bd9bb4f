// A latency histogram for the bench commands (produce, e2e).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace kwire::cli {

// Latency in microseconds, log-linear: exact below 128 us, then 64 buckets
// per power of two (each at most 1/64 wide relative to its value). Updated
// with relaxed atomics from the completion handlers; fixed size, no
// allocation.
class latency_histogram {
public:
    static constexpr int sub_bits = 6;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;  // 64
    static constexpr int max_shift = 30;                                      // up to 2^37 us (38 hours)
    static constexpr std::size_t bucket_count = max_shift * sub_count + 2 * sub_count;

    void record(std::uint64_t us) noexcept {
        counts_[index(us)].fetch_add(1, std::memory_order_relaxed);
        total_.fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(us, std::memory_order_relaxed);
        std::uint64_t seen = max_.load(std::memory_order_relaxed);
        while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
        }
    }

    std::uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
    std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
    double mean() const noexcept {
        const auto n = count();
        return n ? static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n) : 0.0;
    }

    // The highest value of the bucket holding the q-quantile (0 < q <= 1).
    std::uint64_t quantile(double q) const noexcept {
        const std::uint64_t n = count();
        if (n == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n) + 0.999999);
        rank = std::clamp<std::uint64_t>(rank, 1, n);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i].load(std::memory_order_relaxed);
            if (seen >= rank) return std::min(highest_in(i), max());
        }
        return max();
    }

private:
    static std::size_t index(std::uint64_t us) noexcept {
        if (us < 2 * sub_count) return static_cast<std::size_t>(us);
        const int shift = std::bit_width(us) - (sub_bits + 1);
        if (shift > max_shift) return bucket_count - 1;
        return static_cast<std::size_t>(shift) * sub_count + static_cast<std::size_t>(us >> shift);
    }
    static std::uint64_t highest_in(std::size_t i) noexcept {
        if (i < 2 * sub_count) return i;
        const std::uint64_t shift = i / sub_count - 1;
        const std::uint64_t mantissa = i - shift * sub_count;  // in [64, 128)
        return ((mantissa + 1) << shift) - 1;
    }

    std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> sum_{0};
    std::atomic<std::uint64_t> max_{0};
};

} // namespace kwire::cli
