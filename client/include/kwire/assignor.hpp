// Partition assignors of the classic consumer group protocol: the group
// leader runs one to split the subscribed topics' partitions among the
// members. Wire-compatible with the Java client's assignors of the same
// names, so kwire, Java and kafka-python consumers can share a group.
//
//   range               per topic, consecutive ranges (Java's RangeAssignor)
//   roundrobin          all partitions dealt in turn (RoundRobinAssignor)
//   cooperative-sticky  balanced, keeps what members own, and never hands a
//                       partition to a new owner in the same rebalance that
//                       takes it from the old one (CooperativeStickyAssignor,
//                       KIP-429: incremental rebalancing)
#pragma once

#include "kwire/topic_partition.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kwire {

// What one member sent in JoinGroup (its ConsumerProtocolSubscription).
struct member_subscription {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // static membership
    std::vector<std::string> topics;
    std::vector<topic_partition> owned_partitions;  // cooperative protocol: what it has now
    std::int32_t generation = -1;                   // the generation those were owned in
    std::optional<std::string> rack;
    std::vector<std::byte> user_data;
};

// member id -> partitions assigned (every member appears, perhaps with none).
using group_assignment = std::map<std::string, std::vector<topic_partition>>;

enum class rebalance_protocol { eager, cooperative };

class assignor {
public:
    virtual ~assignor() = default;
    // The protocol name in JoinGroup ("range", "roundrobin", "cooperative-sticky").
    virtual std::string_view name() const noexcept = 0;
    virtual rebalance_protocol protocol() const noexcept = 0;
    // User data this member adds to its subscription (most send none).
    virtual std::vector<std::byte> subscription_user_data(const std::vector<topic_partition>& owned) const {
        (void)owned;
        return {};
    }
    // `partitions_per_topic`: the partition count of every subscribed topic
    // that exists (missing topics get nothing). Deterministic.
    virtual group_assignment assign(const std::map<std::string, std::int32_t>& partitions_per_topic,
                                    const std::vector<member_subscription>& members) const = 0;
};

// "range", "roundrobin", "cooperative-sticky"; also the Java class names
// (org.apache.kafka.clients.consumer.RangeAssignor, ...). Null if unknown.
std::unique_ptr<assignor> make_assignor(std::string_view name);

} // namespace kwire
