// kwire produce: sends one record per line of the input files (or stdin),
// with kcat's producer flags where kcat has one (-t, -p, -K, -H, -z, -D).
#include "cli.hpp"
#include "format.hpp"
#include "json.hpp"

#include "kwire/producer.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace kwire::cli {
namespace {

void print_help() {
    std::cout <<
        "usage: kwire produce -b HOST:PORT[,...] -t TOPIC [options] [FILE...]\n"
        "\n"
        "Sends one record per line of each FILE (\"-\" or none: stdin), waits until\n"
        "every record is acknowledged or has failed, and exits. Lines are split on\n"
        "newline (or -D); the delimiter is not part of the record, and a last line\n"
        "without one is sent too. An empty line is a record with an empty value.\n"
        "\n"
        "  -t, --topic TOPIC          topic to send to (required)\n"
        "  -p, --partition N          send every record to partition N (default: the\n"
        "                             partitioner, -X partitioner=...; -1 alike)\n"
        "  -K, --key-delimiter DELIM  the text before the first DELIM of a line is the\n"
        "                             key, the rest the value; a line without DELIM has\n"
        "                             no key (null) and is all value\n"
        "  -H, --header NAME=VALUE    add a header to every record (repeatable; NAME\n"
        "                             alone: a header with a null value)\n"
        "  -z, --compression CODEC    none, gzip, snappy, lz4 or zstd (compression.type)\n"
        "  -D, --delimiter DELIM      record delimiter instead of newline\n"
        "                             (DELIM for -K and -D may use \\n \\t \\r \\0 \\\\ \\xNN)\n"
        "  -X key=value, -F FILE      producer properties: acks, linger.ms, batch.size,\n"
        "                             enable.idempotence, delivery.timeout.ms, ...\n"
        "  --json                     one JSON line per record on stdout, in the order the\n"
        "                             acknowledgements arrive (N counts input records from 1):\n"
        "                               {\"record\":N,\"partition\":P,\"offset\":O}\n"
        "                               {\"record\":N,\"partition\":P or null,\"error\":\"...\"}\n"
        "                             then a last line {\"records\":N,\"delivered\":D,\"failed\":F}\n"
        "\n"
        "A failed record is reported on stderr as\n"
        "  kwire produce: record N (partition P): <error>\n"
        "(P is ? when no partition was chosen). Before exiting, the producer waits up\n"
        "to delivery.timeout.ms (+5 s) for outstanding acknowledgements.\n"
        "\n"
        "exit status: 0 every record delivered, 1 any record failed (or an input could\n"
        "not be read), 2 bad usage or configuration\n";
}

// A delimiter given on the command line, escapes decoded (\n, \xNN, ...).
std::string delimiter(const std::string& flag, std::string_view s) {
    std::string out = unescape_text(flag, s);
    if (out.empty()) throw usage_error(flag + " needs a non-empty delimiter");
    return out;
}

// Splits a stream into records at a delimiter of any length, reading in
// large chunks; a record is a view into the buffer, valid until next().
class record_reader {
public:
    record_reader(std::FILE* f, std::string delimiter) : file_(f), delim_(std::move(delimiter)), buf_(64 * 1024) {}

    bool next(std::string_view& out) {
        for (;;) {
            const std::string_view have(buf_.data() + start_, end_ - start_);
            const std::size_t from = scanned_ > start_ ? scanned_ - start_ : 0;
            const auto pos = have.find(delim_, from);
            if (pos != std::string_view::npos) {
                out = have.substr(0, pos);
                start_ += pos + delim_.size();
                scanned_ = start_;
                return true;
            }
            // Everything but a possible partial delimiter at the end is searched.
            scanned_ = end_ - std::min(end_ - start_, delim_.size() - 1);
            if (eof_) {
                if (start_ == end_) return false;
                out = have;
                start_ = scanned_ = end_;
                return true;
            }
            fill();
        }
    }

