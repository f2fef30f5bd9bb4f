// Helpers for consumer tests against the real broker:
// - a consumer configuration pointing at the test broker (the run's API
//   version pin, short fetch waits and group timeouts);
// - records produced with kwire::producer at explicit partitions, every
//   delivery checked;
// - what a consumer returned, copied into owned strings (consumed_record), so
//   it can be compared field by field with what the broker stored
//   (read_topic in producer_ops.hpp);
// - poll loops bounded in time, that collect records until a count arrives.
#pragma once

#include "support/producer_ops.hpp"

#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kwire::test {

using header_pairs = std::vector<std::pair<std::string, std::optional<std::string>>>;

// A consumer configuration for the test broker: bootstrap.servers from
// `bootstrap_env`, the run's api.version.pin, short waits (fetch.max.wait.ms
// 100, session.timeout.ms 6000, heartbeat.interval.ms 1000), then `props`.
inline config consumer_config(std::initializer_list<std::pair<std::string, std::string>> props = {},
                              const char* bootstrap_env = "KWIRE_BOOTSTRAP") {
    config c = client_config(bootstrap_env);
    c.set("fetch.max.wait.ms", "100");
    c.set("session.timeout.ms", "6000");
    c.set("heartbeat.interval.ms", "1000");
    c.set("retry.backoff.ms", "100");
    for (const auto& [k, v] : props) c.set(k, v);
    return c;
}

inline std::string unique_group(const std::string& prefix) { return unique_topic("kwire-group-" + prefix); }

// The version of `Request` kwire and the broker agree on (under the run's pin).
template <class Request>
std::int16_t agreed_version() {
    return run_async<std::int16_t>([](asio::any_io_executor ex) -> asio::awaitable<std::int16_t> {
        auto boot = co_await open_any_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        const auto v = boot.template version<Request>();
        boot.conn->close();
        co_return v;
    });
}

// A record to produce (and to compare with what comes back).
struct test_record {
    std::int32_t partition = 0;
    std::optional<std::string> key, value;
    header_pairs headers;
    std::optional<std::int64_t> timestamp{};  // none: the time of sending
};

// Produces `records` (each at its partition) with a kwire::producer built
// from producer_config(props), requires every delivery to succeed, and
// returns the offset of each record.
inline std::vector<std::int64_t> produce_records(
    const std::string& topic, const std::vector<test_record>& records,
    std::initializer_list<std::pair<std::string, std::string>> props = {}) {
    auto log = delivery_log::make(records.size());
    {
        producer p(producer_config(props));
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto& s = records[i];
            producer_record r;
            r.topic = topic;
            r.partition = s.partition;
            if (s.key) r.key = payload(std::string_view(*s.key));
            if (s.value) r.value = payload(std::string_view(*s.value));
            for (const auto& [name, value] : s.headers)
                r.headers.push_back(header{name, value ? payload(std::string_view(*value)) : payload()});
            r.timestamp_ms = s.timestamp;
            p.send(std::move(r), log->handler(i));
        }
        REQUIRE(!p.flush(std::chrono::seconds(15)));
    }
    REQUIRE(log->wait_all(std::chrono::seconds(1)));
    std::vector<std::int64_t> offsets;
    for (const auto& d : log->snapshot()) {
        REQUIRE_MESSAGE(!d.ec, "produce failed: " << d.ec.message());
        offsets.push_back(d.offset);
    }
    return offsets;
}

// `n` records "<prefix><i>" (key "k<i>") at `partition`.
inline std::vector<test_record> numbered(const std::string& prefix, std::size_t n, std::int32_t partition = 0) {
    std::vector<test_record> out;
    for (std::size_t i = 0; i < n; ++i) {
        test_record r;
        r.partition = partition;
        r.key = "k" + std::to_string(i);
        r.value = prefix + std::to_string(i);
        out.push_back(std::move(r));
    }
    return out;
}

