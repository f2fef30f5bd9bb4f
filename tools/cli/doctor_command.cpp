// kwire doctor: checks, one step at a time, that this machine can use a
// cluster with the given settings, and says which step fails and why.
#include "cli.hpp"
#include "doctor.hpp"
#include "json.hpp"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace kwire::cli {
namespace {

void print_help() {
    std::cout << "usage: kwire doctor -b HOST:PORT[,...] [-X key=value]... [-F FILE] [--timeout MS] [--json]\n"
                 "\n"
                 "Walks the way a client takes to the cluster, one line per step:\n"
                 "  resolve       the bootstrap host name resolves\n"
                 "  connect       a TCP connection opens\n"
                 "  tls           the TLS handshake: the CA (ssl.ca.location), the host name check\n"
                 "                (TLS on a plaintext port is caught here)\n"
                 "  api-versions  the broker answers ApiVersions (plaintext on a TLS port is caught here)\n"
                 "  sasl          SASL handshake and authentication (mechanism, user name, password)\n"
                 "  metadata      the cluster id and the brokers the cluster advertises\n"
                 "  broker        each advertised broker address is reachable from here and accepts\n"
                 "                the same settings\n"
                 "Each failed step says why, and what the likely cause is.\n"
                 "\n"
                 "  --timeout MS  time limit of each step (default 10000): sets\n"
                 "                socket.connection.setup.timeout.ms and request.timeout.ms unless given\n"
                 "  --json        one JSON object on stdout\n"
                 "\n"
                 "exit status: 0 every step passed, 1 a step failed, 2 bad usage or configuration\n";
}

std::string human_line(const doctor_step& s) {
    const char* mark = s.status == step_status::ok ? "ok  " : s.status == step_status::failed ? "FAIL" : "skip";
    char name[16];
    std::snprintf(name, sizeof name, "%-12s", s.name.c_str());
    std::string line = std::string(mark) + "  " + name + " " + (s.target.empty() ? "-" : s.target) + ": ";
    line += s.hint.empty() ? s.detail : s.hint + " [" + s.detail + "]";
    if (s.status != step_status::skipped) line += " (" + std::to_string(s.elapsed.count()) + " ms)";
    return line;
}

std::string json_report(const doctor_report& r) {
    std::ostringstream o;
    const doctor_step* failed = r.first_failure();
    o << "{\"ok\":" << (failed ? "false" : "true") << ",\"failed_step\":" << (failed ? json_quote(failed->name) : "null")
      << ",\"failed_target\":" << (failed ? json_quote(failed->target) : "null") << ",\"steps\":[";
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
        const auto& s = r.steps[i];
        o << (i ? "," : "") << "{\"step\":" << json_quote(s.name) << ",\"target\":" << json_quote(s.target)
          << ",\"status\":" << json_quote(to_string(s.status)) << ",\"detail\":" << json_quote(s.detail)
          << ",\"hint\":" << (s.hint.empty() ? "null" : json_quote(s.hint)) << ",\"ms\":" << s.elapsed.count() << "}";
    }
    o << "]}";
    return o.str();
}

} // namespace

int run_doctor(const std::vector<std::string>& args) {
    std::string timeout_ms = "10000";
    auto opts = parse_common(args, {print_help, false}, [&](const std::string& flag, option_value& v) {
        if (flag != "--timeout") return false;
        const std::string& text = v.need("milliseconds");
        int n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || end != text.data() + text.size() || n <= 0)
            throw usage_error("--timeout needs a positive number of milliseconds, got '" + text + "'");
        timeout_ms = text;
        return true;
    });
    if (opts.help) return exit_ok;
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    // Settings the user gave win over the doctor's shorter default.
    if (!opts.cfg.get("socket.connection.setup.timeout.ms")) opts.cfg.set("socket.connection.setup.timeout.ms", timeout_ms);
    if (!opts.cfg.get("request.timeout.ms")) opts.cfg.set("request.timeout.ms", timeout_ms);

    std::function<void(const doctor_step&)> live;
    if (!opts.json) live = [](const doctor_step& s) { std::cout << human_line(s) << std::endl; };
    const doctor_report report = diagnose(opts.cfg, stderr_log(opts.cfg), live);
    const doctor_step* failed = report.first_failure();
    if (opts.json) {
        std::cout << json_report(report) << "\n";
    } else if (failed) {
        std::cout << "kwire doctor: failed at step '" << failed->name << "' on " << failed->target << ": "
                  << (failed->hint.empty() ? failed->detail : failed->hint) << "\n";
    } else {
        std::cout << "kwire doctor: every step passed\n";
    }
    return failed ? exit_failure : exit_ok;
}

} // namespace kwire::cli
