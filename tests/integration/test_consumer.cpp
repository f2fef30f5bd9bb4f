// kwire::consumer against the real broker. Test data is produced with
// kwire::producer (or, for transactions, kafka-python), and what the consumer
// returns is compared with what the broker STORED, read back with kwire's
// proto layer (Fetch + record_batch_reader, support/producer_ops.hpp).
#include "support/consumer_ops.hpp"
#include "support/run_command.hpp"

#include "kwire/consumer.hpp"
#include "kwire/proto/messages/fetch.hpp"
#include "kwire/proto/messages/offset_commit.hpp"
#include "kwire/proto/messages/offset_fetch.hpp"
#include "kwire/proto/messages/produce.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace kwire;
using namespace kwire::test;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<topic_partition> partitions_of(const std::string& topic, int n) {
    std::vector<topic_partition> out;
    for (int p = 0; p < n; ++p) out.push_back(topic_partition{topic, p});
    return out;
}

double seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

std::string describe(const std::vector<topic_partition>& tps) {
    std::string out = "[";
    for (const auto& tp : tps) out += (out.size() > 1 ? ", " : "") + tp.to_string();
    return out + "]";
}

std::string describe(const std::vector<consumed_record>& rs) {
    std::string out = std::to_string(rs.size()) + " record(s):";
    for (const auto& r : rs) out += " " + r.topic + "/" + std::to_string(r.partition) + "@" + std::to_string(r.offset);
    return out;
}

} // namespace

TEST_CASE("consumer: assign() from earliest returns exactly what the broker stored — keys, values, headers, "
          "timestamps, offsets in order per partition") {
    const int partitions = 3;
    auto topic = make_topic("kwire-cons-exact", partitions);
    const std::int64_t t0 = wall_ms() - 3'600'000;  // an hour ago: clearly the record's own

    std::vector<test_record> sent;
    for (int i = 0; i < 60; ++i) {
        test_record s;
        s.partition = i % partitions;
        if (i % 5 != 3) s.key = "key-" + std::to_string(i);  // some null keys
        if (i % 7 != 4) s.value = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i * 13), 'x');
        if (i % 2 == 0) s.headers = {{"trace-id", "t-" + std::to_string(i)}, {"null-header", std::nullopt}};
        if (i % 4 == 1) s.headers = {{"empty", ""}, {"dup", "1"}, {"dup", "2"}};
        if (i % 3 != 2) s.timestamp = t0 + (i * 7919) % 5000;  // explicit, not monotonic
        if (i == 10 || i == 11) {
            s.key = "";  // empty, not null
            s.value = "";
        }
        sent.push_back(s);
    }
    const std::int64_t before = wall_ms();
    produce_records(topic.name, sent, {{"linger.ms", "20"}});
    const std::int64_t after = wall_ms();
    const auto stored = read_topic(topic, partitions, sent.size());
    REQUIRE(total_records(stored) == sent.size());

    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
    const auto tps = partitions_of(topic.name, partitions);
    c.assign(tps);
    CHECK(c.assignment() == tps);
    const auto got = poll_records(c, sent.size(), 15s);
    const auto extra = poll_for(c, 500ms);
    CHECK_MESSAGE(extra.empty(), extra.size() << " records beyond what was produced (first at offset "
                                               << (extra.empty() ? -1 : extra[0].offset) << ")");
    REQUIRE(got.size() == sent.size());

    for (const auto& r : got) {
        CHECK(r.topic == topic.name);
        CHECK(r.timestamp_type == proto::timestamp_type::create_time);
        CHECK(r.leader_epoch.has_value());
    }
    for (int p = 0; p < partitions; ++p) {
        const auto mine = of_partition(got, p);
        CHECK(offsets_of(mine) == offset_range(0, 20));
        check_matches_stored(mine, stored[static_cast<std::size_t>(p)]);
        // And against what the test sent (send order is offset order per partition).
        for (std::size_t j = 0; j < mine.size(); ++j) {
            const auto& s = sent[static_cast<std::size_t>(p) + 3 * j];
            CAPTURE(p);
            CAPTURE(j);
            CHECK(mine[j].key == s.key);
            CHECK(mine[j].value == s.value);
            CHECK(mine[j].headers == s.headers);
            if (s.timestamp) {
                CHECK(mine[j].timestamp == *s.timestamp);
            } else {
                CHECK(mine[j].timestamp >= before - 1000);
                CHECK(mine[j].timestamp <= after + 1000);
            }
        }
        CHECK(c.position(topic_partition{topic.name, p}, 5s) == 20);
    }
}

TEST_CASE("consumer: auto.offset.reset=latest returns only records produced after the position is known") {
    auto topic = make_topic("kwire-cons-latest", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("old-", 5));

    consumer c(consumer_config({{"auto.offset.reset", "latest"}}));
    c.assign({tp});
    CHECK(c.position(tp, 10s) == 5);  // the end, resolved through ListOffsets
    // Nothing to return: poll() waits its timeout, no less and not much more.
    const auto start = clock_type::now();
    CHECK(c.poll(400ms).empty());
    const double waited = seconds(clock_type::now() - start);
    CHECK(waited >= 0.39);
    CHECK(waited < 1.0);

    produce_records(topic.name, numbered("new-", 7));
    const auto got = poll_records(c, 7, 10s);
    CHECK(poll_for(c, 300ms).empty());
    CHECK(offsets_of(got) == offset_range(5, 12));
    CHECK(values_of(got) == numbered_values("new-", 0, 7));
    CHECK(c.position(tp, 5s) == 12);
}

