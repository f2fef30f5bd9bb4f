// kwire::producer — sends records to Kafka: batching, partitioning,
// idempotence, retries, and a delivery report for every record.
//
//   kwire::config cfg;
//   cfg.set("bootstrap.servers", "localhost:9092");
//   kwire::producer p(cfg);
//   p.send({.topic = "t", .value = "hello"},
//          [](std::error_code ec, kwire::record_metadata md) { ... });   // callback
//   auto f = p.send({.topic = "t", .value = "hi"}, asio::use_future);     // future
//   auto md = co_await p.send(std::move(rec), asio::use_awaitable);       // coroutine
//   p.flush(std::chrono::seconds(10));
//
// send() never blocks on the network: it appends the record to its
// partition's batch and returns. It may wait (up to max.block.ms) only while
// buffer.memory is full. Every record's completion runs exactly once, with
// its partition and offset or a typed error (kafka_errc, net::errc,
// client_errc).
//
// The producer runs on an Asio executor: its own I/O thread by default, or
// one the application hands it (then the application runs the io_context).
#pragma once

#include "kwire/config.hpp"
#include "kwire/errors.hpp"
#include "kwire/net/connection.hpp"
#include "kwire/net/erased_handler.hpp"
#include "kwire/producer_record.hpp"
#include "kwire/proto/compression.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace kwire {

// Chooses a partition in [0, partition_count). `key` is nullopt for records
// without a key.
using partitioner_function = std::function<std::int32_t(
    std::string_view topic, const std::optional<std::span<const std::byte>>& key, std::int32_t partition_count)>;

struct producer_options {
    std::vector<std::pair<std::string, std::string>> bootstrap;  // host, port
    net::connection_options connection;
    std::chrono::milliseconds reconnect_backoff{50};
    std::chrono::milliseconds reconnect_backoff_max{1000};

    std::int16_t acks = -1;                          // 0, 1, or -1 (all)
    std::chrono::milliseconds linger{5};             // linger.ms
    std::size_t batch_size = 16384;                  // batch.size (bytes, uncompressed)
    std::size_t buffer_memory = 32 * 1024 * 1024;    // buffer.memory
    std::chrono::milliseconds max_block{60'000};     // max.block.ms: send() waiting for buffer space
    std::size_t max_request_size = 1024 * 1024;      // max.request.size
    proto::compression_codec compression = proto::compression_codec::none;
    int compression_level = proto::default_compression_level;
    bool idempotence = true;                         // enable.idempotence
    int max_in_flight = 5;                           // max.in.flight.requests.per.connection
    std::int32_t retries = 2147483647;               // retries
    std::chrono::milliseconds retry_backoff{100};    // retry.backoff.ms
    std::chrono::milliseconds retry_backoff_max{1000};
    std::chrono::milliseconds delivery_timeout{120'000};  // delivery.timeout.ms
    std::chrono::milliseconds metadata_max_age{300'000};  // metadata.max.age.ms
    bool allow_auto_create_topics = true;            // allow.auto.create.topics
    // partitioner: murmur2_random (Java's default: murmur2 of the key, sticky
    // for records without one), murmur2, consistent_random, consistent, random.
    std::string partitioner = "murmur2_random";
    // Overrides `partitioner` when set.
    partitioner_function custom_partitioner;

    // From the string properties (bootstrap.servers, acks, linger.ms, ...).
    // Throws config_error naming a key whose value is malformed or
    // contradicts another (e.g. enable.idempotence=true with acks=1).
    static producer_options from_config(const config& cfg, net::log_callback log = {});
};

class producer_impl;

class producer {
public:
    // Runs on kwire's own I/O thread.
    explicit producer(producer_options options);
    explicit producer(const config& cfg, net::log_callback log = {})
        : producer(producer_options::from_config(cfg, std::move(log))) {}
    // Runs on `ex` (the application runs its io_context).
    producer(asio::any_io_executor ex, producer_options options);
    producer(asio::any_io_executor ex, const config& cfg, net::log_callback log = {})
        : producer(std::move(ex), producer_options::from_config(cfg, std::move(log))) {}

    // Closes with delivery.timeout.ms to finish; records still pending then
    // complete with client_errc::producer_closed.
    ~producer();
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

    // Queues `record`. Completion: void(std::error_code, record_metadata).
    // The record's views (see producer_record.hpp) need only last for the call.
    template <class Token>
    auto send(producer_record&& record, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code, record_metadata)>(
            [this](auto handler, producer_record* r) {
                enqueue(*r, true, net::erased_handler<std::error_code, record_metadata>(std::move(handler), executor_));
            },
            token, &record);
    }
    template <class Token>
    auto send(const producer_record& record, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code, record_metadata)>(
            [this](auto handler, const producer_record* r) {
                enqueue(*const_cast<producer_record*>(r), false,
                        net::erased_handler<std::error_code, record_metadata>(std::move(handler), executor_));
            },
            token, &record);
    }

    // Sends and waits for the outcome (for small programs). Throws
    // std::system_error whose what() says what failed; with `timeout` (default
    // delivery.timeout.ms plus a margin) it never waits longer.
    record_metadata send_sync(const producer_record& record,
                              std::optional<std::chrono::milliseconds> timeout = std::nullopt);

    // Sends every queued record now (ignoring linger.ms) and waits until all
    // have completed or `timeout` passes (then client_errc::flush_timeout).
    std::error_code flush(std::chrono::milliseconds timeout);

    // Flushes for up to `timeout`, then fails what is left with
    // client_errc::producer_closed and releases the connections. Later sends
    // fail with producer_closed. Idempotent.
    std::error_code close(std::chrono::milliseconds timeout);

    // Records sent but not yet completed.
    std::size_t pending() const;

    asio::any_io_executor executor() const;

private:
    void enqueue(producer_record& record, bool may_move,
                 net::erased_handler<std::error_code, record_metadata> done);

    struct own_thread;  // the io_context and thread of a producer without an executor
    std::unique_ptr<own_thread> thread_;
    std::shared_ptr<producer_impl> impl_;
    asio::any_io_executor executor_;  // impl_'s, kept here: send() needs it for every record
};

} // namespace kwire
