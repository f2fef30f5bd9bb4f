// api.version.pin=broker:X.Y: the table of what each Kafka release offers, and
// how release pins combine with the other pin forms. The expected values were
// read by hand from the request schemas in each release's kafka-clients jar.
#include "kwire/net/api_versions.hpp"
#include "kwire/proto/release_versions.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using kwire::net::api_versions;
using kwire::net::version_pins;
using kwire::proto::is_known_release;
using kwire::proto::known_releases;
using kwire::proto::release_max_version;

namespace {
constexpr std::int16_t produce = 0, fetch = 1, list_offsets = 2, metadata = 3, leader_and_isr = 4;
constexpr std::int16_t api_versions_key = 18, init_producer_id = 22, describe_cluster = 60;
constexpr std::int16_t consumer_group_heartbeat = 68, share_fetch = 78;
}

TEST_CASE("release table: the releases it covers") {
    const auto releases = known_releases();
    REQUIRE(releases.size() == 20);
    CHECK(releases.front() == "2.4");
    CHECK(releases.back() == "4.4");
    for (const char* r : {"2.4", "2.5", "2.6", "2.7", "2.8", "3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7",
                          "3.8", "3.9", "4.0", "4.1", "4.2", "4.3", "4.4"}) {
        CHECK_MESSAGE(is_known_release(r), r);
    }
    CHECK_FALSE(is_known_release("2.3"));
    CHECK_FALSE(is_known_release("2.9"));  // 2.8 was followed by 3.0
    CHECK_FALSE(is_known_release("4.5"));
    CHECK_FALSE(is_known_release("2.8.1"));  // the table is by minor release
    CHECK_FALSE(is_known_release(""));
    CHECK_FALSE(release_max_version("1.1", produce).has_value());
}

TEST_CASE("release table: newest versions as the kafka-clients jars say") {
    // Kafka 2.4: Produce 0-8, Fetch 0-11, Metadata 0-9, ListOffset(s) 0-5.
    CHECK(release_max_version("2.4", produce) == 8);
    CHECK(release_max_version("2.4", fetch) == 11);
    CHECK(release_max_version("2.4", metadata) == 9);
    CHECK(release_max_version("2.4", list_offsets) == 5);
    CHECK(release_max_version("2.4", api_versions_key) == 3);
    CHECK(release_max_version("2.4", describe_cluster) == -1);  // added in 2.8
    // Fetch 12 arrived in 2.7.
    CHECK(release_max_version("2.6", fetch) == 11);
    CHECK(release_max_version("2.7", fetch) == 12);
    // Kafka 2.8: Produce 9, Fetch 12, Metadata 11, ListOffsets 6, DescribeCluster 0.
    CHECK(release_max_version("2.8", produce) == 9);
    CHECK(release_max_version("2.8", fetch) == 12);
    CHECK(release_max_version("2.8", metadata) == 11);
    CHECK(release_max_version("2.8", list_offsets) == 6);
    CHECK(release_max_version("2.8", describe_cluster) == 0);
    CHECK(release_max_version("2.8", leader_and_isr) == 5);
    // Kafka 3.0: Fetch still 12, ListOffsets 7; 3.1: Fetch 13, Metadata 12.
    CHECK(release_max_version("3.0", fetch) == 12);
    CHECK(release_max_version("3.0", list_offsets) == 7);
    CHECK(release_max_version("3.1", fetch) == 13);
    CHECK(release_max_version("3.1", metadata) == 12);
    // Kafka 3.9: Produce 11, Fetch 17; ShareFetch exists only as an unstable
    // version 0 ("latestVersionUnstable": true), so 3.9 does not offer it.
    CHECK(release_max_version("3.9", produce) == 11);
    CHECK(release_max_version("3.9", fetch) == 17);
    CHECK(release_max_version("3.9", consumer_group_heartbeat) == 0);
    CHECK(release_max_version("3.9", share_fetch) == -1);
    CHECK(release_max_version("3.9", leader_and_isr) == 7);
    // Kafka 4.0 dropped old versions (Produce 3-12, Fetch 4-17) but not the
    // newest ones; LeaderAndIsr became "none"; ShareFetch still unstable.
    // Kafka 4.1: Produce 13, Fetch 18, ShareFetch "1" (stable).
    CHECK(release_max_version("4.0", produce) == 12);
    CHECK(release_max_version("4.0", fetch) == 17);
    CHECK(release_max_version("4.0", metadata) == 13);
    CHECK(release_max_version("4.0", leader_and_isr) == -1);
    CHECK(release_max_version("4.0", share_fetch) == -1);
    CHECK(release_max_version("4.0", init_producer_id) == 5);
    CHECK(release_max_version("4.1", produce) == 13);
    CHECK(release_max_version("4.1", fetch) == 18);
    CHECK(release_max_version("4.1", share_fetch) == 1);
    CHECK(release_max_version("4.1", init_producer_id) == 5);  // 0-6, 6 unstable
    CHECK(release_max_version("4.3", api_versions_key) == 4);
    // Kafka 4.4: Produce 3-13, Fetch 4-18, Metadata 13, ApiVersions 5;
    // LeaderAndIsr is "none" (removed with ZooKeeper); InitProducerId 0-6
    // with 6 unstable.
    CHECK(release_max_version("4.4", produce) == 13);
    CHECK(release_max_version("4.4", fetch) == 18);
    CHECK(release_max_version("4.4", metadata) == 13);
    CHECK(release_max_version("4.4", api_versions_key) == 5);
    CHECK(release_max_version("4.4", leader_and_isr) == -1);
    CHECK(release_max_version("4.4", init_producer_id) == 5);
    CHECK(release_max_version("4.4", 999) == -1);
}