TEST_CASE("consumer: seek(), seek_to_beginning() and seek_to_end() move the next record polled") {
    auto topic = make_topic("kwire-cons-seek", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("s-", 20));

    // max.poll.records 5: the consumer holds fetched records beyond what poll
    // returned when it is told to seek.
    consumer c(consumer_config({{"auto.offset.reset", "earliest"}, {"max.poll.records", "5"}}));
    c.assign({tp});

    SUBCASE("seek to an explicit offset before the first poll") {
        c.seek(tp, 7);
        CHECK(c.position(tp, 5s) == 7);
        const auto got = poll_records(c, 13, 10s);
        CHECK(offsets_of(got) == offset_range(7, 20));
        CHECK(values_of(got) == numbered_values("s-", 7, 20));
    }

    SUBCASE("seek back into what was already returned; buffered records from before the seek are dropped") {
        const auto first = c.poll(10s);
        REQUIRE_FALSE(first.empty());
        CHECK(first.size() <= 5);
        CHECK(first[0].offset == 0);
        CHECK(c.position(tp, 5s) == first[first.size() - 1].offset + 1);
        c.seek(tp, 2);
        CHECK(c.position(tp, 5s) == 2);
        const auto got = poll_records(c, 18, 10s);
        CHECK(poll_for(c, 300ms).empty());
        CHECK(offsets_of(got) == offset_range(2, 20));
    }

    SUBCASE("seek forward past records still buffered") {
        const auto first = c.poll(10s);
        REQUIRE_FALSE(first.empty());
        c.seek(tp, 15);
        const auto got = poll_records(c, 5, 10s);
        CHECK(poll_for(c, 300ms).empty());
        CHECK(offsets_of(got) == offset_range(15, 20));
    }

    SUBCASE("seek_to_beginning and seek_to_end") {
        (void)poll_records(c, 20, 10s);
        CHECK(c.position(tp, 5s) == 20);
        c.seek_to_beginning({tp});
        CHECK(c.position(tp, 10s) == 0);
        auto got = poll_records(c, 20, 10s);
        CHECK(offsets_of(got) == offset_range(0, 20));

        c.seek(tp, 3);
        c.seek_to_end({tp});
        CHECK(c.position(tp, 10s) == 20);
        CHECK(poll_for(c, 300ms).empty());
        produce_records(topic.name, numbered("e-", 3));
        got = poll_records(c, 3, 10s);
        CHECK(offsets_of(got) == offset_range(20, 23));
        CHECK(values_of(got) == numbered_values("e-", 0, 3));

        // An empty list means every assigned partition (as Java's seekToBeginning).
        c.seek_to_beginning({});
        CHECK(c.position(tp, 10s) == 0);
        got = poll_records(c, 1, 10s);
        REQUIRE_FALSE(got.empty());
        CHECK(got[0].offset == 0);
    }
}

TEST_CASE("consumer: records of every compression codec in the build are decoded") {
    const std::vector<proto::compression_codec> all{proto::compression_codec::none, proto::compression_codec::gzip,
                                                    proto::compression_codec::snappy, proto::compression_codec::lz4,
                                                    proto::compression_codec::zstd};
    const auto produce_v = agreed_version<proto::produce_request>();
    const auto fetch_v = agreed_version<proto::fetch_request>();
    auto topic = make_topic("kwire-cons-codecs", static_cast<int>(all.size()));
    std::vector<int> used;  // partition index = position of the codec in `all`
    const std::size_t n = 150;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto codec = all[i];
        const std::string name(proto::codec_name(codec));
        if (!proto::codec_available(codec)) {
            MESSAGE("codec " << name << " is not in this build");
            continue;
        }
        if (codec == proto::compression_codec::zstd && (produce_v < 7 || fetch_v < 10)) {
            MESSAGE("zstd needs Produce v7 and Fetch v10; this run speaks v" << produce_v << " and v" << fetch_v);
            continue;
        }
        std::vector<test_record> recs;
        for (std::size_t j = 0; j < n; ++j) {
            test_record r;
            r.partition = static_cast<std::int32_t>(i);
            r.key = "key-" + std::to_string(j % 10);
            r.value = name + "-" + std::to_string(j) + ":" + std::string(200 + j, static_cast<char>('a' + j % 26));
            r.headers = {{"codec", name}, {"j", std::to_string(j)}};
            recs.push_back(std::move(r));
        }
        produce_records(topic.name, recs, {{"compression.type", name}, {"linger.ms", "50"}});
        used.push_back(static_cast<int>(i));
    }
    const auto stored = read_topic(topic, static_cast<int>(all.size()), used.size() * n);

    std::vector<topic_partition> tps;
    for (int p : used) {
        const auto& part = stored[static_cast<std::size_t>(p)];
        REQUIRE(part.records.size() == n);
        std::int32_t largest = 0;
        for (const auto& b : part.batches) {
            CHECK(b.codec == all[static_cast<std::size_t>(p)]);  // the broker stored compressed batches
            largest = std::max(largest, b.record_count);
        }
        CHECK(largest > 1);
        tps.push_back(topic_partition{topic.name, p});
    }
    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
    c.assign(tps);
    const auto got = poll_records(c, used.size() * n, 15s);
    CHECK(poll_for(c, 300ms).empty());
    for (int p : used) {
        CAPTURE(proto::codec_name(all[static_cast<std::size_t>(p)]));
        const auto mine = of_partition(got, p);
        CHECK(offsets_of(mine) == offset_range(0, static_cast<std::int64_t>(n)));
        check_matches_stored(mine, stored[static_cast<std::size_t>(p)]);
    }
    // A seek into the middle of a (compressed) batch: fetching starts at the
    // batch's first record; the records before the position are not returned.
    std::map<int, std::int64_t> middle;
    std::size_t expected = 0;
    for (int p : used) {
        const topic_partition tp{topic.name, p};
        for (const auto& b : stored[static_cast<std::size_t>(p)].batches)
            if (b.record_count > 2) {
                middle[p] = b.base_offset + b.record_count / 2;
                break;
            }
        REQUIRE(middle.count(p) == 1);
        c.seek(tp, middle[p]);
        expected += n - static_cast<std::size_t>(middle[p]);
    }
    const auto after_seek = poll_records(c, expected, 15s);
    CHECK(poll_for(c, 300ms).empty());
    for (int p : used) {
        CAPTURE(proto::codec_name(all[static_cast<std::size_t>(p)]));
        const auto mine = of_partition(after_seek, p);
        CHECK(offsets_of(mine) == offset_range(middle[p], static_cast<std::int64_t>(n)));
        check_matches_stored(mine, stored[static_cast<std::size_t>(p)], middle[p]);
    }
}

