// libFuzzer target: every request kwire has a codec for, at every version,
// header included (what a broker under test, or kwire as a fake broker, reads).
#include "fuzz_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return kwire::fuzz::fuzz_one<true>(data, size);
}
