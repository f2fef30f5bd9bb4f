// The producer's send path and the consumer's poll path do not allocate per
// record once warm, counted across every thread of the process (the I/O
// thread included) with support/allocation_counter, against the real broker.
// Allocations per request, per batch, per socket write or per poll() are
// fine; a fraction of an allocation per record well below one is what "none
// per record" leaves. The bound is one per 10 records: a release build makes
// about one per 50, a sanitizer build (slower, so more requests and writes
// for the same records) about one per 15; an allocation per record would be
// 60000.
#include "support/allocation_counter.hpp"
#include "support/consumer_ops.hpp"
#include "support/producer_ops.hpp"

#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>

using namespace kwire;

namespace {

constexpr int warm_up_records = 20000;
constexpr int measured_records = 60000;

// Sends `n` 100-byte values to partition 0 and waits for every delivery.
void send_and_flush(producer& p, const std::string& topic, int n, std::atomic<int>& failed) {
    const std::string value(100, 'v');
    producer_record rec;
    rec.topic = topic;
    rec.partition = 0;
    for (int i = 0; i < n; ++i) {
        rec.value = payload(std::string_view(value));
        p.send(rec, [&failed](std::error_code ec, record_metadata) {
            if (ec) failed.fetch_add(1, std::memory_order_relaxed);
        });
    }
    REQUIRE_FALSE(p.flush(std::chrono::seconds(60)));
}

} // namespace

TEST_CASE("allocations: producing and consuming allocate far less than once per record") {
    const auto topic = test::make_topic("kwire-allocations", 1);
    std::atomic<int> failed{0};
    {
        // linger.ms long enough that requests stay few however slowly the
        // records are sent (under the sanitizers too): what is counted is
        // then the per-record cost, with the per-request allocations small.
        producer p(test::producer_config({{"linger.ms", "100"}, {"batch.size", "1048576"}, {"acks", "all"}}));
        send_and_flush(p, topic.name, warm_up_records, failed);
        const std::uint64_t before = test::process_allocations();
        send_and_flush(p, topic.name, measured_records, failed);
        const std::uint64_t used = test::process_allocations() - before;
        MESSAGE("producer: " << used << " allocations for " << measured_records << " records");
        CHECK(failed.load() == 0);
        CHECK(used < measured_records / 10);
        p.close(std::chrono::seconds(10));
    }
    {
        consumer c(test::consumer_config({{"max.poll.records", "2000"}}));
        const topic_partition tp{topic.name, 0};
        c.assign({tp});
        c.seek(tp, 0);
        std::size_t seen = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        auto read_up_to = [&](std::size_t target) {
            while (seen < target && std::chrono::steady_clock::now() < deadline) {
                const consumer_records batch = c.poll(std::chrono::milliseconds(200));
                seen += batch.size();
            }
        };
        read_up_to(warm_up_records);
        const std::uint64_t before = test::process_allocations();
        const std::size_t seen_before = seen;
        read_up_to(warm_up_records + measured_records);
        const std::uint64_t used = test::process_allocations() - before;
        const std::size_t read = seen - seen_before;
        MESSAGE("consumer: " << used << " allocations for " << read << " records");
        REQUIRE(seen == static_cast<std::size_t>(warm_up_records + measured_records));
        CHECK(used < read / 10);
        c.close();
    }
}
