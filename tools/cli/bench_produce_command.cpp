// kwire bench produce: producer throughput and send-to-acknowledgement
// latency. Payloads come from one pool made before the clock starts (random
// bytes, or the lines of --payload-file); the completion handlers record
// latency into a fixed log-linear histogram (no allocation per record).
#include "bench_payloads.hpp"
#include "cli.hpp"
#include "latency_histogram.hpp"
#include "json.hpp"
#include "progress.hpp"

#include "kwire/producer.hpp"
#include "kwire/proto/compression.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kwire::cli {
namespace {

using clock_type = std::chrono::steady_clock;

void print_help() {
    std::cout <<
        "usage: kwire bench produce -b HOST:PORT[,...] -t TOPIC [options]\n"
        "\n"
        "Sends records of random bytes as fast as buffer.memory allows (send() waits\n"
        "while it is full), then waits for every acknowledgement, and reports\n"
        "throughput and send-to-acknowledgement latency. The topic must exist, or\n"
        "the broker must create it on first use. Ctrl-C stops sending early and\n"
        "reports what was sent so far.\n"
        "\n"
        "  -t, --topic TOPIC       topic to send to (required)\n"
        "  -p, --partition N       send every record to partition N (default: the partitioner)\n"
        "  --record-size BYTES     value size of every record (default 100; no key)\n"
        "  --payload-file FILE     values to send instead of random bytes: one per line;\n"
        "                          record i sends line i mod lines (Java's\n"
        "                          ProducerPerformance reads the same format)\n"
        "  --count N               records to send (default 1000000)\n"
        "  --duration SECONDS      send for this long instead of --count\n"
        "  --rate R                offer R records/s (default: as fast as possible), for\n"
        "                          latency at a fixed load\n"
        "  --acks 0|1|all          acks\n"
        "  --linger-ms MS          linger.ms\n"
        "  --batch-size BYTES      batch.size\n"
        "  --compression CODEC     compression.type: none, gzip, snappy, lz4, zstd\n"
        "                          (the payloads are random bytes: they do not compress)\n"
        "  --idempotence BOOL      enable.idempotence (true|false)\n"
        "  -X key=value, -F FILE   any other producer property; the options above win\n"
        "  --json                  one JSON object on stdout instead of the report:\n"
        "                          client, mode, topic, record_size (the mean with\n"
        "                          --payload-file), records, delivered, errors, bytes,\n"
        "                          seconds, records_per_s, mb_per_s, p50_us, p99_us, p999_us,\n"
        "                          max_us, mean_us, acks, linger_ms, batch_size,\n"
        "                          compression, idempotence, interrupted\n"
        "\n"
        "records counts every record sent (delivered + errors); records/s and MB/s\n"
        "(1 MB = 2^20 bytes of values, as kafka-producer-perf-test) count delivered\n"
        "records over the time from the first send to the last acknowledgement.\n"
        "Latency percentiles are of delivered records, measured from send() to the\n"
        "completion (to 1.6% precision). While running, a progress line is printed\n"
        "to stderr every second when stderr is a terminal.\n"
        "\n"
        "exit status: 0 every record delivered, 1 any record failed, 2 bad usage or\n"
        "configuration\n";
}

// Everything the completion handlers touch; outlives the producer.
struct bench_state {
    latency_histogram latency;
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> delivered_bytes{0};
    std::atomic<std::int64_t> last_completion_ns{0};  // since the start
    clock_type::time_point start;
    std::mutex error_output;
    static constexpr std::uint64_t errors_shown = 5;
};

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) {
    interrupted = 1;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

} // namespace

