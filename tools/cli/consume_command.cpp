// kwire consume: prints records on stdout, with kcat's consumer flags where
// kcat has one (-t, -p, -o, -G, -c, -e, -f, -K, -D, -Z, -q). Without -G it
// assigns the partitions itself; with -G it joins a consumer group.
#include "cli.hpp"
#include "format.hpp"
#include "progress.hpp"

#include "kwire/consumer.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kwire::cli {
namespace {

using clock_type = std::chrono::steady_clock;

void print_help() {
    std::cout <<
        "usage: kwire consume -b HOST:PORT[,...] -t TOPIC [-t TOPIC...] [options]\n"
        "       kwire consume -b HOST:PORT[,...] -G GROUP [-t TOPIC...] [TOPIC...] [options]\n"
        "\n"
        "Prints records on stdout, by default each record's value and a newline.\n"
        "Without -G it reads the partitions itself (every partition of each topic, or\n"
        "those given with -p) from -o on; with -G it joins consumer group GROUP and\n"
        "reads the partitions the group assigns it. Runs until -c, -e or Ctrl-C.\n"
        "\n"
        "  -t, --topic TOPIC         topic to read (repeatable)\n"
        "  -p, --partition N         only partition N of each topic (repeatable; not with -G)\n"
        "  -G, --group GROUP         join consumer group GROUP (group.id) and subscribe to\n"
        "                            the topics (-t, or the arguments after the options);\n"
        "                            positions are committed as enable.auto.commit says\n"
        "                            (default: every auto.commit.interval.ms and on exit)\n"
        "  -o, --offset OFFSET       where to start in every partition:\n"
        "                              beginning  the oldest record stored (default without -G)\n"
        "                              end        only records produced from now on\n"
        "                              stored     the committed offset of -X group.id=G\n"
        "                                         (else auto.offset.reset)\n"
        "                              N          offset N\n"
        "                              -N         N records before the end\n"
        "                              s@MS       the first record with a timestamp >= MS\n"
        "                                         (milliseconds since the epoch)\n"
        "                            with -G: beginning or end, as auto.offset.reset for\n"
        "                            partitions without a committed offset (default: latest)\n"
        "  -c, --count N             exit after N records\n"
        "  -e, --exit-at-end         exit once every assigned partition has reached its end\n"
        "                            (its high watermark when reached; with -G, once the\n"
        "                            group has assigned partitions)\n"
        "  -f, --format FMT          output format, kcat's tokens:\n"
        "                              %t topic   %p partition   %o offset\n"
        "                              %k key     %K key length (-1: null)\n"
        "                              %s value   %S value length (-1: null)\n"
        "                              %R value length as a 4-byte big-endian integer\n"
        "                              %T timestamp (ms since the epoch; -1: none)\n"
        "                              %h headers, name=value,name=value (null value: name)\n"
        "                              %% a percent sign; escapes \\n \\r \\t \\0 \\\\ \\xNN\n"
        "                            default \"%s\\n\"; with -K DELIM \"%kDELIM%s\\n\"; -D\n"
        "                            replaces the \\n\n"
        "  -K, --key-delimiter DELIM print each record's key and DELIM before its value\n"
        "  -D, --delimiter DELIM     written after each record instead of a newline\n"
        "                            (-K and -D take the escapes above)\n"
        "  -Z                        print a null key or value as NULL (default: nothing)\n"
        "  -q, --quiet               no informational lines on stderr (partitions that\n"
        "                            reached their end, group assignments)\n"
        "  -X key=value, -F FILE     consumer properties: group.id, auto.offset.reset,\n"
        "                            isolation.level, enable.auto.commit, fetch.max.bytes,\n"
        "                            max.partition.fetch.bytes, max.poll.records, ...\n"
        "  --json                    one JSON object per record and line (-D: another\n"
        "                            separator) instead of -f:\n"
        "                              {\"topic\":T,\"partition\":P,\"offset\":O,\"timestamp\":MS,\n"
        "                               \"key\":K,\"value\":V,\"headers\":[{\"name\":N,\"value\":V},...]}\n"
        "                            a key, value or header value is a string when its bytes\n"
        "                            are UTF-8, null when null, and otherwise base64 followed\n"
        "                            by \"key_encoding\":\"base64\" (\"value_encoding\" for values);\n"
        "                            bytes of topic or header names that are not UTF-8 are\n"
        "                            written as \\u00XX\n"
        "\n"
        "When stderr is a terminal and stdout is not (reading into a file or a pipe), a\n"
        "progress line (records/s) is printed on stderr every second.\n"
        "\n"
        "exit status: 0 stopped by -c, -e, Ctrl-C or a closed stdout; 1 a consume error\n"
        "(a missing topic or partition, unreachable brokers, a refused group, ...) or\n"
        "stdout could not be written; 2 bad usage or configuration\n";
}

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_consume_signal(int sig) {
    stop_requested = 1;
    std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the program at once
}

struct start_offset {
    enum class kind { beginning, end, stored, absolute, from_end, timestamp } what = kind::beginning;
    std::int64_t value = 0;
};

start_offset parse_offset(const std::string& flag, const std::string& v) {
    auto number = [&](std::string_view s) {
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n < 0)
            throw usage_error(flag + " needs beginning, end, stored, N, -N or s@MS, got '" + v + "'");
        return n;
    };
    if (v == "beginning") return {start_offset::kind::beginning, 0};
    if (v == "end") return {start_offset::kind::end, 0};
    if (v == "stored") return {start_offset::kind::stored, 0};
    if (v.starts_with("s@")) return {start_offset::kind::timestamp, number(std::string_view(v).substr(2))};
    if (v.starts_with("e@")) throw usage_error(flag + " e@MS (stop at a timestamp) is not supported");
    if (v.starts_with("-")) return {start_offset::kind::from_end, number(std::string_view(v).substr(1))};
    return {start_offset::kind::absolute, number(v)};
}