TEST_CASE("consumer: record views of an early poll stay valid while its consumer_records lives, "
          "through later polls (plain and compressed batches)") {
    auto topic = make_topic("kwire-cons-views", 2);
    const std::size_t n = 60;
    auto value_of = [](int p, std::size_t j) {
        std::string v = "p" + std::to_string(p) + "-" + std::to_string(j) + ":";
        for (std::size_t k = 0; k < 700; ++k)
            v += static_cast<char>('A' + (j * 7 + k * 13 + static_cast<std::size_t>(p)) % 58);
        return v;
    };
    for (int p = 0; p < 2; ++p) {
        std::vector<test_record> recs;
        for (std::size_t j = 0; j < n; ++j) {
            test_record r;
            r.partition = p;
            r.key = "key-" + std::to_string(p) + "-" + std::to_string(j);
            r.value = value_of(p, j);
            r.headers = {{"h", "hv-" + std::to_string(j)}};
            recs.push_back(std::move(r));
        }
        // Partition 0 plain, partition 1 gzip (zlib is always in the build).
        produce_records(topic.name, recs, {{"compression.type", p == 0 ? "none" : "gzip"}, {"linger.ms", "20"}});
    }

    // Small fetches and polls: many responses and many polls.
    consumer c(consumer_config({{"auto.offset.reset", "earliest"},
                                {"max.poll.records", "7"},
                                {"max.partition.fetch.bytes", "4096"}}));
    c.assign(partitions_of(topic.name, 2));
    std::vector<consumer_records> kept;
    std::size_t total = 0;
    const auto deadline = clock_type::now() + 15s;
    while (kept.size() < 3 && clock_type::now() < deadline) {
        auto batch = c.poll(200ms);
        if (batch.empty()) continue;
        CHECK(batch.size() <= 7);  // max.poll.records
        total += batch.size();
        kept.push_back(std::move(batch));
    }
    REQUIRE(kept.size() == 3);
    // Everything else, each batch dropped right away.
    std::vector<consumed_record> rest = poll_records(c, 2 * n - total, 15s);
    CHECK(total + rest.size() == 2 * n);

    // Fill the heap with other bytes, then read the early views.
    std::vector<std::string> noise;
    for (int i = 0; i < 200; ++i) noise.emplace_back(4096, '#');
    std::size_t checked = 0;
    for (const auto& batch : kept) {
        for (const auto& m : batch) {
            CAPTURE(m.partition);
            CAPTURE(m.offset);
            const auto j = static_cast<std::size_t>(m.offset);
            CHECK(m.topic == topic.name);
            CHECK(m.key_string() == "key-" + std::to_string(m.partition) + "-" + std::to_string(j));
            CHECK(m.value_string() == value_of(m.partition, j));
            CHECK(headers_of(m.headers) == header_pairs{{"h", "hv-" + std::to_string(j)}});
            ++checked;
        }
    }
    CHECK(checked == total);
    // The later records are right too, and nothing is missing or repeated.
    std::set<std::pair<int, std::int64_t>> seen;
    for (const auto& batch : kept)
        for (const auto& m : batch) seen.insert({m.partition, m.offset});
    for (const auto& r : rest) {
        CHECK(r.value == value_of(r.partition, static_cast<std::size_t>(r.offset)));
        seen.insert({r.partition, r.offset});
    }
    CHECK(seen.size() == 2 * n);
}

