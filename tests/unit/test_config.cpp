#include "kwire/config.hpp"
#include "kwire/net/api_versions.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

using kwire::config;
using kwire::config_error;

TEST_CASE("config: known keys, kafka-python aliases, defaults") {
    config c;
    c.set("bootstrap.servers", "a:1, b:2 ,[::1]:3,c");
    c.set("client_id", "app");
    CHECK(c.get_or_default("client.id") == "app");
    CHECK(c.get_ms("request.timeout.ms").count() == 30000);
    const auto servers = c.bootstrap_servers();
    REQUIRE(servers.size() == 4);
    CHECK(servers[0] == std::pair<std::string, std::string>{"a", "1"});
    CHECK(servers[1] == std::pair<std::string, std::string>{"b", "2"});
    CHECK(servers[2] == std::pair<std::string, std::string>{"::1", "3"});
    CHECK(servers[3] == std::pair<std::string, std::string>{"c", "9092"});
}

TEST_CASE("config: unknown keys and bad values are errors naming the key") {
    config c;
    try {
        c.set("request.timeout.msec", "5");
        FAIL("accepted an unknown key");
    } catch (const config_error& e) {
        const std::string what = e.what();
        CHECK(what.find("'request.timeout.msec'") != std::string::npos);
        CHECK(what.find("did you mean 'request.timeout.ms'") != std::string::npos);
    }
    CHECK_THROWS_AS(c.set("request.timeout.ms", "soon"), config_error);
    CHECK(c.get_ms("request.timeout.ms").count() == 30000);  // the bad value did not stick
    CHECK_THROWS_AS(c.set("api.version.pin", "Produce=x"), config_error);
    CHECK_THROWS_AS(c.set("api.version.pin", "NoSuchApi=3"), config_error);
    c.set("bootstrap.servers", "host:port");
    CHECK_THROWS_AS(c.bootstrap_servers(), config_error);
}

TEST_CASE("config: properties file with comments, errors carry file and line") {
    const std::string path = "kwire-test-config.properties";
    {
        std::ofstream f(path);
        f << "# comment\n! also a comment\n\nbootstrap.servers = h:1\nclient.id: me\n";
    }
    config c;
    c.load_file(path);
    CHECK(c.get_or_default("bootstrap.servers") == "h:1");
    CHECK(c.get_or_default("client.id") == "me");
    {
        std::ofstream f(path);
        f << "client.id=x\nnot.a.key=1\n";
    }
    try {
        config d;
        d.load_file(path);
        FAIL("accepted an unknown key in a file");
    } catch (const config_error& e) {
        CHECK(std::string(e.what()).find(path + ":2:") != std::string::npos);
    }
    std::remove(path.c_str());
}

TEST_CASE("version pins cap the chosen version — lowest picks the oldest common one") {
    using namespace kwire::net;
    api_versions v;
    v.set(0, {0, 11});  // Produce
    v.set(3, {0, 13});  // Metadata
    CHECK(v.choose(0, {3, 13}) == 11);
    CHECK(v.choose(3, {0, 12}) == 12);
    CHECK_FALSE(v.choose(1, {4, 17}).has_value());  // broker lacks Fetch
    CHECK_FALSE(v.choose(0, {12, 13}).has_value());  // no overlap

    v.pin(version_pins::parse("Produce=7, Metadata=4"));
    CHECK(v.choose(0, {3, 13}) == 7);
    CHECK(v.choose(3, {0, 12}) == 4);
    v.pin(version_pins::parse("Produce=2"));
    CHECK_FALSE(v.choose(0, {3, 13}).has_value());  // pinned below what kwire speaks

    v.pin(version_pins::parse("lowest"));
    CHECK(v.choose(0, {3, 13}) == 3);
    CHECK(v.choose(3, {1, 12}) == 1);
}