std::int32_t parse_partition(const std::string& flag, const std::string& v) {
    std::int32_t p = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
    if (ec != std::errc{} || end != v.data() + v.size() || p < 0)
        throw usage_error(flag + " needs a partition number (0 or more), got '" + v + "'");
    return p;
}

std::string join(const std::vector<topic_partition>& parts) {
    std::string out;
    for (const auto& tp : parts) out += (out.empty() ? "" : ", ") + tp.to_string();
    return out.empty() ? "nothing" : out;
}

std::optional<std::int64_t> position_now(consumer& c, const topic_partition& tp) {
    try {
        return c.position(tp, std::chrono::milliseconds(0));
    } catch (const std::system_error&) {
        return std::nullopt;  // not resolved yet (or failed: poll() reports that)
    }
}

// -e: whether every assigned partition has reached its end. A partition is
// at its end when its position equals its end offset asked for right then
// (a first, older answer only says when to ask again).
class end_watch {
public:
    end_watch(consumer& c, bool quiet) : consumer_(c), quiet_(quiet) {}

    bool all_reached() {
        const std::vector<topic_partition> assigned = consumer_.assignment();
        const std::set<topic_partition> now(assigned.begin(), assigned.end());
        std::erase_if(state_, [&](const auto& kv) { return !now.count(kv.first); });
        if (assigned.empty()) return false;
        bool all = true;
        std::map<topic_partition, std::int64_t> at_end;  // partition -> position
        for (const auto& tp : assigned) {
            partition_state& st = state_[tp];
            if (st.done) continue;
            const auto pos = position_now(consumer_, tp);
            if (!pos || (st.end && *pos < *st.end)) {
                all = false;
                continue;
            }
            at_end[tp] = *pos;
        }
        if (at_end.empty()) return all;
        std::vector<topic_partition> ask;
        for (const auto& [tp, pos] : at_end) ask.push_back(tp);
        const auto ends = consumer_.end_offsets(ask);
        for (const auto& [tp, pos] : at_end) {
            partition_state& st = state_[tp];
            const auto e = ends.find(tp);
            if (e == ends.end()) {
                all = false;
                continue;
            }
            st.end = e->second;
            if (pos >= e->second) {
                st.done = true;
                if (!quiet_)
                    std::cerr << ("kwire consume: reached the end of " + tp.to_string() + " at offset " +
                                  std::to_string(pos) + "\n");
            } else {
                all = false;
            }
        }
        return all;
    }

private:
    struct partition_state {
        std::optional<std::int64_t> end;
        bool done = false;
    };
    consumer& consumer_;
    bool quiet_;
    std::map<topic_partition, partition_state> state_;
};

