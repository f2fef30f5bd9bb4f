// KIP-227 fetch sessions (client/src/fetch_session) against the real broker,
// on one connection: the first (full) request opens a session, later
// requests list only the partitions that changed and the broker answers with
// exactly the new records; a forgotten partition's data stops; a wrong epoch
// is refused and the session recovers with a full request; closing the
// session makes the broker forget it; and the lowest Fetch version the broker
// allows (no sessions) fetches too.
#include "../../client/src/fetch_session.hpp"

#include "support/broker_ops.hpp"
#include "support/run_async.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/record_batch_builder.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace kwire;
using test::no_throw;

namespace {

using partition_records = std::map<std::int32_t, std::vector<std::pair<std::int64_t, std::string>>>;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

int broker_count() { return std::stoi(test::broker_env("KWIRE_BROKER_COUNT")); }

// Produces `values` to one partition as one batch; the broker must accept
// them (after a retriable refusal such as NOT_LEADER_OR_FOLLOWER, while a new
// topic's partitions are still becoming leaders, it is asked again).
asio::awaitable<void> produce_values(test::session& s, const test::topic_handle& topic, std::int32_t partition,
                                     const std::vector<std::string>& values) {
    proto::record_batch_builder builder;
    REQUIRE(!builder.reset());
    for (const auto& v : values) REQUIRE(builder.append(0, bytes_of("k"), bytes_of(v)));
    const std::vector<std::byte> batch = builder.seal().to_vector();
    asio::steady_timer pause(s.conn->get_executor());
    for (int attempt = 0;; ++attempt) {
        proto::record_set records(batch);
        auto produced = co_await test::produce(s, topic, partition, std::move(records));
        REQUIRE_MESSAGE(!produced.ec, s.conn->failure());
        if (produced.error_code != 0 && attempt < 100 && proto::is_retriable(proto::kafka_error(produced.error_code))) {
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(no_throw);
            continue;
        }
        REQUIRE_MESSAGE(produced.error_code == 0, proto::kafka_error(produced.error_code).message());
        co_return;
    }
}

fetch_settings quick_settings() {
    fetch_settings s;
    s.max_wait_ms = 300;  // rounds without new records end after this
    s.min_bytes = 1;
    s.max_bytes = 4 * 1024 * 1024;
    return s;
}

struct round_result {
    proto::fetch_request request;           // as sent
    std::error_code session_error;          // from on_response
    std::int32_t response_session_id = -1;
    std::set<std::int32_t> in_response;     // partitions the response lists
    partition_records records;              // at or after each partition's fetch offset
};

// One request built by `fs` for `wanted` (its epoch moved by `epoch_shift`,
// to break it on purpose), sent on `s`, answered into `fs`; then the
// positions in `wanted` advance past the records that arrived.
asio::awaitable<round_result> fetch_round(test::session& s, fetch_session& fs, std::vector<fetch_position>& wanted,
                                          std::int16_t version, const test::topic_handle& topic,
                                          std::int32_t epoch_shift = 0) {
    round_result out;
    out.request = fs.build(wanted, version, quick_settings());
    out.request.session_epoch += epoch_shift;
    auto [ec, resp] = co_await s.conn->async_send(out.request, version, no_throw);
    if (ec) fs.reset();
    REQUIRE_MESSAGE(!ec, s.conn->failure());
    out.session_error = fs.on_response(resp, version);
    out.response_session_id = resp.session_id;
    for (const auto& t : resp.responses) {
        if (version >= 13) REQUIRE(t.topic_id == topic.id);
        else REQUIRE(t.topic == topic.name);
        for (const auto& pd : t.partitions) {
            out.in_response.insert(pd.partition_index);
            REQUIRE_MESSAGE(pd.error_code == 0, proto::kafka_error(pd.error_code).message());
            if (!pd.records) continue;
            std::vector<std::byte> bytes;
            pd.records->for_each_segment([&](proto::bytes_view seg) { bytes.insert(bytes.end(), seg.begin(), seg.end()); });
            const auto pos = std::find_if(wanted.begin(), wanted.end(),
                                          [&](const fetch_position& p) { return p.partition == pd.partition_index; });
            REQUIRE(pos != wanted.end());
            proto::record_batch_reader reader;
            reader.reset(bytes);
            while (reader.next_batch()) {
                proto::record r;
                while (reader.next_record(r)) {
                    if (r.offset < pos->fetch_offset) continue;  // a batch can start before the position
                    const std::string value = r.value ? std::string(reinterpret_cast<const char*>(r.value->data()),
                                                                    r.value->size())
                                                      : std::string();
                    out.records[pd.partition_index].emplace_back(r.offset, value);
                }
            }
            REQUIRE_MESSAGE(!reader.error(), reader.error().message());
        }
    }
    for (auto& p : wanted)
        if (auto it = out.records.find(p.partition); it != out.records.end() && !it->second.empty())
            p.fetch_offset = it->second.back().first + 1;
    co_return out;
}

std::set<std::int32_t> listed(const proto::fetch_request& req) {
    std::set<std::int32_t> out;
    for (const auto& t : req.topics)
        for (const auto& p : t.partitions) out.insert(p.partition);
    return out;
}

std::set<std::int32_t> forgotten(const proto::fetch_request& req) {
    std::set<std::int32_t> out;
    for (const auto& t : req.forgotten_topics_data) out.insert(t.partitions.begin(), t.partitions.end());
    return out;
}

std::int64_t requested_offset(const proto::fetch_request& req, std::int32_t partition) {
    for (const auto& t : req.topics)
        for (const auto& p : t.partitions)
            if (p.partition == partition) return p.fetch_offset;
    return -1;
}

using values = std::vector<std::pair<std::int64_t, std::string>>;

struct topic_on_leader {
    test::topic_handle topic;
    test::session leader;
    std::vector<std::int32_t> partitions;  // 8 partitions that broker leads
};

// A new topic with (at least) 8 partitions led by one broker, and a session with that broker.
asio::awaitable<topic_on_leader> new_topic(asio::any_io_executor ex, const std::string& prefix) {
    topic_on_leader out;
    auto boot = co_await test::open_bootstrap(ex);
    REQUIRE_MESSAGE(boot, boot.failure);
    const int brokers = broker_count();
    const int partitions = brokers == 1 ? 8 : 12 * brokers;
    const std::string name = test::unique_topic(prefix);
    out.topic = co_await test::create_topic(boot, name, partitions, 1);
    REQUIRE_MESSAGE(out.topic.error_code == 0, proto::kafka_error(out.topic.error_code).message());
    const auto first = co_await test::leader_of(boot, out.topic, 0);
    for (int p = 0; p < partitions && out.partitions.size() < 8; ++p) {
        const auto leader = co_await test::leader_of(boot, out.topic, p);
        if (leader == first) out.partitions.push_back(p);
    }
    if (out.topic.id.is_zero()) {
        // Versions pinned below topic ids (the "lowest" test stage): ask the
        // newest Metadata version for the id, which Fetch v13+ needs.
        using metadata_t = proto::metadata_request;
        const auto range = boot.versions.broker_range(metadata_t::api_key);
        REQUIRE(range.has_value());
        const std::int16_t mv = std::min(range->max, metadata_t::max_version);
        const std::vector<std::string> names = {out.topic.name};
        const metadata_t req = proto::make_metadata_request(names, mv);
        auto [ec, resp] = co_await boot.conn->async_send(req, mv, no_throw);
        REQUIRE_MESSAGE(!ec, boot.conn->failure());
        for (const auto& mt : resp.topics)
            if (mt.name == out.topic.name) out.topic.id = mt.topic_id;
    }
    boot.conn->close();
    REQUIRE_MESSAGE(out.partitions.size() == 8, "only " << out.partitions.size() << " partitions on one leader");
    out.leader = co_await test::open_session(ex, first.first, first.second);
    REQUIRE_MESSAGE(out.leader, out.leader.failure);

    // Metadata names the leader a little before the broker serves every new
    // partition: wait (sessionless fetches that do not wait for data) until
    // none of them answers NOT_LEADER_OR_FOLLOWER.
    using request_t = proto::fetch_request;
    const std::int16_t v = out.leader.version<request_t>();
    request_t probe;
    probe.max_wait_ms = 0;
    probe.min_bytes = 0;
    auto& pt = probe.topics.emplace_back();
    if (v >= 13) pt.topic_id = out.topic.id;
    else pt.topic = out.topic.name;
    for (const auto p : out.partitions) {
        auto& fp = pt.partitions.emplace_back();
        fp.partition = p;
        fp.partition_max_bytes = 1024;
    }
    asio::steady_timer pause(ex);
    for (int attempt = 0;; ++attempt) {
        auto [ec, resp] = co_await out.leader.conn->async_send(probe, v, no_throw);
        REQUIRE_MESSAGE(!ec, out.leader.conn->failure());
        std::size_t served = 0;
        std::int16_t error = 0;
        for (const auto& rt : resp.responses)
            for (const auto& rp : rt.partitions) {
                if (rp.error_code == 0) ++served;
                else error = rp.error_code;
            }
        if (served == out.partitions.size()) break;
        REQUIRE_MESSAGE(attempt < 100, "the leader does not serve every partition: "
                                           << proto::kafka_error(error).message());
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(no_throw);
    }
    co_return out;
}

std::vector<fetch_position> positions_of(const topic_on_leader& t) {
    std::vector<fetch_position> out;
    for (const auto p : t.partitions) {
        fetch_position pos;
        pos.topic = t.topic.name;
        pos.topic_id = t.topic.id;
        pos.partition = p;
        pos.fetch_offset = 0;
        pos.max_bytes = 1024 * 1024;
        out.push_back(pos);
    }
    return out;
}

// The whole session scenario at one Fetch version (7+).
asio::awaitable<bool> session_scenario(asio::any_io_executor ex, std::int16_t version) {
    const std::string prefix = "kwire-fetch-session-v" + std::to_string(version);
    auto t = co_await new_topic(ex, prefix);
    auto& leader = t.leader;
    if (version >= 13) REQUIRE_FALSE(t.topic.id.is_zero());
    const auto& P = t.partitions;  // P[0..7]: the partitions of this test
    const std::string topic_name = t.topic.name;
    CAPTURE(topic_name);

    const std::vector<std::string> first_p0 = {"a0", "a1", "a2"}, first_p2 = {"b0", "b1"}, first_p5 = {"c0"};
    co_await produce_values(leader, t.topic, P[0], first_p0);
    co_await produce_values(leader, t.topic, P[2], first_p2);
    co_await produce_values(leader, t.topic, P[5], first_p5);

    fetch_session fs;
    std::vector<fetch_position> wanted = positions_of(t);
    const std::set<std::int32_t> all(P.begin(), P.end());

    // 1. Full: every partition listed, every partition answered, a session opened.
    auto r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_id == 0);
    CHECK(r.request.session_epoch == 0);
    CHECK(listed(r.request) == all);
    CHECK_FALSE(r.session_error);
    CHECK(r.in_response == all);
    REQUIRE_MESSAGE(r.response_session_id != 0, "the broker declined a fetch session");
    const std::int32_t first_session = fs.session_id();
    CHECK(first_session == r.response_session_id);
    CHECK(fs.epoch() == 1);
    CHECK(r.records == partition_records{{P[0], values{{0, "a0"}, {1, "a1"}, {2, "a2"}}},
                                         {P[2], values{{0, "b0"}, {1, "b1"}}},
                                         {P[5], values{{0, "c0"}}}});

