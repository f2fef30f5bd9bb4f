#include "doctor.hpp"

#include "kwire/connection_config.hpp"
#include "kwire/net/open_connection.hpp"
#include "kwire/net/sasl.hpp"
#include "kwire/net/version_negotiation.hpp"
#include "kwire/proto/api_keys.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames
// (its recycling operator new/delete pair) when it inlines them here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kwire::cli {

std::string_view to_string(step_status s) noexcept {
    switch (s) {
    case step_status::ok: return "ok";
    case step_status::failed: return "failed";
    case step_status::skipped: return "skipped";
    }
    return "?";
}

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
using steady = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

std::chrono::milliseconds since(steady::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
}

std::string to_string(const tcp::endpoint& e) {
    std::ostringstream s;
    s << e;
    return s.str();
}

// A connection's failure line without its "broker host:port: " prefix (the
// step's target already says which broker).
std::string without_broker_prefix(const std::string& line, const std::string& peer) {
    const std::string prefix = "broker " + peer + ": ";
    return line.starts_with(prefix) ? line.substr(prefix.size()) : line;
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

struct resolved {
    std::error_code ec;
    std::vector<tcp::endpoint> endpoints;
};

// getaddrinfo cannot be cancelled, so it runs on a thread of its own, which
// is left behind if it outlasts the timeout; that thread touches only
// `pending`, never the io_context, so it may outlive the whole diagnosis.
asio::awaitable<resolved> resolve_within(std::string host, std::string port, std::chrono::milliseconds timeout) {
    struct pending_resolve {
        std::mutex mutex;
        bool done = false;
        resolved result;
    };
    auto pending = std::make_shared<pending_resolve>();
    std::thread([pending, host, port] {
        asio::io_context own;
        tcp::resolver resolver(own);
        resolved r;
        const auto results = resolver.resolve(host, port, r.ec);
        for (const auto& entry : results) r.endpoints.push_back(entry.endpoint());
        std::lock_guard lock(pending->mutex);
        pending->result = std::move(r);
        pending->done = true;
    }).detach();

    asio::steady_timer poll(co_await asio::this_coro::executor);
    const auto deadline = steady::now() + timeout;
    for (;;) {
        {
            std::lock_guard lock(pending->mutex);
            if (pending->done) co_return pending->result;
        }
        if (steady::now() >= deadline) co_return resolved{make_error_code(asio::error::timed_out), {}};
        poll.expires_after(std::chrono::milliseconds(2));
        co_await poll.async_wait(no_throw);
    }
}

struct connected {
    std::error_code ec;          // of the last address tried
    std::string endpoint;        // the address that answered
    std::vector<std::string> tried;  // "address: why it failed"
};

// Tries each address in turn until one accepts, all within `timeout`.
asio::awaitable<connected> connect_within(const std::vector<tcp::endpoint>& endpoints, std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    const auto deadline = steady::now() + timeout;
    connected out;
    for (const auto& endpoint : endpoints) {
        if (steady::now() >= deadline) {
            out.ec = make_error_code(asio::error::timed_out);
            out.tried.push_back(to_string(endpoint) + ": not tried, out of time");
            continue;
        }
        auto socket = std::make_shared<tcp::socket>(ex);
        auto expired = std::make_shared<bool>(false);
        asio::steady_timer timer(ex, deadline);
        // Closing the socket is what ends a connect attempt that takes too long.
        timer.async_wait([socket, expired](std::error_code ec) {
            if (ec) return;
            *expired = true;
            std::error_code ignored;
            socket->close(ignored);
        });
        auto [ec] = co_await socket->async_connect(endpoint, no_throw);
        timer.cancel();
        if (!ec && !*expired) {
            out.ec = {};
            out.endpoint = to_string(endpoint);
            std::error_code ignored;
            socket->close(ignored);
            co_return out;
        }
        out.ec = *expired ? make_error_code(asio::error::timed_out) : ec;
        out.tried.push_back(to_string(endpoint) + ": " +
                            (*expired ? "no answer within " + ms(timeout) : ec.message()));
    }
    co_return out;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
    return out;
}

std::string port_of(const std::string& target) { return target.substr(target.rfind(':') + 1); }

// The likely cause of a failed step, in the words a user would search for.
std::string hint_for(std::error_code ec, const std::string& step, const std::string& target,
                     const net::connection_options& o) {
    using net::errc;
    const std::string host = target.substr(0, target.rfind(':'));
    const std::string port = port_of(target);
    if (step == "resolve")
        return ec == asio::error::timed_out
                   ? "the name '" + host + "' did not resolve within " + ms(o.connect_timeout) + ": DNS is slow or unreachable"
                   : "the name '" + host + "' does not resolve here: check its spelling, DNS, or /etc/hosts";
    if (ec == asio::error::connection_refused || ec == errc::connect_failed)
        return "nothing listens on port " + port + " of " + host + ": a wrong port, or the broker is down";
    if (ec == asio::error::timed_out || ec == errc::connect_timeout)
        return "no answer from " + target + " within " + ms(o.connect_timeout) +
               ": a firewall or security group drops the packets, or the address is not reachable from this network";
    if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable)
        return "no route from here to " + host;
    if (ec == errc::tls_not_spoken_by_peer)
        return "TLS on a plaintext port: port " + port +
               " does not speak TLS; use security.protocol PLAINTEXT or SASL_PLAINTEXT there, or the broker's TLS port";
    if (ec == errc::tls_on_plaintext)
        return "plaintext on a TLS port: port " + port +
               " answered with TLS; use security.protocol SSL or SASL_SSL there, or the broker's plaintext port";
    if (ec == errc::tls_certificate_untrusted)
        return o.tls.ca_file.empty() && o.tls.ca_pem.empty()
                   ? "no CA in the system's trust store signed the broker's certificate: set ssl.ca.location to your "
                     "provider's CA file"
                   : "the broker's certificate is not signed by the CA in " +
                         (o.tls.ca_file.empty() ? std::string("ssl.ca.pem") : "ssl.ca.location '" + o.tls.ca_file + "'") +
                         ": is it your provider's CA file for this cluster?";
    if (ec == errc::tls_hostname_mismatch)
        return "the host name check failed: the certificate does not name '" + host +
               "'; connect by a name it lists, or, if your provider says so, turn the check off with "
               "ssl.endpoint.identification.algorithm=none (kafka-python: ssl_check_hostname=False)";
    if (ec == errc::tls_config_invalid)
        return "a CA, certificate or key file could not be loaded: check the path and that it holds PEM";
    if (ec == errc::tls_handshake_timeout)
        return "the TLS handshake did not finish within " + ms(o.tls_handshake_timeout);
    if (ec == errc::http_on_kafka_port) return "an HTTP server answered: " + target + " is not a Kafka port";
    if (ec == errc::sasl_authentication_failed)
        return "bad user name or password: the broker rejected user '" + o.sasl.username + "'";
    if (ec == errc::sasl_mechanism_unsupported)
        return "the broker does not enable sasl.mechanism " + o.sasl.mechanism + " on this listener";
    if (ec == errc::sasl_not_enabled)
        return "this listener does not use SASL: use security.protocol " +
               std::string(o.tls.enabled ? "SSL" : "PLAINTEXT") + " here, or the broker's SASL port";
    if (ec == errc::sasl_required)
        return "this listener requires SASL: use security.protocol " +
               std::string(o.tls.enabled ? "SASL_SSL" : "SASL_PLAINTEXT") + " with sasl.username and sasl.password";
    if (step == "api-versions" && (ec == errc::connection_closed || ec == errc::request_timeout))
        return "the broker did not answer ApiVersions: not a Kafka port, or a TLS port (use security.protocol SSL or "
               "SASL_SSL)";
    if (ec == errc::request_timeout) return "the broker did not answer within " + ms(o.request_timeout);
    return {};
}

