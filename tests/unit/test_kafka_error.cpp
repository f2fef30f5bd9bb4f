#include <doctest/doctest.h>

#include "kwire/proto/kafka_error.hpp"

#include <cstdint>
#include <ostream> // lets doctest print std::error_code values
#include <set>
#include <string>
#include <system_error>

using kwire::proto::find_kafka_error;
using kwire::proto::is_retriable;
using kwire::proto::kafka_category;
using kwire::proto::kafka_errc;
using kwire::proto::kafka_error;
using kwire::proto::kafka_error_name;
using kwire::proto::kafka_error_table;

namespace {

// The message() text must start with "NAME: " and carry a description after it.
void check_message(std::int16_t code, const std::string& name) {
    const std::string msg = kafka_error(code).message();
    CAPTURE(msg);
    REQUIRE(msg.size() > name.size() + 2);
    CHECK(msg.compare(0, name.size() + 2, name + ": ") == 0);
}

} // namespace

TEST_CASE("kafka_errc: category basics") {
    CHECK(std::string(kafka_category().name()) == "kafka");
    const std::error_code ec = kafka_errc::unknown_topic_or_partition; // implicit via is_error_code_enum
    CHECK(ec.value() == 3);
    CHECK(&ec.category() == &kafka_category());
    CHECK(ec == kafka_errc::unknown_topic_or_partition);
    CHECK(ec != kafka_errc::not_leader_or_follower);
    CHECK(ec.message() == "UNKNOWN_TOPIC_OR_PARTITION: topic or partition not hosted by this broker");
}

TEST_CASE("kafka_errc: known codes map to name, message and retriable flag") {
    struct expect {
        std::int16_t code;
        kafka_errc errc;
        const char* name;
        bool retriable;
    };
    const expect cases[] = {
        {3, kafka_errc::unknown_topic_or_partition, "UNKNOWN_TOPIC_OR_PARTITION", true},
        {6, kafka_errc::not_leader_or_follower, "NOT_LEADER_OR_FOLLOWER", true},
        {7, kafka_errc::request_timed_out, "REQUEST_TIMED_OUT", true},
        {15, kafka_errc::coordinator_not_available, "COORDINATOR_NOT_AVAILABLE", true},
        {16, kafka_errc::not_coordinator, "NOT_COORDINATOR", true},
        {25, kafka_errc::unknown_member_id, "UNKNOWN_MEMBER_ID", false},
        {27, kafka_errc::rebalance_in_progress, "REBALANCE_IN_PROGRESS", false},
        {35, kafka_errc::unsupported_version, "UNSUPPORTED_VERSION", false},
        {58, kafka_errc::sasl_authentication_failed, "SASL_AUTHENTICATION_FAILED", false},
        {79, kafka_errc::member_id_required, "MEMBER_ID_REQUIRED", false},
        {1, kafka_errc::offset_out_of_range, "OFFSET_OUT_OF_RANGE", false},
        {2, kafka_errc::corrupt_message, "CORRUPT_MESSAGE", true},
        {5, kafka_errc::leader_not_available, "LEADER_NOT_AVAILABLE", true},
        {10, kafka_errc::message_too_large, "MESSAGE_TOO_LARGE", false},
        {13, kafka_errc::network_exception, "NETWORK_EXCEPTION", true},
        {14, kafka_errc::coordinator_load_in_progress, "COORDINATOR_LOAD_IN_PROGRESS", true},
        {19, kafka_errc::not_enough_replicas, "NOT_ENOUGH_REPLICAS", true},
        {20, kafka_errc::not_enough_replicas_after_append, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true},
        {22, kafka_errc::illegal_generation, "ILLEGAL_GENERATION", false},
        {29, kafka_errc::topic_authorization_failed, "TOPIC_AUTHORIZATION_FAILED", false},
        {41, kafka_errc::not_controller, "NOT_CONTROLLER", true},
        {47, kafka_errc::invalid_producer_epoch, "INVALID_PRODUCER_EPOCH", false},
        {51, kafka_errc::concurrent_transactions, "CONCURRENT_TRANSACTIONS", true},
        {56, kafka_errc::kafka_storage_error, "KAFKA_STORAGE_ERROR", true},
        {70, kafka_errc::fetch_session_id_not_found, "FETCH_SESSION_ID_NOT_FOUND", true},
        {71, kafka_errc::invalid_fetch_session_epoch, "INVALID_FETCH_SESSION_EPOCH", true},
        {74, kafka_errc::fenced_leader_epoch, "FENCED_LEADER_EPOCH", true},
        {75, kafka_errc::unknown_leader_epoch, "UNKNOWN_LEADER_EPOCH", true},
        {78, kafka_errc::offset_not_available, "OFFSET_NOT_AVAILABLE", true},
        {84, kafka_errc::election_not_needed, "ELECTION_NOT_NEEDED", true},
        {88, kafka_errc::unstable_offset_commit, "UNSTABLE_OFFSET_COMMIT", true},
        {89, kafka_errc::throttling_quota_exceeded, "THROTTLING_QUOTA_EXCEEDED", true},
        {90, kafka_errc::producer_fenced, "PRODUCER_FENCED", false},
        {100, kafka_errc::unknown_topic_id, "UNKNOWN_TOPIC_ID", true},
        {110, kafka_errc::fenced_member_epoch, "FENCED_MEMBER_EPOCH", false},
        {113, kafka_errc::stale_member_epoch, "STALE_MEMBER_EPOCH", false},
        {120, kafka_errc::transaction_abortable, "TRANSACTION_ABORTABLE", false},
        {133, kafka_errc::share_session_limit_reached, "SHARE_SESSION_LIMIT_REACHED", true},
        {136, kafka_errc::controller_id_not_registered, "CONTROLLER_ID_NOT_REGISTERED", false},
    };
    for (const expect& e : cases) {
        CAPTURE(e.code);
        CHECK(static_cast<std::int16_t>(e.errc) == e.code);
        CHECK(kafka_error_name(e.code) == e.name);
        CHECK(is_retriable(e.errc) == e.retriable);
        const std::error_code ec = kafka_error(e.code);
        CHECK(ec);
        CHECK(ec == e.errc);
        CHECK(is_retriable(ec) == e.retriable);
        check_message(e.code, e.name);
    }
}

