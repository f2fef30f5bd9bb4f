// kwire_rdkafka_bench: the librdkafka side of kwire's client comparison.
//
// Runs the same three measurements as `kwire bench produce|consume|e2e`, with
// the same flags and the same JSON fields, against librdkafka's C API, so that
// bench/compare can put the numbers side by side:
//
//   produce  throughput and send-to-acknowledgement latency
//   consume  throughput reading a topic from the beginning
//   e2e      producer-to-consumer latency at a fixed rate, in one process
//
// This file depends on librdkafka only (never on kwire code).
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

constexpr const char* program = "kwire_rdkafka_bench";

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

double seconds_between(steady::time_point a, steady::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_sigint(int) {
    interrupted = 1;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

// --- error output: the first few lines, then only a count -------------------

class error_log {
public:
    static constexpr unsigned shown_max = 10;

    void report(const std::string& line) {
        std::lock_guard lock(mutex_);
        ++total_;
        if (shown_ < shown_max) {
            ++shown_;
            std::cerr << program << ": " << line << '\n';
        }
    }

    void summary() {
        std::lock_guard lock(mutex_);
        if (total_ > shown_)
            std::cerr << program << ": " << total_ << " errors in all (" << total_ - shown_ << " not shown)\n";
    }

private:
    std::mutex mutex_;
    unsigned shown_ = 0;
    std::uint64_t total_ = 0;
};

error_log errors_out;

// --- latency histogram ------------------------------------------------------
// Microseconds, log-linear: one bucket per value below 128, then 64 buckets per
// power of two (each under 1/64 of its values wide). Fixed size, filled by
// one thread at a time (the delivery-report or consumer thread) and read once
// that thread is done.
class histogram {
public:
    void record(std::uint64_t us) noexcept {
        ++counts_[index_of(us)];
        ++count_;
        sum_ += us;
        max_ = std::max(max_, us);
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

    // The upper end of the bucket holding the q-quantile, at most the maximum.
    std::uint64_t quantile(double q) const noexcept {
        if (count_ == 0) return 0;
        const double exact = q * static_cast<double>(count_);
        auto rank = static_cast<std::uint64_t>(exact);
        if (static_cast<double>(rank) < exact) ++rank;
        rank = std::clamp<std::uint64_t>(rank, 1, count_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper_of(i), max_);
        }
        return max_;
    }

private:
    static constexpr unsigned linear = 128;   // exact values 0..127
    static constexpr unsigned per_octave = 64;
    static constexpr unsigned top_exponent = 40;  // values up to 2^41 - 1 us (25 days)
    static constexpr std::size_t buckets = linear + (top_exponent - 6) * per_octave;

    static std::size_t index_of(std::uint64_t us) noexcept {
        if (us < linear) return static_cast<std::size_t>(us);
        constexpr std::uint64_t top = (std::uint64_t{1} << (top_exponent + 1)) - 1;
        us = std::min(us, top);
        const unsigned exponent = static_cast<unsigned>(std::bit_width(us)) - 1;  // 7..top_exponent
        const unsigned shift = exponent - 6;
        const auto mantissa = static_cast<std::size_t>(us >> shift);  // 64..127
        return linear + (exponent - 7) * per_octave + (mantissa - per_octave);
    }

    static std::uint64_t upper_of(std::size_t i) noexcept {
        if (i < linear) return i;
        const std::size_t k = i - linear;
        const unsigned shift = static_cast<unsigned>(k / per_octave) + 1;
        const std::uint64_t mantissa = per_octave + k % per_octave;
        return ((mantissa + 1) << shift) - 1;
    }

    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

// --- small formatting helpers -----------------------------------------------

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

std::string fixed(double v, int decimals) {
    if (!(v == v) || v > 1e300 || v < -1e300) v = 0;  // JSON has no NaN or infinity
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// A number read back from librdkafka's configuration, as a JSON number.
std::string json_number(const std::string& text) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return buf;
}

// --- command line -----------------------------------------------------------

enum class mode_kind { produce, consume, e2e };

// "p50 … ms, p99 … ms, p99.9 … ms, max … ms, mean … ms", or "none (no record
// <what>)" when the histogram is empty: the human-readable latency line.
std::string latency_summary(const histogram& h, const char* what) {
    if (h.count() == 0) return std::string("none (no record ") + what + ")";
    auto ms = [](double us) { return fixed(us / 1000.0, 3); };
    return "p50 " + ms(static_cast<double>(h.quantile(0.5))) + " ms, p99 " +
           ms(static_cast<double>(h.quantile(0.99))) + " ms, p99.9 " + ms(static_cast<double>(h.quantile(0.999))) +
           " ms, max " + ms(static_cast<double>(h.max())) + " ms, mean " + ms(h.mean()) + " ms";
}

struct options {
    mode_kind mode = mode_kind::produce;
    bool help = false;
    bool json = false;
    std::string brokers;
    std::string topic;
    std::vector<std::pair<std::string, std::string>> properties;  // -X and -F, in order
    std::vector<std::int32_t> partitions;                         // -p (once, except for consume)
    std::optional<std::uint64_t> count;
    std::optional<double> duration;
    std::optional<std::uint64_t> record_size;
    std::string payload_file;
    std::optional<double> rate;
    std::uint64_t timeout_ms = 30000;
    // The options that map to producer properties; they win over -X and -F.
    std::vector<std::pair<std::string, std::string>> producer_overrides;
};

std::uint64_t parse_unsigned(const std::string& flag, const std::string& text, std::uint64_t min,
                             std::uint64_t max = UINT64_MAX) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        throw usage_error(flag + " needs a whole number, got '" + text + "'");
    if (v < min || v > max)
        throw usage_error(flag + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    return v;
}

double parse_positive(const std::string& flag, const std::string& text) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || !(v > 0) || v > 1e12)
        throw usage_error(flag + " needs a positive number, got '" + text + "'");
    return v;
}

void load_properties_file(const std::string& path, options& o) {
    std::ifstream in(path);
    if (!in) throw usage_error("-F: cannot read " + path + ": " + std::strerror(errno));
    std::string line;
    auto trim = [](std::string s) {
        const auto b = s.find_first_not_of(" \t\r");
        if (b == std::string::npos) return std::string();
        const auto e = s.find_last_not_of(" \t\r");
        return s.substr(b, e - b + 1);
    };
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) throw usage_error("-F " + path + ": expected key=value, got '" + line + "'");
        o.properties.emplace_back(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    }
}