TEST_CASE("consumer: a consumer_records object stays readable after its consumer is closed and destroyed") {
    auto topic = make_topic("kwire-cons-outlive", 1);
    produce_records(topic.name, numbered("keep-", 10), {{"compression.type", "gzip"}});
    std::optional<consumer_records> kept;
    {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
        c.assign({topic_partition{topic.name, 0}});
        const auto deadline = clock_type::now() + 10s;
        while (clock_type::now() < deadline) {
            auto batch = c.poll(200ms);
            if (!batch.empty()) {
                kept = std::move(batch);
                break;
            }
        }
        REQUIRE(kept.has_value());
        c.close(5s);
    }
    // The topic name, keys, values and headers are views; the batch keeps
    // what they point into alive ("valid while its consumer_records lives").
    std::vector<std::string> noise;
    for (int i = 0; i < 200; ++i) noise.emplace_back(4096, '#');
    REQUIRE_FALSE(kept->empty());
    for (const auto& m : *kept) {
        CAPTURE(m.offset);
        CHECK(std::string(m.topic) == topic.name);
        CHECK(m.value_string() == "keep-" + std::to_string(m.offset));
        CHECK(m.key_string() == "k" + std::to_string(m.offset));
    }
}

TEST_CASE("consumer: commit() then a new consumer of the group resumes at the committed offset — explicit "
          "offsets keep their metadata — commit_async completes — close() commits with enable.auto.commit") {
    auto topic = make_topic("kwire-cons-commit", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("c-", 30));
    const std::string group = unique_group("commit");
    auto cfg = [&](const char* auto_commit) {
        return consumer_config({{"group.id", group},
                                {"enable.auto.commit", auto_commit},
                                {"auto.offset.reset", "earliest"},
                                {"max.poll.records", "10"}});
    };

    std::int64_t first_stop = -1;
    std::optional<std::int32_t> last_epoch;
    {
        consumer c(cfg("false"));
        c.assign({tp});
        // Nothing committed yet.
        const auto none = c.committed({tp}, 10s);
        const auto it = none.find(tp);
        CHECK((it == none.end() || it->second.offset < 0));

        const auto got = poll_records(c, 10, 10s);
        REQUIRE(got.size() >= 10);
        CHECK(offsets_of(got) == offset_range(0, static_cast<std::int64_t>(got.size())));
        first_stop = static_cast<std::int64_t>(got.size());
        last_epoch = got.back().leader_epoch;
        CHECK(c.position(tp, 5s) == first_stop);
        const auto ec = c.commit(10s);
        REQUIRE_MESSAGE(!ec, ec.message());
        const auto committed = c.committed({tp}, 10s);
        REQUIRE(committed.count(tp) == 1);
        CHECK(committed.at(tp).offset == first_stop);
        // The leader epoch travels with OffsetCommit v6+ and comes back with OffsetFetch v5+.
        if (agreed_version<proto::offset_commit_request>() >= 6 && agreed_version<proto::offset_fetch_request>() >= 5)
            CHECK(committed.at(tp).leader_epoch == last_epoch);
        else
            CHECK_FALSE(committed.at(tp).leader_epoch.has_value());
        CHECK(committed.at(tp).metadata.empty());
        c.close(10s);  // no auto-commit: nothing more is committed
    }

    {
        consumer c(cfg("false"));
        c.assign({tp});
        CHECK(c.committed({tp}, 10s).at(tp).offset == first_stop);
        CHECK(c.position(tp, 10s) == first_stop);
        const auto got = poll_records(c, static_cast<std::size_t>(30 - first_stop), 10s);
        CHECK(offsets_of(got) == offset_range(first_stop, 30));
        CHECK(values_of(got) == numbered_values("c-", static_cast<std::size_t>(first_stop), 30));

        // Explicit offsets, with metadata.
        const std::map<topic_partition, offset_and_metadata> explicit_offsets{{tp, {17, std::nullopt, "meta-17"}}};
        const auto ec = c.commit(explicit_offsets, 10s);
        REQUIRE_MESSAGE(!ec, ec.message());
        const auto committed = c.committed({tp}, 10s);
        CHECK(committed.at(tp).offset == 17);
        CHECK(committed.at(tp).metadata == "meta-17");
        CHECK_FALSE(committed.at(tp).leader_epoch.has_value());
    }

    {
        consumer c(cfg("false"));
        c.assign({tp});
        CHECK(c.position(tp, 10s) == 17);
        const auto got = poll_records(c, 13, 10s);
        REQUIRE_FALSE(got.empty());
        CHECK(got.front().offset == 17);
        CHECK(offsets_of(got) == offset_range(17, 30));

        // commit_async of the positions: the completion runs, on the consumer's thread.
        std::promise<std::pair<std::error_code, std::thread::id>> done;
        c.commit_async([&](std::error_code e) { done.set_value({e, std::this_thread::get_id()}); });
        auto f = done.get_future();
        REQUIRE(f.wait_for(10s) == std::future_status::ready);
        const auto [aec, thread] = f.get();
        CHECK_MESSAGE(!aec, aec.message());
        CHECK(thread != std::this_thread::get_id());
        CHECK(c.committed({tp}, 10s).at(tp).offset == 30);

        // commit_async of explicit offsets.
        std::promise<std::error_code> done2;
        c.commit_async({{tp, {25, std::nullopt, "async-25"}}}, [&](std::error_code e) { done2.set_value(e); });
        auto f2 = done2.get_future();
        REQUIRE(f2.wait_for(10s) == std::future_status::ready);
        const auto e2 = f2.get();
        CHECK_MESSAGE(!e2, e2.message());
        const auto committed = c.committed({tp}, 10s);
        CHECK(committed.at(tp).offset == 25);
        CHECK(committed.at(tp).metadata == "async-25");
    }

    {
        // Manual assignment with enable.auto.commit=true: close() commits the position.
        consumer c(cfg("true"));
        c.assign({tp});
        const auto got = poll_records(c, 5, 10s);
        CHECK(offsets_of(got) == offset_range(25, 30));
        c.close(10s);
    }
    {
        consumer c(cfg("false"));
        c.assign({tp});
        CHECK(c.committed({tp}, 10s).at(tp).offset == 30);
        CHECK(c.position(tp, 10s) == 30);
    }
}

