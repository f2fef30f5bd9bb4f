// libFuzzer target: every response kwire has a codec for, at every version,
// header included (what kwire reads from a broker it does not trust).
#include "fuzz_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return kwire::fuzz::fuzz_one<false>(data, size);
}