options parse_command_line(int argc, char** argv) {
    options o;
    const std::string_view mode = argv[1];
    if (mode == "produce") o.mode = mode_kind::produce;
    else if (mode == "consume") o.mode = mode_kind::consume;
    else if (mode == "e2e") o.mode = mode_kind::e2e;
    else throw usage_error("unknown mode '" + std::string(mode) + "' (produce, consume or e2e)");
    const bool produce = o.mode == mode_kind::produce;
    const bool consume = o.mode == mode_kind::consume;
    const bool e2e = o.mode == mode_kind::e2e;

    for (int i = 2; i < argc; ++i) {
        std::string flag = argv[i];
        std::optional<std::string> inline_value;  // --flag=value
        if (flag.rfind("--", 0) == 0) {
            if (const auto eq = flag.find('='); eq != std::string::npos) {
                inline_value = flag.substr(eq + 1);
                flag.resize(eq);
            }
        }
        auto value = [&](const char* what) -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= argc) throw usage_error(flag + " needs " + what);
            return argv[++i];
        };
        auto only = [&](bool allowed) {
            if (!allowed) throw usage_error(flag + " does not apply to " + std::string(mode));
        };

        if (flag == "-h" || flag == "--help") {
            o.help = true;
        } else if (flag == "--json") {
            o.json = true;
        } else if (flag == "-b" || flag == "--bootstrap-servers" || flag == "--brokers") {
            o.brokers = value("host:port[,host:port...]");
        } else if (flag == "-t" || flag == "--topic") {
            if (!o.topic.empty()) throw usage_error("only one topic (-t) is supported");
            o.topic = value("a topic name");
        } else if (flag == "-X") {
            const std::string kv = value("key=value");
            const auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) throw usage_error("-X needs key=value, got '" + kv + "'");
            o.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
        } else if (flag == "-F") {
            load_properties_file(value("a properties file"), o);
        } else if (flag == "-p" || flag == "--partition") {
            const auto n = parse_unsigned(flag, value("a partition number"), 0, 2147483647);
            if (!consume && !o.partitions.empty()) throw usage_error(flag + " may be given once");
            o.partitions.push_back(static_cast<std::int32_t>(n));
        } else if (flag == "--count") {
            o.count = parse_unsigned(flag, value("a number of records"), 1);
        } else if (flag == "--duration") {
            only(produce);
            o.duration = parse_positive(flag, value("seconds"));
        } else if (flag == "--record-size") {
            only(produce || e2e);
            o.record_size = parse_unsigned(flag, value("a size in bytes"), e2e ? 8 : 0, 1024 * 1024 * 1024);
        } else if (flag == "--payload-file") {
            only(produce);
            o.payload_file = value("a file");
        } else if (flag == "--rate") {
            only(produce || e2e);
            o.rate = parse_positive(flag, value("records per second"));
        } else if (flag == "--timeout-ms") {
            only(consume || e2e);
            o.timeout_ms = parse_unsigned(flag, value("milliseconds"), 1);
        } else if (flag == "--acks") {
            only(produce || e2e);
            o.producer_overrides.emplace_back("acks", value("0, 1 or all"));
        } else if (flag == "--linger-ms") {
            only(produce || e2e);
            o.producer_overrides.emplace_back("linger.ms", value("milliseconds"));
        } else if (flag == "--batch-size") {
            only(produce || e2e);
            o.producer_overrides.emplace_back("batch.size", value("bytes"));
        } else if (flag == "--compression") {
            only(produce || e2e);
            o.producer_overrides.emplace_back("compression.type", value("none, gzip, snappy, lz4 or zstd"));
        } else if (flag == "--idempotence") {
            only(produce || e2e);
            o.producer_overrides.emplace_back("enable.idempotence", value("true or false"));
        } else if (!flag.empty() && flag[0] == '-') {
            throw usage_error("unknown option " + flag);
        } else {
            throw usage_error("unexpected argument '" + flag + "'");
        }
        if (inline_value && (flag == "-h" || flag == "--help" || flag == "--json"))
            throw usage_error(flag + " takes no value");
    }
    if (o.help) return o;
    if (o.brokers.empty()) throw usage_error("no brokers given: use -b HOST:PORT");
    if (o.topic.empty()) throw usage_error("no topic given: use -t TOPIC");
    if (o.count && o.duration) throw usage_error("--count and --duration exclude each other");
    if (!o.payload_file.empty() && o.record_size)
        throw usage_error("--payload-file and --record-size exclude each other");
    return o;
}

void print_usage() {
    std::cout << "usage: " << program << " produce|consume|e2e -b HOST:PORT[,...] -t TOPIC [options]\n"
                 "\n"
                 "librdkafka " << rd_kafka_version_str() << " benchmark harness with the flags and JSON of\n"
                 "`kwire bench`. `" << program << " MODE --help` describes a mode.\n"
                 "\n"
                 "  produce   producer throughput and send-to-acknowledgement latency\n"
                 "  consume   consumer throughput, reading a topic from the beginning\n"
                 "  e2e       producer-to-consumer latency at a fixed rate (one process)\n"
                 "\n"
                 "exit status: 0 success, 1 a record failed or a timeout, 2 bad usage or configuration\n";
}

constexpr const char* common_help =
    "  -b, --bootstrap-servers HOST:PORT[,...]  brokers (bootstrap.servers; required)\n"
    "  -t, --topic TOPIC       the topic (required)\n"
    "  -X key=value            any librdkafka property (repeatable); applied before\n"
    "                          the options above, which win over it\n"
    "  -F FILE                 properties from a file (key=value lines, # comments)\n"
    "  --json                  one JSON object on stdout instead of the report\n"
    "\n"
    "librdkafka logs go to stderr at log_level 4 (warnings and worse; -X log_level=7\n"
    "or -X debug=... for more). Errors (failed deliveries, error events) are printed\n"
    "to stderr, the first 10 of them, then a count.\n";