    int error() const { return error_; }

private:
    void fill() {
        if (start_ > 0) {  // keep the unfinished record at the front
            std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
            end_ -= start_;
            scanned_ -= start_;
            start_ = 0;
        }
        if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // a record longer than the buffer
        // read(), not fread(): it returns what a pipe or terminal has now, so
        // records stream out as lines arrive (tail -f | kwire produce).
        ssize_t n;
        do {
            n = ::read(::fileno(file_), buf_.data() + end_, buf_.size() - end_);
        } while (n < 0 && errno == EINTR);
        if (n < 0) error_ = errno;
        if (n <= 0) eof_ = true;  // end of input, or an error (error() tells)
        else end_ += static_cast<std::size_t>(n);
    }

    std::FILE* file_;
    std::string delim_;
    std::vector<char> buf_;
    std::size_t start_ = 0, end_ = 0, scanned_ = 0;
    bool eof_ = false;
    int error_ = 0;
};

struct input {
    std::string name;  // for messages
    std::FILE* file = nullptr;
    bool owned = false;
};

// Shared with the completion handlers, which run on the producer's thread.
struct delivery_state {
    std::mutex output;  // stdout and stderr lines from handlers and main
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> failed{0};
    bool json = false;
    std::optional<std::int32_t> partition;  // -p
};

std::string partition_text(const delivery_state& st, std::int32_t reported) {
    if (reported >= 0) return std::to_string(reported);
    if (st.partition) return std::to_string(*st.partition);
    return "?";
}

} // namespace