TEST_CASE("consumer: enable.auto.commit commits the positions every auto.commit.interval.ms while the "
          "application polls") {
    auto topic = make_topic("kwire-cons-autocommit", 2);
    std::vector<test_record> recs = numbered("a-", 10, 0);
    for (auto& r : numbered("b-", 10, 1)) recs.push_back(r);
    produce_records(topic.name, recs);
    const topic_partition tp0{topic.name, 0}, tp1{topic.name, 1};
    const std::string group = unique_group("autocommit");
    auto cfg = consumer_config({{"group.id", group},
                                {"enable.auto.commit", "true"},
                                {"auto.commit.interval.ms", "300"},
                                {"auto.offset.reset", "earliest"}});
    // Another consumer of the group looks at what is committed while the first one still runs.
    consumer observer(consumer_config({{"group.id", group}, {"enable.auto.commit", "false"}}));

    SUBCASE("assign() (Java auto-commits manually assigned partitions too)") {
        consumer c(cfg);
        c.assign({tp0});
        CHECK(poll_records(c, 10, 10s).size() == 10);
        (void)poll_for(c, 1500ms);
        const auto committed = observer.committed({tp0}, 10s);
        REQUIRE(committed.count(tp0) == 1);
        CHECK_MESSAGE(committed.at(tp0).offset == 10,
                      "committed offset " << committed.at(tp0).offset << " 1.5 s after polling everything with "
                                          << "auto.commit.interval.ms=300");
    }

    SUBCASE("subscribe()") {
        consumer c(cfg);
        c.subscribe({topic.name});
        CHECK(poll_records(c, 20, 15s).size() == 20);
        (void)poll_for(c, 1500ms);
        const auto committed = observer.committed({tp0, tp1}, 10s);
        REQUIRE(committed.size() == 2);
        CHECK(committed.at(tp0).offset == 10);
        CHECK(committed.at(tp1).offset == 10);
    }
}