void print_produce_help() {
    std::cout << "usage: " << program << " produce -b HOST:PORT[,...] -t TOPIC [options]\n"
                 "\n"
                 "Sends records (no key) with rd_kafka_producev(), without copying the payload,\n"
                 "polling delivery reports after every send (and waiting in rd_kafka_poll() while\n"
                 "the queue is full), then rd_kafka_flush(). Reports throughput and the latency\n"
                 "from the send call to the delivery report.\n"
                 "\n"
                 "  -p, --partition N       send every record to partition N (default: librdkafka's\n"
                 "                          partitioner; keyless records go to sticky partitions)\n"
                 "  --count N               records to send (default 1000000)\n"
                 "  --duration SECONDS      send for this long instead of --count\n"
                 "  --record-size BYTES     value size (default 100): payloads come from a pool of\n"
                 "                          random bytes (16 MiB, or --count records if fewer)\n"
                 "                          generated before the clock starts\n"
                 "  --payload-file FILE     payloads are the lines of FILE (split at '\\n'); record i\n"
                 "                          sends line i mod lines; record_size is the mean length\n"
                 "  --rate R                offered load in records/s: record i is sent at\n"
                 "                          start + i/R (default: as fast as possible)\n"
                 "  --acks 0|1|all          acks\n"
                 "  --linger-ms MS          linger.ms\n"
                 "  --batch-size BYTES      batch.size\n"
                 "  --compression CODEC     compression.type: none, gzip, snappy, lz4, zstd\n"
                 "  --idempotence BOOL      enable.idempotence (true|false)\n"
              << common_help
              << "\n"
                 "Settings made here (-X overrides them): batch.num.messages=1000000 (so that\n"
                 "batch.size in bytes limits a batch, as in Java and kwire),\n"
                 "log.connection.close=false, log_level=4. Everything else is librdkafka's\n"
                 "default (e.g. acks=all, linger.ms=5, batch.size=1000000, idempotence off).\n"
                 "The send queue holds queue.buffering.max.messages=100000 records and\n"
                 "queue.buffering.max.kbytes=1048576; Java's buffer.memory is 32 MiB, which\n"
                 "-X queue.buffering.max.kbytes=32768 matches (the queue depth drives the\n"
                 "latency of an unpaced run).\n"
                 "\n"
                 "JSON: client, mode, topic, record_size, records (sent), delivered, errors,\n"
                 "bytes, seconds, records_per_s, mb_per_s, p50_us, p99_us, p999_us, max_us,\n"
                 "mean_us, acks, linger_ms, batch_size, compression, idempotence, rate,\n"
                 "interrupted, librdkafka_version.\n"
                 "seconds run from the first send to the last delivery report; records/s and\n"
                 "MB/s (1 MB = 2^20 bytes of values) count delivered records. Latency is to\n"
                 "1.6% precision (log-linear histogram, upper bucket bound).\n"
                 "\n"
                 "exit status: 0 every record delivered, 1 any record failed, 2 bad usage\n";
}

void print_consume_help() {
    std::cout << "usage: " << program << " consume -b HOST:PORT[,...] -t TOPIC [options]\n"
                 "\n"
                 "Reads every partition of the topic from the beginning with the high-level\n"
                 "consumer: rd_kafka_assign() at OFFSET_BEGINNING (no group join, no commits;\n"
                 "a random group.id only because librdkafka's assign() needs one), then\n"
                 "rd_kafka_consumer_poll() per record.\n"
                 "\n"
                 "  -p, --partition N       only partition N (repeatable)\n"
                 "  --count N               stop after N records (default: read up to the end\n"
                 "                          offsets the partitions had at the start)\n"
                 "  --timeout-ms MS         give up when no record arrived for MS ms (default\n"
                 "                          30000): exit 1\n"
              << common_help
              << "\n"
                 "Settings made here (-X overrides them): enable.auto.commit=false,\n"
                 "enable.auto.offset.store=false, check.crcs=true (Java and kwire verify CRCs by\n"
                 "default; librdkafka does not), log.connection.close=false, log_level=4; always:\n"
                 "enable.partition.eof=true (to see the end of a partition). Fetch settings are\n"
                 "librdkafka's defaults, which equal the Java consumer's: fetch.max.bytes=52428800,\n"
                 "max.partition.fetch.bytes=1048576, fetch.min.bytes=1, fetch.wait.max.ms=500;\n"
                 "prefetch queue: queued.min.messages=100000, queued.max.messages.kbytes=65536.\n"
                 "\n"
                 "JSON: client, mode, topic, records, bytes, seconds, records_per_s, mb_per_s,\n"
                 "timed_out, interrupted, librdkafka_version.\n"
                 "bytes counts keys and values (1 MB = 2^20 bytes); seconds run from the poll\n"
                 "that returned the first record to the one that returned the last.\n"
                 "\n"
                 "exit status: 0 every record asked for arrived, 1 a timeout or an error,\n"
                 "2 bad usage\n";
}

void print_e2e_help() {
    std::cout << "usage: " << program << " e2e -b HOST:PORT[,...] -t TOPIC [options]\n"
                 "\n"
                 "End-to-end latency in one process: a consumer is assigned every partition at\n"
                 "its current end offset (and has reached that end once, so its fetches run),\n"
                 "then a producer sends records at a fixed rate. The first 8 bytes of each value\n"
                 "are the send time; the consumer (its own thread) records now - send time.\n"
                 "\n"
                 "  -p, --partition N       send to partition N only (default: the partitioner)\n"
                 "  --count N               records (default 10000)\n"
                 "  --rate R                records/s (default 1000)\n"
                 "  --record-size BYTES     value size, at least 8 (default 100)\n"
                 "  --timeout-ms MS         give up when no record arrived for MS ms after the last\n"
                 "                          send (default 30000): exit 1\n"
                 "  --acks, --linger-ms, --batch-size, --compression, --idempotence\n"
                 "                          as for produce\n"
              << common_help
              << "\n"
                 "-X properties go to both the producer and the consumer; the settings of\n"
                 "produce and consume apply.\n"
                 "\n"
                 "JSON: client, mode, topic, records (received), p50_us, p99_us, p999_us,\n"
                 "max_us, mean_us, rate, sent, errors, timed_out, record_size, acks, linger_ms,\n"
                 "interrupted, librdkafka_version.\n"
                 "\n"
                 "exit status: 0 every record arrived, 1 a record failed or a timeout,\n"
                 "2 bad usage\n";
}

// --- librdkafka configuration -----------------------------------------------

struct conf_deleter {
    void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_t, conf_deleter>;

void conf_set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw usage_error(key + "=" + value + ": " + err);
}

std::string conf_get(rd_kafka_conf_t* conf, const char* key) {
    char buf[512];
    size_t size = sizeof buf;
    if (rd_kafka_conf_get(conf, key, buf, &size) == RD_KAFKA_CONF_OK) return buf;
    // A topic-level property (acks) that nobody set: the topic default.
    rd_kafka_topic_conf_t* tc = rd_kafka_topic_conf_new();
    size = sizeof buf;
    std::string out = rd_kafka_topic_conf_get(tc, key, buf, &size) == RD_KAFKA_CONF_OK ? buf : "";
    rd_kafka_topic_conf_destroy(tc);
    return out;
}

