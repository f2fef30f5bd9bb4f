// kwire metadata: brokers, cluster id, topics with partitions, leaders and
// replicas, and the API version ranges the broker offers.
#include "cli.hpp"
#include "json.hpp"

#include "kwire/connection_config.hpp"
#include "kwire/net/open_connection.hpp"
#include "kwire/proto/api_keys.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

namespace kwire::cli {
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

struct metadata_result {
    std::string failure;  // empty on success
    std::string broker;   // the broker that answered
    net::api_versions versions;
    proto::metadata_response metadata;
};

asio::awaitable<metadata_result> fetch(asio::any_io_executor ex, const kwire::config& cfg,
                                       std::optional<std::vector<std::string>> topics) {
    metadata_result out;
    std::vector<std::string> failures;
    // Named, not a temporary inside the co_await: GCC 12 mishandles class
    // prvalues passed by value within a co_await expression.
    // Log lines go to stderr, but only when asked for (-X debug=... or
    // -X log_level=...): errors are reported once, as the command's result.
    net::log_callback log;
    if (cfg.get("debug") || cfg.get("log_level")) {
        log = [](net::log_level level, std::string_view context, std::string_view message) {
            std::cerr << "kwire: " << net::to_string(level) << " [" << context << "] " << message << "\n";
        };
    }
    const net::connection_options options = kwire::make_connection_options(cfg, std::move(log));
    for (const auto& [host, port] : cfg.bootstrap_servers()) {
        auto [ec, ready] = co_await net::async_open_connection(ex, host, port, options, no_throw);
        if (ec) {
            failures.push_back(ready.failure.empty() ? host + ":" + port + ": " + ec.message() : ready.failure);
            continue;
        }
        using request_t = proto::metadata_request;
        const auto version = ready.versions.choose(request_t::api_key, {request_t::min_version, request_t::max_version});
        if (!version) {
            failures.push_back("broker " + ready.conn->peer() + ": no Metadata version in common with kwire");
            ready.conn->close();
            continue;
        }
        const request_t request = proto::make_metadata_request(topics, *version);
        auto [mec, resp] = co_await ready.conn->async_send(request, *version, no_throw);
        if (mec) {
            failures.push_back(ready.conn->failure().empty()
                                   ? "broker " + ready.conn->peer() + ": Metadata failed: " + mec.message()
                                   : ready.conn->failure());
            ready.conn->close();
            continue;
        }
        out.broker = ready.conn->peer();
        out.versions = std::move(ready.versions);
        out.metadata = std::move(resp);
        ready.conn->close();
        co_return out;
    }
    std::ostringstream msg;
    for (std::size_t i = 0; i < failures.size(); ++i) msg << (i ? "; " : "") << failures[i];
    out.failure = msg.str();
    co_return out;
}

std::string json_array(const std::vector<std::int32_t>& v) { return "[" + join_ints(v) + "]"; }

void print_human(const metadata_result& r) {
    const auto& m = r.metadata;
    std::cout << "Metadata from broker " << r.broker << "\n";
    std::cout << "Cluster id: " << m.cluster_id.value_or("(none)") << "\n";
    std::cout << "Controller: " << m.controller_id << "\n";
    std::cout << m.brokers.size() << " broker" << (m.brokers.size() == 1 ? "" : "s") << ":\n";
    auto brokers = m.brokers;
    std::sort(brokers.begin(), brokers.end(), [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
    for (const auto& b : brokers) {
        std::cout << "  broker " << b.node_id << " at " << b.host << ":" << b.port;
        if (b.rack) std::cout << " rack " << *b.rack;
        if (b.node_id == m.controller_id) std::cout << " (controller)";
        std::cout << "\n";
    }
    auto topics = m.topics;
    std::sort(topics.begin(), topics.end(),
              [](const auto& a, const auto& b) { return a.name.value_or("") < b.name.value_or(""); });
    std::cout << topics.size() << " topic" << (topics.size() == 1 ? "" : "s") << ":\n";
    for (const auto& t : topics) {
        std::cout << "  topic \"" << t.name.value_or("") << "\" with " << t.partitions.size() << " partition"
                  << (t.partitions.size() == 1 ? "" : "s");
        if (!t.topic_id.is_zero()) std::cout << ", id " << t.topic_id.to_base64();
        if (t.is_internal) std::cout << " (internal)";
        if (t.error_code != 0) std::cout << ": " << proto::kafka_error(t.error_code).message();
        std::cout << "\n";
        auto parts = t.partitions;
        std::sort(parts.begin(), parts.end(),
                  [](const auto& a, const auto& b) { return a.partition_index < b.partition_index; });
        for (const auto& p : parts) {
            std::cout << "    partition " << p.partition_index << ", leader " << p.leader_id << ", replicas: "
                      << join_ints(p.replica_nodes) << ", isrs: " << join_ints(p.isr_nodes);
            if (!p.offline_replicas.empty()) std::cout << ", offline: " << join_ints(p.offline_replicas);
            if (p.error_code != 0) std::cout << ", error: " << proto::kafka_error(p.error_code).message();
            std::cout << "\n";
        }
    }
    std::cout << "API versions offered by broker " << r.broker << ":\n";
    for (const auto& [key, range] : r.versions.all()) {
        std::cout << "  " << proto::api_name(key) << " (" << key << "): " << range.min << " to " << range.max << "\n";
    }
}

void print_json(const metadata_result& r) {
    const auto& m = r.metadata;
    std::ostringstream o;
    o << "{\"broker\":" << json_quote(r.broker) << ",\"cluster_id\":"
      << (m.cluster_id ? json_quote(*m.cluster_id) : "null") << ",\"controller_id\":" << m.controller_id
      << ",\"brokers\":[";
    for (std::size_t i = 0; i < m.brokers.size(); ++i) {
        const auto& b = m.brokers[i];
        o << (i ? "," : "") << "{\"node_id\":" << b.node_id << ",\"host\":" << json_quote(b.host)
          << ",\"port\":" << b.port << ",\"rack\":" << (b.rack ? json_quote(*b.rack) : "null") << "}";
    }
    o << "],\"topics\":[";
    for (std::size_t i = 0; i < m.topics.size(); ++i) {
        const auto& t = m.topics[i];
        o << (i ? "," : "") << "{\"name\":" << json_quote(t.name.value_or("")) << ",\"topic_id\":"
          << json_quote(t.topic_id.to_base64()) << ",\"internal\":" << (t.is_internal ? "true" : "false")
          << ",\"error_code\":" << t.error_code << ",\"partitions\":[";
        for (std::size_t j = 0; j < t.partitions.size(); ++j) {
            const auto& p = t.partitions[j];
            o << (j ? "," : "") << "{\"partition\":" << p.partition_index << ",\"leader\":" << p.leader_id
              << ",\"leader_epoch\":" << p.leader_epoch << ",\"replicas\":" << json_array(p.replica_nodes)
              << ",\"isr\":" << json_array(p.isr_nodes) << ",\"offline\":" << json_array(p.offline_replicas)
              << ",\"error_code\":" << p.error_code << "}";
        }
        o << "]}";
    }
    o << "],\"api_versions\":[";
    bool first = true;
    for (const auto& [key, range] : r.versions.all()) {
        o << (first ? "" : ",") << "{\"api_key\":" << key << ",\"name\":" << json_quote(proto::api_name(key))
          << ",\"min\":" << range.min << ",\"max\":" << range.max << "}";
        first = false;
    }
    o << "]}";
    std::cout << o.str() << "\n";
}

void print_help() {
    std::cout << "usage: kwire metadata -b HOST:PORT[,...] [-t TOPIC]... [-X key=value]... [-F FILE] [--json]\n"
                 "\n"
                 "Shows the cluster id, the controller, every broker, every topic (or the ones\n"
                 "named with -t) with its partitions, leaders, replicas and in-sync replicas,\n"
                 "and the API version ranges the broker offers.\n"
                 "\n"
                 "  -t TOPIC    only this topic (repeatable)\n"
                 "  --json      one JSON object on stdout\n";
}

} // namespace

int run_metadata(const std::vector<std::string>& args) {
    std::optional<std::vector<std::string>> topics;
    auto opts = parse_common(args, {print_help}, [&](const std::string& flag, option_value& v) {
        if (flag != "-t") return false;
        if (!topics) topics.emplace();
        topics->push_back(v.need("a topic name"));
        return true;
    });
    if (opts.help) return exit_ok;
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");
    (void)opts.cfg.bootstrap_servers();  // reject a malformed list before connecting

    asio::io_context io;
    metadata_result result;
    asio::co_spawn(io, fetch(io.get_executor(), opts.cfg, topics),
                   [&](std::exception_ptr e, metadata_result r) {
                       if (e) std::rethrow_exception(e);
                       result = std::move(r);
                   });
    io.run();
    if (!result.failure.empty()) {
        std::cerr << "kwire metadata: " << result.failure << "\n";
        return exit_failure;
    }
    if (opts.json) print_json(result);
    else print_human(result);
    return exit_ok;
}

} // namespace kwire::cli
