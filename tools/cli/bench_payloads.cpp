#include "bench_payloads.hpp"

#include "cli.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

namespace kwire::cli {

payload_pool payload_pool::random(std::size_t record_size) {
    constexpr std::size_t pool_bytes = 16 * 1024 * 1024;
    const std::size_t n = record_size == 0 ? 1 : std::max<std::size_t>(2, (pool_bytes + record_size - 1) / record_size);
    payload_pool pool;
    pool.bytes_.resize(n * record_size);
    pool.offsets_.resize(n + 1);
    for (std::size_t i = 0; i <= n; ++i) pool.offsets_[i] = i * record_size;
    std::mt19937_64 rng(std::random_device{}());
    std::size_t i = 0;
    for (; i + 8 <= pool.bytes_.size(); i += 8) {
        const std::uint64_t r = rng();
        std::memcpy(pool.bytes_.data() + i, &r, 8);
    }
    for (; i < pool.bytes_.size(); ++i) pool.bytes_[i] = static_cast<std::byte>(rng());
    return pool;
}

payload_pool payload_pool::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error("--payload-file: cannot read '" + path + "'");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    payload_pool pool;
    pool.bytes_.reserve(text.size());
    pool.offsets_.push_back(0);
    std::size_t begin = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        const auto* first = reinterpret_cast<const std::byte*>(text.data() + begin);
        pool.bytes_.insert(pool.bytes_.end(), first, first + (end - begin));
        pool.offsets_.push_back(pool.bytes_.size());
        begin = end + 1;
    }
    if (pool.count() == 0) throw usage_error("--payload-file: '" + path + "' holds no payload");
    return pool;
}

} // namespace kwire::cli
