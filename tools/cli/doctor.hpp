// The core of `kwire doctor`: walks the way from this machine to a cluster
// one step at a time, as a client does (resolve, TCP connect, TLS handshake,
// ApiVersions, SASL, Metadata, then every broker the cluster advertises), and
// says what worked, which step failed and why.
#pragma once

#include "kwire/config.hpp"
#include "kwire/net/log.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::cli {

enum class step_status { ok, failed, skipped };

// "ok", "failed", "skipped"
std::string_view to_string(step_status s) noexcept;

struct doctor_step {
    // resolve, connect, tls, api-versions, sasl, metadata, broker
    std::string name;
    std::string target;  // the host:port checked
    step_status status = step_status::ok;
    std::string detail;  // what was found, or why the step failed
    std::string hint;    // for a failure: the likely cause, in plain words
    std::chrono::milliseconds elapsed{};
};

struct doctor_report {
    std::vector<doctor_step> steps;

    const doctor_step* first_failure() const noexcept {
        for (const auto& s : steps)
            if (s.status == step_status::failed) return &s;
        return nullptr;
    }
};

// Checks every bootstrap server of `cfg` (with its security properties),
// then every broker the cluster advertises. Resolve, connect and TLS steps
// are bounded by socket.connection.setup.timeout.ms, requests by
// request.timeout.ms. `on_step` sees each step as it ends (for live output).
// Throws config_error for settings no client could use.
doctor_report diagnose(const kwire::config& cfg, net::log_callback log = {},
                       const std::function<void(const doctor_step&)>& on_step = {});

} // namespace kwire::cli
