// kwire bench produce: producer throughput and send-to-acknowledgement
// latency. Payloads come from one pool of random bytes generated before the
// clock starts; the completion handlers record latency into a fixed
// log-linear histogram (no allocation per record).
#include "cli.hpp"
#include "json.hpp"
#include "progress.hpp"

#include "kwire/producer.hpp"
#include "kwire/proto/compression.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
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
        "  --count N               records to send (default 1000000)\n"
        "  --duration SECONDS      send for this long instead of --count\n"
        "  --acks 0|1|all          acks\n"
        "  --linger-ms MS          linger.ms\n"
        "  --batch-size BYTES      batch.size\n"
        "  --compression CODEC     compression.type: none, gzip, snappy, lz4, zstd\n"
        "                          (the payloads are random bytes: they do not compress)\n"
        "  --idempotence BOOL      enable.idempotence (true|false)\n"
        "  -X key=value, -F FILE   any other producer property; the options above win\n"
        "  --json                  one JSON object on stdout instead of the report:\n"
        "                          topic, record_size, records, delivered, errors, bytes,\n"
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

// Latency in microseconds, log-linear: exact below 128 us, then 64 buckets
// per power of two (each at most 1/64 wide relative to its value). Updated
// with relaxed atomics from the completion handlers; fixed size, no
// allocation.
class latency_histogram {
public:
    static constexpr int sub_bits = 6;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;  // 64
    static constexpr int max_shift = 30;                                      // up to 2^37 us (38 hours)
    static constexpr std::size_t bucket_count = max_shift * sub_count + 2 * sub_count;

    void record(std::uint64_t us) noexcept {
        counts_[index(us)].fetch_add(1, std::memory_order_relaxed);
        total_.fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(us, std::memory_order_relaxed);
        std::uint64_t seen = max_.load(std::memory_order_relaxed);
        while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
        }
    }

    std::uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
    std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
    double mean() const noexcept {
        const auto n = count();
        return n ? static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n) : 0.0;
    }

    // The highest value of the bucket holding the q-quantile (0 < q <= 1).
    std::uint64_t quantile(double q) const noexcept {
        const std::uint64_t n = count();
        if (n == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n) + 0.999999);
        rank = std::clamp<std::uint64_t>(rank, 1, n);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += counts_[i].load(std::memory_order_relaxed);
            if (seen >= rank) return std::min(highest_in(i), max());
        }
        return max();
    }

private:
    static std::size_t index(std::uint64_t us) noexcept {
        if (us < 2 * sub_count) return static_cast<std::size_t>(us);
        const int shift = std::bit_width(us) - (sub_bits + 1);
        if (shift > max_shift) return bucket_count - 1;
        return static_cast<std::size_t>(shift) * sub_count + static_cast<std::size_t>(us >> shift);
    }
    static std::uint64_t highest_in(std::size_t i) noexcept {
        if (i < 2 * sub_count) return i;
        const std::uint64_t shift = i / sub_count - 1;
        const std::uint64_t mantissa = i - shift * sub_count;  // in [64, 128)
        return ((mantissa + 1) << shift) - 1;
    }

    std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> sum_{0};
    std::atomic<std::uint64_t> max_{0};
};

// Everything the completion handlers touch; outlives the producer.
struct bench_state {
    latency_histogram latency;
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> errors{0};
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

// Payloads: distinct random records, enough of them (16 MiB) that batches
// never repeat one, generated once before timing.
std::vector<std::byte> make_pool(std::size_t record_size, std::size_t& records_in_pool) {
    constexpr std::size_t pool_bytes = 16 * 1024 * 1024;
    records_in_pool = record_size == 0 ? 1 : std::max<std::size_t>(2, (pool_bytes + record_size - 1) / record_size);
    std::vector<std::byte> pool(records_in_pool * record_size);
    std::mt19937_64 rng(std::random_device{}());
    std::size_t i = 0;
    for (; i + 8 <= pool.size(); i += 8) {
        const std::uint64_t r = rng();
        std::memcpy(pool.data() + i, &r, 8);
    }
    for (; i < pool.size(); ++i) pool[i] = static_cast<std::byte>(rng());
    return pool;
}

} // namespace

