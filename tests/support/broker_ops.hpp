// Protocol-level operations on the real broker for integration tests:
// create a topic, find a partition's leader, produce one record set, fetch.
// They use kwire's own codecs and connections directly (no client layer), so
// the tests check the wire format against what the broker accepts and stores.
#pragma once

#include "support/broker_env.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/net/open_connection.hpp"
#include "kwire/proto/messages/create_topics.hpp"
#include "kwire/proto/messages/fetch.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"
#include "kwire/proto/messages/produce.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <string>

namespace kwire::test {

inline constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

struct session {
    std::shared_ptr<net::connection> conn;
    net::api_versions versions;
    std::string failure;
    explicit operator bool() const { return conn != nullptr; }

    template <class Request>
    std::int16_t version() const {
        const auto v = versions.choose(Request::api_key, {Request::min_version, Request::max_version});
        REQUIRE_MESSAGE(v.has_value(), "no common version of api " << Request::api_key);
        return *v;
    }
};

inline asio::awaitable<session> open_session(asio::any_io_executor ex, std::string host, std::string port) {
    const net::connection_options options = connection_options();
    auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options, no_throw);
    session s;
    s.failure = ready.failure;
    if (!ec) {
        s.conn = ready.conn;
        s.versions = ready.versions;
    }
    co_return s;
}

inline asio::awaitable<session> open_bootstrap(asio::any_io_executor ex) {
    const auto [host, port] = first_address(broker_env("KWIRE_BOOTSTRAP"));
    co_return co_await open_session(ex, host, port);
}

inline std::string unique_topic(const std::string& prefix) {
    return prefix + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

struct metadata_outcome {
    std::error_code ec;
    std::string failure;
    net::api_versions versions;
    std::int16_t version = -1;  // the Metadata version chosen
    proto::metadata_response metadata;
};

// Opens a connection with `options` and asks for every topic's metadata at
// the version kwire chooses.
inline metadata_outcome fetch_metadata(const std::string& host, const std::string& port,
                                       const net::connection_options& options = connection_options()) {
    return run_async<metadata_outcome>([&](asio::any_io_executor ex) -> asio::awaitable<metadata_outcome> {
        metadata_outcome out;
        auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options, no_throw);
        out.ec = ec;
        out.failure = ready.failure;
        if (ec) co_return out;
        out.versions = ready.versions;
        using request_t = proto::metadata_request;
        const auto v = ready.versions.choose(request_t::api_key, {request_t::min_version, request_t::max_version});
        if (!v) co_return out;
        out.version = *v;
        const auto req = proto::make_metadata_request(std::nullopt, *v);  // every topic
        auto [mec, resp] = co_await ready.conn->async_send(req, *v, no_throw);
        out.ec = mec;
        out.metadata = std::move(resp);
        ready.conn->close();
        co_return out;
    });
}

struct topic_handle {
    std::string name;
    proto::uuid id;
    std::int16_t error_code = -1;
};

inline asio::awaitable<topic_handle> create_topic(session& s, std::string name, int partitions, int replication) {
    using request_t = proto::create_topics_request;
    request_t req;
    request_t::creatable_topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = static_cast<std::int16_t>(replication);
    req.topics.push_back(t);
    req.timeout_ms = 30000;
    auto [ec, resp] = co_await s.conn->async_send(req, s.version<request_t>(), no_throw);
    topic_handle out;
    out.name = name;
    if (!ec && resp.topics.size() == 1) {
        out.error_code = resp.topics[0].error_code;
        out.id = resp.topics[0].topic_id;
    }
    co_return out;
}

// The leader's address of one partition, asked until the broker knows it
// (metadata trails topic creation briefly).
inline asio::awaitable<std::pair<std::string, std::string>> leader_of(session& s, topic_handle& topic, int partition) {
    using request_t = proto::metadata_request;
    asio::steady_timer pause(s.conn->get_executor());
    for (int attempt = 0; attempt < 100; ++attempt) {
        const request_t req = proto::make_metadata_request(std::vector<std::string>{topic.name}, s.version<request_t>());
        auto [ec, resp] = co_await s.conn->async_send(req, s.version<request_t>(), no_throw);
        REQUIRE_MESSAGE(!ec, s.conn->failure());
        for (const auto& t : resp.topics) {
            if (t.name != topic.name || t.error_code != 0) continue;
            if (topic.id.is_zero()) topic.id = t.topic_id;
            for (const auto& p : t.partitions) {
                if (p.partition_index != partition || p.leader_id < 0) continue;
                for (const auto& b : resp.brokers)
                    if (b.node_id == p.leader_id) co_return std::pair{b.host, std::to_string(b.port)};
            }
        }
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(no_throw);
    }
    FAIL("no leader for " << topic.name << "/" << partition);
    co_return std::pair<std::string, std::string>{};
}

struct produce_outcome {
    std::error_code ec;
    std::int16_t error_code = -1;
    std::int64_t base_offset = -1;
    std::string error_message;
};

inline asio::awaitable<produce_outcome> produce(session& s, const topic_handle& topic, int partition,
                                                proto::record_set records, std::int16_t acks = -1) {
    using request_t = proto::produce_request;
    request_t req;
    req.acks = acks;
    req.timeout_ms = 30000;
    request_t::topic_produce_data t;
    t.name = topic.name;
    t.topic_id = topic.id;
    request_t::partition_produce_data p;
    p.index = partition;
    p.records = std::move(records);
    t.partition_data.push_back(std::move(p));
    req.topic_data.push_back(std::move(t));
    const std::int16_t v = s.version<request_t>();
    if (v < 13) req.topic_data[0].topic_id = {};
    auto [ec, resp] = co_await s.conn->async_send(req, v, no_throw);
    produce_outcome out;
    out.ec = ec;
    if (!ec && resp.responses.size() == 1 && resp.responses[0].partition_responses.size() == 1) {
        const auto& pr = resp.responses[0].partition_responses[0];
        out.error_code = pr.error_code;
        out.base_offset = pr.base_offset;
        out.error_message = pr.error_message.value_or("");
    }
    co_return out;
}

struct fetch_outcome {
    std::error_code ec;
    std::int16_t error_code = -1;
    std::int64_t high_watermark = -1;
    std::vector<std::byte> records;
};

// Fetches from `offset` until at least `min_records_bytes` arrive or the
// broker's wait ends.
inline asio::awaitable<fetch_outcome> fetch(session& s, const topic_handle& topic, int partition, std::int64_t offset,
                                            std::int32_t max_bytes = 4 * 1024 * 1024) {
    using request_t = proto::fetch_request;
    request_t req;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = max_bytes;
    request_t::fetch_topic t;
    const std::int16_t v = s.version<request_t>();
    if (v >= 13) t.topic_id = topic.id;
    else t.topic = topic.name;
    request_t::fetch_partition p;
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = max_bytes;
    t.partitions.push_back(p);
    req.topics.push_back(t);
    auto [ec, resp] = co_await s.conn->async_send(req, v, no_throw);
    fetch_outcome out;
    out.ec = ec;
    if (!ec && resp.responses.size() == 1 && resp.responses[0].partitions.size() == 1) {
        const auto& pd = resp.responses[0].partitions[0];
        out.error_code = pd.error_code;
        out.high_watermark = pd.high_watermark;
        if (pd.records) pd.records->for_each_segment([&](std::span<const std::byte> seg) {
            out.records.insert(out.records.end(), seg.begin(), seg.end());
        });
    }
    co_return out;
}

} // namespace kwire::test
