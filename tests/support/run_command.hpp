// Runs a command line through the shell and captures its output and exit
// status, for tests of the kwire command-line tool.
#pragma once

#include <array>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sys/wait.h>

namespace kwire::test {

struct command_result {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
    std::chrono::milliseconds elapsed{};
};

// `timeout` bounds the command (coreutils timeout), so a hang fails the test.
inline command_result run_command(const std::string& command, int timeout_seconds = 60) {
    const std::string line = "timeout " + std::to_string(timeout_seconds) + " " + command + " 2>&1";
    const auto start = std::chrono::steady_clock::now();
    FILE* pipe = popen(line.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run: " + line);
    command_result r;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return r;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

} // namespace kwire::test