    // 2. Incremental: only the partitions whose offsets moved; nothing new, so no records.
    r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_id == first_session);
    CHECK(r.request.session_epoch == 1);
    CHECK(listed(r.request) == std::set<std::int32_t>{P[0], P[2], P[5]});
    CHECK(requested_offset(r.request, P[0]) == 3);
    CHECK(requested_offset(r.request, P[2]) == 2);
    CHECK(requested_offset(r.request, P[5]) == 1);
    CHECK(forgotten(r.request).empty());
    CHECK_FALSE(r.session_error);
    CHECK(r.response_session_id == first_session);
    CHECK(r.records.empty());
    CHECK(fs.epoch() == 2);

    // 3. New records on two partitions: the request lists nothing, the
    // response exactly those records (partitions without news are absent).
    const std::vector<std::string> more_p2 = {"b2", "b3"}, first_p7 = {"d0"};
    co_await produce_values(leader, t.topic, P[2], more_p2);
    co_await produce_values(leader, t.topic, P[7], first_p7);
    r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_epoch == 2);
    CHECK(r.request.topics.empty());
    CHECK(r.request.forgotten_topics_data.empty());
    CHECK_FALSE(r.session_error);
    CHECK(r.in_response == std::set<std::int32_t>{P[2], P[7]});
    CHECK(r.records == partition_records{{P[2], values{{2, "b2"}, {3, "b3"}}}, {P[7], values{{0, "d0"}}}});

    // 4. P[2] no longer wanted: forgotten, and its new records stop; P[0]'s arrive.
    wanted.erase(std::find_if(wanted.begin(), wanted.end(), [&](const fetch_position& p) { return p.partition == P[2]; }));
    const std::vector<std::string> late_p2 = {"b4"}, more_p0 = {"a3"};
    co_await produce_values(leader, t.topic, P[2], late_p2);
    co_await produce_values(leader, t.topic, P[0], more_p0);
    r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_epoch == 3);
    CHECK(listed(r.request) == std::set<std::int32_t>{P[7]});  // its offset moved in round 3
    CHECK(forgotten(r.request) == std::set<std::int32_t>{P[2]});
    CHECK_FALSE(r.session_error);
    CHECK(r.in_response == std::set<std::int32_t>{P[0]});
    CHECK(r.records == partition_records{{P[0], values{{3, "a3"}}}});
    CHECK(fs.session_size() == 7);

    // 5. A wrong epoch: refused as a whole, nothing applied (P[0]'s new
    // offset included); the session resets.
    r = co_await fetch_round(leader, fs, wanted, version, t.topic, 5);
    CHECK(r.request.session_epoch == 4 + 5);
    CHECK(listed(r.request) == std::set<std::int32_t>{P[0]});
    CHECK(r.session_error == proto::kafka_errc::invalid_fetch_session_epoch);
    CHECK(r.records.empty());
    CHECK(fs.session_id() == 0);
    CHECK(fs.epoch() == 0);

    // 6. Recovery: a full request (closing the old session, opening a new
    // one) with every partition still wanted, at the positions reached.
    const std::vector<std::string> first_p1 = {"e0"};
    co_await produce_values(leader, t.topic, P[1], first_p1);
    r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_id == first_session);
    CHECK(r.request.session_epoch == 0);
    std::set<std::int32_t> still = all;
    still.erase(P[2]);
    CHECK(listed(r.request) == still);
    CHECK(requested_offset(r.request, P[0]) == 4);
    CHECK_FALSE(r.session_error);
    CHECK(r.in_response == still);
    CHECK(r.records == partition_records{{P[1], values{{0, "e0"}}}});
    REQUIRE(r.response_session_id != 0);
    const std::int32_t second_session = fs.session_id();
    CHECK(fs.epoch() == 1);

    // 7. Incremental on the new session.
    const std::vector<std::string> first_p3 = {"f0", "f1"};
    co_await produce_values(leader, t.topic, P[3], first_p3);
    r = co_await fetch_round(leader, fs, wanted, version, t.topic);
    CHECK(r.request.session_id == second_session);
    CHECK(r.request.session_epoch == 1);
    CHECK(listed(r.request) == std::set<std::int32_t>{P[1]});
    CHECK_FALSE(r.session_error);
    CHECK(r.in_response == std::set<std::int32_t>{P[3]});
    CHECK(r.records == partition_records{{P[3], values{{0, "f0"}, {1, "f1"}}}});
    const proto::fetch_request last_incremental = fs.build(wanted, version, quick_settings());
    CHECK(last_incremental.session_epoch == 2);

    // 8. Close: the broker answers at once, without a session, and forgets it.
    const proto::fetch_request close = fs.build_close(version, quick_settings());
    CHECK(close.session_id == second_session);
    CHECK(close.session_epoch == -1);
    auto [cec, closed] = co_await leader.conn->async_send(close, version, no_throw);
    REQUIRE_MESSAGE(!cec, leader.conn->failure());
    CHECK_FALSE(fs.on_response(closed, version));
    CHECK(closed.error_code == 0);
    CHECK(closed.session_id == 0);
    CHECK(closed.responses.empty());
    CHECK(fs.session_id() == 0);
    auto [gec, gone] = co_await leader.conn->async_send(last_incremental, version, no_throw);
    REQUIRE_MESSAGE(!gec, leader.conn->failure());
    CHECK(gone.error_code == static_cast<std::int16_t>(proto::kafka_errc::fetch_session_id_not_found));

    leader.conn->close();
    co_return true;
}

} // namespace

