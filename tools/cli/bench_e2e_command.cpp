// kwire bench e2e: end-to-end latency, produce to consume, at a fixed rate.
// One process holds both clients, so the send time can travel in the record
// itself (its first 8 bytes, steady-clock nanoseconds) and be compared with
// the time the consumer's poll() hands the record out.
#include "cli.hpp"
#include "json.hpp"
#include "latency_histogram.hpp"

#include "kwire/consumer.hpp"
#include "kwire/producer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kwire::cli {
namespace {

using clock_type = std::chrono::steady_clock;

void print_help() {
    std::cout <<
        "usage: kwire bench e2e -b HOST:PORT[,...] -t TOPIC [options]\n"
        "\n"
        "Measures end-to-end latency: a consumer reads the topic's partitions from\n"
        "their current end while a producer in the same process sends records at a\n"
        "fixed rate; each record carries its send time, and the latency is the time\n"
        "from send() to the consumer's poll() returning it. The topic must exist.\n"
        "\n"
        "  -t, --topic TOPIC       topic to send to and read (required)\n"
        "  --count N               records to send (default 10000)\n"
        "  --rate R                records per second (default 1000)\n"
        "  --record-size BYTES     value size, at least 8 (default 100)\n"
        "  --acks 0|1|all          acks\n"
        "  --linger-ms MS          linger.ms\n"
        "  --timeout-ms MS         give up when nothing arrives for MS ms (default 30000)\n"
        "  -X key=value, -F FILE   other producer and consumer properties\n"
        "  --json                  one JSON object on stdout instead of the report:\n"
        "                          client, mode, topic, record_size, rate, records,\n"
        "                          errors, p50_us, p99_us, p999_us, max_us, mean_us\n"
        "\n"
        "exit status: 0 every record arrived, 1 a record failed or did not arrive,\n"
        "2 bad usage or configuration\n";
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

} // namespace

int run_bench_e2e(const std::vector<std::string>& args) {
    std::string topic;
    std::uint64_t count = 10000;
    std::uint64_t rate = 1000;
    std::size_t record_size = 100;
    std::chrono::milliseconds timeout{30000};
    std::vector<std::pair<std::string, std::string>> overrides;

    auto opts = parse_common(args, {print_help, false}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            topic = v.need("a topic name");
        } else if (flag == "--count") {
            count = v.count("a number of records", 1);
        } else if (flag == "--rate") {
            rate = v.count("records per second", 1);
        } else if (flag == "--record-size") {
            record_size = v.count("a size in bytes", 8);
            if (record_size > 64 * 1024 * 1024) throw usage_error("--record-size is at most 64 MiB");
        } else if (flag == "--timeout-ms") {
            timeout = std::chrono::milliseconds(
                static_cast<std::int64_t>(std::min<std::uint64_t>(v.count("milliseconds", 1), 86'400'000)));
        } else if (flag == "--acks") {
            overrides.emplace_back("acks", v.need("0, 1 or all"));
        } else if (flag == "--linger-ms") {
            overrides.emplace_back("linger.ms", v.need("milliseconds"));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    for (const auto& [key, value] : overrides) opts.cfg.set(key, value);
    if (topic.empty()) throw usage_error("no topic given: use -t TOPIC");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();

    consumer c(consumer_options::from_config(opts.cfg, stderr_log(opts.cfg)));
    const std::vector<topic_partition> partitions = find_partitions(c, {topic}, {});
    c.assign(partitions);
    seek_each(c, partitions, true);
    producer p(producer_options::from_config(opts.cfg, stderr_log(opts.cfg)));
    // Connected and fetching before the first send, so start-up (metadata,
    // connections, the fetch session) is not counted as latency.
    for (const auto& tp : partitions) (void)c.position(tp, timeout);
    (void)c.poll(std::chrono::milliseconds(300));
    {
        // A record too short to carry a send time: the consumer skips it.
        producer_record warm_up;
        warm_up.topic = topic;
        warm_up.value = payload(std::string_view("w"));
        p.send(std::move(warm_up), [](std::error_code, record_metadata) {});
        (void)p.flush(timeout);
    }

    latency_histogram latency;
    std::atomic<std::uint64_t> errors{0};
    std::mutex error_output;
    std::atomic<bool> stop_sending{false};

    // The producer runs on its own thread so that poll() below sees records
    // as soon as they arrive, not between sends.
    std::thread sender([&] {
        std::vector<std::byte> value(record_size, std::byte{'x'});
        producer_record rec;
        rec.topic = topic;
        const auto start = clock_type::now();
        const std::chrono::duration<double> pace(1.0 / static_cast<double>(rate));
        for (std::uint64_t i = 0; i < count && !stop_sending.load(std::memory_order_relaxed); ++i) {
            std::this_thread::sleep_until(start +
                                          std::chrono::duration_cast<clock_type::duration>(pace * static_cast<double>(i)));
            const std::int64_t sent_at = now_ns();
            std::memcpy(value.data(), &sent_at, sizeof sent_at);
            rec.value = payload(std::span<const std::byte>(value));
            try {
                p.send(rec, [&](std::error_code ec, record_metadata) {
                    if (ec && errors.fetch_add(1, std::memory_order_relaxed) < 5) {
                        std::lock_guard lock(error_output);
                        std::cerr << "kwire bench e2e: a record failed: " << ec.message() << "\n";
                    }
                });
            } catch (const std::exception& e) {
                if (errors.fetch_add(1, std::memory_order_relaxed) < 5) {
                    std::lock_guard lock(error_output);
                    std::cerr << "kwire bench e2e: send failed: " << e.what() << "\n";
                }
            }
        }
        (void)p.flush(std::chrono::seconds(60));
    });

    std::uint64_t received = 0;
    std::string failure;
    bool timed_out = false;
    auto last_arrival = clock_type::now();
    try {
        while (received < count) {
            std::error_code ec;
            const consumer_records batch = c.poll(std::chrono::milliseconds(100), ec);
            const std::int64_t arrived_at = now_ns();
            if (ec) {
                failure = ec.message();
                break;
            }
            for (const consumer_record& r : batch) {
                if (!r.value || r.value->size() < sizeof(std::int64_t)) continue;  // not ours
                std::int64_t sent_at = 0;
                std::memcpy(&sent_at, r.value->data(), sizeof sent_at);
                latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, (arrived_at - sent_at) / 1000)));
                ++received;
            }
            if (!batch.empty()) last_arrival = clock_type::now();
            else if (clock_type::now() - last_arrival >= timeout) {
                timed_out = true;
                break;
            }
        }
    } catch (const std::system_error& e) {
        failure = e.what();
    }
    stop_sending = true;
    sender.join();
    c.close();
    (void)p.close(std::chrono::seconds(5));

    if (!failure.empty()) std::cerr << "kwire bench e2e: " << failure << "\n";
    if (timed_out)
        std::cerr << "kwire bench e2e: nothing arrived for " << timeout.count() << " ms: " << received << " of "
                  << count << " records arrived\n";
    const std::uint64_t p50 = latency.quantile(0.50), p99 = latency.quantile(0.99), p999 = latency.quantile(0.999);
    const std::uint64_t failed = errors.load();
    if (opts.json) {
        std::cout << "{\"client\":\"kwire\",\"mode\":\"e2e\",\"topic\":" << json_quote(topic)
                  << ",\"record_size\":" << record_size << ",\"rate\":" << rate << ",\"records\":" << received
                  << ",\"errors\":" << failed << ",\"p50_us\":" << p50 << ",\"p99_us\":" << p99
                  << ",\"p999_us\":" << p999 << ",\"max_us\":" << latency.max()
                  << ",\"mean_us\":" << fixed(latency.mean(), 1) << "}\n";
    } else {
        auto ms = [](std::uint64_t us) { return fixed(static_cast<double>(us) / 1000.0, 3); };
        std::cout << "topic " << topic << ": " << received << " of " << count << " records of " << record_size
                  << " bytes at " << rate << " records/s\n"
                  << "latency send to poll: p50 " << ms(p50) << " ms, p99 " << ms(p99) << " ms, p99.9 " << ms(p999)
                  << " ms, max " << ms(latency.max()) << " ms\n"
                  << "errors: " << failed << "\n";
    }
    std::cout.flush();
    return received == count && failed == 0 && failure.empty() ? exit_ok : exit_failure;
}

} // namespace kwire::cli
