// Uses an installed kwire the way an application would: creates a topic,
// produces one record and reads it back.
//
//   roundtrip BOOTSTRAP [key=value ...]     (client properties, e.g. security.protocol=SASL_SSL)
#include <kwire/connection_config.hpp>
#include <kwire/consumer.hpp>
#include <kwire/net/open_connection.hpp>
#include <kwire/producer.hpp>
#include <kwire/proto/messages/create_topics.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <unistd.h>

namespace {

// The test brokers do not create topics on demand: CreateTopics first.
asio::awaitable<std::string> create_topic(kwire::net::connection_options options, std::string host, std::string port,
                                          std::string topic) {
    constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);
    auto ex = co_await asio::this_coro::executor;
    auto [ec, ready] = co_await kwire::net::async_open_connection(ex, host, port, options, no_throw);
    if (ec) co_return ready.failure;
    using request_t = kwire::proto::create_topics_request;
    const auto version = ready.versions.choose(request_t::api_key, {request_t::min_version, request_t::max_version});
    if (!version) co_return "the broker offers no CreateTopics version kwire speaks";
    request_t request;
    request_t::creatable_topic wanted;
    wanted.name = topic;
    wanted.num_partitions = 1;
    wanted.replication_factor = 1;
    request.topics.push_back(wanted);
    request.timeout_ms = 30000;
    auto [create_ec, response] = co_await ready.conn->async_send(request, *version, no_throw);
    ready.conn->close();
    if (create_ec) co_return "CreateTopics failed: " + create_ec.message();
    if (response.topics.size() != 1 || response.topics[0].error_code != 0)
        co_return "CreateTopics failed: error code " +
            std::to_string(response.topics.empty() ? -1 : response.topics[0].error_code);
    co_return std::string();
}

} // namespace

int main(int argc, char** argv) try {
    using namespace std::chrono_literals;
    if (argc < 2) {
        std::fprintf(stderr, "usage: roundtrip BOOTSTRAP [key=value ...]\n");
        return 2;
    }
    kwire::config cfg;
    cfg.set("bootstrap.servers", argv[1]);
    for (int i = 2; i < argc; ++i) {
        const std::string property = argv[i];
        const auto eq = property.find('=');
        if (eq == std::string::npos) throw kwire::config_error("expected key=value, got '" + property + "'");
        cfg.set(property.substr(0, eq), property.substr(eq + 1));
    }
    const std::string topic = "kwire-install-" + std::to_string(::getpid()) + "-" +
                              std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

    asio::io_context io;
    std::string failure;
    const auto [host, port] = cfg.bootstrap_servers().front();
    asio::co_spawn(io, create_topic(kwire::make_connection_options(cfg), host, port, topic),
                   [&](std::exception_ptr e, std::string f) { failure = e ? "CreateTopics threw" : f; });
    io.run();
    if (!failure.empty()) throw std::runtime_error(failure);

    const std::string value = "installed kwire works";
    kwire::producer producer(cfg);
    kwire::producer_record record;
    record.topic = topic;
    record.value = value;
    const kwire::record_metadata stored = producer.send_sync(record, 30s);
    producer.close(10s);

    kwire::consumer consumer(cfg);
    const kwire::topic_partition where{topic, stored.partition};
    consumer.assign({where});
    consumer.seek(where, stored.offset);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& m : consumer.poll(500ms)) {
            if (m.offset != stored.offset) continue;
            if (m.value_string() != value) throw std::runtime_error("read back a different value");
            std::printf("roundtrip: produced and read back %s/%d offset %lld\n", topic.c_str(), stored.partition,
                        static_cast<long long>(stored.offset));
            consumer.close();
            return 0;
        }
    }
    throw std::runtime_error("the record did not come back within 30 s");
} catch (const std::exception& e) {
    std::fprintf(stderr, "roundtrip: %s\n", e.what());
    return 1;
}