TEST_CASE("fetch sessions on the real broker: incremental requests, forgotten partitions, wrong epoch, close") {
    // The newest Fetch version both sides speak, and the last one naming
    // topics by name (v12), and the first with sessions (v7). Sessions are
    // the point here, so API version pins (the "lowest" test stage) do not apply.
    const auto range = test::run_async<net::version_range>([](asio::any_io_executor ex) -> asio::awaitable<net::version_range> {
        auto boot = co_await test::open_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        const auto r = boot.versions.broker_range(proto::fetch_request::api_key);
        boot.conn->close();
        REQUIRE(r.has_value());
        co_return *r;
    });
    const std::int16_t newest = std::min(range.max, proto::fetch_request::max_version);
    std::vector<std::int16_t> versions = {newest};
    for (const std::int16_t v : {std::int16_t(12), std::int16_t(7)})
        if (v < newest && range.contains(v)) versions.push_back(v);
    REQUIRE(newest >= 7);
    for (const auto v : versions) {
        CAPTURE(v);
        CHECK(test::run_async<bool>([&](asio::any_io_executor ex) { return session_scenario(ex, v); }));
    }
}

TEST_CASE("fetch sessions: the lowest Fetch version the broker allows fetches without a session") {
    const bool ok = test::run_async<bool>([](asio::any_io_executor ex) -> asio::awaitable<bool> {
        const std::string prefix = "kwire-fetch-lowest";
        auto t = co_await new_topic(ex, prefix);
        auto& leader = t.leader;
        const auto range = leader.versions.broker_range(proto::fetch_request::api_key);
        REQUIRE(range.has_value());
        const std::int16_t version = std::max(range->min, proto::fetch_request::min_version);
        CAPTURE(version);
        const auto& P = t.partitions;
        const std::vector<std::string> v0 = {"x0", "x1"}, v4 = {"y0"};
        co_await produce_values(leader, t.topic, P[0], v0);
        co_await produce_values(leader, t.topic, P[4], v4);

        fetch_session fs;
        std::vector<fetch_position> wanted = positions_of(t);
        const std::set<std::int32_t> all(P.begin(), P.end());
        auto r = co_await fetch_round(leader, fs, wanted, version, t.topic);
        CHECK(listed(r.request) == all);
        CHECK_FALSE(r.session_error);
        CHECK(r.records == partition_records{{P[0], values{{0, "x0"}, {1, "x1"}}}, {P[4], values{{0, "y0"}}}});
        if (version < fetch_session::first_session_version) {
            CHECK(fs.session_id() == 0);
            CHECK(r.response_session_id == 0);
        }

        // Every later request is full too, from the positions reached.
        const std::vector<std::string> more = {"x2"};
        co_await produce_values(leader, t.topic, P[0], more);
        r = co_await fetch_round(leader, fs, wanted, version, t.topic);
        if (version < fetch_session::first_session_version) {
            CHECK(listed(r.request) == all);
            CHECK(fs.session_id() == 0);
        }
        CHECK(requested_offset(r.request, P[0]) == 2);
        CHECK_FALSE(r.session_error);
        CHECK(r.records == partition_records{{P[0], values{{2, "x2"}}}});
        leader.conn->close();
        co_return true;
    });
    CHECK(ok);
}