// Writes everything to stdout (a pipe may take it in parts).
class stdout_writer {
public:
    // False when stdout cannot take more; error() says why (EPIPE: the
    // reader has gone, which ends the command quietly).
    bool write(std::string& buf) {
        std::size_t done = 0;
        while (done < buf.size()) {
            const ssize_t n = ::write(STDOUT_FILENO, buf.data() + done, buf.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                error_ = errno;
                buf.clear();
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        buf.clear();
        return true;
    }
    int error() const { return error_; }

private:
    int error_ = 0;
};

} // namespace

std::vector<topic_partition> find_partitions(consumer& c, const std::vector<std::string>& topics,
                                             const std::vector<std::int32_t>& only) {
    std::vector<topic_partition> out;
    for (const auto& t : topics) {
        std::vector<topic_partition> all;
        // A topic created a moment ago may be unknown to the broker asked, briefly.
        const auto settle = clock_type::now() + std::chrono::seconds(1);
        for (;;) {
            try {
                all = c.partitions_for(t);
                if (!all.empty()) break;
            } catch (const std::system_error& e) {
                if (e.code() != make_error_code(proto::kafka_errc::unknown_topic_or_partition))
                    throw std::runtime_error("topic '" + t + "': " + e.code().message());
            }
            if (clock_type::now() >= settle) throw std::runtime_error("topic '" + t + "' does not exist");
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (only.empty()) {
            out.insert(out.end(), all.begin(), all.end());
            continue;
        }
        const auto count = static_cast<std::int32_t>(all.size());
        for (const std::int32_t p : only) {
            if (p >= count)
                throw std::runtime_error("topic '" + t + "' has partitions 0.." + std::to_string(count - 1) +
                                         ": there is no partition " + std::to_string(p));
            out.push_back({t, p});
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void seek_each(consumer& c, const std::vector<topic_partition>& partitions, bool to_end) {
    // Not seek_to_beginning()/seek_to_end(): right after assign(), they can
    // lose to the consumer's own start lookup (auto.offset.reset) still in
    // flight, whose answer then wins (a consumer bug, reported). An explicit
    // seek() always wins.
    if (partitions.empty()) return;
    const auto offsets = to_end ? c.end_offsets(partitions) : c.beginning_offsets(partitions);
    for (const auto& tp : partitions) {
        const auto it = offsets.find(tp);
        if (it == offsets.end()) throw std::runtime_error("the broker gave no offset for " + tp.to_string());
        c.seek(tp, it->second);
    }
}

int run_consume(const std::vector<std::string>& args) {
    std::vector<std::string> topics;
    std::vector<std::int32_t> only_partitions;
    std::optional<std::string> group;
    std::optional<start_offset> start;
    std::optional<std::uint64_t> limit;
    bool exit_at_end = false;
    std::optional<std::string> format;
    std::optional<std::string> key_delim;
    std::optional<std::string> delim;
    bool null_as_text = false;
    bool quiet = false;

    auto opts = parse_common(args, {print_help}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            topics.push_back(v.non_empty("topic name"));
        } else if (flag == "-p" || flag == "--partition") {
            only_partitions.push_back(parse_partition(flag, v.need("a partition number")));
        } else if (flag == "-G" || flag == "--group") {
            group = v.non_empty("group id");
        } else if (flag == "-o" || flag == "--offset") {
            start = parse_offset(flag, v.need("an offset"));
        } else if (flag == "-c" || flag == "--count") {
            limit = v.count("a number of records", 1);
        } else if (flag == "-e" || flag == "--exit-at-end") {
            exit_at_end = true;
        } else if (flag == "-f" || flag == "--format") {
            format = v.need("a format");
        } else if (flag == "-K" || flag == "--key-delimiter") {
            key_delim = unescape_text(flag, v.need("a key delimiter"));
        } else if (flag == "-D" || flag == "--delimiter") {
            delim = unescape_text(flag, v.need("a record delimiter"));
        } else if (flag == "-Z") {
            null_as_text = true;
        } else if (flag == "-q" || flag == "--quiet") {
            quiet = true;
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;

    // What to read.
    if (group) {
        for (const auto& t : opts.positional) topics.push_back(t);
        if (!only_partitions.empty()) throw usage_error("-p cannot be used with -G: the group assigns the partitions");
        opts.cfg.set("group.id", *group);
        if (start) {
            if (start->what == start_offset::kind::beginning) opts.cfg.set("auto.offset.reset", "earliest");
            else if (start->what == start_offset::kind::end) opts.cfg.set("auto.offset.reset", "latest");
            else if (start->what != start_offset::kind::stored)
                throw usage_error("with -G, -o is beginning or end (auto.offset.reset for partitions without a "
                                  "committed offset)");
        }
    } else if (!opts.positional.empty()) {
        throw usage_error("unexpected argument '" + opts.positional[0] + "' (topics follow the options only with -G)");
    }
    if (topics.empty())
        throw usage_error(group ? "no topic given: -G GROUP TOPIC... or -t TOPIC" : "no topic given: use -t TOPIC");
    if (start && start->what == start_offset::kind::stored && !group && !opts.cfg.get("group.id"))
        throw usage_error("-o stored needs a group: -X group.id=GROUP (or -G GROUP)");
    if (format && opts.json) throw usage_error("--json and -f exclude each other");
    if (key_delim && opts.json) throw usage_error("--json and -K exclude each other");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();  // reject a malformed list before connecting

    const std::string record_delim = delim.value_or("\n");
    const std::string null_text = null_as_text ? "NULL" : "";
    record_format fmt;
    if (format) {
        fmt = record_format::parse(*format, null_text);
    } else {
        // -K and -D are literal text here: escape % and \ before parsing.
        auto literal = [](const std::string& s) {
            std::string out;
            for (char c : s) {
                if (c == '%') out += "%%";
                else if (c == '\\') out += "\\\\";
                else out += c;
            }
            return out;
        };
        fmt = record_format::parse((key_delim ? "%k" + literal(*key_delim) : std::string()) + "%s" +
                                       literal(record_delim),
                                   null_text);
    }

    // Malformed or contradicting consumer properties end here, with exit 2.
    consumer c(consumer_options::from_config(opts.cfg, stderr_log(opts.cfg)));
    if (group) {
        rebalance_listener listener;
        if (!quiet) {
            listener.on_assigned = [](const std::vector<topic_partition>& parts) {
                std::cerr << ("kwire consume: assigned " + join(parts) + "\n");
            };
            listener.on_revoked = [](const std::vector<topic_partition>& parts) {
                std::cerr << ("kwire consume: revoked " + join(parts) + "\n");
            };
            listener.on_lost = [](const std::vector<topic_partition>& parts) {
                std::cerr << ("kwire consume: lost " + join(parts) + "\n");
            };
        }
        c.subscribe(topics, std::move(listener));
    } else {
        const std::vector<topic_partition> partitions = find_partitions(c, topics, only_partitions);
        c.assign(partitions);
        const start_offset from = start.value_or(start_offset{});
        switch (from.what) {
        case start_offset::kind::beginning: seek_each(c, partitions, false); break;
        case start_offset::kind::end: seek_each(c, partitions, true); break;
        case start_offset::kind::stored: break;  // committed offset, else auto.offset.reset
        case start_offset::kind::absolute:
            for (const auto& tp : partitions) c.seek(tp, from.value);
            break;
        case start_offset::kind::from_end: {
            const auto begins = c.beginning_offsets(partitions);
            const auto ends = c.end_offsets(partitions);
            for (const auto& tp : partitions) c.seek(tp, std::max(begins.at(tp), ends.at(tp) - from.value));
            break;
        }
        case start_offset::kind::timestamp: {
            std::map<topic_partition, std::int64_t> query;
            for (const auto& tp : partitions) query[tp] = from.value;
            std::vector<topic_partition> past_the_end;
            for (const auto& [tp, offset] : c.offsets_for_times(query)) {
                if (offset) c.seek(tp, *offset);
                else past_the_end.push_back(tp);
            }
            seek_each(c, past_the_end, true);
            break;
        }
        }
    }

    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error (EPIPE), handled below
    auto previous_int = std::signal(SIGINT, on_consume_signal);
    auto previous_term = std::signal(SIGTERM, on_consume_signal);

    std::atomic<std::uint64_t> consumed{0};
    std::atomic<std::uint64_t> consumed_bytes{0};
    const auto started = clock_type::now();
    std::optional<periodic_reporter> progress;
    if (stderr_is_terminal() && ::isatty(STDOUT_FILENO) != 1) {
        auto tick = [&, last = std::uint64_t{0}, last_bytes = std::uint64_t{0}]() mutable {
            const double secs = std::chrono::duration<double>(clock_type::now() - started).count();
            const std::uint64_t n = consumed.load(std::memory_order_relaxed);
            const std::uint64_t b = consumed_bytes.load(std::memory_order_relaxed);
            std::ostringstream line;
            line << "kwire consume: " << fixed(secs, 0) << " s, " << n << " records, " << n - last << " records/s, "
                 << fixed(static_cast<double>(b - last_bytes) / (1024.0 * 1024.0), 2) << " MB/s\n";
            last = n;
            last_bytes = b;
            std::cerr << line.str();
        };
        progress.emplace(std::chrono::seconds(1), std::move(tick));
    }

    end_watch ends(c, quiet);
    stdout_writer writer;
    std::string out;
    out.reserve(1 << 20);
    const auto poll_timeout = std::chrono::milliseconds(exit_at_end ? 100 : 250);
    auto last_end_check = clock_type::now() - std::chrono::hours(1);
    std::uint64_t count = 0, bytes = 0;
    int status = exit_ok;
    bool finished = false;
    auto fail = [&](const std::string& what) {
        std::cerr << ("kwire consume: " + what + "\n");
        status = exit_failure;
        finished = true;
    };
    try {
        while (!finished && !stop_requested) {
            std::error_code ec;
            const consumer_records batch = c.poll(poll_timeout, ec);
            if (ec) {
                fail(ec.message());
                break;
            }
            std::size_t i = 0;
            bool write_failed = false;
            for (; i < batch.size(); ++i) {
                const consumer_record& r = batch[i];
                if (opts.json) {
                    append_json(out, r);
                    out += record_delim;
                } else {
                    fmt.append(out, r);
                }
                ++count;
                bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
                if (out.size() >= (1 << 20) && !writer.write(out)) {
                    write_failed = true;
                    break;
                }
                if (limit && count >= *limit) {
                    finished = true;
                    ++i;
                    break;
                }
            }
            if (finished && i < batch.size()) {
                // Records polled but not printed: the positions (and what a
                // group commits on exit) go back to the first of each partition.
                std::set<topic_partition> rewound;
                for (std::size_t j = i; j < batch.size(); ++j) {
                    topic_partition tp{std::string(batch[j].topic), batch[j].partition};
                    if (rewound.insert(tp).second) c.seek(tp, batch[j].offset);
                }
            }
            consumed.store(count, std::memory_order_relaxed);
            consumed_bytes.store(bytes, std::memory_order_relaxed);
            if (write_failed || (!out.empty() && !writer.write(out))) {
                if (writer.error() != EPIPE)
                    fail(std::string("writing to stdout failed: ") + std::strerror(writer.error()));
                break;  // EPIPE: whoever read stdout has stopped
            }
            if (exit_at_end && !finished) {
                const auto now = clock_type::now();
                if (batch.empty() || now - last_end_check >= std::chrono::milliseconds(100)) {
                    last_end_check = now;
                    if (ends.all_reached()) finished = true;
                }
            }
        }
    } catch (const std::system_error& e) {
        fail(e.what());
    }
    if (progress) progress->stop();
    // Commits (a group, enable.auto.commit) and leaves the group.
    c.close();
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    return status;
}

} // namespace kwire::cli