int run_produce(const std::vector<std::string>& args) {
    std::string topic;
    std::optional<std::int32_t> partition;
    std::optional<std::string> key_delim;
    std::string delim = "\n";
    std::optional<std::string> compression;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;

    auto opts = parse_common(args, {print_help}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            topic = v.non_empty("topic name");
        } else if (flag == "-p" || flag == "--partition") {
            const std::string& text = v.need("a partition number");
            std::int32_t p = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
            if (ec != std::errc{} || end != text.data() + text.size() || p < -1)
                throw usage_error(flag + " needs a partition number (0 or more; -1: the partitioner), got '" + text +
                                  "'");
            if (p >= 0) partition = p;
            else partition.reset();
        } else if (flag == "-K" || flag == "--key-delimiter") {
            key_delim = delimiter(flag, v.need("a key delimiter"));
        } else if (flag == "-D" || flag == "--delimiter") {
            delim = delimiter(flag, v.need("a record delimiter"));
        } else if (flag == "-z" || flag == "--compression") {
            compression = v.need("a codec (none, gzip, snappy, lz4, zstd)");
        } else if (flag == "-H" || flag == "--header") {
            const std::string& h = v.need("NAME=VALUE");
            const auto eq = h.find('=');
            if (eq == 0 || h.empty()) throw usage_error(flag + " needs NAME=VALUE with a non-empty NAME, got '" + h + "'");
            if (eq == std::string::npos) headers.emplace_back(h, std::nullopt);
            else headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    if (compression) opts.cfg.set("compression.type", *compression);
    if (topic.empty()) throw usage_error("no topic given: use -t TOPIC");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();  // reject a malformed list before connecting
    // Malformed or contradicting producer properties end here, with exit 2.
    producer_options popts = producer_options::from_config(opts.cfg, stderr_log(opts.cfg));
    const auto flush_timeout = popts.delivery_timeout + std::chrono::seconds(5);

    // Every input is opened before anything is sent: a missing file is a usage error.
    std::vector<input> inputs;
    struct closer {
        std::vector<input>& v;
        ~closer() {
            for (auto& i : v)
                if (i.owned) std::fclose(i.file);
        }
    } close_inputs{inputs};
    if (opts.positional.empty()) opts.positional.push_back("-");
    for (const auto& name : opts.positional) {
        if (name == "-") {
            inputs.push_back({"stdin", stdin, false});
            continue;
        }
        std::FILE* f = std::fopen(name.c_str(), "rb");
        if (!f) throw usage_error("cannot open '" + name + "': " + std::strerror(errno));
        inputs.push_back({name, f, true});
    }

    auto state = std::make_shared<delivery_state>();
    state->json = opts.json;
    state->partition = partition;

    producer p(std::move(popts));

    // One record object, reused: send() copies the views it holds.
    producer_record rec;
    rec.topic = topic;
    rec.partition = partition;
    for (const auto& [name, value] : headers) {
        header h;
        h.name = name;
        if (value) h.value = payload(std::string_view(*value));
        rec.headers.push_back(std::move(h));
    }

    std::uint64_t sent = 0;
    bool input_failed = false;
    for (auto& in : inputs) {
        record_reader reader(in.file, delim);
        std::string_view line;
        while (reader.next(line)) {
            std::string_view value = line;
            rec.key = payload();
            if (key_delim) {
                if (const auto k = line.find(*key_delim); k != std::string_view::npos) {
                    rec.key = payload(line.substr(0, k));
                    value = line.substr(k + key_delim->size());
                }
            }
            rec.value = payload(value);
            const std::uint64_t number = ++sent;
            state->sent.store(sent, std::memory_order_relaxed);
            auto done = [state, number](std::error_code ec, record_metadata md) {
                std::lock_guard lock(state->output);
                if (ec) {
                    state->failed.fetch_add(1, std::memory_order_relaxed);
                    const std::string where = partition_text(*state, md.partition);
                    std::cerr << "kwire produce: record " << number << " (partition " << where << "): " << ec.message()
                              << "\n";
                    if (state->json)
                        std::cout << "{\"record\":" << number << ",\"partition\":" << (where == "?" ? "null" : where)
                                  << ",\"error\":" << json_quote(ec.message()) << "}\n";
                } else if (state->json) {
                    std::cout << "{\"record\":" << number << ",\"partition\":" << md.partition
                              << ",\"offset\":" << md.offset << "}\n";
                }
                // Streaming input (tail -f | kwire produce --json): lines go out
                // once nothing else is outstanding, not when a buffer fills.
                const auto done_now = state->completed.fetch_add(1, std::memory_order_release) + 1;
                if (state->json && done_now == state->sent.load(std::memory_order_relaxed)) std::cout.flush();
            };
            try {
                p.send(rec, std::move(done));
            } catch (const std::exception& e) {
                // send() itself refused the record; its handler never runs.
                std::lock_guard lock(state->output);
                state->failed.fetch_add(1, std::memory_order_relaxed);
                state->completed.fetch_add(1, std::memory_order_release);
                std::cerr << "kwire produce: record " << number << " (partition " << partition_text(*state, -1)
                          << "): " << e.what() << "\n";
            }
        }
        if (reader.error()) {
            std::lock_guard lock(state->output);
            std::cerr << "kwire produce: reading " << in.name << " failed: " << std::strerror(reader.error()) << "\n";
            input_failed = true;
        }
    }

    const std::error_code flushed = p.flush(std::chrono::duration_cast<std::chrono::milliseconds>(flush_timeout));
    if (flushed) {
        std::lock_guard lock(state->output);
        std::cerr << "kwire produce: " << p.pending() << " record(s) not acknowledged after "
                  << flush_timeout.count() / 1000 << " s: " << flushed.message() << "\n";
    }
    // Fails whatever is still pending (producer_closed), so every handler runs.
    (void)p.close(std::chrono::milliseconds(flushed ? 0 : 1000));
    // The handlers run on the producer's thread: wait until the last one has.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (state->completed.load(std::memory_order_acquire) < sent && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));

    std::lock_guard lock(state->output);
    const std::uint64_t completed = state->completed.load(std::memory_order_acquire);
    const std::uint64_t failed = state->failed.load() + (sent - completed);  // never reported: failed too
    if (sent != completed)
        std::cerr << "kwire produce: " << sent - completed << " record(s) were never reported by the producer\n";
    if (failed > 0)
        std::cerr << "kwire produce: " << failed << " of " << sent << " record(s) to topic '" << topic
                  << "' failed\n";
    if (opts.json)
        std::cout << "{\"records\":" << sent << ",\"delivered\":" << sent - failed << ",\"failed\":" << failed << "}\n";
    std::cout.flush();
    return failed > 0 || input_failed || flushed ? exit_failure : exit_ok;
}

} // namespace kwire::cli
