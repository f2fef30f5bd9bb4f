// Counts heap allocations: every operator new of the test binary that links
// allocation_counter.cpp (which replaces the global operator new/delete with
// malloc/free plus a counter). Read as deltas around the code under test.
#pragma once

#include <cstdint>

namespace kwire::test {

// Allocations made so far on the calling thread.
std::uint64_t thread_allocations() noexcept;
// Allocations made so far on every thread of the process.
std::uint64_t process_allocations() noexcept;

} // namespace kwire::test
