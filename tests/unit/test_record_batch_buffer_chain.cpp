#include "kwire/proto/buffer_chain.hpp"
#include "kwire/proto/crc32c.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

using kwire::proto::buffer_chain;

namespace {
std::vector<std::byte> iota_bytes(std::size_t n, int start = 0) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(start + static_cast<int>(i * 7));
    return v;
}
std::vector<std::byte> flatten(const buffer_chain& c) {
    std::vector<std::byte> out;
    for (auto b : c.buffers()) out.insert(out.end(), b.begin(), b.end());
    return out;
}
} // namespace

TEST_CASE("buffer_chain: copies, references, reserve/patch, crc over ranges") {
    buffer_chain c(256, 100);
    std::vector<std::byte> expect;
    const std::size_t hdr = c.reserve(10);
    CHECK(hdr == 0);
    expect.resize(10);

    auto small = iota_bytes(50, 1);
    c.append(small);
    expect.insert(expect.end(), small.begin(), small.end());

    auto big = std::make_shared<std::vector<std::byte>>(iota_bytes(1000, 3));
    std::shared_ptr<const void> owner = big;
    c.append(*big, owner);  // >= threshold: by reference
    expect.insert(expect.end(), big->begin(), big->end());
    CHECK(big.use_count() == 3);

    auto spill = iota_bytes(700, 5);  // crosses several 256-byte blocks
    c.append(spill);
    expect.insert(expect.end(), spill.begin(), spill.end());

    c.append(small, owner);  // below threshold: copied
    expect.insert(expect.end(), small.begin(), small.end());
    CHECK(big.use_count() == 3);

    const std::byte patch[10] = {std::byte{9}, std::byte{8}, std::byte{7}, std::byte{6}, std::byte{5},
                                 std::byte{4}, std::byte{3}, std::byte{2}, std::byte{1}, std::byte{0}};
    c.patch(hdr, patch);
    std::copy(std::begin(patch), std::end(patch), expect.begin());
    // Patch across a block boundary too (inside the spilled copy).
    const std::size_t spill_at = 10 + 50 + 1000;
    c.patch(spill_at + 190, patch);
    std::copy(std::begin(patch), std::end(patch), expect.begin() + static_cast<std::ptrdiff_t>(spill_at + 190));

    CHECK(c.size() == expect.size());
    CHECK(flatten(c) == expect);
    CHECK(c.to_vector() == expect);
    CHECK(c.buffers().size() >= 4);
    // The referenced segment is the caller's memory itself.
    bool found = false;
    for (auto b : c.buffers()) found |= b.data() == big->data();
    CHECK(found);

    for (std::size_t off : {0u, 1u, 59u, 60u, 61u, 1059u, 1060u, 1500u}) {
        for (std::size_t len : {0u, 1u, 200u, 700u}) {
            if (off + len > expect.size()) continue;
            CHECK(c.crc32c(off, len) == kwire::proto::crc32c(std::span(expect).subspan(off, len)));
            std::vector<std::byte> out(len);
            c.copy_out(off, out);
            CHECK(std::equal(out.begin(), out.end(), expect.begin() + static_cast<std::ptrdiff_t>(off)));
        }
    }

    const std::size_t cap = c.capacity();
    c.clear();
    CHECK(big.use_count() == 2);  // references dropped
    CHECK(c.size() == 0);
    CHECK(c.buffers().empty());
    CHECK(c.capacity() == cap);  // storage kept
    c.append(small);
    CHECK(flatten(c) == small);
    c.release_storage();
    CHECK(c.capacity() == 0);
    CHECK(c.empty());
}

TEST_CASE("buffer_chain: contiguous appends and large reservations") {
    buffer_chain c(128, 1024);
    std::byte* p = c.append_contiguous(100);
    std::fill(p, p + 100, std::byte{1});
    CHECK(c.try_append_contiguous(50) == nullptr);  // 28 left
    CHECK(c.contiguous_room() == 28);
    std::byte* q = c.append_contiguous(500);  // bigger than a segment: its own block
    std::fill(q, q + 500, std::byte{2});
    CHECK(c.size() == 600);
    const auto v = c.to_vector();
    CHECK(std::count(v.begin(), v.end(), std::byte{1}) == 100);
    CHECK(std::count(v.begin(), v.end(), std::byte{2}) == 500);
    // After clear, the same blocks are reused in order.
    c.clear();
    CHECK(c.append_contiguous(100) == p);
    CHECK(c.append_contiguous(500) == q);
}
