// Golden bytes: request and response frames captured between Kafka's own Java
// clients and a real Kafka broker (tools/capture/capture-golden; see
// tests/golden/<kafka-version>/README.md). Every captured frame must decode
// with kwire's codec at the captured version, with no byte left over, and
// re-encode to exactly the captured bytes: the requests prove that kwire
// encodes like the Java client, the responses that it reads what brokers send.
#include "support/message_types.hpp"

#include "kwire/proto/messages.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#ifndef KWIRE_GOLDEN_DIR
#error "KWIRE_GOLDEN_DIR must name the tests/golden directory"
#endif

using namespace kwire;
namespace fs = std::filesystem;

namespace {

struct golden_frame {
    fs::path path;
    std::string kafka_version;  // directory name
    std::string api_name;       // from the file name
    std::int16_t version = -1;
    bool request = true;
    std::vector<std::byte> bytes;
};

std::vector<std::byte> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open " << p);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::transform(chars.begin(), chars.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::vector<golden_frame> all_frames() {
    static const std::regex name_re(R"(([A-Za-z]+)-v(\d+)-(request|response)\.bin)");
    std::vector<golden_frame> frames;
    const fs::path root(KWIRE_GOLDEN_DIR);
    if (!fs::is_directory(root)) return frames;
    for (const auto& dir : fs::directory_iterator(root)) {
        if (!dir.is_directory()) continue;
        for (const auto& f : fs::directory_iterator(dir.path())) {
            std::smatch m;
            const std::string name = f.path().filename().string();
            if (!std::regex_match(name, m, name_re)) continue;
            golden_frame g;
            g.path = f.path();
            g.kafka_version = dir.path().filename().string();
            g.api_name = m[1];
            g.version = static_cast<std::int16_t>(std::stoi(m[2]));
            g.request = m[3] == "request";
            g.bytes = read_file(f.path());
            frames.push_back(std::move(g));
        }
    }
    std::sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return frames;
}

std::map<std::string, std::string> read_properties(const fs::path& p) {
    std::map<std::string, std::string> out;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
}

std::optional<std::int16_t> api_key_of(std::string_view name) {
    for (const auto& api : proto::all_apis())
        if (api.name == name) return api.key;
    return std::nullopt;
}

bool contains_text(const proto::record_set& records, std::string_view needle) {
    std::string all;
    records.for_each_segment([&](std::span<const std::byte> s) { all.append(reinterpret_cast<const char*>(s.data()), s.size()); });
    return all.find(needle) != std::string::npos;
}

// Decodes one frame (header + body) with kwire's codecs, checks that nothing
// is left over and that re-encoding gives the same bytes; returns the message.
template <class Header, class Body>
Body round_trip(const golden_frame& g, std::int16_t header_version, Header& header) {
    INFO(g.path.string());
    proto::reader r(g.bytes);
    const std::error_code hec = header.decode(r, header_version);
    REQUIRE_MESSAGE(!hec, "header v" << header_version << ": " << hec.message());
    const std::size_t header_size = g.bytes.size() - r.remaining();
    Body body;
    const std::error_code bec = body.decode(r, g.version);
    REQUIRE_MESSAGE(!bec, "body v" << g.version << ": " << bec.message());
    CHECK_MESSAGE(r.remaining() == 0, r.remaining() << " byte(s) left over after the body");
    CHECK(header.encoded_size(header_version) == header_size);
    CHECK(body.encoded_size(g.version) == g.bytes.size() - header_size);

    std::vector<std::byte> out;
    proto::writer w(out);
    REQUIRE(!header.encode(w, header_version));
    REQUIRE(!body.encode(w, g.version));
    REQUIRE(w.ok());
    if (out != g.bytes) {
        std::size_t i = 0;
        while (i < out.size() && i < g.bytes.size() && out[i] == g.bytes[i]) ++i;
        FAIL_CHECK("re-encoded bytes differ from the capture at offset "
                   << i << " (captured " << g.bytes.size() << " bytes, re-encoded " << out.size() << ")");
    }

    // Decoding the re-encoded bytes gives the same message.
    proto::reader again(out);
    Header header2;
    Body body2;
    REQUIRE(!header2.decode(again, header_version));
    REQUIRE(!body2.decode(again, g.version));
    CHECK(body2 == body);
    return body;
}

