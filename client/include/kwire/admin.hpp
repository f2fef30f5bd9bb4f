// kwire::admin — manages topics and inspects consumer groups: create, delete,
// list and describe topics (partitions, leaders, replicas, configs); list and
// describe groups (members and their assignments); a group's committed
// offsets with the end offset and lag of each partition.
//
//   kwire::config cfg;
//   cfg.set("bootstrap.servers", "localhost:9092");
//   kwire::admin admin(cfg);
//   auto outcome = admin.create_topics({{.name = "t", .partitions = 3, .replication_factor = 1,
//                                        .configs = {{"retention.ms", "86400000"}}}});
//   if (outcome[0].error) std::cerr << outcome[0].describe() << "\n";   // e.g. TOPIC_ALREADY_EXISTS
//   for (const auto& p : admin.list_group_offsets("my-group"))
//       std::cout << p.partition.to_string() << " lag " << p.lag.value_or(-1) << "\n";
//
// Every call blocks until it is done or its timeout has passed. Calls that
// take several topics or groups report each one's outcome in its result (the
// broker's error code and message); a failure of the whole call (no broker
// answers, the time ran out, an unknown group) throws admin_error. Retriable
// errors (a coordinator that moved or is loading, a leader that moved, a lost
// connection) are retried with backoff until the timeout. Requests use the
// newest version both kwire and the broker speak (and api.version.pin).
//
// The admin client runs its I/O on a thread of its own; it never prints
// (messages go to the log callback, as for the producer and consumer).
#pragma once

#include "kwire/config.hpp"
#include "kwire/net/connection.hpp"
#include "kwire/proto/uuid.hpp"
#include "kwire/topic_partition.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace kwire {

struct admin_options {
    std::vector<std::pair<std::string, std::string>> bootstrap;
    net::connection_options connection;
    std::chrono::milliseconds reconnect_backoff{50};
    std::chrono::milliseconds reconnect_backoff_max{1000};
    std::chrono::milliseconds retry_backoff{100};
    std::chrono::milliseconds retry_backoff_max{1000};

    // bootstrap.servers, the connection and security keys, and the backoffs;
    // other keys (producer or consumer ones) are accepted and ignored.
    static admin_options from_config(const config& cfg, net::log_callback log = {});
};

// A failed admin call. code() is a kafka_errc (e.g. group_id_not_found), a
// net::errc (request_timeout when the time ran out, connect_failed, ...);
// what() names the call, the error and, when known, the broker and step
// that failed or the broker's own message.
class admin_error : public std::system_error {
public:
    admin_error(std::error_code ec, const std::string& message) : std::system_error(ec, message), message_(message) {}
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};

struct new_topic {
    std::string name;
    std::int32_t partitions = -1;          // -1: the broker's num.partitions (CreateTopics v4+, Kafka 2.4+)
    std::int16_t replication_factor = -1;  // -1: the broker's default.replication.factor (v4+)
    std::map<std::string, std::string> configs;  // topic configs, e.g. {"retention.ms", "86400000"}
};

// What became of one topic of create_topics() or delete_topics().
struct topic_outcome {
    std::string name;
    std::error_code error;      // a kafka_errc (topic_already_exists, unknown_topic_or_partition, ...)
    std::string error_message;  // the broker's own words, when it sent any
    // "topic 't': TOPIC_ALREADY_EXISTS: ... (Topic 't' already exists.)", or "topic 't': ok".
    std::string describe() const;
};

struct topic_listing {
    std::string name;
    proto::uuid id;
    bool internal = false;  // __consumer_offsets, __transaction_state, ...
    std::int32_t partitions = 0;
};

struct partition_description {
    std::int32_t partition = 0;
    std::int32_t leader = -1;  // -1: none now
    std::int32_t leader_epoch = -1;
    std::vector<std::int32_t> replicas;
    std::vector<std::int32_t> isr;
    std::error_code error;  // e.g. leader_not_available
};

struct topic_description {
    std::string name;
    proto::uuid id;
    bool internal = false;
    std::vector<partition_description> partitions;  // by partition number
    std::error_code error;  // unknown_topic_or_partition for a topic that does not exist
};

// Where a config value comes from (Kafka's ConfigSource).
enum class config_source : std::int8_t {
    unknown = 0,
    dynamic_topic = 1,           // set on this topic
    dynamic_broker = 2,
    dynamic_default_broker = 3,
    static_broker = 4,           // server.properties
    default_config = 5,          // Kafka's default
    dynamic_broker_logger = 6,
    client_metrics = 7,
    group = 8,
};
// "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ... (Kafka's names).
std::string_view to_string(config_source s) noexcept;

