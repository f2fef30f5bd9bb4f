// Tagged fields (KIP-482) that a decoder did not recognise. They are kept so a
// decode followed by an encode reproduces them unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kwire::proto {

struct tagged_field {
    std::uint32_t tag = 0;
    std::vector<std::byte> data;
    friend bool operator==(const tagged_field&, const tagged_field&) = default;
};

using unknown_tagged_fields = std::vector<tagged_field>;

} // namespace kwire::proto
