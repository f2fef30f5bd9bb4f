// Shared pieces of the kwire command-line tool: option parsing in kcat's style
// (-b, -X key=value, -F file), and the exit codes.
#pragma once

#include "kwire/config.hpp"
#include "kwire/net/log.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace kwire {
struct topic_partition;
class consumer;
} // namespace kwire

namespace kwire::cli {

// Exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What parse_common needs to know of a command: its help, and whether it
// takes arguments besides options.
struct command_syntax {
    void (*print_help)() = nullptr;
    bool takes_arguments = true;
};

struct common_options {
    kwire::config cfg;
    bool json = false;
    bool help = false;
    std::vector<std::string> positional;
};

// The argument after a command's own flag, for the option handler.
class option_value {
public:
    option_value(const std::string& flag, const std::string* next) : flag_(flag), next_(next) {}

    // Takes the argument; usage_error "FLAG needs WHAT" when there is none.
    const std::string& need(const std::string& what);
    // Takes a non-empty argument: "FLAG needs a NOUN" / "FLAG needs a non-empty NOUN".
    const std::string& non_empty(const std::string& noun);
    // Takes a whole number of at least `min` (parse_count).
    std::uint64_t count(const std::string& what, std::uint64_t min);
    // Takes a partition number (0 to 2147483647).
    std::int32_t partition();

    bool used() const noexcept { return used_; }

private:
    const std::string& flag_;
    const std::string* next_;
    bool used_ = false;
};

using option_handler = std::function<bool(const std::string& flag, option_value& value)>;

// Parses the options every command shares (-b, -X, -F, --json, -h) and hands
// the rest to `other(flag, value)`, which returns true when it knows the flag
// (taking the argument after it through `value`, when the flag has one).
// With -h or --help it prints the command's help (and sets `help`: the
// command has nothing more to do); a command that takes no arguments refuses
// any word that is not an option.
common_options parse_common(const std::vector<std::string>& args, const command_syntax& syntax,
                            const option_handler& other);

// Log lines to stderr, but only when asked for (-X debug=... or
// -X log_level=...): otherwise a command reports errors once, as its result.
inline net::log_callback stderr_log(const kwire::config& cfg) {
    if (!cfg.get("debug") && !cfg.get("log_level")) return {};
    return [](net::log_level level, std::string_view context, std::string_view message) {
        std::cerr << "kwire: " << net::to_string(level) << " [" << context << "] " << message << "\n";
    };
}

// A whole number of at least `min` given for `flag` (usage_error otherwise),
// and `v` printed with `digits` decimals (values.cpp).
std::uint64_t parse_count(const std::string& flag, const std::string& v, std::uint64_t min);
std::string fixed(double v, int digits);
// "1,2,3"
std::string join_ints(const std::vector<std::int32_t>& v);

int run_metadata(const std::vector<std::string>& args);
int run_produce(const std::vector<std::string>& args);
int run_bench_produce(const std::vector<std::string>& args);
int run_consume(const std::vector<std::string>& args);
int run_bench_consume(const std::vector<std::string>& args);
int run_bench_e2e(const std::vector<std::string>& args);
int run_doctor(const std::vector<std::string>& args);
int run_topic(const std::vector<std::string>& args);
int run_group(const std::vector<std::string>& args);

// Shared by the admin commands (topic_command.cpp): a table with columns
// padded to their widest cell; Kafka's name for a kafka_errc
// ("TOPIC_ALREADY_EXISTS"), else the error's message; --timeout MS.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);
std::string error_name(const std::error_code& ec);
std::chrono::milliseconds parse_timeout(const std::string& flag, const std::string& value);

// Shared by the consume commands (consume_command.cpp).
// The partitions of `topics`, asked through the consumer: all of them, or
// those numbered in `only` (each must exist). Throws std::runtime_error
// naming a missing topic or partition.
std::vector<topic_partition> find_partitions(consumer& c, const std::vector<std::string>& topics,
                                             const std::vector<std::int32_t>& only);
// Seeks every partition to its beginning (or end) offset, as an explicit
// offset (instead of consumer::seek_to_beginning/end: see consume_command.cpp).
void seek_each(consumer& c, const std::vector<topic_partition>& partitions, bool to_end);

} // namespace kwire::cli
