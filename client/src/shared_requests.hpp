// Requests both the admin client and the consumer send (private to
// client/src), built (and read) right for every version: FindCoordinator for
// a group, OffsetFetch of a group's committed offsets (the shape of both
// changed between versions), and ListOffsets.
#pragma once

#include "kwire/topic_partition.hpp"
#include "kwire/proto/messages/find_coordinator.hpp"
#include "kwire/proto/messages/list_offsets.hpp"
#include "kwire/proto/messages/offset_fetch.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace kwire::client_detail {

// The entry for topic `name` in a request's list of topics: the last one, or
// a new one when the last is another topic's (a request lists each topic's
// partitions together: they come sorted).
template <class Topic>
Topic& topic_entry(std::vector<Topic>& topics, const std::string& name) {
    if (topics.empty() || topics.back().name != name) {
        Topic t;
        t.name = name;
        topics.push_back(std::move(t));
    }
    return topics.back();
}

// --- FindCoordinator ---------------------------------------------------------

proto::find_coordinator_request make_find_coordinator_request(const std::string& group, std::int16_t version);

// The coordinator a FindCoordinator response names (v4+: the first of the
// batch), or its error.
struct coordinator_answer {
    std::error_code ec;      // the broker's error, or unexpected_response (v4+ without a coordinator)
    std::string detail;      // the broker's message
    std::int32_t node = -1;
    std::string host;
    std::int32_t port = 0;
};
coordinator_answer read_coordinator(const proto::find_coordinator_response& resp, std::int16_t version);

// --- OffsetFetch ---------------------------------------------------------------

// OffsetFetch names topics by name up to v9; v10 names them by id only.
inline constexpr std::int16_t offset_fetch_by_name = 9;

// Asks for the offsets `group` committed for `partitions`,
// or for every partition (nullopt; v2+ only: v1 must name each partition).
// `require_stable` (v7+) waits for pending transactional offsets.
proto::offset_fetch_request make_offset_fetch_request(const std::string& group,
                                                      const std::optional<std::vector<topic_partition>>& partitions,
                                                      std::int16_t version, bool require_stable);

// The group's error in a response (0: none).
std::int16_t offset_fetch_error(const proto::offset_fetch_response& resp, std::int16_t version);

// Calls `each(partition, error_code, committed)` for every partition of the
// response; `committed.offset` is -1 where nothing is committed.
template <class Each>
void for_each_committed(const proto::offset_fetch_response& resp, std::int16_t version, Each each) {
    auto one = [&](const std::string& topic, const auto& p) {
        each(topic_partition{topic, p.partition_index}, p.error_code,
             offset_and_metadata{p.committed_offset,
                                 p.committed_leader_epoch >= 0 ? std::optional(p.committed_leader_epoch) : std::nullopt,
                                 p.metadata.value_or("")});
    };
    if (version >= 8) {
        for (const auto& g : resp.groups)
            for (const auto& t : g.topics)
                for (const auto& p : t.partitions) one(t.name, p);
    } else {
        for (const auto& t : resp.topics)
            for (const auto& p : t.partitions) one(t.name, p);
    }
}

// --- ListOffsets ---------------------------------------------------------------

// Asks, as a client (not a follower), for the offset of each partition at its
// timestamp (-1: the end, -2: the beginning); `isolation_level` 1 reads the
// last stable offset (read_committed), 0 the high watermark.
proto::list_offsets_request make_list_offsets_request(const std::map<topic_partition, std::int64_t>& timestamps,
                                                      std::int8_t isolation_level, std::int32_t timeout_ms);

} // namespace kwire::client_detail
