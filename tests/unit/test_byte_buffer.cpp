#include "kwire/proto/byte_buffer.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace kwire::proto;

namespace {

byte_buffer with_capacity(std::size_t n) {
    byte_buffer b;
    b.reserve(n);
    return b;
}

} // namespace

TEST_CASE("byte_buffer: growing keeps the bytes already written") {
    byte_buffer b;
    b.resize(3);
    b[0] = std::byte{1};
    b[1] = std::byte{2};
    b[2] = std::byte{3};
    b.resize(100000);
    CHECK(b[0] == std::byte{1});
    CHECK(b[2] == std::byte{3});
    const byte_buffer filled(16, std::byte{7});  // an explicit value is still written
    CHECK(filled[15] == std::byte{7});
}

TEST_CASE("byte_buffer_pool: a released buffer comes back with its memory") {
    auto pool = byte_buffer_pool::create(1 << 20);
    byte_buffer b = pool->take(200000);
    CHECK(b.empty());
    CHECK(b.capacity() >= 200000);
    b.resize(150000);
    const std::byte* memory = b.data();
    pool->give(std::move(b));
    CHECK(pool->cached_buffers() == 1);
    byte_buffer again = pool->take(100000);
    CHECK(again.data() == memory);
    CHECK(again.empty());  // handed out cleared
    CHECK(pool->cached_buffers() == 0);
}

TEST_CASE("byte_buffer_pool: take picks the smallest buffer that fits") {
    auto pool = byte_buffer_pool::create(8 << 20);
    pool->give(with_capacity(1 << 20));
    pool->give(with_capacity(256 << 10));
    pool->give(with_capacity(2 << 20));
    CHECK(pool->take(300 << 10).capacity() == (1u << 20));
    CHECK(pool->take(3 << 20).capacity() >= (3u << 20));  // none fits: a new one
    CHECK(pool->cached_buffers() == 2);
    CHECK(pool->take().capacity() == (2u << 20));  // no hint: the largest
    CHECK(pool->take(100).capacity() < (256u << 10));  // small frames never take a pooled buffer
    CHECK(pool->cached_buffers() == 1);
}

TEST_CASE("byte_buffer_pool: the budget bounds what is kept") {
    auto pool = byte_buffer_pool::create(1 << 20);
    pool->give(with_capacity(4 << 10));  // below min_pooled: freed
    CHECK(pool->cached_buffers() == 0);
    pool->give(with_capacity(2 << 20));  // above the budget: freed
    CHECK(pool->cached_buffers() == 0);
    pool->give(with_capacity(400 << 10));
    pool->give(with_capacity(500 << 10));
    CHECK(pool->cached_bytes() >= (900u << 10));
    pool->give(with_capacity(600 << 10));  // the smallest make way
    CHECK(pool->cached_bytes() <= (1u << 20));
    CHECK(pool->take().capacity() >= (600u << 10));
    for (std::size_t i = 0; i < 2 * byte_buffer_pool::max_buffers; ++i) pool->give(with_capacity(64 << 10));
    CHECK(pool->cached_buffers() <= byte_buffer_pool::max_buffers);
}

TEST_CASE("byte_buffer_pool: a shared buffer returns when its last owner lets go") {
    auto pool = byte_buffer_pool::create(1 << 20);
    auto shared = pool->share(with_capacity(128 << 10));
    auto copy = shared;
    shared.reset();
    CHECK(pool->cached_buffers() == 0);
    std::thread([c = std::move(copy)]() mutable { c.reset(); }).join();  // released on another thread
    CHECK(pool->cached_buffers() == 1);

    // A buffer outliving its pool is simply freed.
    auto orphan = pool->share(pool->take());
    pool.reset();
    orphan.reset();
}