TEST_CASE("consumer: unsubscribe() then assign() — the manual assignment stays and is read") {
    auto subscribed = make_topic("kwire-cons-unsub-a", 1);
    auto assigned = make_topic("kwire-cons-unsub-b", 1);
    produce_records(subscribed.name, numbered("sub-", 5));
    produce_records(assigned.name, numbered("man-", 5));
    const topic_partition manual{assigned.name, 0};

    consumer c(consumer_config(
        {{"group.id", unique_group("unsub")}, {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"}}));
    c.subscribe({subscribed.name});
    auto got = poll_records(c, 5, 15s);
    CHECK(values_of(got) == numbered_values("sub-", 0, 5));
    c.unsubscribe();
    c.assign({manual});
    CHECK(c.assignment() == std::vector<topic_partition>{manual});
    got = poll_records(c, 5, 10s);
    for (const auto& r : poll_for(c, 1000ms)) got.push_back(r);  // the group's leave has long finished
    CHECK_MESSAGE(values_of(got) == numbered_values("man-", 0, 5), "polled " << describe(got));
    for (const auto& r : got) CHECK(r.topic == assigned.name);
    CHECK_MESSAGE(c.assignment() == std::vector<topic_partition>{manual},
                  "assignment() is " << describe(c.assignment()) << " 1 s after assign()");
}

TEST_CASE("consumer: a LogAppendTime topic — records carry the broker's append time and that timestamp type") {
    auto topic = make_topic("kwire-cons-logappend", 1, 0, {{"message.timestamp.type", "LogAppendTime"}});
    const std::int64_t old = wall_ms() - 3'600'000;
    auto recs = numbered("l-", 5);
    for (auto& r : recs) r.timestamp = old;
    const std::int64_t before = wall_ms();
    produce_records(topic.name, recs);
    const std::int64_t after = wall_ms();

    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
    c.assign({topic_partition{topic.name, 0}});
    const auto got = poll_records(c, 5, 10s);
    REQUIRE(got.size() == 5);
    for (const auto& r : got) {
        CAPTURE(r.offset);
        CHECK(r.timestamp_type == proto::timestamp_type::log_append_time);
        CHECK(r.timestamp != old);
        CHECK(r.timestamp >= before - 1000);
        CHECK(r.timestamp <= after + 1000);
    }
}

TEST_CASE("consumer: offsets_for_times() finds the earliest offset at or after a timestamp") {
    auto topic = make_topic("kwire-cons-times", 2);
    const std::int64_t base = wall_ms() - 3'600'000;
    std::vector<test_record> recs;
    for (int p = 0; p < 2; ++p)
        for (int i = 0; i < 10; ++i) {
            test_record r;
            r.partition = p;
            r.value = "t" + std::to_string(p) + "-" + std::to_string(i);
            r.timestamp = base + i * (p == 0 ? 1000 : 500);
            recs.push_back(std::move(r));
        }
    produce_records(topic.name, recs);
    const topic_partition tp0{topic.name, 0}, tp1{topic.name, 1};

    consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
    // No assignment needed.
    auto found = c.offsets_for_times({{tp0, base + 4500}, {tp1, base + 4500}}, 10s);
    CHECK(found.at(tp0) == 5);
    CHECK(found.at(tp1) == 9);
    found = c.offsets_for_times({{tp0, base + 4000}}, 10s);
    CHECK(found.at(tp0) == 4);  // an exact match is that record
    found = c.offsets_for_times({{tp0, base - 60'000}}, 10s);
    CHECK(found.at(tp0) == 0);
    found = c.offsets_for_times({{tp0, base + 9001}, {tp1, base + 4501}}, 10s);
    CHECK_FALSE(found.at(tp0).has_value());  // later than every record
    CHECK_FALSE(found.at(tp1).has_value());

    // Seeking there returns that record.
    found = c.offsets_for_times({{tp0, base + 6500}}, 10s);
    REQUIRE(found.at(tp0).has_value());
    c.assign({tp0});
    c.seek(tp0, *found.at(tp0));
    const auto got = poll_records(c, 1, 10s);
    REQUIRE_FALSE(got.empty());
    CHECK(got[0].offset == 7);
    CHECK(got[0].timestamp == base + 7000);
    CHECK(got[0].value == "t0-7");
}

TEST_CASE("consumer: a paused partition returns nothing while others do — after resume() it continues where it was") {
    auto topic = make_topic("kwire-cons-pause", 2);
    const topic_partition tp0{topic.name, 0}, tp1{topic.name, 1};
    std::vector<test_record> recs = numbered("a-", 10, 0);
    for (auto& r : numbered("b-", 10, 1)) recs.push_back(r);
    produce_records(topic.name, recs);

    consumer c(consumer_config({{"auto.offset.reset", "earliest"}, {"max.poll.records", "3"}}));
    c.assign({tp0, tp1});
    c.pause({tp0});
    CHECK(c.paused() == std::vector<topic_partition>{tp0});
    auto got = poll_records(c, 10, 10s);
    for (const auto& r : poll_for(c, 700ms)) got.push_back(r);
    CHECK(of_partition(got, 0).empty());
    CHECK(offsets_of(of_partition(got, 1)) == offset_range(0, 10));

    c.resume({tp0});
    CHECK(c.paused().empty());
    got = poll_records(c, 10, 10s);
    CHECK(poll_for(c, 300ms).empty());
    CHECK(offsets_of(of_partition(got, 0)) == offset_range(0, 10));
    CHECK(values_of(of_partition(got, 0)) == numbered_values("a-", 0, 10));
    CHECK(of_partition(got, 1).empty());

    // Paused in the middle: records already fetched for it are not returned,
    // and after resume() nothing is skipped or repeated.
    recs = numbered("c-", 30, 0);
    for (auto& r : numbered("d-", 5, 1)) recs.push_back(r);
    produce_records(topic.name, recs);
    std::vector<consumed_record> p0;
    while (p0.empty()) {
        const auto step = poll_records(c, 1, 10s);
        REQUIRE_FALSE(step.empty());
        for (const auto& r : step)
            if (r.partition == 0) p0.push_back(r);
    }
    c.pause({tp0});
    const std::int64_t paused_at = c.position(tp0, 5s);
    CHECK(paused_at == p0.back().offset + 1);
    auto during = poll_for(c, 1500ms);
    CHECK(of_partition(during, 0).empty());
    CHECK(c.position(tp0, 5s) == paused_at);
    c.resume({tp0});
    const auto deadline = clock_type::now() + 10s;
    while ((p0.empty() || p0.back().offset < 39) && clock_type::now() < deadline)
        for (const auto& r : c.poll(200ms))
            if (r.partition == 0) p0.push_back(own(r));
    CHECK(poll_for(c, 300ms).empty());
    // Partition 0 went on from offset 10 (the c- records) without a gap or a repeat.
    CHECK(offsets_of(p0) == offset_range(10, 40));
    CHECK(values_of(p0) == numbered_values("c-", 0, 30));
}

TEST_CASE("consumer: subscribe() as the only member gets every partition (on_assigned inside poll), consumes "
          "everything, and close() commits so the next member resumes after it") {
    const int partitions = 3;
    auto topic = make_topic("kwire-cons-subscribe", partitions);
    std::vector<test_record> recs;
    for (int p = 0; p < partitions; ++p)
        for (auto& r : numbered("first-" + std::to_string(p) + "-", 10, p)) recs.push_back(r);
    produce_records(topic.name, recs);
    const std::string group = unique_group("subscribe");
    const auto tps = partitions_of(topic.name, partitions);

    struct calls {
        std::mutex m;
        std::vector<std::vector<topic_partition>> assigned, revoked, lost;
        std::vector<std::thread::id> threads;
    };
    auto seen = std::make_shared<calls>();
    auto listener = [seen] {
        rebalance_listener l;
        auto note = [seen](std::vector<std::vector<topic_partition>> calls::*which) {
            return [seen, which](const std::vector<topic_partition>& parts) {
                std::lock_guard lock(seen->m);
                auto sorted = parts;
                std::sort(sorted.begin(), sorted.end());
                ((*seen).*which).push_back(sorted);
                seen->threads.push_back(std::this_thread::get_id());
            };
        };
        l.on_assigned = note(&calls::assigned);
        l.on_revoked = note(&calls::revoked);
        l.on_lost = note(&calls::lost);
        return l;
    };
    auto cfg = consumer_config({{"group.id", group},
                                {"auto.offset.reset", "earliest"},
                                {"enable.auto.commit", "true"},
                                {"auto.commit.interval.ms", "600000"}});  // only close() commits here
    {
        consumer c(cfg);
        c.subscribe({topic.name}, listener());
        std::this_thread::sleep_for(300ms);
        {
            std::lock_guard lock(seen->m);
            CHECK(seen->assigned.empty());  // callbacks run inside poll() only
        }
        const auto start = clock_type::now();
        const auto got = poll_records(c, 30, 15s);
        MESSAGE("joined and consumed 30 records in " << seconds(clock_type::now() - start) << " s");
        CHECK(poll_for(c, 500ms).empty());
        REQUIRE(got.size() == 30);
        for (int p = 0; p < partitions; ++p) {
            CHECK(offsets_of(of_partition(got, p)) == offset_range(0, 10));
            CHECK(values_of(of_partition(got, p)) == numbered_values("first-" + std::to_string(p) + "-", 0, 10));
        }
        auto assignment = c.assignment();
        std::sort(assignment.begin(), assignment.end());
        CHECK(assignment == tps);
        {
            std::lock_guard lock(seen->m);
            REQUIRE(seen->assigned.size() == 1);
            CHECK(seen->assigned[0] == tps);
            CHECK(seen->revoked.empty());
            CHECK(seen->lost.empty());
            for (const auto& id : seen->threads) CHECK(id == std::this_thread::get_id());
        }
        const auto close_start = clock_type::now();
        c.close(10s);
        CHECK(seconds(clock_type::now() - close_start) < 5.0);
        std::error_code ec;
        (void)c.poll(10ms, ec);
        CHECK(ec == make_error_code(client_errc::consumer_closed));
    }

    recs.clear();
    for (int p = 0; p < partitions; ++p)
        for (auto& r : numbered("second-" + std::to_string(p) + "-", 2, p)) recs.push_back(r);
    produce_records(topic.name, recs);
    {
        consumer c(cfg);
        const auto committed = c.committed(tps, 10s);
        for (const auto& tp : tps) {
            CAPTURE(tp.partition);
            REQUIRE(committed.count(tp) == 1);
            CHECK(committed.at(tp).offset == 10);
        }
        c.subscribe({topic.name});
        const auto got = poll_records(c, 6, 15s);
        CHECK(poll_for(c, 500ms).empty());
        for (int p = 0; p < partitions; ++p) {
            CHECK(offsets_of(of_partition(got, p)) == offset_range(10, 12));
            CHECK(values_of(of_partition(got, p)) == numbered_values("second-" + std::to_string(p) + "-", 0, 2));
        }
    }
}

TEST_CASE("consumer: `for (const auto& m : consumer)` yields the records and ends when another thread calls close()") {
    auto topic = make_topic("kwire-cons-range", 1);
    const topic_partition tp{topic.name, 0};
    produce_records(topic.name, numbered("r-", 20));

    SUBCASE("close() from another thread ends the loop cleanly") {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
        c.assign({tp});
        std::vector<std::string> values;
        std::vector<std::int64_t> offsets;
        std::atomic<std::size_t> count{0};
        std::exception_ptr failure;
        std::promise<void> ended;
        std::thread loop([&] {
            try {
                for (const auto& m : c) {
                    values.emplace_back(m.value_string());
                    offsets.push_back(m.offset);
                    ++count;
                }
            } catch (...) {
                failure = std::current_exception();
            }
            ended.set_value();
        });
        const auto deadline = clock_type::now() + 10s;
        while (count < 20 && clock_type::now() < deadline) std::this_thread::sleep_for(20ms);
        CHECK(count == 20);
        std::this_thread::sleep_for(300ms);  // the loop is waiting inside poll() now
        const auto close_start = clock_type::now();
        c.close(5s);
        auto f = ended.get_future();
        const bool done = f.wait_for(5s) == std::future_status::ready;
        if (!done) {
            // A hung loop: fail clearly rather than blocking the run.
            FAIL_CHECK("the range-for did not end within 5 s of close()");
            loop.detach();
            return;
        }
        loop.join();
        MESSAGE("the loop ended " << seconds(clock_type::now() - close_start) << " s after close() began");
        CHECK(seconds(clock_type::now() - close_start) < 3.0);
        CHECK_FALSE(failure);
        CHECK(values == numbered_values("r-", 0, 20));
        CHECK(offsets == offset_range(0, 20));
    }

    SUBCASE("break after N records; the consumer goes on from its position") {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}, {"max.poll.records", "4"}}));
        c.assign({tp});
        std::vector<std::int64_t> offsets;
        for (const auto& m : c) {
            offsets.push_back(m.offset);
            if (offsets.size() == 6) break;
        }
        CHECK(offsets == offset_range(0, 6));
        const std::int64_t at = c.position(tp, 5s);
        CHECK(at >= 6);  // records polled by the loop but not iterated are behind the position
        CHECK(at <= 8);
        const auto rest = poll_records(c, static_cast<std::size_t>(20 - at), 10s);
        CHECK(offsets_of(rest) == offset_range(at, 20));
    }
}

TEST_CASE("consumer: isolation.level=read_committed skips aborted transactions and reads normal records — "
          "read_uncommitted reads both") {
    auto topic = make_topic("kwire-cons-txn", 1);
    const topic_partition tp{topic.name, 0};
    // kafka-python's transactional producer: commit, abort, commit.
    const char* script = R"PY(
import sys
from kafka import KafkaProducer
bootstrap, topic, txn_id = sys.argv[1], sys.argv[2], sys.argv[3]
p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id)
p.init_transactions()
def txn(prefix, n, commit):
    p.begin_transaction()
    for i in range(n):
        p.send(topic, value=('%s%d' % (prefix, i)).encode(), partition=0)
    p.flush()
    if commit:
        p.commit_transaction()
    else:
        p.abort_transaction()
txn('committed-a-', 3, True)
txn('aborted-', 2, False)
txn('committed-b-', 2, True)
p.close()
print('done')
)PY";
    const auto r = run_command(shell_quote(broker_env("KWIRE_PYTHON")) + " -c " + shell_quote(script) + " " +
                                   shell_quote(broker_env("KWIRE_BOOTSTRAP")) + " " + shell_quote(topic.name) + " " +
                                   shell_quote(unique_topic("kwire-txn")),
                               60);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    // Offsets: committed-a 0..2, commit marker 3, aborted 4..5, abort marker 6,
    // committed-b 7..8, commit marker 9.
    const std::vector<std::string> committed_values{"committed-a-0", "committed-a-1", "committed-a-2",
                                                    "committed-b-0", "committed-b-1"};
    {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}, {"isolation.level", "read_committed"}}));
        c.assign({tp});
        const auto got = poll_records(c, 5, 10s);
        CHECK(poll_for(c, 500ms).empty());
        CHECK(values_of(got) == committed_values);
        CHECK(offsets_of(got) == std::vector<std::int64_t>{0, 1, 2, 7, 8});
        // The commit marker that ends the log is stepped over (as Java's position()).
        CHECK(c.position(tp, 5s) == 10);
    }
    {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}}));
        c.assign({tp});
        const auto got = poll_records(c, 7, 10s);
        CHECK(poll_for(c, 500ms).empty());
        CHECK(values_of(got) == std::vector<std::string>{"committed-a-0", "committed-a-1", "committed-a-2",
                                                         "aborted-0", "aborted-1", "committed-b-0", "committed-b-1"});
        CHECK(offsets_of(got) == std::vector<std::int64_t>{0, 1, 2, 4, 5, 7, 8});
        CHECK(c.position(tp, 5s) == 10);
    }

    // Normal (non-transactional) records after the transactions: read_committed reads them.
    produce_records(topic.name, numbered("plain-", 3));
    {
        consumer c(consumer_config({{"auto.offset.reset", "earliest"}, {"isolation.level", "read_committed"}}));
        c.assign({tp});
        const auto got = poll_records(c, 8, 10s);
        CHECK(poll_for(c, 500ms).empty());
        auto want = committed_values;
        for (const auto& v : numbered_values("plain-", 0, 3)) want.push_back(v);
        CHECK(values_of(got) == want);
        CHECK(offsets_of(got) == std::vector<std::int64_t>{0, 1, 2, 7, 8, 10, 11, 12});
        CHECK(c.position(tp, 5s) == 13);
    }
}

