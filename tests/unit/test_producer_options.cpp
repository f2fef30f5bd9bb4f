// producer_options from string properties: the names users know, their
// aliases, and the contradictions the Java client also refuses.
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <string>

using kwire::config;
using kwire::config_error;
using kwire::producer_options;

namespace {

config base() {
    config c;
    c.set("bootstrap.servers", "localhost:9092");
    return c;
}

std::string error_of(const config& c) {
    try {
        (void)producer_options::from_config(c);
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST_CASE("producer options: defaults are the Java client's") {
    const auto o = producer_options::from_config(base());
    CHECK(o.acks == -1);
    CHECK(o.idempotence);
    CHECK(o.max_in_flight == 5);
    CHECK(o.batch_size == 16384);
    CHECK(o.buffer_memory == 32u * 1024 * 1024);
    CHECK(o.delivery_timeout.count() == 120000);
    CHECK(o.max_request_size == 1024u * 1024);
    CHECK(o.compression == kwire::proto::compression_codec::none);
    CHECK(o.partitioner == "murmur2_random");
    REQUIRE(o.bootstrap.size() == 1);
    CHECK(o.bootstrap[0].second == "9092");
}

TEST_CASE("producer options: Java, librdkafka and kafka-python spellings") {
    config c = base();
    c.set("acks", "1").set("linger_ms", "20").set("queue.buffering.max.ms", "25").set("compression.codec", "gzip");
    c.set("max.in.flight", "3").set("message.timeout.ms", "45000").set("batch_size", "1000");
    const auto o = producer_options::from_config(c);
    CHECK(o.acks == 1);
    CHECK(o.linger.count() == 25);  // the last spelling set wins: both name linger.ms
    CHECK(o.compression == kwire::proto::compression_codec::gzip);
    CHECK(o.max_in_flight == 3);
    CHECK(o.delivery_timeout.count() == 45000);
    CHECK(o.batch_size == 1000);
    // acks=1 turns the default idempotence off quietly, as in Java.
    CHECK_FALSE(o.idempotence);
    c.set("acks", "all");
    CHECK(producer_options::from_config(c).acks == -1);
    c.set("acks", "-1");
    CHECK(producer_options::from_config(c).acks == -1);
}

TEST_CASE("producer options: malformed values and contradictions name the key") {
    config c = base();
    CHECK_THROWS_WITH_AS(c.set("acks", "2"), doctest::Contains("acks"), config_error);
    CHECK_THROWS_WITH_AS(c.set("compression.type", "brotli"), doctest::Contains("compression.type"), config_error);
    CHECK_THROWS_WITH_AS(c.set("linger.ms", "-5"), doctest::Contains("linger.ms"), config_error);
    CHECK_THROWS_WITH_AS(c.set("enable.idempotence", "maybe"), doctest::Contains("enable.idempotence"), config_error);
    CHECK_THROWS_WITH_AS(c.set("partitioner", "crc"), doctest::Contains("partitioner"), config_error);
    CHECK_THROWS_WITH_AS(c.set("batch.sise", "5"), doctest::Contains("did you mean 'batch.size'"), config_error);

    config explicit_idempotence = base();
    explicit_idempotence.set("enable.idempotence", "true").set("acks", "1");
    CHECK(error_of(explicit_idempotence).find("enable.idempotence=true needs acks=all") != std::string::npos);
    explicit_idempotence.set("acks", "all").set("max.in.flight.requests.per.connection", "6");
    CHECK(error_of(explicit_idempotence).find("max.in.flight") != std::string::npos);
    explicit_idempotence.set("max.in.flight.requests.per.connection", "5").set("retries", "0");
    CHECK(error_of(explicit_idempotence).find("retries") != std::string::npos);

    config zero_in_flight = base();
    zero_in_flight.set("max.in.flight.requests.per.connection", "0");
    CHECK(error_of(zero_in_flight).find("max.in.flight.requests.per.connection") != std::string::npos);
}

TEST_CASE("producer options: a codec missing from this build is refused at configuration") {
    for (auto codec : {kwire::proto::compression_codec::snappy, kwire::proto::compression_codec::lz4,
                       kwire::proto::compression_codec::zstd}) {
        config c = base();
        c.set("compression.type", std::string(kwire::proto::codec_name(codec)));
        if (kwire::proto::codec_available(codec)) CHECK(producer_options::from_config(c).compression == codec);
        else CHECK(error_of(c).find("not available") != std::string::npos);
    }
}