// What the frames of one capture told us, checked against capture.properties.
struct capture_facts {
    std::set<std::string> cluster_ids;      // from Metadata responses
    std::set<std::string> metadata_topics;  // topic names in Metadata responses
    std::vector<proto::uuid> topic_ids;     // ids of the capture topic in Metadata responses
    std::set<std::string> produced_topics;  // names in Produce requests (< v13)
    std::vector<proto::uuid> produced_ids;  // ids in Produce requests (v13+)
    bool fetched_records = false;           // a Fetch response carried the produced records
    std::set<std::string> groups;           // group ids in JoinGroup / FindCoordinator requests
    std::set<std::int16_t> api_versions_keys;
    std::set<std::string> sasl_mechanisms;
    std::set<std::string> created_topics;
};

template <class Request>
void check_request(const golden_frame& g, capture_facts& facts) {
    proto::request_header header;
    const std::int16_t hv = proto::request_header_version(Request::api_key, g.version);
    REQUIRE(hv >= 1);
    const Request req = round_trip<proto::request_header, Request>(g, hv, header);
    CHECK(header.request_api_key == Request::api_key);
    CHECK(header.request_api_version == g.version);

    if constexpr (std::is_same_v<Request, proto::produce_request>) {
        for (const auto& t : req.topic_data) {
            if (g.version < 13) facts.produced_topics.insert(t.name);
            else facts.produced_ids.push_back(t.topic_id);
            for (const auto& p : t.partition_data)
                if (p.records) CHECK_MESSAGE(contains_text(*p.records, "golden-"), "Produce records lack the values");
        }
    } else if constexpr (std::is_same_v<Request, proto::join_group_request>) {
        facts.groups.insert(req.group_id);
        CHECK(req.protocol_type == "consumer");
    } else if constexpr (std::is_same_v<Request, proto::find_coordinator_request>) {
        if (g.version < 4) facts.groups.insert(req.key);
        for (const auto& k : req.coordinator_keys) facts.groups.insert(k);
    } else if constexpr (std::is_same_v<Request, proto::sasl_handshake_request>) {
        CHECK(req.mechanism == "PLAIN");
    } else if constexpr (std::is_same_v<Request, proto::create_topics_request>) {
        for (const auto& t : req.topics) facts.created_topics.insert(t.name);
    }
}

template <class Response>
void check_response(const golden_frame& g, capture_facts& facts) {
    proto::response_header header;
    const std::int16_t hv = proto::response_header_version(Response::api_key, g.version);
    REQUIRE(hv >= 0);
    const Response resp = round_trip<proto::response_header, Response>(g, hv, header);

    // The request it answers has the same correlation id.
    auto req_path = g.path;
    req_path.replace_filename(g.api_name + "-v" + std::to_string(g.version) + "-request.bin");
    if (fs::exists(req_path)) {
        const auto req_bytes = read_file(req_path);
        proto::reader r(req_bytes);
        proto::request_header rh;
        REQUIRE(!rh.decode(r, proto::request_header_version(Response::api_key, g.version)));
        CHECK(rh.correlation_id == header.correlation_id);
    }

    if constexpr (std::is_same_v<Response, proto::api_versions_response>) {
        CHECK(resp.error_code == 0);
        for (const auto& k : resp.api_keys) {
            facts.api_versions_keys.insert(k.api_key);
            CHECK(k.min_version <= k.max_version);
        }
    } else if constexpr (std::is_same_v<Response, proto::metadata_response>) {
        if (resp.cluster_id) facts.cluster_ids.insert(*resp.cluster_id);
        CHECK(resp.brokers.size() == 1);
        for (const auto& t : resp.topics) {
            if (!t.name) continue;
            facts.metadata_topics.insert(*t.name);
            if (g.version >= 10) facts.topic_ids.push_back(t.topic_id);
        }
    } else if constexpr (std::is_same_v<Response, proto::fetch_response>) {
        for (const auto& t : resp.responses)
            for (const auto& p : t.partitions)
                if (p.records && contains_text(*p.records, "golden-1")) facts.fetched_records = true;
    } else if constexpr (std::is_same_v<Response, proto::sasl_handshake_response>) {
        CHECK(resp.error_code == 0);
        for (const auto& m : resp.mechanisms) facts.sasl_mechanisms.insert(m);
    } else if constexpr (std::is_same_v<Response, proto::produce_response>) {
        for (const auto& t : resp.responses)
            for (const auto& p : t.partition_responses) CHECK(p.error_code == 0);
    }
}

} // namespace

