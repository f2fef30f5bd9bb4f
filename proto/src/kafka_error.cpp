#include "kwire/proto/kafka_error.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace kwire::proto {
namespace {

using E = kafka_errc;

// Code, retriable, Kafka name, short description; ascending by code.
// Codes, names and retriable flags: org.apache.kafka.common.protocol.Errors in
// kafka-clients 4.4.0 (retriable = the mapped exception extends RetriableException).
constexpr std::array<kafka_error_info, 138> table{{
    {E::unknown_server_error, false, "UNKNOWN_SERVER_ERROR",
        "unexpected error on the server while handling the request"},
    {E::none, false, "NONE", "success"},
    {E::offset_out_of_range, false, "OFFSET_OUT_OF_RANGE",
        "offset is before the log start or past the log end"},
    {E::corrupt_message, true, "CORRUPT_MESSAGE",
        "record batch is corrupt (bad CRC, bad size or otherwise invalid)"},
    {E::unknown_topic_or_partition, true, "UNKNOWN_TOPIC_OR_PARTITION",
        "topic or partition not hosted by this broker"},
    {E::invalid_fetch_size, false, "INVALID_FETCH_SIZE", "invalid fetch size"},
    {E::leader_not_available, true, "LEADER_NOT_AVAILABLE",
        "partition has no leader right now (election in progress)"},
    {E::not_leader_or_follower, true, "NOT_LEADER_OR_FOLLOWER",
        "broker is not the leader, or not a replica, for this partition"},
    {E::request_timed_out, true, "REQUEST_TIMED_OUT", "request timed out on the broker"},
    {E::broker_not_available, false, "BROKER_NOT_AVAILABLE", "broker not available"},
    {E::replica_not_available, true, "REPLICA_NOT_AVAILABLE",
        "replica not available for this partition"},
    {E::message_too_large, false, "MESSAGE_TOO_LARGE",
        "record batch exceeds the broker's maximum message size"},
    {E::stale_controller_epoch, false, "STALE_CONTROLLER_EPOCH",
        "controller epoch is stale; the controller has moved"},
    {E::offset_metadata_too_large, false, "OFFSET_METADATA_TOO_LARGE",
        "offset commit metadata is too large"},
    {E::network_exception, true, "NETWORK_EXCEPTION",
        "connection closed before a response arrived"},
    {E::coordinator_load_in_progress, true, "COORDINATOR_LOAD_IN_PROGRESS",
        "coordinator is still loading its state"},
    {E::coordinator_not_available, true, "COORDINATOR_NOT_AVAILABLE", "coordinator not available"},
    {E::not_coordinator, true, "NOT_COORDINATOR",
        "broker is not the coordinator for this group or transaction"},
    {E::invalid_topic_exception, false, "INVALID_TOPIC_EXCEPTION",
        "topic is invalid for this operation"},
    {E::record_list_too_large, false, "RECORD_LIST_TOO_LARGE",
        "record batch larger than the log segment size"},
    {E::not_enough_replicas, true, "NOT_ENOUGH_REPLICAS",
        "fewer in-sync replicas than required; write rejected"},
    {E::not_enough_replicas_after_append, true, "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "write appended but to fewer in-sync replicas than required"},
    {E::invalid_required_acks, false, "INVALID_REQUIRED_ACKS",
        "invalid acks value in produce request"},
    {E::illegal_generation, false, "ILLEGAL_GENERATION", "group generation id is not current"},
    {E::inconsistent_group_protocol, false, "INCONSISTENT_GROUP_PROTOCOL",
        "member's protocols are incompatible with the group"},
    {E::invalid_group_id, false, "INVALID_GROUP_ID", "invalid group id"},
    {E::unknown_member_id, false, "UNKNOWN_MEMBER_ID", "member id not known to the coordinator"},
    {E::invalid_session_timeout, false, "INVALID_SESSION_TIMEOUT",
        "session timeout outside the broker's allowed range"},
    {E::rebalance_in_progress, false, "REBALANCE_IN_PROGRESS",
        "group is rebalancing; the member must rejoin"},
    {E::invalid_commit_offset_size, false, "INVALID_COMMIT_OFFSET_SIZE",
        "offset commit data size is invalid"},
    {E::topic_authorization_failed, false, "TOPIC_AUTHORIZATION_FAILED",
        "not authorized for the topic"},
    {E::group_authorization_failed, false, "GROUP_AUTHORIZATION_FAILED",
        "not authorized for the group"},
    {E::cluster_authorization_failed, false, "CLUSTER_AUTHORIZATION_FAILED",
        "not authorized for the cluster operation"},
    {E::invalid_timestamp, false, "INVALID_TIMESTAMP",
        "record timestamp outside the accepted range"},
    {E::unsupported_sasl_mechanism, false, "UNSUPPORTED_SASL_MECHANISM",
        "SASL mechanism not enabled on the broker"},
    {E::illegal_sasl_state, false, "ILLEGAL_SASL_STATE",
        "request not valid in the current SASL state"},
    {E::unsupported_version, false, "UNSUPPORTED_VERSION",
        "API version not supported by the broker"},
    {E::topic_already_exists, false, "TOPIC_ALREADY_EXISTS", "topic already exists"},
    {E::invalid_partitions, false, "INVALID_PARTITIONS", "invalid number of partitions"},
    {E::invalid_replication_factor, false, "INVALID_REPLICATION_FACTOR",
        "invalid replication factor"},
    {E::invalid_replica_assignment, false, "INVALID_REPLICA_ASSIGNMENT",
        "invalid replica assignment"},
    {E::invalid_config, false, "INVALID_CONFIG", "invalid configuration"},
    {E::not_controller, true, "NOT_CONTROLLER", "broker is not the active controller"},
    {E::invalid_request, false, "INVALID_REQUEST",
        "malformed request, or request unsupported by this broker"},
    {E::unsupported_for_message_format, false, "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        "request not supported by the topic's message format"},
    {E::policy_violation, false, "POLICY_VIOLATION", "request violates a configured policy"},
    {E::out_of_order_sequence_number, false, "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "producer sequence number out of order"},
    {E::duplicate_sequence_number, false, "DUPLICATE_SEQUENCE_NUMBER",
        "producer sequence number already written"},
    {E::invalid_producer_epoch, false, "INVALID_PRODUCER_EPOCH",
        "producer epoch is older than the current one"},
    {E::invalid_txn_state, false, "INVALID_TXN_STATE",
        "transactional operation invalid in the current transaction state"},
    {E::invalid_producer_id_mapping, false, "INVALID_PRODUCER_ID_MAPPING",
        "producer id is not assigned to this transactional id"},
    {E::invalid_transaction_timeout, false, "INVALID_TRANSACTION_TIMEOUT",
        "transaction timeout exceeds the broker maximum"},
    {E::concurrent_transactions, true, "CONCURRENT_TRANSACTIONS",
        "another operation on this transaction is in progress"},
    {E::transaction_coordinator_fenced, false, "TRANSACTION_COORDINATOR_FENCED",
        "transaction coordinator has been superseded"},
    {E::transactional_id_authorization_failed, false, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
        "not authorized for the transactional id"},
    {E::security_disabled, false, "SECURITY_DISABLED",
        "security features are disabled on the broker"},
    {E::operation_not_attempted, false, "OPERATION_NOT_ATTEMPTED",
        "operation not attempted because another part of the batch failed"},
    {E::kafka_storage_error, true, "KAFKA_STORAGE_ERROR", "broker storage (log directory) error"},
    {E::log_dir_not_found, false, "LOG_DIR_NOT_FOUND",
        "log directory not configured on the broker"},
    {E::sasl_authentication_failed, false, "SASL_AUTHENTICATION_FAILED",
        "SASL authentication failed"},
    {E::unknown_producer_id, false, "UNKNOWN_PRODUCER_ID",
        "broker has no state for this producer id"},
    {E::reassignment_in_progress, false, "REASSIGNMENT_IN_PROGRESS",
        "partition reassignment in progress"},
    {E::delegation_token_auth_disabled, false, "DELEGATION_TOKEN_AUTH_DISABLED",
        "delegation tokens are not enabled"},
    {E::delegation_token_not_found, false, "DELEGATION_TOKEN_NOT_FOUND",
        "delegation token not found"},
    {E::delegation_token_owner_mismatch, false, "DELEGATION_TOKEN_OWNER_MISMATCH",
        "principal is not the token's owner or renewer"},
    {E::delegation_token_request_not_allowed, false, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED",
        "delegation token requests not allowed on this connection"},
    {E::delegation_token_authorization_failed, false, "DELEGATION_TOKEN_AUTHORIZATION_FAILED",
        "not authorized for the delegation token operation"},
    {E::delegation_token_expired, false, "DELEGATION_TOKEN_EXPIRED",
        "delegation token has expired"},
    {E::invalid_principal_type, false, "INVALID_PRINCIPAL_TYPE", "principal type not supported"},
    {E::non_empty_group, false, "NON_EMPTY_GROUP", "group still has members"},
    {E::group_id_not_found, false, "GROUP_ID_NOT_FOUND", "group does not exist"},
    {E::fetch_session_id_not_found, true, "FETCH_SESSION_ID_NOT_FOUND",
        "fetch session id not found"},
    {E::invalid_fetch_session_epoch, true, "INVALID_FETCH_SESSION_EPOCH",
        "fetch session epoch is invalid"},
    {E::listener_not_found, true, "LISTENER_NOT_FOUND",
        "leader has no listener matching the one the metadata came from"},
    {E::topic_deletion_disabled, false, "TOPIC_DELETION_DISABLED",
        "topic deletion is disabled on the broker"},
    {E::fenced_leader_epoch, true, "FENCED_LEADER_EPOCH",
        "leader epoch in the request is older than the broker's"},
    {E::unknown_leader_epoch, true, "UNKNOWN_LEADER_EPOCH",
        "leader epoch in the request is newer than the broker's"},
    {E::unsupported_compression_type, false, "UNSUPPORTED_COMPRESSION_TYPE",
        "client does not support the partition's compression type"},
    {E::stale_broker_epoch, false, "STALE_BROKER_EPOCH", "broker epoch is stale"},
    {E::offset_not_available, true, "OFFSET_NOT_AVAILABLE",
        "offset not yet available after a leader change"},
    {E::member_id_required, false, "MEMBER_ID_REQUIRED",
        "member must rejoin with the member id the coordinator assigned"},
    {E::preferred_leader_not_available, true, "PREFERRED_LEADER_NOT_AVAILABLE",
        "preferred leader not available"},
    {E::group_max_size_reached, false, "GROUP_MAX_SIZE_REACHED", "group is at its maximum size"},
    {E::fenced_instance_id, false, "FENCED_INSTANCE_ID",
        "another member registered with the same group.instance.id"},
    {E::eligible_leaders_not_available, true, "ELIGIBLE_LEADERS_NOT_AVAILABLE",
        "no eligible leader for the partition"},
    {E::election_not_needed, true, "ELECTION_NOT_NEEDED", "leader election not needed"},
    {E::no_reassignment_in_progress, false, "NO_REASSIGNMENT_IN_PROGRESS",
        "no partition reassignment in progress"},
    {E::group_subscribed_to_topic, false, "GROUP_SUBSCRIBED_TO_TOPIC",
        "cannot delete offsets of a topic the group is subscribed to"},
    {E::invalid_record, false, "INVALID_RECORD", "record rejected by broker validation"},
    {E::unstable_offset_commit, true, "UNSTABLE_OFFSET_COMMIT",
        "pending transactional offsets must be resolved first"},
    {E::throttling_quota_exceeded, true, "THROTTLING_QUOTA_EXCEEDED", "throttling quota exceeded"},
    {E::producer_fenced, false, "PRODUCER_FENCED",
        "producer fenced by a newer instance with the same transactional id"},
    {E::resource_not_found, false, "RESOURCE_NOT_FOUND", "referenced resource does not exist"},
    {E::duplicate_resource, false, "DUPLICATE_RESOURCE", "same resource referenced more than once"},
    {E::unacceptable_credential, false, "UNACCEPTABLE_CREDENTIAL",
        "credential does not meet the acceptability criteria"},
    {E::inconsistent_voter_set, false, "INCONSISTENT_VOTER_SET",
        "sender or receiver is not in the expected voter set"},
    {E::invalid_update_version, false, "INVALID_UPDATE_VERSION", "invalid update version"},
    {E::feature_update_failed, false, "FEATURE_UPDATE_FAILED", "finalized feature update failed"},
    {E::principal_deserialization_failure, false, "PRINCIPAL_DESERIALIZATION_FAILURE",
        "could not deserialize the forwarded principal"},
    {E::snapshot_not_found, false, "SNAPSHOT_NOT_FOUND", "snapshot not found"},
    {E::position_out_of_range, false, "POSITION_OUT_OF_RANGE", "position outside the snapshot"},
    {E::unknown_topic_id, true, "UNKNOWN_TOPIC_ID", "topic id not hosted by this broker"},
    {E::duplicate_broker_registration, false, "DUPLICATE_BROKER_REGISTRATION",
        "broker id already registered"},
    {E::broker_id_not_registered, false, "BROKER_ID_NOT_REGISTERED", "broker id not registered"},
    {E::inconsistent_topic_id, true, "INCONSISTENT_TOPIC_ID",
        "topic id does not match the log's topic id"},
    {E::inconsistent_cluster_id, false, "INCONSISTENT_CLUSTER_ID",
        "cluster id does not match the server's"},
    {E::transactional_id_not_found, false, "TRANSACTIONAL_ID_NOT_FOUND",
        "transactional id not found"},
    {E::fetch_session_topic_id_error, true, "FETCH_SESSION_TOPIC_ID_ERROR",
        "inconsistent topic id usage in the fetch session"},
    {E::ineligible_replica, false, "INELIGIBLE_REPLICA", "new ISR contains an ineligible replica"},
    {E::new_leader_elected, false, "NEW_LEADER_ELECTED",
        "partition state updated but the leader changed"},
    {E::offset_moved_to_tiered_storage, false, "OFFSET_MOVED_TO_TIERED_STORAGE",
        "offset has moved to tiered storage"},
    {E::fenced_member_epoch, false, "FENCED_MEMBER_EPOCH",
        "member epoch fenced; the member must rejoin"},
    {E::unreleased_instance_id, false, "UNRELEASED_INSTANCE_ID",
        "instance id still held by another member"},
    {E::unsupported_assignor, false, "UNSUPPORTED_ASSIGNOR", "assignor not supported by the group"},
    {E::stale_member_epoch, false, "STALE_MEMBER_EPOCH", "member epoch is stale"},
    {E::mismatched_endpoint_type, false, "MISMATCHED_ENDPOINT_TYPE",
        "request sent to the wrong kind of endpoint"},
    {E::unsupported_endpoint_type, false, "UNSUPPORTED_ENDPOINT_TYPE",
        "endpoint type not supported"},
    {E::unknown_controller_id, false, "UNKNOWN_CONTROLLER_ID", "controller id not known"},
    {E::unknown_subscription_id, false, "UNKNOWN_SUBSCRIPTION_ID",
        "telemetry subscription id is invalid or outdated"},
    {E::telemetry_too_large, false, "TELEMETRY_TOO_LARGE",
        "telemetry push exceeds the broker's size limit"},
    {E::invalid_registration, false, "INVALID_REGISTRATION", "broker registration is invalid"},
    {E::transaction_abortable, false, "TRANSACTION_ABORTABLE",
        "transaction failed; abort it to continue"},
    {E::invalid_record_state, false, "INVALID_RECORD_STATE",
        "record state invalid for acknowledgement"},
    {E::share_session_not_found, true, "SHARE_SESSION_NOT_FOUND", "share session not found"},
    {E::invalid_share_session_epoch, true, "INVALID_SHARE_SESSION_EPOCH",
        "share session epoch is invalid"},
    {E::fenced_state_epoch, false, "FENCED_STATE_EPOCH", "state epoch does not match"},
    {E::invalid_voter_key, false, "INVALID_VOTER_KEY", "voter key does not match the replica"},
    {E::duplicate_voter, false, "DUPLICATE_VOTER", "voter already in the voter set"},
    {E::voter_not_found, false, "VOTER_NOT_FOUND", "voter not in the voter set"},
    {E::invalid_regular_expression, false, "INVALID_REGULAR_EXPRESSION",
        "invalid regular expression"},
    {E::rebootstrap_required, false, "REBOOTSTRAP_REQUIRED",
        "client metadata is stale; rebootstrap needed"},
    {E::streams_invalid_topology, false, "STREAMS_INVALID_TOPOLOGY", "streams topology invalid"},
    {E::streams_invalid_topology_epoch, false, "STREAMS_INVALID_TOPOLOGY_EPOCH",
        "streams topology epoch invalid"},
    {E::streams_topology_fenced, false, "STREAMS_TOPOLOGY_FENCED",
        "streams topology epoch outdated"},
    {E::share_session_limit_reached, true, "SHARE_SESSION_LIMIT_REACHED",
        "share session limit reached"},
    {E::group_deletion_failed, false, "GROUP_DELETION_FAILED",
        "group deletion failed; see the per-group result"},
    {E::streams_topology_description_update_failed, false, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED",
        "streams topology description update failed"},
    {E::controller_id_not_registered, false, "CONTROLLER_ID_NOT_REGISTERED",
        "controller id not registered"},
}};

constexpr bool strictly_ascending() {
    for (std::size_t i = 1; i < table.size(); ++i) {
        if (static_cast<int>(table[i - 1].code) >= static_cast<int>(table[i].code)) {
            return false;
        }
    }
    return true;
}
static_assert(strictly_ascending(), "kafka error table must be sorted by code without repeats");

class kafka_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "kafka"; }

    std::string message(int ev) const override {
        if (ev >= INT16_MIN && ev <= INT16_MAX) {
            if (const kafka_error_info* info = find_kafka_error(static_cast<std::int16_t>(ev))) {
                std::string out;
                out.reserve(info->name.size() + 2 + info->message.size());
                out.append(info->name).append(": ").append(info->message);
                return out;
            }
        }
        return "unknown Kafka error " + std::to_string(ev);
    }
};

} // namespace

std::span<const kafka_error_info> kafka_error_table() noexcept {
    return table;
}

const kafka_error_info* find_kafka_error(std::int16_t code) noexcept {
    const auto it = std::lower_bound(
        table.begin(), table.end(), code, [](const kafka_error_info& row, std::int16_t c) {
            return static_cast<std::int16_t>(row.code) < c;
        });
    if (it == table.end() || static_cast<std::int16_t>(it->code) != code) {
        return nullptr;
    }
    return &*it;
}

const std::error_category& kafka_category() noexcept {
    static const kafka_category_impl category;
    return category;
}

std::error_code kafka_error(std::int16_t code) noexcept {
    if (code == 0) {
        return {};
    }
    return {code, kafka_category()};
}

bool is_retriable(kafka_errc e) noexcept {
    const kafka_error_info* info = find_kafka_error(static_cast<std::int16_t>(e));
    return info != nullptr && info->retriable;
}

bool is_retriable(const std::error_code& ec) noexcept {
    if (ec.category() != kafka_category() || ec.value() < INT16_MIN || ec.value() > INT16_MAX) {
        return false;
    }
    return is_retriable(static_cast<kafka_errc>(ec.value()));
}

std::string_view kafka_error_name(std::int16_t code) noexcept {
    const kafka_error_info* info = find_kafka_error(code);
    return info != nullptr ? info->name : std::string_view{};
}

} // namespace kwire::proto