extern "C" void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
extern "C" void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

// The shared part of every client's configuration: ours, then -F/-X.
conf_ptr base_conf(const options& o, const std::vector<std::pair<std::string, std::string>>& defaults,
                   void* opaque) {
    conf_ptr conf(rd_kafka_conf_new());
    conf_set(conf.get(), "bootstrap.servers", o.brokers);
    conf_set(conf.get(), "log_level", "4");
    conf_set(conf.get(), "log.connection.close", "false");
    for (const auto& [k, v] : defaults) conf_set(conf.get(), k, v);
    for (const auto& [k, v] : o.properties) conf_set(conf.get(), k, v);
    rd_kafka_conf_set_error_cb(conf.get(), on_error);
    rd_kafka_conf_set_log_cb(conf.get(), on_log);
    rd_kafka_conf_set_opaque(conf.get(), opaque);
    return conf;
}

// Set by on_error for a fatal error (e.g. of the idempotent producer).
std::atomic<bool> fatal_error{false};

extern "C" void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        errors_out.report(std::string("fatal error: ") + rd_kafka_err2name(orig) + ": " + buf);
        fatal_error = true;
        return;
    }
    errors_out.report(std::string("error: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " +
                      (reason ? reason : ""));
}

// librdkafka's log lines, on stderr: warnings and errors count towards the
// error lines shown; notices and debugging output (only there when asked for
// with -X log_level or -X debug) are all shown.
extern "C" void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
    if (level <= 3 && std::strcmp(fac, "FAIL") == 0) return;  // on_error reports the same failure
    if (level <= 4) errors_out.report(std::string("librdkafka ") + fac + ": " + buf);
    else std::fprintf(stderr, "%%%d|%s| %s\n", level, fac, buf);
}

rd_kafka_t* new_client(rd_kafka_type_t type, conf_ptr conf) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
    if (!rk) throw usage_error(std::string("cannot create the ") +
                               (type == RD_KAFKA_PRODUCER ? "producer" : "consumer") + ": " + err);
    (void)conf.release();  // rd_kafka_new() owns it now
    return rk;
}

std::string random_group_id() {
    std::random_device rd;
    char buf[64];
    std::snprintf(buf, sizeof buf, "kwire-rdkafka-bench-%ld-%08x%08x", static_cast<long>(::getpid()), rd(), rd());
    return buf;
}

// The producer settings that the options map to, as librdkafka reports them.
struct producer_settings {
    std::string acks, linger_ms, batch_size, compression, idempotence;
};

rd_kafka_t* make_producer(const options& o, void* opaque,
                          void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*), producer_settings& out) {
    conf_ptr conf = base_conf(o, {{"batch.num.messages", "1000000"}}, opaque);
    for (const auto& [k, v] : o.producer_overrides) conf_set(conf.get(), k, v);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), dr);
    out.acks = conf_get(conf.get(), "acks");
    if (out.acks == "-1") out.acks = "all";
    out.linger_ms = conf_get(conf.get(), "linger.ms");
    out.batch_size = conf_get(conf.get(), "batch.size");
    out.compression = conf_get(conf.get(), "compression.type");
    out.idempotence = conf_get(conf.get(), "enable.idempotence");
    if (out.idempotence == "true") out.acks = "all";  // librdkafka enforces it
    return new_client(RD_KAFKA_PRODUCER, std::move(conf));
}

rd_kafka_t* make_consumer(const options& o) {
    conf_ptr conf = base_conf(o,
                              {{"group.id", random_group_id()},
                               {"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"check.crcs", "true"}},
                              nullptr);
    conf_set(conf.get(), "enable.partition.eof", "true");
    rd_kafka_t* rk = new_client(RD_KAFKA_CONSUMER, std::move(conf));
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

struct topic_deleter {
    void operator()(rd_kafka_topic_t* t) const noexcept { rd_kafka_topic_destroy(t); }
};
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, topic_deleter>;

topic_ptr open_topic(rd_kafka_t* rk, const std::string& name) {
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, name.c_str(), nullptr);
    if (!t) throw std::runtime_error("rd_kafka_topic_new(" + name + "): " + rd_kafka_err2str(rd_kafka_last_error()));
    return topic_ptr(t);
}

// The partition ids of the topic, once the metadata names them all with a
// leader (retried for up to `wait`: a new topic takes a moment).
std::vector<std::int32_t> topic_partitions(rd_kafka_t* rk, rd_kafka_topic_t* rkt, const std::string& name,
                                           std::chrono::milliseconds wait) {
    const auto deadline = steady::now() + wait;
    std::string problem;
    for (;;) {
        const rd_kafka_metadata_t* md = nullptr;
        const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (err) {
            problem = std::string("metadata: ") + rd_kafka_err2str(err);
        } else {
            std::vector<std::int32_t> ids;
            problem.clear();
            for (int t = 0; t < md->topic_cnt; ++t) {
                const rd_kafka_metadata_topic_t& mt = md->topics[t];
                if (name != mt.topic) continue;
                if (mt.err) problem = std::string("topic ") + name + ": " + rd_kafka_err2str(mt.err);
                for (int p = 0; p < mt.partition_cnt; ++p) {
                    if (mt.partitions[p].leader < 0 && problem.empty())
                        problem = "topic " + name + ": partition " + std::to_string(mt.partitions[p].id) +
                                  " has no leader";
                    ids.push_back(mt.partitions[p].id);
                }
            }
            rd_kafka_metadata_destroy(md);
            if (ids.empty() && problem.empty()) problem = "topic " + name + " has no partitions";
            if (problem.empty()) {
                std::sort(ids.begin(), ids.end());
                return ids;
            }
        }
        if (steady::now() >= deadline || interrupted) throw std::runtime_error(problem);
        std::this_thread::sleep_for(200ms);
    }
}

struct partition_range {
    std::int32_t id;
    std::int64_t low, high;
};

std::vector<partition_range> watermarks(rd_kafka_t* rk, const std::string& topic,
                                        const std::vector<std::int32_t>& ids) {
    std::vector<partition_range> out;
    for (const std::int32_t id : ids) {
        std::int64_t low = 0, high = 0;
        const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), id, &low, &high, 10000);
        if (err)
            throw std::runtime_error("end offset of " + topic + "/" + std::to_string(id) + ": " +
                                     rd_kafka_err2str(err));
        out.push_back({id, low, high});
    }
    return out;
}

