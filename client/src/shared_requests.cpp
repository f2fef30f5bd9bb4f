// Requests both the admin client and the consumer send (shared_requests.hpp).
#include "shared_requests.hpp"

#include "kwire/net/errors.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <algorithm>

namespace kwire::client_detail {

proto::find_coordinator_request make_find_coordinator_request(const std::string& group, std::int16_t version) {
    proto::find_coordinator_request req;
    req.key_type = 0;  // a group
    if (version >= 4) req.coordinator_keys.push_back(group);
    else req.key = group;
    return req;
}

coordinator_answer read_coordinator(const proto::find_coordinator_response& resp, std::int16_t version) {
    coordinator_answer out;
    std::int16_t error = resp.error_code;
    std::optional<std::string> message = resp.error_message;
    out.node = resp.node_id;
    out.host = resp.host;
    out.port = resp.port;
    if (version >= 4) {
        if (resp.coordinators.empty()) {
            out.ec = make_error_code(net::errc::unexpected_response);
            out.detail = "FindCoordinator answered without a coordinator";
            out.node = -1;
            return out;
        }
        const auto& c = resp.coordinators.front();
        error = c.error_code;
        message = c.error_message;
        out.node = c.node_id;
        out.host = c.host;
        out.port = c.port;
    }
    if (error != 0) {
        out.ec = proto::kafka_error(error);
        out.detail = message.value_or("");
        out.node = -1;
    }
    return out;
}

namespace {

// `partitions` as the topics of a request: one entry per topic.
template <class Topic>
std::vector<Topic> topics_of(std::vector<topic_partition> partitions) {
    std::sort(partitions.begin(), partitions.end());
    std::vector<Topic> out;
    for (const auto& tp : partitions) topic_entry(out, tp.topic).partition_indexes.push_back(tp.partition);
    return out;
}

} // namespace

proto::offset_fetch_request make_offset_fetch_request(const std::string& group,
                                                      const std::optional<std::vector<topic_partition>>& partitions,
                                                      std::int16_t version, bool require_stable) {
    using request_t = proto::offset_fetch_request;
    request_t req;
    req.require_stable = require_stable && version >= 7;
    if (version >= 8) {
        request_t::offset_fetch_request_group g;
        g.group_id = group;
        if (partitions) g.topics = topics_of<request_t::offset_fetch_request_topics>(*partitions);
        else g.topics.reset();  // every topic
        req.groups.push_back(std::move(g));
    } else {
        req.group_id = group;
        if (partitions) req.topics = topics_of<request_t::offset_fetch_request_topic>(*partitions);
        else req.topics.reset();
    }
    return req;
}

std::int16_t offset_fetch_error(const proto::offset_fetch_response& resp, std::int16_t version) {
    if (version >= 8) return resp.groups.empty() ? 0 : resp.groups.front().error_code;
    return resp.error_code;
}

proto::list_offsets_request make_list_offsets_request(const std::map<topic_partition, std::int64_t>& timestamps,
                                                      std::int8_t isolation_level, std::int32_t timeout_ms) {
    using request_t = proto::list_offsets_request;
    request_t req;
    req.replica_id = -1;  // a client, not a follower
    req.isolation_level = isolation_level;
    req.timeout_ms = timeout_ms;
    for (const auto& [tp, ts] : timestamps) {
        request_t::list_offsets_partition p;
        p.partition_index = tp.partition;
        p.timestamp = ts;
        topic_entry(req.topics, tp.topic).partitions.push_back(p);
    }
    return req;
}

} // namespace kwire::client_detail