int run_bench_produce(const std::vector<std::string>& args) {
    std::string topic;
    std::optional<std::int32_t> partition;
    std::size_t record_size = 100;
    std::optional<std::uint64_t> count;
    std::optional<double> duration;
    std::vector<std::pair<std::string, std::string>> overrides;  // applied after -X/-F

    auto opts = parse_common(args, [&](const std::string& flag, const std::string* value, bool& used) {
        auto need = [&](const char* what) -> const std::string& {
            if (!value) throw usage_error(flag + " needs " + what);
            used = true;
            return *value;
        };
        if (flag == "-t" || flag == "--topic") {
            topic = need("a topic name");
        } else if (flag == "-p" || flag == "--partition") {
            const std::uint64_t n = parse_count(flag, need("a partition number"), 0);
            if (n > 2147483647) throw usage_error(flag + " is out of range");
            partition = static_cast<std::int32_t>(n);
        } else if (flag == "--record-size") {
            record_size = parse_count(flag, need("a size in bytes"), 0);
            if (record_size > 1024 * 1024 * 1024) throw usage_error("--record-size is at most 1 GiB");
        } else if (flag == "--count") {
            count = parse_count(flag, need("a number of records"), 1);
        } else if (flag == "--duration") {
            const std::string& v = need("seconds");
            double s = 0;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
            if (ec != std::errc{} || end != v.data() + v.size() || !(s > 0))
                throw usage_error("--duration needs a positive number of seconds, got '" + v + "'");
            duration = s;
        } else if (flag == "--acks") {
            overrides.emplace_back("acks", need("0, 1 or all"));
        } else if (flag == "--linger-ms") {
            overrides.emplace_back("linger.ms", need("milliseconds"));
        } else if (flag == "--batch-size") {
            overrides.emplace_back("batch.size", need("bytes"));
        } else if (flag == "--compression") {
            overrides.emplace_back("compression.type", need("a codec (none, gzip, snappy, lz4, zstd)"));
        } else if (flag == "--idempotence") {
            overrides.emplace_back("enable.idempotence", need("true or false"));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) {
        print_help();
        return exit_ok;
    }
    if (!opts.positional.empty()) throw usage_error("unexpected argument '" + opts.positional[0] + "'");
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

    std::size_t pool_records = 0;
    const std::vector<std::byte> pool = make_pool(record_size, pool_records);

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
        const auto t0 = clock_type::now();
        if (timed ? t0 >= deadline : sent >= *count) break;
        const std::size_t slot = static_cast<std::size_t>(sent % pool_records);
        rec.value = payload(std::span<const std::byte>(pool.data() + slot * record_size, record_size));
        auto done = [st = &state, t0](std::error_code ec, record_metadata) {
            const auto now = clock_type::now();
            if (!ec) {
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
    const double mb_per_s = records_per_s * static_cast<double>(record_size) / (1024.0 * 1024.0);
    const auto& lat = state.latency;
    const std::uint64_t p50 = lat.quantile(0.50), p99 = lat.quantile(0.99), p999 = lat.quantile(0.999);
    const std::string acks_text = acks == -1 ? "all" : std::to_string(acks);
    const std::string codec_text(proto::codec_name(codec));

    if (opts.json) {
        std::cout << "{\"topic\":" << json_quote(topic) << ",\"record_size\":" << record_size
                  << ",\"records\":" << sent << ",\"delivered\":" << delivered << ",\"errors\":" << errors
                  << ",\"bytes\":" << delivered * record_size << ",\"seconds\":" << fixed(seconds, 6)
                  << ",\"records_per_s\":" << fixed(records_per_s, 1) << ",\"mb_per_s\":" << fixed(mb_per_s, 3)
                  << ",\"p50_us\":" << p50 << ",\"p99_us\":" << p99 << ",\"p999_us\":" << p999
                  << ",\"max_us\":" << lat.max() << ",\"mean_us\":" << fixed(lat.mean(), 1)
                  << ",\"acks\":" << json_quote(acks_text) << ",\"linger_ms\":" << linger.count()
                  << ",\"batch_size\":" << batch_size << ",\"compression\":" << json_quote(codec_text)
                  << ",\"idempotence\":" << (idempotence ? "true" : "false")
                  << ",\"interrupted\":" << (stopped_early ? "true" : "false") << "}\n";
    } else {
        auto ms = [](std::uint64_t us) { return fixed(static_cast<double>(us) / 1000.0, 3); };
        std::cout << "topic " << topic << ": " << record_size << "-byte records, acks=" << acks_text
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