void assign(rd_kafka_t* rk, const std::string& topic, const std::vector<partition_range>& parts, bool from_beginning) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (const auto& p : parts)
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p.id)->offset =
            from_beginning ? RD_KAFKA_OFFSET_BEGINNING : p.high;
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(err));
}

void close_consumer(rd_kafka_t* rk) {
    (void)rd_kafka_assign(rk, nullptr);
    (void)rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

// --- produce ----------------------------------------------------------------

// Payloads that live for the whole process (sent without copying).
struct payload_pool {
    std::vector<char> bytes;
    std::vector<std::pair<std::size_t, std::size_t>> slices;  // offset, length (payload file)
    std::size_t fixed_size = 0;                               // without a payload file
    std::size_t records = 0;
    double mean_size = 0;

    char* data(std::uint64_t i, std::size_t& len) noexcept {
        const std::size_t k = static_cast<std::size_t>(i % records);
        if (slices.empty()) {
            len = fixed_size;
            return bytes.data() + k * fixed_size;
        }
        len = slices[k].second;
        return bytes.data() + slices[k].first;
    }
};

void fill_random(char* p, std::size_t n) {
    std::mt19937_64 rng(std::random_device{}());
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const std::uint64_t r = rng();
        std::memcpy(p + i, &r, 8);
    }
    for (; i < n; ++i) p[i] = static_cast<char>(rng());
}

payload_pool make_pool(const options& o) {
    payload_pool pool;
    if (!o.payload_file.empty()) {
        std::ifstream in(o.payload_file, std::ios::binary);
        if (!in) throw usage_error("--payload-file: cannot read " + o.payload_file + ": " + std::strerror(errno));
        pool.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        std::size_t start = 0;
        while (start < pool.bytes.size()) {
            const auto it = std::find(pool.bytes.begin() + static_cast<std::ptrdiff_t>(start), pool.bytes.end(), '\n');
            const auto end = static_cast<std::size_t>(it - pool.bytes.begin());
            pool.slices.emplace_back(start, end - start);
            start = end + 1;
        }
        if (pool.slices.empty()) throw usage_error("--payload-file " + o.payload_file + " is empty");
        pool.records = pool.slices.size();
        std::size_t total = 0;
        for (const auto& s : pool.slices) total += s.second;
        pool.mean_size = static_cast<double>(total) / static_cast<double>(pool.records);
        if (pool.bytes.empty()) pool.bytes.push_back('\0');  // a valid pointer for empty payloads
        return pool;
    }
    constexpr std::size_t pool_bytes = 16 * 1024 * 1024;
    pool.fixed_size = static_cast<std::size_t>(o.record_size.value_or(100));
    std::size_t n = pool.fixed_size == 0 ? 1 : (pool_bytes + pool.fixed_size - 1) / pool.fixed_size;
    if (o.count) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *o.count));
    pool.records = std::max<std::size_t>(n, 1);
    pool.bytes.resize(std::max<std::size_t>(pool.records * pool.fixed_size, 1));
    fill_random(pool.bytes.data(), pool.bytes.size());
    pool.mean_size = static_cast<double>(pool.fixed_size);
    return pool;
}

// Touched by the delivery reports, which run in rd_kafka_poll()/flush() on
// the sending thread.
struct produce_state {
    histogram latency;
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;
    std::uint64_t delivered_bytes = 0;
    std::int64_t last_report_ns = 0;
};

extern "C" void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* st = static_cast<produce_state*>(opaque);
    const std::int64_t now = now_ns();
    st->last_report_ns = now;
    if (m->err) {
        ++st->failed;
        errors_out.report(std::string("delivery failed: ") + rd_kafka_err2name(m->err) + ": " +
                          rd_kafka_err2str(m->err));
        return;
    }
    ++st->delivered;
    st->delivered_bytes += m->len;
    const auto sent = static_cast<std::int64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
    st->latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - sent) / 1000));
}

// Waits until `due`, serving delivery reports meanwhile so that their
// latency is not inflated by the wait.
void wait_until(rd_kafka_t* rk, steady::time_point due) {
    for (;;) {
        const auto now = steady::now();
        if (now >= due) return;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
        if (left >= 2ms) {
            rd_kafka_poll(rk, static_cast<int>(left.count() - 1));
        } else {
            std::this_thread::sleep_until(due);
            return;
        }
    }
}

steady::time_point due_time(steady::time_point start, std::uint64_t i, double rate) {
    return start + std::chrono::duration_cast<steady::duration>(
                       std::chrono::duration<double>(static_cast<double>(i) / rate));
}

// Flushes; what is still queued after the timeout is purged and so reported
// as failed.
void flush_or_purge(rd_kafka_t* rk, int timeout_ms) {
    rd_kafka_resp_err_t err = rd_kafka_flush(rk, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        errors_out.report(std::to_string(rd_kafka_outq_len(rk)) + " message(s) not delivered within " +
                          std::to_string(timeout_ms / 1000) + " s; purging them");
        (void)rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        (void)rd_kafka_flush(rk, 5000);
    }
}

