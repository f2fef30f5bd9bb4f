// Record sets travel without copies: encoded as external segments that go to
// the socket as they are, decoded as views that keep the frame alive.
#include "kwire/proto/messages/fetch.hpp"
#include "kwire/proto/messages/produce.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <numeric>

using namespace kwire::proto;

namespace {

std::vector<std::byte> pattern(std::size_t n, int seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 7 + static_cast<std::size_t>(seed)) & 0xff);
    return v;
}

produce_request request_with(record_set records) {
    produce_request req;
    req.acks = -1;
    req.timeout_ms = 1000;
    produce_request::topic_produce_data t;
    t.name = "t";
    produce_request::partition_produce_data p;
    p.index = 3;
    p.records = std::move(records);
    t.partition_data.push_back(std::move(p));
    req.topic_data.push_back(std::move(t));
    return req;
}

// The bytes a socket would send: the writer's own bytes with the external
// segments spliced in at their offsets.
std::vector<std::byte> splice(const std::vector<std::byte>& own, const std::vector<external_segment>& ext) {
    std::vector<std::byte> out;
    std::size_t at = 0;
    for (const auto& e : ext) {
        out.insert(out.end(), own.begin() + static_cast<std::ptrdiff_t>(at), own.begin() + static_cast<std::ptrdiff_t>(e.offset));
        out.insert(out.end(), e.bytes.begin(), e.bytes.end());
        at = e.offset;
    }
    out.insert(out.end(), own.begin() + static_cast<std::ptrdiff_t>(at), own.end());
    return out;
}

} // namespace

TEST_CASE("record set: segments are written by reference, in order, at the right place") {
    const auto a = pattern(3000, 1), b = pattern(500, 2), c = pattern(70000, 3);
    const std::vector<record_set::bytes_view> segments{a, b, c};
    const auto req = request_with(record_set(segments, nullptr));

    for (std::int16_t version : {std::int16_t{3}, std::int16_t{9}, produce_request::max_version}) {
        CAPTURE(version);
        std::vector<std::byte> copied;
        writer plain(copied);
        REQUIRE(!req.encode(plain, version));

        std::vector<std::byte> own;
        std::vector<external_segment> ext;
        writer w(own, ext);
        REQUIRE(!req.encode(w, version));
        REQUIRE(ext.size() == 3);
        CHECK(ext[0].bytes.data() == a.data());
        CHECK(ext[1].bytes.data() == b.data());
        CHECK(ext[2].bytes.data() == c.data());
        CHECK(ext[0].offset == ext[1].offset);  // back to back
        CHECK(own.size() + a.size() + b.size() + c.size() == copied.size());
        CHECK(w.size() == copied.size());
        CHECK(req.encoded_size(version) == copied.size());
        CHECK(splice(own, ext) == copied);
    }
}

TEST_CASE("record set: decoded with an owner, it views the frame and keeps it alive") {
    const auto batch = pattern(4096, 5);
    const auto req = request_with(record_set(batch));
    std::vector<std::byte> encoded;
    writer w(encoded);
    REQUIRE(!req.encode(w, 9));

    auto frame = std::make_shared<std::vector<std::byte>>(std::move(encoded));
    produce_request decoded;
    {
        const std::shared_ptr<const void> owner = frame;
        reader r(*frame);
        r.set_owner(&owner);
        REQUIRE(!decoded.decode(r, 9));
    }
    const auto& rs = decoded.topic_data.at(0).partition_data.at(0).records;
    REQUIRE(rs.has_value());
    REQUIRE(rs->is_contiguous());
    const auto view = rs->contiguous();
    CHECK(view.data() >= frame->data());
    CHECK(view.data() + view.size() <= frame->data() + frame->size());
    CHECK(std::equal(view.begin(), view.end(), batch.begin(), batch.end()));

    // The frame outlives every other reference through the record set.
    const std::weak_ptr<std::vector<std::byte>> watch = frame;
    frame.reset();
    CHECK_FALSE(watch.expired());
    CHECK(std::equal(view.begin(), view.end(), batch.begin(), batch.end()));
    decoded = produce_request{};
    CHECK(watch.expired());
}

TEST_CASE("record set: without an owner the decoder copies, and null stays null") {
    auto req = request_with(record_set(pattern(100, 9)));
    std::vector<std::byte> encoded;
    writer w(encoded);
    REQUIRE(!req.encode(w, 9));
    produce_request decoded;
    reader r(encoded);
    REQUIRE(!decoded.decode(r, 9));
    const auto view = decoded.topic_data.at(0).partition_data.at(0).records->contiguous();
    CHECK((view.data() < encoded.data() || view.data() >= encoded.data() + encoded.size()));
    CHECK(decoded == req);

    req.topic_data[0].partition_data[0].records.reset();
    std::vector<std::byte> null_encoded;
    writer wn(null_encoded);
    REQUIRE(!req.encode(wn, 9));
    produce_request decoded_null;
    reader rn(null_encoded);
    REQUIRE(!decoded_null.decode(rn, 9));
    CHECK_FALSE(decoded_null.topic_data.at(0).partition_data.at(0).records.has_value());
}