TEST_CASE("consumer: on an application io_context run by a test thread") {
    auto topic = make_topic("kwire-cons-appctx", 2);
    std::vector<test_record> recs = numbered("x-", 10, 0);
    for (auto& r : numbered("y-", 10, 1)) recs.push_back(r);
    produce_records(topic.name, recs);

    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::atomic<bool> io_ended{false};
    std::thread runner([&] {
        io.run();
        io_ended = true;
    });
    {
        consumer c(io.get_executor(), consumer_config({{"auto.offset.reset", "earliest"},
                                                       {"group.id", unique_group("appctx")},
                                                       {"enable.auto.commit", "false"}}));
        CHECK(c.executor() == asio::any_io_executor(io.get_executor()));
        c.assign(partitions_of(topic.name, 2));
        const auto got = poll_records(c, 20, 10s);
        CHECK(offsets_of(of_partition(got, 0)) == offset_range(0, 10));
        CHECK(offsets_of(of_partition(got, 1)) == offset_range(0, 10));
        CHECK(values_of(of_partition(got, 1)) == numbered_values("y-", 0, 10));

        // Blocking calls from the thread that runs the consumer's executor are refused.
        std::promise<std::pair<std::error_code, std::error_code>> inside;
        asio::post(io, [&] {
            std::error_code poll_ec;
            (void)c.poll(100ms, poll_ec);
            const std::map<topic_partition, offset_and_metadata> offsets{
                {topic_partition{topic.name, 0}, {1, std::nullopt, ""}}};
            const auto commit_ec = c.commit(offsets, 100ms);
            inside.set_value({poll_ec, commit_ec});
        });
        auto f = inside.get_future();
        REQUIRE(f.wait_for(5s) == std::future_status::ready);
        const auto [poll_ec, commit_ec] = f.get();
        CHECK(poll_ec == make_error_code(client_errc::would_block));
        CHECK(commit_ec == make_error_code(client_errc::would_block));
        c.close(5s);
    }
    // Once the consumer is closed and gone, it leaves no work behind on the context.
    guard.reset();
    const auto deadline = clock_type::now() + 5s;
    while (!io_ended && clock_type::now() < deadline) std::this_thread::sleep_for(20ms);
    CHECK_MESSAGE(io_ended.load(), "the io_context still had work 5 s after the consumer was closed and destroyed");
    io.stop();
    runner.join();
}