class walker {
public:
    walker(const kwire::config& cfg, net::connection_options options,
           const std::function<void(const doctor_step&)>& on_step)
        : cfg_(cfg), options_(std::move(options)), on_step_(on_step) {}

    doctor_report report;

    asio::awaitable<void> run() {
        std::optional<proto::metadata_response> metadata;
        for (const auto& [host, port] : cfg_.bootstrap_servers()) {
            auto m = co_await check_bootstrap(host, port);
            if (m && !metadata) metadata = std::move(m);
        }
        if (!metadata) {
            add({"broker", "", step_status::skipped, "not reached: no bootstrap server answered Metadata", {}, {}});
            co_return;
        }
        auto brokers = metadata->brokers;
        std::sort(brokers.begin(), brokers.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
        for (const auto& b : brokers) {
            const std::string port = std::to_string(b.port);  // named: no temporaries inside co_await (GCC 12)
            co_await check_advertised(b.node_id, b.host, port);
        }
    }

private:
    void add(doctor_step step) {
        if (on_step_) on_step_(step);
        report.steps.push_back(std::move(step));
    }

    void fail(std::string name, const std::string& target, std::error_code ec, std::string detail,
              steady::time_point started) {
        std::string hint = hint_for(ec, name, target, options_);
        add({std::move(name), target, step_status::failed, std::move(detail), std::move(hint), since(started)});
    }

    void skip_rest(const char* const* names, const std::string& target) {
        for (; *names; ++names) add({*names, target, step_status::skipped, "not reached", {}, {}});
    }

    std::string tls_summary(const net::connection& conn, const std::string& host) const {
        const auto& t = options_.tls;
        std::string s = conn.tls_session();
        if (!t.verify_certificate) return s + "; certificate NOT verified (enable.ssl.certificate.verification=false)";
        s += "; certificate verified against ";
        s += !t.ca_file.empty() ? "ssl.ca.location '" + t.ca_file + "'"
             : !t.ca_pem.empty() ? std::string("ssl.ca.pem")
                                 : std::string("the system's trust store");
        s += t.verify_hostname ? "; host name '" + (t.server_name.empty() ? host : t.server_name) + "' checked"
                               : std::string("; host name not checked (ssl.endpoint.identification.algorithm=none)");
        return s;
    }

    static std::string versions_summary(const net::api_versions& v) {
        std::string s = "the broker offers " + std::to_string(v.all().size()) + " APIs";
        const std::int16_t shown[] = {0, 1, 3};  // Produce, Fetch, Metadata
        std::vector<std::string> parts;
        for (auto key : shown)
            if (auto r = v.broker_range(key))
                parts.push_back(std::string(proto::api_name(key)) + " v" + std::to_string(r->min) + "-" +
                                std::to_string(r->max));
        return parts.empty() ? s : s + " (" + join(parts, ", ") + ")";
    }

    // Resolve, connect, TLS, ApiVersions and SASL on host:port, a line each;
    // the open connection, or null after reporting the failed step and the
    // steps it left unreached.
    asio::awaitable<std::shared_ptr<net::connection>> open(const std::string& host, const std::string& port,
                                                           net::api_versions& versions) {
        static const char* const after_resolve[] = {"connect", "tls", "api-versions", "sasl", "metadata", nullptr};
        const std::string target = host + ":" + port;
        auto ex = co_await asio::this_coro::executor;

        auto started = steady::now();
        const resolved r = co_await resolve_within(host, port, options_.connect_timeout);
        if (r.ec || r.endpoints.empty()) {
            fail("resolve", target, r.ec ? r.ec : make_error_code(asio::error::host_not_found),
                 "cannot resolve '" + host + "': " + (r.ec ? r.ec.message() : std::string("no addresses")), started);
            skip_rest(after_resolve, target);
            co_return nullptr;
        }
        std::vector<std::string> addresses;
        for (const auto& e : r.endpoints) addresses.push_back(e.address().to_string());
        addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
        add({"resolve", target, step_status::ok, "resolved to " + join(addresses, ", "), {}, since(started)});

        started = steady::now();
        const connected c = co_await connect_within(r.endpoints, options_.connect_timeout);
        if (c.ec) {
            fail("connect", target, c.ec, "TCP connect failed: " + join(c.tried, "; "), started);
            skip_rest(after_resolve + 1, target);
            co_return nullptr;
        }
        add({"connect", target, step_status::ok, "TCP connection to " + c.endpoint, {}, since(started)});

        // The connection itself resolves and connects again (quick now), then
        // runs the TLS handshake.
        started = steady::now();
        auto conn = net::connection::create(ex, options_);
        auto [connect_ec] = co_await conn->async_connect(host, port, no_throw);
        if (connect_ec) {
            const bool tls_step = connect_ec.category() == net::net_category() &&
                                  connect_ec.value() >= static_cast<int>(net::errc::tls_unavailable) &&
                                  connect_ec.value() <= static_cast<int>(net::errc::tls_not_spoken_by_peer);
            fail(tls_step ? "tls" : "connect", target, connect_ec, without_broker_prefix(conn->failure(), target), started);
            skip_rest(after_resolve + 2, target);
            co_return nullptr;
        }
        if (options_.tls.enabled)
            add({"tls", target, step_status::ok, "TLS handshake done: " + tls_summary(*conn, host), {}, since(started)});
        else
            add({"tls", target, step_status::skipped, "no TLS (security.protocol " + protocol() + ")", {}, {}});

        started = steady::now();
        auto [version_ec, offered] = co_await net::async_negotiate_versions(conn, no_throw);
        if (version_ec) {
            std::string detail = conn->failure();
            detail = detail.empty() ? "ApiVersions failed: " + version_ec.message() : without_broker_prefix(detail, target);
            conn->close();
            fail("api-versions", target, version_ec, std::move(detail), started);
            skip_rest(after_resolve + 3, target);
            co_return nullptr;
        }
        versions = std::move(offered);
        add({"api-versions", target, step_status::ok, versions_summary(versions), {}, since(started)});

        if (!options_.sasl.enabled()) {
            add({"sasl", target, step_status::skipped, "no SASL (security.protocol " + protocol() + ")", {}, {}});
            co_return conn;
        }
        started = steady::now();
        const net::sasl_outcome sasl = co_await net::sasl_authenticate(conn, versions);
        if (sasl.ec) {
            fail("sasl", target, sasl.ec, without_broker_prefix(sasl.failure, target), started);
            skip_rest(after_resolve + 4, target);
            co_return nullptr;
        }
        add({"sasl", target, step_status::ok,
             "authenticated as user '" + options_.sasl.username + "' with " + options_.sasl.mechanism, {}, since(started)});
        co_return conn;
    }

    asio::awaitable<std::optional<proto::metadata_response>> check_bootstrap(const std::string& host,
                                                                             const std::string& port) {
        const std::string target = host + ":" + port;
        net::api_versions versions;
        auto conn = co_await open(host, port, versions);
        if (!conn) co_return std::nullopt;

        const auto started = steady::now();
        using request_t = proto::metadata_request;
        const auto version = versions.choose(request_t::api_key, {request_t::min_version, request_t::max_version});
        if (!version) {
            conn->close();
            fail("metadata", target, make_error_code(net::errc::no_common_version),
                 "the broker offers no Metadata version kwire speaks", started);
            co_return std::nullopt;
        }
        // No topics: only the brokers and the cluster id are wanted.
        const std::optional<std::vector<std::string>> no_topics = std::vector<std::string>{};
        const request_t request = proto::make_metadata_request(no_topics, *version);
        auto [ec, response] = co_await conn->async_send(request, *version, no_throw);
        const std::string failure = conn->failure();
        conn->close();
        if (ec) {
            fail("metadata", target, ec,
                 failure.empty() ? "Metadata failed: " + ec.message() : without_broker_prefix(failure, target), started);
            co_return std::nullopt;
        }
        std::vector<std::string> brokers;
        for (const auto& b : response.brokers)
            brokers.push_back(std::to_string(b.node_id) + " at " + b.host + ":" + std::to_string(b.port));
        std::sort(brokers.begin(), brokers.end());
        // Metadata v0 and v1 carry no cluster id, v0 no controller.
        std::string detail;
        if (response.cluster_id) detail += "cluster id " + *response.cluster_id + ", ";
        if (response.controller_id >= 0) detail += "controller " + std::to_string(response.controller_id) + ", ";
        detail += std::to_string(response.brokers.size()) + " advertised broker" +
                  (response.brokers.size() == 1 ? "" : "s") + ": " + join(brokers, ", ");
        add({"metadata", target, step_status::ok, std::move(detail), {}, since(started)});
        co_return response;
    }

    // A client talks to each partition's leader at the address the cluster
    // advertises, so each must be reachable from here too.
    asio::awaitable<void> check_advertised(std::int32_t node_id, const std::string& host, const std::string& port) {
        const std::string target = host + ":" + port;
        const auto started = steady::now();
        const std::string who = "broker " + std::to_string(node_id) + " advertises " + target;
        const auto unreachable = [&](std::error_code ec, const std::string& detail) {
            std::string hint = "advertised address unreachable from here: " + who +
                               " (its advertised.listeners); clients connect there after bootstrapping";
            if (auto more = hint_for(ec, "broker", target, options_); !more.empty()) hint += "; " + more;
            add({"broker", target, step_status::failed, detail, std::move(hint), since(started)});
        };
        const resolved r = co_await resolve_within(host, port, options_.connect_timeout);
        if (r.ec || r.endpoints.empty()) {
            unreachable(r.ec ? r.ec : make_error_code(asio::error::host_not_found),
                        "cannot resolve '" + host + "': " + (r.ec ? r.ec.message() : std::string("no addresses")));
            co_return;
        }
        const connected c = co_await connect_within(r.endpoints, options_.connect_timeout);
        if (c.ec) {
            unreachable(c.ec, "TCP connect failed: " + join(c.tried, "; "));
            co_return;
        }

        auto ex = co_await asio::this_coro::executor;
        auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options_, no_throw);
        if (ec) {
            std::string hint = "the bootstrap server worked, but " + who + " and that address fails";
            if (auto more = hint_for(ec, "broker", target, options_); !more.empty()) hint += ": " + more;
            add({"broker", target, step_status::failed, without_broker_prefix(ready.failure, target), std::move(hint),
                 since(started)});
            co_return;
        }
        ready.conn->close();
        std::string steps = "connect";
        if (options_.tls.enabled) steps += ", TLS";
        steps += ", ApiVersions";
        if (options_.sasl.enabled()) steps += ", SASL";
        add({"broker", target, step_status::ok, "broker " + std::to_string(node_id) + " reachable (" + steps + ")", {},
             since(started)});
    }

    std::string protocol() const { return cfg_.get_or_default("security.protocol"); }

    const kwire::config& cfg_;
    net::connection_options options_;
    const std::function<void(const doctor_step&)>& on_step_;
};

} // namespace

doctor_report diagnose(const kwire::config& cfg, net::log_callback log,
                       const std::function<void(const doctor_step&)>& on_step) {
    if (!cfg.get("bootstrap.servers")) throw config_error("no brokers given: use -b HOST:PORT");
    (void)cfg.bootstrap_servers();  // a malformed list is a usage error, not a failed step
    walker w(cfg, kwire::make_connection_options(cfg, std::move(log)), on_step);
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, w.run(), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(w.report);
}

} // namespace kwire::cli