int run_bench_produce(const std::vector<std::string>& args) {
    std::string topic;
    std::optional<std::int32_t> partition;
    std::size_t record_size = 100;
    std::optional<std::string> payload_file;
    std::optional<double> rate;
    std::optional<std::uint64_t> count;
    std::optional<double> duration;
    std::vector<std::pair<std::string, std::string>> overrides;  // applied after -X/-F

    auto opts = parse_common(args, {print_help, false}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            topic = v.need("a topic name");
        } else if (flag == "-p" || flag == "--partition") {
            partition = v.partition();
        } else if (flag == "--record-size") {
            record_size = v.count("a size in bytes", 0);
            if (record_size > 1024 * 1024 * 1024) throw usage_error("--record-size is at most 1 GiB");
        } else if (flag == "--payload-file") {
            payload_file = v.need("a file name");
        } else if (flag == "--rate") {
            rate = static_cast<double>(v.count("records per second", 1));
        } else if (flag == "--count") {
            count = v.count("a number of records", 1);
        } else if (flag == "--duration") {
            const std::string& text = v.need("seconds");
            double s = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
            if (ec != std::errc{} || end != text.data() + text.size() || !(s > 0))
                throw usage_error("--duration needs a positive number of seconds, got '" + text + "'");
            duration = s;
        } else if (flag == "--acks") {
            overrides.emplace_back("acks", v.need("0, 1 or all"));
        } else if (flag == "--linger-ms") {
            overrides.emplace_back("linger.ms", v.need("milliseconds"));
        } else if (flag == "--batch-size") {
            overrides.emplace_back("batch.size", v.need("bytes"));
        } else if (flag == "--compression") {
            overrides.emplace_back("compression.type", v.need("a codec (none, gzip, snappy, lz4, zstd)"));
        } else if (flag == "--idempotence") {
            overrides.emplace_back("enable.idempotence", v.need("true or false"));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    if (count && duration) throw usage_error("--count and --duration exclude each other");
    if (!duration && !count) count = 1'000'000;
    for (const auto& [key, value] : overrides) opts.cfg.set(key, value);
    if (topic.empty()) throw usage_error("no topic given: use -t TOPIC");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();
    producer_options popts = producer_options::from_config(opts.cfg, stderr_log(opts.cfg));
    const auto flush_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(popts.delivery_timeout + std::chrono::seconds(5));
    const std::int16_t acks = popts.acks;
    const auto linger = popts.linger;
    const std::size_t batch_size = popts.batch_size;
    const auto codec = popts.compression;
    const bool idempotence = popts.idempotence;

    const payload_pool pool = payload_file ? payload_pool::from_file(*payload_file) : payload_pool::random(record_size);
    const double mean_size = pool.mean_size();
    const auto pace = std::chrono::duration<double>(rate ? 1.0 / *rate : 0.0);

    bench_state state;  // declared before the producer: outlives every handler
    producer p(std::move(popts));

    producer_record rec;
    rec.topic = topic;
    rec.partition = partition;

    const bool show_progress = stderr_is_terminal();
    const bool timed = duration.has_value();
    auto previous_signal = std::signal(SIGINT, on_interrupt);

    state.start = clock_type::now();
    const auto deadline =
        state.start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(duration.value_or(0)));
    std::optional<periodic_reporter> progress;
    if (show_progress) {
        progress.emplace(std::chrono::seconds(1), [&state, last = std::uint64_t{0}]() mutable {
            const double secs = std::chrono::duration<double>(clock_type::now() - state.start).count();
            const std::uint64_t sent = state.sent.load(std::memory_order_relaxed);
            const std::uint64_t acked = state.completed.load(std::memory_order_relaxed);
            const std::uint64_t errors = state.errors.load(std::memory_order_relaxed);
            const std::uint64_t delivered = acked - std::min(acked, errors);
            std::ostringstream line;
            line << "kwire bench produce: " << fixed(secs, 0) << " s, " << sent << " sent, " << acked << " acked ("
                 << delivered - std::min(delivered, last) << " in the last second), "
                 << static_cast<std::uint64_t>(static_cast<double>(delivered) / secs) << " records/s so far, "
                 << errors << " errors\n";
            last = delivered;
            std::cerr << line.str();
        });
    }

    std::uint64_t sent = 0;
    for (;;) {
        if (interrupted) break;
        if (rate) {
            const auto due = state.start + std::chrono::duration_cast<clock_type::duration>(pace * static_cast<double>(sent));
            if (clock_type::now() < due) std::this_thread::sleep_until(due);
        }
        const auto t0 = clock_type::now();
        if (timed ? t0 >= deadline : sent >= *count) break;
        const std::span<const std::byte> value = pool.at(sent);
        rec.value = payload(value);
        auto done = [st = &state, t0, size = value.size()](std::error_code ec, record_metadata) {
            const auto now = clock_type::now();
            if (!ec) {
                st->delivered_bytes.fetch_add(size, std::memory_order_relaxed);
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - t0).count();
                st->latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, us)));
            } else if (st->errors.fetch_add(1, std::memory_order_relaxed) < bench_state::errors_shown) {
                std::lock_guard lock(st->error_output);
                std::cerr << "kwire bench produce: a record failed: " << ec.message() << "\n";
            }
            st->last_completion_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(now - st->start).count(),
                                         std::memory_order_relaxed);
            st->completed.fetch_add(1, std::memory_order_release);
        };
        try {
            p.send(rec, std::move(done));
        } catch (const std::exception& e) {
            if (state.errors.fetch_add(1, std::memory_order_relaxed) < bench_state::errors_shown) {
                std::lock_guard lock(state.error_output);
                std::cerr << "kwire bench produce: send failed: " << e.what() << "\n";
            }
            state.completed.fetch_add(1, std::memory_order_release);
        }
        state.sent.store(++sent, std::memory_order_relaxed);
    }
    const bool stopped_early = interrupted != 0;

    const std::error_code flushed = p.flush(flush_timeout);
    if (flushed) {
        std::lock_guard lock(state.error_output);
        std::cerr << "kwire bench produce: " << p.pending() << " record(s) not acknowledged within "
                  << flush_timeout.count() / 1000 << " s: " << flushed.message() << "\n";
    }
    (void)p.close(std::chrono::milliseconds(flushed ? 0 : 1000));
    const auto limit = clock_type::now() + std::chrono::seconds(10);
    while (state.completed.load(std::memory_order_acquire) < sent && clock_type::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (progress) progress->stop();
    std::signal(SIGINT, previous_signal);

    const std::uint64_t completed = state.completed.load(std::memory_order_acquire);
    const std::uint64_t errors = state.errors.load(std::memory_order_relaxed) + (sent - completed);
    if (errors > bench_state::errors_shown)
        std::cerr << "kwire bench produce: " << errors << " records failed in all\n";
    if (sent != completed)
        std::cerr << "kwire bench produce: " << sent - completed << " record(s) were never reported by the producer\n";
    const std::uint64_t delivered = sent - errors;
    double seconds = static_cast<double>(state.last_completion_ns.load(std::memory_order_relaxed)) / 1e9;
    if (seconds <= 0) seconds = std::chrono::duration<double>(clock_type::now() - state.start).count();
    const double records_per_s = static_cast<double>(delivered) / seconds;
    const std::uint64_t bytes = state.delivered_bytes.load(std::memory_order_relaxed);
    const double mb_per_s = static_cast<double>(bytes) / seconds / (1024.0 * 1024.0);
    const auto& lat = state.latency;
    const std::uint64_t p50 = lat.quantile(0.50), p99 = lat.quantile(0.99), p999 = lat.quantile(0.999);
    const std::string acks_text = acks == -1 ? "all" : std::to_string(acks);
    const std::string codec_text(proto::codec_name(codec));

    if (opts.json) {
        std::cout << "{\"client\":\"kwire\",\"mode\":\"produce\",\"topic\":" << json_quote(topic)
                  << ",\"record_size\":" << (payload_file ? fixed(mean_size, 1) : std::to_string(record_size))
                  << ",\"records\":" << sent
                  << ",\"delivered\":" << delivered << ",\"errors\":" << errors << ",\"bytes\":" << bytes
                  << ",\"seconds\":" << fixed(seconds, 6)
                  << ",\"records_per_s\":" << fixed(records_per_s, 1) << ",\"mb_per_s\":" << fixed(mb_per_s, 3)
                  << ",\"p50_us\":" << p50 << ",\"p99_us\":" << p99 << ",\"p999_us\":" << p999
                  << ",\"max_us\":" << lat.max() << ",\"mean_us\":" << fixed(lat.mean(), 1)
                  << ",\"acks\":" << json_quote(acks_text) << ",\"linger_ms\":" << linger.count()
                  << ",\"batch_size\":" << batch_size << ",\"compression\":" << json_quote(codec_text)
                  << ",\"idempotence\":" << (idempotence ? "true" : "false")
                  << ",\"rate\":" << fixed(rate.value_or(0), 0) << ",\"interrupted\":" << (stopped_early ? "true" : "false") << "}\n";
    } else {
        auto ms = [](std::uint64_t us) { return fixed(static_cast<double>(us) / 1000.0, 3); };
        std::cout << "topic " << topic << ": " << fixed(mean_size, 0) << "-byte records"
                  << (payload_file ? " (mean, from " + *payload_file + ")" : std::string()) << ", acks=" << acks_text
                  << ", linger.ms=" << linger.count() << ", batch.size=" << batch_size
                  << ", compression=" << codec_text << ", idempotence=" << (idempotence ? "true" : "false") << "\n"
                  << sent << " records in " << fixed(seconds, 3) << " s" << (stopped_early ? " (interrupted)" : "")
                  << ": " << fixed(records_per_s, 0) << " records/s, " << fixed(mb_per_s, 2) << " MB/s\n"
                  << "latency send to ack: ";
        if (lat.count() == 0) std::cout << "none (no record delivered)\n";
        else
            std::cout << "p50 " << ms(p50) << " ms, p99 " << ms(p99) << " ms, p99.9 " << ms(p999) << " ms, max "
                      << ms(lat.max()) << " ms, mean " << fixed(lat.mean() / 1000.0, 3) << " ms\n";
        std::cout << "errors: " << errors << "\n";
    }
    std::cout.flush();
    return errors > 0 || flushed ? exit_failure : exit_ok;
}

} // namespace kwire::cli