// A consumed record, copied out of the consumer's buffers.
struct consumed_record {
    std::string topic;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::int64_t timestamp = -1;
    proto::timestamp_type timestamp_type = proto::timestamp_type::none;
    std::optional<std::int32_t> leader_epoch;
    std::optional<std::string> key, value;
    header_pairs headers;
};

// The values of records ("<null>" for none), and "prefix<from>".."prefix<to-1>".
inline std::vector<std::string> values_of(const std::vector<consumed_record>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.value.value_or("<null>"));
    return out;
}

inline std::vector<std::string> numbered_values(const std::string& prefix, std::size_t from, std::size_t to) {
    std::vector<std::string> out;
    for (auto i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
    return out;
}

inline header_pairs headers_of(const proto::header_list& hs) {
    header_pairs out;
    for (const auto& h : hs)
        out.emplace_back(std::string(h.key), h.value ? std::optional<std::string>(as_text(*h.value)) : std::nullopt);
    return out;
}

inline consumed_record own(const consumer_record& m) {
    consumed_record c;
    c.topic = std::string(m.topic);
    c.partition = m.partition;
    c.offset = m.offset;
    c.timestamp = m.timestamp_ms;
    c.timestamp_type = m.timestamp_type;
    c.leader_epoch = m.leader_epoch;
    if (m.key) c.key = as_text(*m.key);
    if (m.value) c.value = as_text(*m.value);
    c.headers = headers_of(m.headers);
    return c;
}

// Polls (in steps of `step`) until at least `n` records came or `limit`
// passed; returns every record polled, in the order poll returned them.
inline std::vector<consumed_record> poll_records(consumer& c, std::size_t n, std::chrono::milliseconds limit,
                                                 std::chrono::milliseconds step = std::chrono::milliseconds(200)) {
    std::vector<consumed_record> out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
        const auto batch = c.poll(step);
        for (const auto& m : batch) out.push_back(own(m));
    }
    return out;
}

// Polls for `how_long` and returns whatever came.
inline std::vector<consumed_record> poll_for(consumer& c, std::chrono::milliseconds how_long) {
    std::vector<consumed_record> out;
    const auto deadline = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < deadline) {
        using std::chrono::milliseconds;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        const auto batch = c.poll(std::max(milliseconds(1), std::min(left, milliseconds(100))));
        for (const auto& m : batch) out.push_back(own(m));
    }
    return out;
}

// The records of one partition, in the order they came.
inline std::vector<consumed_record> of_partition(const std::vector<consumed_record>& all, std::int32_t partition) {
    std::vector<consumed_record> out;
    for (const auto& r : all)
        if (r.partition == partition) out.push_back(r);
    return out;
}

inline std::vector<std::int64_t> offsets_of(const std::vector<consumed_record>& rs) {
    std::vector<std::int64_t> out;
    for (const auto& r : rs) out.push_back(r.offset);
    return out;
}

// [from, to)
inline std::vector<std::int64_t> offset_range(std::int64_t from, std::int64_t to) {
    std::vector<std::int64_t> out;
    for (auto o = from; o < to; ++o) out.push_back(o);
    return out;
}

// Checks that `got` (one partition's consumed records) is exactly `stored`
// from its record at offset `from` on: same offsets in the same order, keys,
// values, headers and timestamps.
inline void check_matches_stored(const std::vector<consumed_record>& got, const stored_partition& stored,
                                 std::int64_t from = 0) {
    std::vector<const stored_record*> want;
    for (const auto& s : stored.records)
        if (s.offset >= from) want.push_back(&s);
    CHECK_MESSAGE(got.size() == want.size(),
                  "partition " << stored.partition << ": consumed " << got.size() << " records, the broker stores "
                               << want.size() << " from offset " << from);
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        const auto& g = got[i];
        const auto& s = *want[i];
        CAPTURE(stored.partition);
        CAPTURE(i);
        CHECK(g.partition == stored.partition);
        CHECK(g.offset == s.offset);
        CHECK(g.timestamp == s.timestamp);
        CHECK(g.key == s.key);
        CHECK(g.value == s.value);
        CHECK(g.headers == s.headers);
    }
}

} // namespace kwire::test
