// kwire bench consume: consumer throughput. Polls as fast as the consumer
// delivers records (decoded, CRC-checked, nothing printed) and reports
// records/s and MB/s of keys and values from the first record to the last.
#include "cli.hpp"
#include "json.hpp"
#include "progress.hpp"

#include "kwire/consumer.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace kwire::cli {
namespace {

using clock_type = std::chrono::steady_clock;

void print_help() {
    std::cout <<
        "usage: kwire bench consume -b HOST:PORT[,...] -t TOPIC [options]\n"
        "\n"
        "Reads records as fast as the consumer delivers them (fetched, CRC-checked and\n"
        "decoded; nothing printed) and reports throughput. Without -G it reads every\n"
        "partition of the topics (or those given with -p) from the oldest record on;\n"
        "with -G it joins the group and reads what the group assigns it. Ctrl-C stops\n"
        "early and reports what arrived so far.\n"
        "\n"
        "  -t, --topic TOPIC       topic to read (repeatable)\n"
        "  -p, --partition N       only partition N of each topic (repeatable; not with -G)\n"
        "  --count N               stop after N records (default: read up to the end\n"
        "                          offsets the partitions had at the start)\n"
        "  -G, --group GROUP       join consumer group GROUP (group.id); where it starts is\n"
        "                          its committed offset, else auto.offset.reset (default\n"
        "                          here: earliest). Positions are committed as\n"
        "                          enable.auto.commit says, so another run with the same\n"
        "                          group goes on where this one stopped\n"
        "  --timeout-ms MS         give up when no record has arrived for MS milliseconds\n"
        "                          (default 30000): exit 1\n"
        "  -X key=value, -F FILE   consumer properties: fetch.max.bytes, fetch.min.bytes,\n"
        "                          max.partition.fetch.bytes, queued.max.bytes,\n"
        "                          max.poll.records, isolation.level, check.crcs, ...\n"
        "  --json                  one JSON object on stdout instead of the report:\n"
        "                          client, mode, topic, records, bytes, seconds,\n"
        "                          records_per_s, mb_per_s,\n"
        "                          timed_out, interrupted\n"
        "\n"
        "bytes counts keys and values (1 MB = 2^20 bytes, as kafka-consumer-perf-test);\n"
        "seconds run from the poll that returned the first record to the one that\n"
        "returned the last (from the start when a single poll returned them all).\n"
        "While running, a progress line is printed to stderr every second when stderr\n"
        "is a terminal.\n"
        "\n"
        "exit status: 0 every record asked for arrived (or Ctrl-C), 1 fewer arrived\n"
        "before the timeout or consuming failed, 2 bad usage or configuration\n";
}

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_bench_consume_signal(int) {
    interrupted = 1;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

std::optional<std::int64_t> position_now(consumer& c, const topic_partition& tp) {
    try {
        return c.position(tp, std::chrono::milliseconds(0));
    } catch (const std::system_error&) {
        return std::nullopt;
    }
}

} // namespace

int run_bench_consume(const std::vector<std::string>& args) {
    std::vector<std::string> topics;
    std::vector<std::int32_t> only_partitions;
    std::optional<std::string> group;
    std::optional<std::uint64_t> count;
    std::chrono::milliseconds timeout{30000};

    auto opts = parse_common(args, {print_help, false}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            topics.push_back(v.non_empty("topic name"));
        } else if (flag == "-p" || flag == "--partition") {
            only_partitions.push_back(v.partition());
        } else if (flag == "-G" || flag == "--group") {
            group = v.non_empty("group id");
        } else if (flag == "--count" || flag == "-c") {
            count = v.count("a number of records", 1);
        } else if (flag == "--timeout-ms") {
            const std::uint64_t ms = v.count("milliseconds", 1);
            if (ms > 86'400'000ull * 365) throw usage_error(flag + " is out of range");
            timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    if (topics.empty()) throw usage_error("no topic given: use -t TOPIC");
    if (group && !only_partitions.empty())
        throw usage_error("-p cannot be used with -G: the group assigns the partitions");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();
    if (group) {
        opts.cfg.set("group.id", *group);
        if (!opts.cfg.get("auto.offset.reset")) opts.cfg.set("auto.offset.reset", "earliest");
    }
    consumer c(consumer_options::from_config(opts.cfg, stderr_log(opts.cfg)));
    // Every partition, for the end offsets (and, without a group, to assign).
    const std::vector<topic_partition> partitions = find_partitions(c, topics, only_partitions);
    if (group) {
        c.subscribe(topics);
    } else {
        c.assign(partitions);
        seek_each(c, partitions, false);
    }
    // Without --count: up to where every partition ended at the start.
    std::map<topic_partition, std::int64_t> stop_at;
    if (!count) stop_at = c.end_offsets(partitions);
    auto reached_ends = [&] {
        const auto assigned = c.assignment();
        if (assigned.empty()) return false;
        for (const auto& tp : assigned) {
            const auto end = stop_at.find(tp);
            if (end == stop_at.end()) continue;  // a partition created since: not asked for
            const auto pos = position_now(c, tp);
            if (!pos || *pos < end->second) return false;
        }
        return true;
    };

    std::string topic_text;
    for (const auto& t : topics) topic_text += (topic_text.empty() ? "" : ",") + t;

    std::atomic<std::uint64_t> progress_records{0};
    std::atomic<std::uint64_t> progress_bytes{0};
    const auto start = clock_type::now();
    std::optional<periodic_reporter> progress;
    if (stderr_is_terminal()) {
        auto tick = [&, last = std::uint64_t{0}, last_bytes = std::uint64_t{0}]() mutable {
            const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
            const std::uint64_t n = progress_records.load(std::memory_order_relaxed);
            const std::uint64_t b = progress_bytes.load(std::memory_order_relaxed);
            std::ostringstream line;
            line << "kwire bench consume: " << fixed(secs, 0) << " s, " << n << " records, " << n - last
                 << " records/s, " << fixed(static_cast<double>(b - last_bytes) / (1024.0 * 1024.0), 2) << " MB/s\n";
            last = n;
            last_bytes = b;
            std::cerr << line.str();
        };
        progress.emplace(std::chrono::seconds(1), std::move(tick));
    }
    auto previous_signal = std::signal(SIGINT, on_bench_consume_signal);

    std::uint64_t records = 0, bytes = 0;
    std::optional<clock_type::time_point> first_at;
    clock_type::time_point last_at = start;
    auto last_check = start - std::chrono::hours(1);
    bool done = false, timed_out = false;
    std::string failure;
    try {
        done = !count && reached_ends();  // nothing to read
        while (!done && !interrupted) {
            std::error_code ec;
            const consumer_records batch = c.poll(std::chrono::milliseconds(100), ec);
            const auto now = clock_type::now();
            if (ec) {
                failure = ec.message();
                break;
            }
            if (!batch.empty()) {
                if (!first_at) first_at = now;
                last_at = now;
                if (count && records + batch.size() >= *count) {
                    for (std::size_t i = 0; records < *count; ++i, ++records) {
                        const consumer_record& r = batch[i];
                        bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
                    }
                    done = true;
                } else {
                    records += batch.size();
                    bytes += batch.payload_bytes();
                }
                progress_records.store(records, std::memory_order_relaxed);
                progress_bytes.store(bytes, std::memory_order_relaxed);
            } else if (now - last_at >= timeout) {
                timed_out = true;
                break;
            }
            if (!count && !done && (batch.empty() || now - last_check >= std::chrono::milliseconds(100))) {
                last_check = now;
                done = reached_ends();
            }
        }
    } catch (const std::system_error& e) {
        failure = e.what();
    }
    const bool stopped_early = interrupted != 0 && !done;
    if (progress) progress->stop();
    std::signal(SIGINT, previous_signal);
    c.close();

    double seconds = first_at && last_at > *first_at ? std::chrono::duration<double>(last_at - *first_at).count()
                                                      : std::chrono::duration<double>(last_at - start).count();
    if (seconds <= 0) seconds = 1e-9;
    const double records_per_s = records ? static_cast<double>(records) / seconds : 0.0;
    const double mb_per_s = records ? static_cast<double>(bytes) / seconds / (1024.0 * 1024.0) : 0.0;
    if (!records) seconds = 0;

    if (!failure.empty()) std::cerr << "kwire bench consume: " << failure << "\n";
    if (timed_out) {
        std::cerr << "kwire bench consume: no record for " << timeout.count() << " ms: ";
        if (count) std::cerr << records << " of " << *count << " records arrived\n";
        else std::cerr << records << " records arrived, and the partitions had not reached their end offsets\n";
    }
    if (opts.json) {
        std::cout << "{\"client\":\"kwire\",\"mode\":\"consume\",\"topic\":" << json_quote(topic_text) << ",\"records\":" << records << ",\"bytes\":" << bytes
                  << ",\"seconds\":" << fixed(seconds, 6) << ",\"records_per_s\":" << fixed(records_per_s, 1)
                  << ",\"mb_per_s\":" << fixed(mb_per_s, 3) << ",\"timed_out\":" << (timed_out ? "true" : "false")
                  << ",\"interrupted\":" << (stopped_early ? "true" : "false") << "}\n";
    } else {
        std::cout << "topic " << topic_text << ": " << records << " records, " << bytes
                  << " bytes of keys and values in " << fixed(seconds, 3) << " s"
                  << (stopped_early ? " (interrupted)" : "") << ": " << fixed(records_per_s, 0) << " records/s, "
                  << fixed(mb_per_s, 2) << " MB/s\n";
    }
    std::cout.flush();
    return failure.empty() && !timed_out ? exit_ok : exit_failure;
}

} // namespace kwire::cli