TEST_CASE("golden frames from real Kafka decode and re-encode byte for byte") {
    const auto frames = all_frames();
    // No vacuous pass: a checkout without captures is a failure.
    REQUIRE_MESSAGE(frames.size() >= 20, "too few golden captures under " << KWIRE_GOLDEN_DIR);

    std::map<std::string, capture_facts> facts;  // by Kafka version
    std::map<std::string, std::set<std::string>> apis_seen;
    int checked = 0;
    for (const auto& g : frames) {
        CAPTURE(g.path.string());
        const auto key = api_key_of(g.api_name);
        REQUIRE_MESSAGE(key.has_value(), "unknown API name " << g.api_name);
        bool known = false;
        test::visit_request_type(*key, [&]<class Request>(std::type_identity<Request>) {
            known = true;
            REQUIRE_MESSAGE(g.version >= Request::min_version, "version below kwire's range");
            REQUIRE_MESSAGE(g.version <= Request::max_version, "version above kwire's range");
            if (g.request) check_request<Request>(g, facts[g.kafka_version]);
            else check_response<typename Request::response_type>(g, facts[g.kafka_version]);
        });
        REQUIRE_MESSAGE(known, "kwire has no codec for captured API " << g.api_name);
        apis_seen[g.kafka_version].insert(g.api_name);
        ++checked;
    }
    MESSAGE(checked << " golden frames checked");

    for (const auto& [kafka_version, f] : facts) {
        CAPTURE(kafka_version);
        const auto props = read_properties(fs::path(KWIRE_GOLDEN_DIR) / kafka_version / "capture.properties");
        REQUIRE_MESSAGE(props.count("cluster_id"), "capture.properties missing for " << kafka_version);
        CHECK(props.at("kafka_version") == kafka_version);
        const std::string topic = props.at("topic");

        // The bootstrap exchange and the produce/consume path are always there.
        for (const char* api : {"ApiVersions", "Metadata", "Produce", "Fetch", "FindCoordinator", "JoinGroup",
                                "SyncGroup", "OffsetCommit", "OffsetFetch", "ListOffsets", "CreateTopics"})
            CHECK_MESSAGE(apis_seen[kafka_version].count(api), api << " not captured");

        CHECK(f.api_versions_keys.count(0) == 1);   // Produce
        CHECK(f.api_versions_keys.count(3) == 1);   // Metadata
        CHECK(f.api_versions_keys.count(18) == 1);  // ApiVersions
        CHECK(f.cluster_ids == std::set<std::string>{props.at("cluster_id")});
        CHECK(f.metadata_topics.count(topic) == 1);
        CHECK(f.created_topics.count(topic) == 1);
        CHECK(f.groups.count(props.at("group")) == 1);
        CHECK(f.fetched_records);
        // Produce names the topic (v3-12) or carries its id from Metadata (v13+).
        CHECK(f.produced_topics.size() + f.produced_ids.size() >= 1);
        for (const auto& name : f.produced_topics) CHECK(name == topic);
        for (const auto& id : f.produced_ids) {
            CHECK(!id.is_zero());
            CHECK(std::find(f.topic_ids.begin(), f.topic_ids.end(), id) != f.topic_ids.end());
        }
        if (apis_seen[kafka_version].count("SaslHandshake")) CHECK(f.sasl_mechanisms.count("PLAIN") == 1);
    }
}

TEST_CASE("a truncated golden frame fails to decode instead of reading past the end") {
    const auto frames = all_frames();
    REQUIRE(!frames.empty());
    for (const auto& g : frames) {
        const auto key = api_key_of(g.api_name);
        REQUIRE(key.has_value());
        test::visit_request_type(*key, [&]<class Request>(std::type_identity<Request>) {
            // A message's fields are fixed by its version, so every proper
            // prefix of a frame must fail (cuts sampled to keep this quick).
            const std::size_t step = std::max<std::size_t>(1, g.bytes.size() / 64);
            for (std::size_t cut = 0; cut < g.bytes.size(); cut += step) {
                proto::reader r(std::span(g.bytes.data(), cut));
                std::error_code ec;
                if (g.request) {
                    proto::request_header h;
                    ec = h.decode(r, proto::request_header_version(*key, g.version));
                    Request m;
                    if (!ec) ec = m.decode(r, g.version);
                } else {
                    proto::response_header h;
                    ec = h.decode(r, proto::response_header_version(*key, g.version));
                    typename Request::response_type m;
                    if (!ec) ec = m.decode(r, g.version);
                }
                CHECK_MESSAGE(ec, g.path.filename().string() << " cut at " << cut << " decoded without error");
            }
        });
    }
}
