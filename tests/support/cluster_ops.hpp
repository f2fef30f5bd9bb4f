// Control of the 3-broker cluster for cluster tests (tests/cluster): how many
// brokers it has, and stopping, killing and restarting one broker. They run
// tools/broker on the state dir that `tools/broker env` exported
// (KWIRE_STATE_DIR), and fail the test when the command fails. Broker ids
// are 1-based, as in Kafka's node.id and the Metadata response.
#pragma once

#include "support/broker_env.hpp"
#include "support/run_command.hpp"

#include <doctest/doctest.h>

#include <string>

namespace kwire::test {

// KWIRE_BROKER_COUNT: how many brokers the cluster under test has.
inline int broker_count() { return std::stoi(broker_env("KWIRE_BROKER_COUNT")); }

inline std::string broker_node_command_line(const std::string& verb, int id) {
    return std::string(KWIRE_SOURCE_DIR) + "/tools/broker " + verb + " --state " +
           shell_quote(broker_env("KWIRE_STATE_DIR")) + " " + std::to_string(id);
}

// Runs `tools/broker VERB --state <KWIRE_STATE_DIR> ID` and requires success.
inline void broker_node_command(const std::string& verb, int id, int timeout_seconds) {
    const std::string line = broker_node_command_line(verb, id);
    const auto r = run_command(line, timeout_seconds);
    REQUIRE_MESSAGE(r.exit_code == 0, line << " failed (exit " << r.exit_code << "):\n" << r.output);
}

// Controlled shutdown of broker `id` (SIGTERM; SIGKILL after a 20 s grace);
// returns once the process is gone. The other brokers keep running.
inline void stop_node(int id) { broker_node_command("stop-node", id, 120); }

// A crash of broker `id` (SIGKILL); returns once the process is gone.
inline void kill_node(int id) { broker_node_command("kill-node", id, 60); }

// Starts broker `id` again with its config and data; returns once every one of
// its listeners answers and its metadata lists the whole cluster.
inline void start_node(int id) { broker_node_command("start-node", id, 300); }

// Restarts a broker the test took down when the test ends early (a failed
// REQUIRE), so that the next test finds the whole cluster. Declare it before
// stopping or killing a node; call done() once the test restarted it
// (start-node on a running broker just checks it).
class restart_on_exit {
public:
    explicit restart_on_exit(int id) : line_(broker_node_command_line("start-node", id)) {}
    restart_on_exit(const restart_on_exit&) = delete;
    restart_on_exit& operator=(const restart_on_exit&) = delete;
    ~restart_on_exit() {
        if (line_.empty()) return;
        try {
            run_command(line_, 300);  // best effort: a destructor must not fail the test
        } catch (...) {
        }
    }
    void done() { line_.clear(); }

private:
    std::string line_;
};

} // namespace kwire::test