int run_produce(const options& o) {
    payload_pool pool = make_pool(o);
    const bool from_file = !o.payload_file.empty();
    const std::optional<std::uint64_t> count =
        o.duration ? std::nullopt : std::optional<std::uint64_t>(o.count.value_or(1'000'000));
    const std::int32_t partition = o.partitions.empty() ? RD_KAFKA_PARTITION_UA : o.partitions.front();

    produce_state st;
    producer_settings settings;
    rd_kafka_t* rk = make_producer(o, &st, on_delivery, settings);
    topic_ptr rkt = open_topic(rk, o.topic);

    auto previous = std::signal(SIGINT, on_sigint);
    const auto start = steady::now();
    const auto deadline = o.duration ? start + std::chrono::duration_cast<steady::duration>(
                                                   std::chrono::duration<double>(*o.duration))
                                     : steady::time_point::max();
    std::uint64_t sent = 0, refused = 0;
    for (std::uint64_t i = 0;; ++i) {
        if (count ? i >= *count : steady::now() >= deadline) break;
        if (o.rate) {
            const auto due = due_time(start, i, *o.rate);
            if (due >= deadline) break;
            wait_until(rk, due);
        }
        if (interrupted || fatal_error) break;
        std::size_t len = 0;
        char* data = pool.data(i, len);
        const std::int64_t t0 = now_ns();
        void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(t0));
        rd_kafka_resp_err_t err;
        for (;;) {
            err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt.get()), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_VALUE(data, len), RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_OPAQUE(opaque),
                                    RD_KAFKA_V_END);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || interrupted) break;
            rd_kafka_poll(rk, 1);
        }
        ++sent;
        if (err) {
            ++refused;
            errors_out.report(std::string("produce failed: ") + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 0);
    }
    const bool stopped_early = interrupted != 0;
    std::signal(SIGINT, previous);
    flush_or_purge(rk, 60000);
    const auto end = steady::now();
    rkt.reset();
    rd_kafka_destroy(rk);

    const std::uint64_t accepted = sent - refused;
    const std::uint64_t unreported = accepted - std::min(accepted, st.delivered + st.failed);
    if (unreported) errors_out.report(std::to_string(unreported) + " message(s) got no delivery report");
    errors_out.summary();
    const std::uint64_t errors = refused + st.failed + unreported;
    const std::uint64_t delivered = st.delivered;
    const std::int64_t start_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
    double seconds = st.last_report_ns > start_ns ? static_cast<double>(st.last_report_ns - start_ns) / 1e9
                                                  : seconds_between(start, end);
    if (!(seconds > 0)) seconds = seconds_between(start, end);
    const double records_per_s = static_cast<double>(delivered) / seconds;
    const double mb_per_s = static_cast<double>(st.delivered_bytes) / (1024.0 * 1024.0) / seconds;
    const histogram& h = st.latency;
    const std::string record_size =
        from_file ? fixed(pool.mean_size, 3) : std::to_string(pool.fixed_size);

    if (o.json) {
        std::cout << "{\"client\":\"librdkafka\",\"mode\":\"produce\",\"topic\":" << json_string(o.topic)
                  << ",\"record_size\":" << record_size << ",\"records\":" << sent << ",\"delivered\":" << delivered
                  << ",\"errors\":" << errors << ",\"bytes\":" << st.delivered_bytes
                  << ",\"seconds\":" << fixed(seconds, 6) << ",\"records_per_s\":" << fixed(records_per_s, 1)
                  << ",\"mb_per_s\":" << fixed(mb_per_s, 3) << ",\"p50_us\":" << h.quantile(0.50)
                  << ",\"p99_us\":" << h.quantile(0.99) << ",\"p999_us\":" << h.quantile(0.999)
                  << ",\"max_us\":" << h.max() << ",\"mean_us\":" << fixed(h.mean(), 1)
                  << ",\"acks\":" << json_string(settings.acks) << ",\"linger_ms\":" << json_number(settings.linger_ms)
                  << ",\"batch_size\":" << json_number(settings.batch_size)
                  << ",\"compression\":" << json_string(settings.compression)
                  << ",\"idempotence\":" << (settings.idempotence == "true" ? "true" : "false")
                  << ",\"rate\":" << (o.rate ? fixed(*o.rate, 1) : std::string("null"))
                  << ",\"interrupted\":" << (stopped_early ? "true" : "false")
                  << ",\"librdkafka_version\":" << json_string(rd_kafka_version_str()) << "}\n";
    } else {
        std::cout << "librdkafka " << rd_kafka_version_str() << " produce to " << o.topic << ": " << record_size
                  << "-byte records" << (from_file ? " (mean, from " + o.payload_file + ")" : "")
                  << ", acks=" << settings.acks << ", linger.ms=" << settings.linger_ms
                  << ", batch.size=" << settings.batch_size << ", compression=" << settings.compression
                  << ", idempotence=" << settings.idempotence;
        if (o.rate) std::cout << ", rate " << fixed(*o.rate, 0) << "/s";
        std::cout << "\n"
                  << sent << " records sent, " << delivered << " delivered in " << fixed(seconds, 3) << " s"
                  << (stopped_early ? " (interrupted)" : "") << ": " << fixed(records_per_s, 0) << " records/s, "
                  << fixed(mb_per_s, 2) << " MB/s\n"
                  << "latency send to delivery report: ";
        std::cout << latency_summary(h, "delivered") << "\n";
        std::cout << "errors: " << errors << "\n";
    }
    std::cout.flush();
    return errors > 0 || fatal_error || delivered != sent ? exit_failure : exit_ok;
}

// --- consume ----------------------------------------------------------------