TEST_CASE("kafka_errc: 0 means no error") {
    const std::error_code ec = kafka_error(0);
    CHECK_FALSE(ec);
    CHECK(ec == std::error_code{});
    CHECK(kafka_error_name(0) == "NONE");
    CHECK_FALSE(is_retriable(kafka_errc::none));
    CHECK_FALSE(is_retriable(ec));
    // The enumerator itself still converts, to a zero (falsy) code in the kafka category.
    const std::error_code none = kafka_errc::none;
    CHECK_FALSE(none);
    CHECK(&none.category() == &kafka_category());
}

TEST_CASE("kafka_errc: -1 is UNKNOWN_SERVER_ERROR") {
    const std::error_code ec = kafka_error(-1);
    CHECK(ec);
    CHECK(ec.value() == -1);
    CHECK(ec == kafka_errc::unknown_server_error);
    CHECK(kafka_error_name(-1) == "UNKNOWN_SERVER_ERROR");
    CHECK_FALSE(is_retriable(kafka_errc::unknown_server_error));
    check_message(-1, "UNKNOWN_SERVER_ERROR");
}

TEST_CASE("kafka_errc: unknown codes still map into the category") {
    for (const std::int16_t code : {std::int16_t{137}, std::int16_t{999}, std::int16_t{-2},
                                    std::int16_t{INT16_MAX}, std::int16_t{INT16_MIN}}) {
        CAPTURE(code);
        const std::error_code ec = kafka_error(code);
        CHECK(ec);
        CHECK(ec.value() == code);
        CHECK(&ec.category() == &kafka_category());
        CHECK(ec.message() == "unknown Kafka error " + std::to_string(code));
        CHECK(kafka_error_name(code).empty());
        CHECK(find_kafka_error(code) == nullptr);
        CHECK_FALSE(is_retriable(static_cast<kafka_errc>(code)));
        CHECK_FALSE(is_retriable(ec));
    }
    // A value outside int16 (only reachable through the category directly).
    CHECK(kafka_category().message(70000) == "unknown Kafka error 70000");
}

TEST_CASE("kafka_errc: is_retriable(error_code) ignores other categories") {
    const std::error_code other{3, std::generic_category()};
    CHECK_FALSE(is_retriable(other));
}

TEST_CASE("kafka_errc: table is complete, unique and ascending") {
    const auto table = kafka_error_table();
    REQUIRE(table.size() == 138);
    CHECK(static_cast<int>(table.front().code) == -1);
    CHECK(static_cast<int>(table.back().code) == 136);

    std::set<std::string_view> names;
    std::size_t retriable = 0;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& row = table[i];
        CAPTURE(row.name);
        // Contiguous from -1, hence strictly ascending and unique.
        CHECK(static_cast<int>(row.code) == static_cast<int>(i) - 1);
        CHECK(names.insert(row.name).second);
        CHECK_FALSE(row.name.empty());
        CHECK_FALSE(row.message.empty());
        for (const char c : row.name) {
            CHECK(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'));
        }
        // Lookup goes back to the same row.
        CHECK(find_kafka_error(static_cast<std::int16_t>(row.code)) == &row);
        CHECK(is_retriable(row.code) == row.retriable);
        if (row.retriable) {
            ++retriable;
        }
    }
    // Exceptions in kafka-clients 4.4.0 that extend RetriableException.
    CHECK(retriable == 32);
}