TEST_CASE("release table: versions never go down from one release to the next, for APIs kept") {
    const auto releases = known_releases();
    for (std::size_t i = 1; i < releases.size(); ++i) {
        for (std::int16_t key = 0; key < 100; ++key) {
            const auto before = *release_max_version(releases[i - 1], key);
            const auto after = *release_max_version(releases[i], key);
            if (after < 0) continue;  // removed (or never offered)
            CHECK_MESSAGE(after >= before, "api " << key << " from " << releases[i - 1] << " to " << releases[i]);
        }
    }
}

TEST_CASE("version pin broker:X.Y caps every API at that release") {
    const auto pins = version_pins::parse("broker:2.8");
    CHECK_FALSE(pins.empty());
    CHECK_FALSE(pins.lowest);
    CHECK(pins.max_by_api.at(produce) == 9);
    CHECK(pins.max_by_api.at(fetch) == 12);
    CHECK(pins.max_by_api.at(metadata) == 11);
    // APIs 2.8 lacks are capped below any version, so they are never chosen.
    CHECK(pins.max_by_api.at(consumer_group_heartbeat) == -1);

    // The patch does not matter; spaces around the item neither.
    CHECK(version_pins::parse("broker:2.8.1").max_by_api == pins.max_by_api);
    CHECK(version_pins::parse(" broker:2.8.0 ").max_by_api == pins.max_by_api);
    CHECK(version_pins::parse("broker:3.9").max_by_api.at(fetch) == 17);
}

TEST_CASE("version pin broker:X.Y combines with the other forms — the lowest cap wins") {
    const auto a = version_pins::parse("broker:3.0,Produce=7");
    CHECK(a.max_by_api.at(produce) == 7);
    CHECK(a.max_by_api.at(fetch) == 12);
    const auto b = version_pins::parse("Produce=11, broker:2.8");
    CHECK(b.max_by_api.at(produce) == 9);
    const auto c = version_pins::parse("broker:4.4,broker:2.4");
    CHECK(c.max_by_api.at(produce) == 8);
    CHECK(c.max_by_api.at(fetch) == 11);
    CHECK(c.max_by_api.at(describe_cluster) == -1);
    const auto d = version_pins::parse("broker:2.8,lowest");
    CHECK(d.lowest);
    CHECK(d.max_by_api.at(produce) == 9);
    CHECK(version_pins::parse("Produce=5,Produce=7").max_by_api.at(produce) == 5);
}

TEST_CASE("version pin broker:X.Y: unknown or malformed releases are errors naming the known range") {
    for (const char* text : {"broker:5.0", "broker:2.9", "broker:1.1", "broker:0.10.2", "broker:2", "broker:",
                             "broker:2.x", "broker:2.8.", "broker:-2.8", "broker:2.8.1.4", "broker:99999999999.0"}) {
        try {
            (void)version_pins::parse(text);
            FAIL("accepted " << text);
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK_MESSAGE(what.find("2.4 to 4.4") != std::string::npos, text << ": " << what);
        }
    }
    try {
        (void)version_pins::parse("broker:2.1");
        FAIL("accepted broker:2.1");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK(what.find("before 2.4") != std::string::npos);
        CHECK(what.find("broker:2.1") != std::string::npos);
    }
}

TEST_CASE("choose() with broker:2.8 against a newer broker") {
    api_versions v;
    v.set(produce, {0, 13});
    v.set(fetch, {4, 18});
    v.set(consumer_group_heartbeat, {0, 1});
    v.pin(version_pins::parse("broker:2.8"));
    CHECK(v.choose(produce, {0, 13}) == 9);
    CHECK(v.choose(fetch, {4, 18}) == 12);
    CHECK_FALSE(v.choose(consumer_group_heartbeat, {0, 1}).has_value());  // 2.8 did not offer it
    v.pin(version_pins::parse("broker:2.8,Produce=7"));
    CHECK(v.choose(produce, {0, 13}) == 7);
    v.pin(version_pins::parse("broker:2.8,lowest"));
    CHECK(v.choose(produce, {3, 13}) == 3);
}