int run_consume(const options& o) {
    rd_kafka_t* rk = make_consumer(o);
    std::vector<partition_range> parts;
    try {
        topic_ptr rkt = open_topic(rk, o.topic);
        std::vector<std::int32_t> ids =
            topic_partitions(rk, rkt.get(), o.topic, std::chrono::milliseconds(o.timeout_ms));
        if (!o.partitions.empty()) {
            for (const std::int32_t p : o.partitions)
                if (std::find(ids.begin(), ids.end(), p) == ids.end())
                    throw std::runtime_error("topic " + o.topic + " has no partition " + std::to_string(p));
            ids = o.partitions;
            std::sort(ids.begin(), ids.end());
            ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        }
        parts = watermarks(rk, o.topic, ids);
    } catch (...) {
        close_consumer(rk);
        throw;
    }

    // Without --count: partition p is done once a record at high-1 or the end
    // of the partition at or past high was seen.
    std::int32_t max_id = 0;
    for (const auto& p : parts) max_id = std::max(max_id, p.id);
    std::vector<std::int64_t> end_of(static_cast<std::size_t>(max_id) + 1, -1);
    std::vector<char> done(end_of.size(), 1);
    std::size_t open = 0;
    for (const auto& p : parts) {
        end_of[static_cast<std::size_t>(p.id)] = p.high;
        if (!o.count && p.high > p.low) {
            done[static_cast<std::size_t>(p.id)] = 0;
            ++open;
        }
    }

    auto previous = std::signal(SIGINT, on_sigint);
    const auto start = steady::now();
    assign(rk, o.topic, parts, true);
    const auto timeout = std::chrono::milliseconds(o.timeout_ms);
    std::uint64_t records = 0, bytes = 0;
    steady::time_point first{}, last{}, progress = start;
    bool timed_out = false, failed = false;
    auto finished = [&] { return o.count ? records >= *o.count : open == 0; };
    auto close_partition = [&](std::int32_t id) {
        const auto k = static_cast<std::size_t>(id);
        if (k < done.size() && !done[k]) {
            done[k] = 1;
            --open;
        }
    };
    while (!finished()) {
        if (interrupted) break;
        if (fatal_error) {
            failed = true;
            break;
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
        const auto now = steady::now();
        if (!m) {
            if (now - progress >= timeout) {
                timed_out = true;
                break;
            }
            continue;
        }
        const std::int32_t id = m->partition;
        const auto k = static_cast<std::size_t>(id);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (!o.count && k < end_of.size() && m->offset >= end_of[k]) close_partition(id);
        } else if (m->err) {
            errors_out.report(std::string("consume: ") + rd_kafka_err2name(m->err) + ": " + rd_kafka_message_errstr(m));
        } else if (o.count || (k < end_of.size() && m->offset < end_of[k])) {
            if (records == 0) first = now;
            last = now;
            progress = now;
            ++records;
            bytes += m->len + m->key_len;
            if (!o.count && m->offset >= end_of[k] - 1) close_partition(id);
        } else {
            close_partition(id);  // past the end it had at the start
        }
        rd_kafka_message_destroy(m);
    }
    const bool stopped_early = interrupted != 0;
    std::signal(SIGINT, previous);
    close_consumer(rk);
    errors_out.summary();
    if (timed_out)
        errors_out.report("no record arrived for " + std::to_string(o.timeout_ms) + " ms; " + std::to_string(records) +
                          " records read");

    double seconds = records > 0 ? seconds_between(first, last) : 0;
    if (records > 0 && !(seconds > 0)) seconds = seconds_between(start, last);  // one poll returned them all
    const double records_per_s = seconds > 0 ? static_cast<double>(records) / seconds : 0;
    const double mb_per_s = seconds > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / seconds : 0;
    if (o.json) {
        std::cout << "{\"client\":\"librdkafka\",\"mode\":\"consume\",\"topic\":" << json_string(o.topic)
                  << ",\"records\":" << records << ",\"bytes\":" << bytes << ",\"seconds\":" << fixed(seconds, 6)
                  << ",\"records_per_s\":" << fixed(records_per_s, 1) << ",\"mb_per_s\":" << fixed(mb_per_s, 3)
                  << ",\"timed_out\":" << (timed_out ? "true" : "false")
                  << ",\"interrupted\":" << (stopped_early ? "true" : "false")
                  << ",\"librdkafka_version\":" << json_string(rd_kafka_version_str()) << "}\n";
    } else {
        std::cout << "librdkafka " << rd_kafka_version_str() << " consume from " << o.topic << " ("
                  << parts.size() << " partition(s))\n"
                  << records << " records, " << bytes << " bytes in " << fixed(seconds, 3) << " s"
                  << (stopped_early ? " (interrupted)" : "") << (timed_out ? " (timed out)" : "") << ": "
                  << fixed(records_per_s, 0) << " records/s, " << fixed(mb_per_s, 2) << " MB/s\n";
    }
    std::cout.flush();
    return timed_out || failed ? exit_failure : exit_ok;
}

// --- e2e --------------------------------------------------------------------

struct e2e_consumer_state {
    rd_kafka_t* rk = nullptr;
    std::uint64_t nonce = 0;
    std::chrono::milliseconds timeout{30000};
    std::atomic<std::uint64_t> target{0};       // stop after this many records
    std::atomic<std::int64_t> last_send_ns{0};  // 0 until sending starts
    std::atomic<std::size_t> partitions_at_end{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> finished{false};
    // Only the consumer thread touches these until it is joined.
    std::vector<char> saw_end;
    histogram latency;
    std::uint64_t received = 0;
    std::uint64_t foreign = 0;
    bool timed_out = false;
};

void e2e_consume(e2e_consumer_state& st) {
    std::int64_t last_record_ns = 0;
    while (!st.stop.load(std::memory_order_relaxed)) {
        if (st.received >= st.target.load(std::memory_order_acquire)) break;
        rd_kafka_message_t* m = rd_kafka_consumer_poll(st.rk, 50);
        const std::int64_t now = now_ns();
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                const auto k = static_cast<std::size_t>(m->partition);
                if (k < st.saw_end.size() && !st.saw_end[k]) {
                    st.saw_end[k] = 1;
                    st.partitions_at_end.fetch_add(1, std::memory_order_release);
                }
            } else if (m->err) {
                errors_out.report(std::string("consume: ") + rd_kafka_err2name(m->err) + ": " +
                                  rd_kafka_message_errstr(m));
            } else {
                std::int64_t sent = 0;
                std::uint64_t nonce = st.nonce;
                if (m->len >= 8) std::memcpy(&sent, m->payload, 8);
                if (m->len >= 16) std::memcpy(&nonce, static_cast<const char*>(m->payload) + 8, 8);
                if (m->len >= 8 && nonce == st.nonce && sent > 0 && sent <= now) {
                    st.latency.record(static_cast<std::uint64_t>((now - sent) / 1000));
                    ++st.received;
                    last_record_ns = now;
                } else {
                    ++st.foreign;  // another producer's record
                }
            }
            rd_kafka_message_destroy(m);
        }
        const std::int64_t sending = st.last_send_ns.load(std::memory_order_relaxed);
        if (sending > 0 && now - std::max(sending, last_record_ns) >=
                               std::chrono::duration_cast<std::chrono::nanoseconds>(st.timeout).count()) {
            st.timed_out = true;
            break;
        }
    }
    st.finished.store(true, std::memory_order_release);
}