struct config_entry {
    std::string name;
    std::optional<std::string> value;  // nullopt for a sensitive value (the broker never sends it) or a null one
    config_source source = config_source::unknown;
    bool is_default = false;  // source is default_config
    bool read_only = false;
    bool sensitive = false;
};

struct group_listing {
    std::string group_id;
    std::string protocol_type;  // "consumer" for consumer groups, "" for a group that only commits offsets
    std::string state;          // "Stable", "Empty", ... (ListGroups v4+, Kafka 2.6+; else empty)
    std::string type;           // "classic", "consumer", ... (ListGroups v5+, Kafka 3.8+; else empty)
};

struct group_member_description {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    // For protocol type "consumer": decoded from the member's metadata and
    // assignment (empty otherwise, or while a rebalance is under way).
    std::vector<std::string> subscribed_topics;
    std::vector<topic_partition> assignment;
};

struct group_description {
    std::string group_id;
    std::string state;          // "Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead"
    std::string protocol_type;  // "consumer", ...
    std::string protocol;       // the assignor chosen ("range", "cooperative-sticky", ...)
    std::int32_t coordinator = -1;  // node id of the group's coordinator
    std::vector<group_member_description> members;
    // group_id_not_found for a group that does not exist (or that the broker
    // describes as Dead with no members), else what DescribeGroups said.
    std::error_code error;
    std::string error_message;
};

// One partition of a group's offsets: committed partitions and partitions a
// member owns without a commit yet.
struct group_partition_offsets {
    topic_partition partition;
    std::optional<std::int64_t> committed_offset;  // nullopt: nothing committed
    std::string metadata;                          // committed with the offset
    std::optional<std::int64_t> end_offset;        // the high watermark (nullopt: the topic is gone)
    std::optional<std::int64_t> lag;               // end - committed, when both are known
    // The member that owns the partition now (empty when none does).
    std::string member_id;
    std::string client_id;
    std::string client_host;
};

class admin_impl;

class admin {
public:
    using duration = std::chrono::milliseconds;

    // Throws config_error for a malformed configuration.
    explicit admin(admin_options options);
    explicit admin(const config& cfg, net::log_callback log = {}) : admin(admin_options::from_config(cfg, std::move(log))) {}
    ~admin();
    admin(const admin&) = delete;
    admin& operator=(const admin&) = delete;

    // Creates the topics (at the controller). Each outcome carries the
    // broker's error and message, e.g. TOPIC_ALREADY_EXISTS, INVALID_CONFIG,
    // INVALID_REPLICATION_FACTOR. `validate_only`: the broker checks the
    // request without creating anything.
    std::vector<topic_outcome> create_topics(const std::vector<new_topic>& topics, duration timeout = std::chrono::seconds(30),
                                             bool validate_only = false);
    // Deletes the topics (UNKNOWN_TOPIC_OR_PARTITION for a missing one).
    std::vector<topic_outcome> delete_topics(const std::vector<std::string>& names, duration timeout = std::chrono::seconds(30));

    // Every topic of the cluster, internal ones flagged, sorted by name.
    std::vector<topic_listing> list_topics(duration timeout = std::chrono::seconds(30));
    // The topics' partitions with leaders, replicas and in-sync replicas,
    // in the order asked (a missing topic has error unknown_topic_or_partition).
    std::vector<topic_description> describe_topics(const std::vector<std::string>& names,
                                                   duration timeout = std::chrono::seconds(30));
    // Every config of the topic with its source; throws admin_error
    // (unknown_topic_or_partition) for a missing topic.
    std::vector<config_entry> describe_topic_configs(const std::string& topic, duration timeout = std::chrono::seconds(30));

    // The groups of every broker (ListGroups asks each broker for those it
    // coordinates), merged and sorted by id. Throws when a broker cannot be asked.
    std::vector<group_listing> list_groups(duration timeout = std::chrono::seconds(30));
    // The groups as their coordinators describe them, in the order asked.
    std::vector<group_description> describe_groups(const std::vector<std::string>& group_ids,
                                                   duration timeout = std::chrono::seconds(30));
    // The group's committed offsets, the end offset of each of those
    // partitions (ListOffsets at their leaders) and the lag; also partitions
    // a member owns without a commit. Sorted by topic and partition. Throws
    // admin_error (group_id_not_found) for a group that does not exist.
    std::vector<group_partition_offsets> list_group_offsets(const std::string& group_id,
                                                            duration timeout = std::chrono::seconds(30));

private:
    struct own_thread;
    std::unique_ptr<own_thread> thread_;  // declared first: outlives impl_ (see ~admin)
    std::shared_ptr<admin_impl> impl_;
};

} // namespace kwire
