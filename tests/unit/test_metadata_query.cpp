#include "kwire/proto/metadata_query.hpp"

#include <doctest/doctest.h>

using namespace kwire::proto;

TEST_CASE("make_metadata_request encodes at every version, with each version's way of saying 'every topic'") {
    const std::optional<std::vector<std::string>> every;
    const std::optional<std::vector<std::string>> two{{"a", "b"}};
    for (std::int16_t v = metadata_request::min_version; v <= metadata_request::max_version; ++v) {
        CAPTURE(v);
        const auto all = make_metadata_request(every, v);
        if (v == 0) {
            REQUIRE(all.topics.has_value());
            CHECK(all.topics->empty());
        } else {
            CHECK_FALSE(all.topics.has_value());
        }
        CHECK(all.allow_auto_topic_creation == (v < 4));  // never asks to create from v4 on
        const auto some = make_metadata_request(two, v);
        REQUIRE(some.topics.has_value());
        REQUIRE(some.topics->size() == 2);
        CHECK((*some.topics)[1].name == "b");
        for (const auto* req : {&all, &some}) {
            std::vector<std::byte> out;
            writer w(out);
            CHECK_FALSE(req->encode(w, v));
        }
    }
}