int run_e2e(const options& o) {
    const std::uint64_t count = o.count.value_or(10000);
    const double rate = o.rate.value_or(1000);
    const std::size_t record_size = static_cast<std::size_t>(o.record_size.value_or(100));
    const std::int32_t partition = o.partitions.empty() ? RD_KAFKA_PARTITION_UA : o.partitions.front();

    e2e_consumer_state cs;
    cs.timeout = std::chrono::milliseconds(o.timeout_ms);
    cs.target = count;
    {
        std::random_device rd;
        cs.nonce = (std::uint64_t{rd()} << 32) | rd();
    }
    cs.rk = make_consumer(o);
    std::vector<partition_range> parts;
    try {
        topic_ptr rkt = open_topic(cs.rk, o.topic);
        const std::vector<std::int32_t> ids =
            topic_partitions(cs.rk, rkt.get(), o.topic, std::chrono::milliseconds(o.timeout_ms));
        if (partition != RD_KAFKA_PARTITION_UA && std::find(ids.begin(), ids.end(), partition) == ids.end())
            throw std::runtime_error("topic " + o.topic + " has no partition " + std::to_string(partition));
        parts = watermarks(cs.rk, o.topic, ids);
        assign(cs.rk, o.topic, parts, false);
    } catch (...) {
        close_consumer(cs.rk);
        throw;
    }
    std::int32_t max_id = 0;
    for (const auto& p : parts) max_id = std::max(max_id, p.id);
    cs.saw_end.assign(static_cast<std::size_t>(max_id) + 1, 0);
    std::thread consumer_thread(e2e_consume, std::ref(cs));

    produce_state ps;  // the producer side's own latency is not reported
    producer_settings settings;
    rd_kafka_t* rk = nullptr;
    topic_ptr rkt;
    try {
        rk = make_producer(o, &ps, on_delivery, settings);
        rkt = open_topic(rk, o.topic);
        // Learn the topic's leaders (and so connect to them) before timing.
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(rk, 0, rkt.get(), &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_metadata_destroy(md);
    } catch (...) {
        cs.stop = true;
        consumer_thread.join();
        rkt.reset();
        if (rk) rd_kafka_destroy(rk);
        close_consumer(cs.rk);
        throw;
    }

    // Wait until the consumer has reached the end of every partition once:
    // its fetches are running, so the first records are not delayed by it.
    auto previous = std::signal(SIGINT, on_sigint);
    const auto ready_deadline = steady::now() + 10s;
    while (cs.partitions_at_end.load(std::memory_order_acquire) < parts.size() && steady::now() < ready_deadline &&
           !interrupted)
        rd_kafka_poll(rk, 10);
    if (cs.partitions_at_end.load() < parts.size())
        errors_out.report("the consumer had not reached the end of every partition after 10 s; producing anyway");

    std::vector<char> buf(record_size);
    fill_random(buf.data(), buf.size());
    if (record_size >= 16) std::memcpy(buf.data() + 8, &cs.nonce, 8);
    const auto start = steady::now();
    std::uint64_t sent = 0, refused = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        wait_until(rk, due_time(start, i, rate));
        if (interrupted || fatal_error || cs.finished.load(std::memory_order_acquire)) break;
        rd_kafka_resp_err_t err;
        for (;;) {
            const std::int64_t t0 = now_ns();
            std::memcpy(buf.data(), &t0, 8);
            err = rd_kafka_producev(rk, RD_KAFKA_V_RKT(rkt.get()), RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_VALUE(buf.data(), buf.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(t0))),
                                    RD_KAFKA_V_END);
            cs.last_send_ns.store(t0, std::memory_order_relaxed);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || interrupted) break;
            rd_kafka_poll(rk, 1);
        }
        ++sent;
        if (err) {
            ++refused;
            errors_out.report(std::string("produce failed: ") + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 0);
    }
    if (sent == 0) cs.last_send_ns.store(now_ns(), std::memory_order_relaxed);
    flush_or_purge(rk, 60000);
    const std::uint64_t accepted = sent - refused;
    const std::uint64_t unreported =
        accepted - std::min(accepted, ps.delivered + ps.failed);
    const std::uint64_t errors = refused + ps.failed + unreported;
    // Only what was delivered can arrive.
    cs.target.store(std::min<std::uint64_t>(count, ps.delivered), std::memory_order_release);
    if (interrupted) cs.stop = true;
    while (!cs.finished.load(std::memory_order_acquire)) {
        if (interrupted) cs.stop = true;
        std::this_thread::sleep_for(10ms);
    }
    consumer_thread.join();
    const bool stopped_early = interrupted != 0;
    std::signal(SIGINT, previous);
    rkt.reset();
    rd_kafka_destroy(rk);
    close_consumer(cs.rk);

    if (unreported) errors_out.report(std::to_string(unreported) + " message(s) got no delivery report");
    if (cs.timed_out)
        errors_out.report("no record arrived for " + std::to_string(o.timeout_ms) + " ms after the last send; " +
                          std::to_string(cs.received) + " of " + std::to_string(sent) + " received");
    if (cs.foreign) errors_out.report(std::to_string(cs.foreign) + " record(s) of another producer ignored");
    errors_out.summary();

    const histogram& h = cs.latency;
    const std::string acks = settings.acks;
    if (o.json) {
        std::cout << "{\"client\":\"librdkafka\",\"mode\":\"e2e\",\"topic\":" << json_string(o.topic)
                  << ",\"records\":" << cs.received << ",\"p50_us\":" << h.quantile(0.50)
                  << ",\"p99_us\":" << h.quantile(0.99) << ",\"p999_us\":" << h.quantile(0.999)
                  << ",\"max_us\":" << h.max() << ",\"mean_us\":" << fixed(h.mean(), 1)
                  << ",\"rate\":" << fixed(rate, 1) << ",\"sent\":" << sent << ",\"errors\":" << errors
                  << ",\"timed_out\":" << (cs.timed_out ? "true" : "false") << ",\"record_size\":" << record_size
                  << ",\"acks\":" << json_string(acks) << ",\"linger_ms\":" << json_number(settings.linger_ms)
                  << ",\"interrupted\":" << (stopped_early ? "true" : "false")
                  << ",\"librdkafka_version\":" << json_string(rd_kafka_version_str()) << "}\n";
    } else {
        std::cout << "librdkafka " << rd_kafka_version_str() << " e2e on " << o.topic << ": " << record_size
                  << "-byte records at " << fixed(rate, 0) << "/s, acks=" << acks
                  << ", linger.ms=" << settings.linger_ms << "\n"
                  << sent << " sent, " << cs.received << " received" << (stopped_early ? " (interrupted)" : "")
                  << (cs.timed_out ? " (timed out)" : "") << "\n"
                  << "latency produce to consume: ";
        std::cout << latency_summary(h, "received") << "\n";
        std::cout << "errors: " << errors << "\n";
    }
    std::cout.flush();
    const bool ok = !cs.timed_out && errors == 0 && !fatal_error && cs.received == sent && sent == count;
    return ok || (stopped_early && !cs.timed_out && errors == 0) ? exit_ok : exit_failure;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage();
        return exit_usage;
    }
    const std::string_view first = argv[1];
    if (first == "-h" || first == "--help" || first == "help") {
        print_usage();
        return exit_ok;
    }
    options o;
    try {
        o = parse_command_line(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << program << ": " << e.what() << " (see " << program << " --help)\n";
        return exit_usage;
    }
    if (o.help) {
        switch (o.mode) {
        case mode_kind::produce: print_produce_help(); break;
        case mode_kind::consume: print_consume_help(); break;
        case mode_kind::e2e: print_e2e_help(); break;
        }
        return exit_ok;
    }
    try {
        switch (o.mode) {
        case mode_kind::produce: return run_produce(o);
        case mode_kind::consume: return run_consume(o);
        case mode_kind::e2e: return run_e2e(o);
        }
    } catch (const usage_error& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return exit_failure;
    }
    return exit_failure;
}
