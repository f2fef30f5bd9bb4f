// kwire::admin's group calls: ListGroups at every broker, DescribeGroups and
// OffsetFetch at the group's coordinator (FindCoordinator), and ListOffsets
// at the partitions' leaders for the lag.
#include "admin_impl.hpp"

#include "kwire/consumer_protocol.hpp"
#include "kwire/proto/messages/describe_groups.hpp"
#include "kwire/proto/messages/find_coordinator.hpp"
#include "kwire/proto/messages/list_groups.hpp"
#include "kwire/proto/messages/list_offsets.hpp"
#include "kwire/proto/messages/offset_fetch.hpp"

#include <map>
#include <set>

namespace kwire {

using admin_detail::no_throw;
using admin_detail::worth_retry;
using proto::kafka_errc;

namespace {

// OffsetFetch v10 names topics by id only; v9 and older by name.
constexpr std::int16_t offsets_by_name = 9;

bool coordinator_moved(const std::error_code& ec) {
    return ec == kafka_errc::not_coordinator || ec == kafka_errc::coordinator_not_available;
}

// Worth asking again: the coordinator moved, is loading, or the group is
// between generations.
bool coordinator_busy(const std::error_code& ec) {
    return coordinator_moved(ec) || ec == kafka_errc::coordinator_load_in_progress;
}

std::error_code group_not_found() { return make_error_code(kafka_errc::group_id_not_found); }

} // namespace

admin_impl::op<std::vector<group_listing>> admin_impl::list_groups(std::shared_ptr<admin_impl> self,
                                                                   clock::time_point deadline) {
    using request_t = proto::list_groups_request;
    std::vector<group_listing> out;
    std::optional<std::vector<std::string>> no_topics(std::in_place);  // only the brokers are wanted
    auto [mec, mdetail, snap] = co_await refresh(self, std::move(no_topics), deadline);
    if (mec) co_return outcome<std::vector<group_listing>>{mec, mdetail, out};
    std::vector<std::int32_t> brokers;
    for (const auto& [id, b] : snap->brokers) brokers.push_back(id);
    if (brokers.empty()) brokers.push_back(net::broker_pool::bootstrap_node);

    // Each broker lists the groups it coordinates.
    std::map<std::string, group_listing> merged;
    for (const std::int32_t node : brokers) {
        std::error_code last;
        std::string detail;
        bool answered = false;
        for (int attempt = 0; !answered; ++attempt) {
            if (attempt > 0 && !co_await pause(self, attempt - 1, deadline)) break;
            auto build = [](std::int16_t) { return request_t{}; };  // no filters: every state and type
            auto r = co_await rpc<request_t>(self, node, deadline, build);
            if (r.ec) {
                last = r.ec;
                detail = r.failure;
                if (!worth_retry(r.ec)) break;
                self->note_retry("ListGroups", r.ec, r.failure);
                continue;
            }
            if (r.response.error_code != 0) {
                last = proto::kafka_error(r.response.error_code);
                detail = "broker " + std::to_string(node);
                if (!coordinator_busy(last)) break;
                self->note_retry("ListGroups", last, detail);
                continue;
            }
            for (const auto& g : r.response.groups)
                merged[g.group_id] = group_listing{g.group_id, g.protocol_type, g.group_state, g.group_type};
            answered = true;
        }
        if (!answered)
            co_return outcome<std::vector<group_listing>>{last ? last : make_error_code(net::errc::request_timeout),
                                                          detail, out};
    }
    for (auto& [id, g] : merged) out.push_back(std::move(g));
    co_return outcome<std::vector<group_listing>>{{}, {}, out};
}

admin_impl::op<std::int32_t> admin_impl::find_coordinator(std::shared_ptr<admin_impl> self, std::string group,
                                                          clock::time_point deadline) {
    using request_t = proto::find_coordinator_request;
    std::error_code last;
    std::string detail;
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0 && !co_await pause(self, attempt - 1, deadline)) break;
        auto build = [&group](std::int16_t version) {
            request_t req;
            req.key_type = 0;  // a group
            if (version >= 4) req.coordinator_keys.push_back(group);
            else req.key = group;
            return req;
        };
        auto r = co_await rpc<request_t>(self, self->any_broker(), deadline, build);
        if (r.ec) {
            last = r.ec;
            detail = r.failure;
            if (!worth_retry(r.ec)) break;
            self->note_retry("FindCoordinator", r.ec, r.failure);
            continue;
        }
        std::int16_t error = r.response.error_code;
        std::optional<std::string> message = r.response.error_message;
        std::int32_t node = r.response.node_id;
        std::string host = r.response.host;
        std::int32_t port = r.response.port;
        if (r.version >= 4) {
            if (r.response.coordinators.empty()) {
                last = make_error_code(net::errc::unexpected_response);
                detail = "FindCoordinator answered without a coordinator";
                break;
            }
            const auto& c = r.response.coordinators.front();
            error = c.error_code;
            message = c.error_message;
            node = c.node_id;
            host = c.host;
            port = c.port;
        }
        if (error != 0) {
            last = proto::kafka_error(error);
            detail = message.value_or("");
            if (!coordinator_busy(last)) break;
            self->note_retry("FindCoordinator for group '" + group + "'", last, detail);
            continue;
        }
        self->pool_->set_address(node, host, std::to_string(port));
        co_return outcome<std::int32_t>{{}, {}, node};
    }
    co_return outcome<std::int32_t>{last ? last : make_error_code(net::errc::request_timeout), detail, -1};
}

admin_impl::op<group_description> admin_impl::describe_group(std::shared_ptr<admin_impl> self, std::string group,
                                                             clock::time_point deadline) {
    using request_t = proto::describe_groups_request;
    group_description out;
    out.group_id = group;
    std::error_code last;
    std::string detail;
    for (int attempt = 0;; ++attempt) {
        if (attempt > 0 && !co_await pause(self, attempt - 1, deadline)) break;
        auto [cec, cdetail, coordinator] = co_await find_coordinator(self, group, deadline);
        if (cec) co_return outcome<group_description>{cec, cdetail, out};
        auto build = [&group](std::int16_t) {
            request_t req;
            req.groups.push_back(group);
            return req;
        };
        auto r = co_await rpc<request_t>(self, coordinator, deadline, build);
        if (r.ec) {
            last = r.ec;
            detail = r.failure;
            if (!worth_retry(r.ec)) break;
            self->note_retry("DescribeGroups", r.ec, r.failure);
            continue;
        }
        if (r.response.groups.size() != 1) {
            last = make_error_code(net::errc::unexpected_response);
            detail = "DescribeGroups answered for " + std::to_string(r.response.groups.size()) + " groups";
            break;
        }
        const auto& g = r.response.groups.front();
        const std::error_code ec = proto::kafka_error(g.error_code);
        if (coordinator_busy(ec)) {
            last = ec;
            detail = g.error_message.value_or("");
            self->note_retry("DescribeGroups", ec, detail);
            continue;
        }
        out.coordinator = coordinator;
        out.error = ec;
        out.error_message = g.error_message.value_or("");
        out.state = g.group_state;
        out.protocol_type = g.protocol_type;
        out.protocol = g.protocol_data;
        // Before DescribeGroups v6 a group that does not exist is described
        // as Dead with no members; newer brokers say GROUP_ID_NOT_FOUND.
        if (!out.error && out.state == "Dead" && g.members.empty()) {
            out.error = group_not_found();
            out.error_message = "group '" + group + "' does not exist";
        }
        for (const auto& m : g.members) {
            group_member_description member;
            member.member_id = m.member_id;
            member.group_instance_id = m.group_instance_id;
            member.client_id = m.client_id;
            member.client_host = m.client_host;
            if (out.protocol_type == "consumer") {
                // Undecodable bytes (a foreign client's) leave the fields empty.
                member_subscription subscription;
                if (!m.member_metadata.empty() && !decode_subscription(m.member_metadata, subscription))
                    member.subscribed_topics = subscription.topics;
                std::vector<topic_partition> assigned;
                if (!m.member_assignment.empty() && !decode_assignment(m.member_assignment, assigned))
                    member.assignment = std::move(assigned);
            }
            out.members.push_back(std::move(member));
        }
        co_return outcome<group_description>{{}, {}, out};
    }
    co_return outcome<group_description>{last ? last : make_error_code(net::errc::request_timeout), detail, out};
}

admin_impl::op<std::vector<group_description>> admin_impl::describe_groups(std::shared_ptr<admin_impl> self,
                                                                           std::vector<std::string> groups,
                                                                           clock::time_point deadline) {
    std::vector<group_description> out;
    for (const auto& group : groups) {
        auto [ec, detail, d] = co_await describe_group(self, group, deadline);
        if (ec) co_return outcome<std::vector<group_description>>{ec, "group '" + group + "': " + detail, out};
        out.push_back(std::move(d));
    }
    co_return outcome<std::vector<group_description>>{{}, {}, out};
}

admin_impl::op<std::map<topic_partition, std::int64_t>> admin_impl::end_offsets(
    std::shared_ptr<admin_impl> self, std::vector<topic_partition> partitions, clock::time_point deadline) {
    using request_t = proto::list_offsets_request;
    constexpr std::int64_t latest = -1;
    std::map<topic_partition, std::int64_t> out;
    std::set<topic_partition> pending(partitions.begin(), partitions.end());
    std::error_code last;
    std::string detail;
    for (int attempt = 0; !pending.empty(); ++attempt) {
        if (attempt > 0 && !co_await pause(self, attempt - 1, deadline)) break;
        std::optional<std::vector<std::string>> topics(std::in_place);
        for (const auto& tp : pending)
            if (topics->empty() || topics->back() != tp.topic) topics->push_back(tp.topic);
        auto [mec, mdetail, snap] = co_await refresh(self, std::move(topics), deadline);
        if (mec) {
            last = mec;
            detail = mdetail;
            break;
        }
        std::map<std::int32_t, std::vector<topic_partition>> by_leader;
        for (auto it = pending.begin(); it != pending.end();) {
            const topic_metadata* t = snap->topic(it->topic);
            // A deleted topic (or partition) has no end: its offsets stay committed.
            if (!t || t->error == kafka_errc::unknown_topic_or_partition || it->partition < 0 ||
                static_cast<std::size_t>(it->partition) >= t->partitions.size()) {
                it = pending.erase(it);
                continue;
            }
            const std::int32_t leader = t->partitions[static_cast<std::size_t>(it->partition)].leader;
            if (leader >= 0) by_leader[leader].push_back(*it);
            else {
                last = make_error_code(kafka_errc::leader_not_available);
                detail = it->to_string();
            }
            ++it;
        }
        for (const auto& [leader, asked] : by_leader) {
            const std::int32_t timeout_ms =
                static_cast<std::int32_t>(std::max<std::int64_t>(1, admin_detail::remaining(deadline).count()));
            auto build = [&asked, timeout_ms](std::int16_t) {
                request_t req;
                req.replica_id = -1;      // a client, not a follower
                req.isolation_level = 0;  // the high watermark, as consumer lag is usually measured
                req.timeout_ms = timeout_ms;
                for (const auto& tp : asked) {
                    if (req.topics.empty() || req.topics.back().name != tp.topic) {
                        request_t::list_offsets_topic t;
                        t.name = tp.topic;
                        req.topics.push_back(std::move(t));
                    }
                    request_t::list_offsets_partition p;
                    p.partition_index = tp.partition;
                    p.timestamp = latest;
                    req.topics.back().partitions.push_back(p);
                }
                return req;
            };
            auto r = co_await rpc<request_t>(self, leader, deadline, build);
            if (r.ec) {
                last = r.ec;
                detail = r.failure;
                if (!worth_retry(r.ec)) co_return outcome<std::map<topic_partition, std::int64_t>>{last, detail, out};
                continue;
            }
            for (const auto& t : r.response.topics) {
                for (const auto& p : t.partitions) {
                    const topic_partition tp{t.name, p.partition_index};
                    if (!pending.count(tp)) continue;
                    const std::error_code ec = proto::kafka_error(p.error_code);
                    if (ec) {
                        // A moved leader: asked again after a metadata refresh.
                        last = ec;
                        detail = tp.to_string() + " at broker " + std::to_string(leader);
                        if (!worth_retry(ec)) co_return outcome<std::map<topic_partition, std::int64_t>>{ec, detail, out};
                        continue;
                    }
                    out[tp] = p.offset;
                    pending.erase(tp);
                }
            }
        }
        if (!pending.empty()) self->note_retry("ListOffsets", last, detail);
    }
    if (!pending.empty())
        co_return outcome<std::map<topic_partition, std::int64_t>>{
            last ? last : make_error_code(net::errc::request_timeout), detail, out};
    co_return outcome<std::map<topic_partition, std::int64_t>>{{}, {}, out};
}

admin_impl::op<std::vector<group_partition_offsets>> admin_impl::list_group_offsets(std::shared_ptr<admin_impl> self,
                                                                                     std::string group,
                                                                                     clock::time_point deadline) {
    using request_t = proto::offset_fetch_request;
    using result_t = outcome<std::vector<group_partition_offsets>>;
    std::vector<group_partition_offsets> out;
    std::map<topic_partition, offset_and_metadata> committed;
    std::error_code last;
    std::string detail;
    bool fetched = false;
    for (int attempt = 0; !fetched; ++attempt) {
        if (attempt > 0 && !co_await pause(self, attempt - 1, deadline)) break;
        auto [cec, cdetail, coordinator] = co_await find_coordinator(self, group, deadline);
        if (cec) co_return result_t{cec, cdetail, out};
        // OffsetFetch v1 cannot ask for "every topic": it names each
        // partition, so every partition of the cluster is asked for.
        const auto version = co_await version_at<request_t>(self, coordinator, offsets_by_name);
        std::vector<topic_partition> every_partition;
        if (version && *version < 2) {
            std::optional<std::vector<std::string>> every;
            auto [mec, mdetail, snap] = co_await refresh(self, std::move(every), deadline);
            if (mec) co_return result_t{mec, mdetail, out};
            for (const auto& [name, t] : snap->topics)
                for (const auto& p : t.partitions) every_partition.push_back(topic_partition{name, p.partition});
        }
        auto build = [&group, &every_partition](std::int16_t v) {
            request_t req;
            req.require_stable = false;  // what is committed now, as Java's admin client asks
            if (v >= 8) {
                request_t::offset_fetch_request_group g;
                g.group_id = group;
                g.topics.reset();  // every topic
                req.groups.push_back(std::move(g));
            } else {
                req.group_id = group;
                req.topics.reset();
                if (v < 2) {
                    req.topics.emplace();
                    for (const auto& tp : every_partition) {
                        if (req.topics->empty() || req.topics->back().name != tp.topic) {
                            request_t::offset_fetch_request_topic t;
                            t.name = tp.topic;
                            req.topics->push_back(std::move(t));
                        }
                        req.topics->back().partition_indexes.push_back(tp.partition);
                    }
                }
            }
            return req;
        };
        auto r = co_await rpc<request_t>(self, coordinator, deadline, build, offsets_by_name);
        if (r.ec) {
            last = r.ec;
            detail = r.failure;
            if (!worth_retry(r.ec)) break;
            self->note_retry("OffsetFetch", r.ec, r.failure);
            continue;
        }
        const std::int16_t top = r.version >= 8 ? (r.response.groups.empty() ? 0 : r.response.groups[0].error_code)
                                                : r.response.error_code;
        if (top != 0) {
            last = proto::kafka_error(top);
            detail = "group '" + group + "'";
            if (!coordinator_busy(last) && last != kafka_errc::unstable_offset_commit) break;
            self->note_retry("OffsetFetch", last, detail);
            continue;
        }
        committed.clear();
        std::error_code partition_error;
        auto take = [&](const std::string& topic, std::int32_t partition, std::int64_t offset,
                        std::int32_t leader_epoch, const std::optional<std::string>& metadata, std::int16_t error) {
            if (error != 0) {
                partition_error = proto::kafka_error(error);
                detail = topic + "/" + std::to_string(partition);
                return;
            }
            if (offset < 0) return;  // nothing committed (v1's answer for partitions never committed)
            committed[topic_partition{topic, partition}] = offset_and_metadata{
                offset, leader_epoch >= 0 ? std::optional(leader_epoch) : std::nullopt, metadata.value_or("")};
        };
        if (r.version >= 8) {
            for (const auto& g : r.response.groups)
                for (const auto& t : g.topics)
                    for (const auto& p : t.partitions)
                        take(t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.metadata,
                             p.error_code);
        } else {
            for (const auto& t : r.response.topics)
                for (const auto& p : t.partitions)
                    take(t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.metadata,
                         p.error_code);
        }
        if (partition_error) {
            last = partition_error;
            if (!coordinator_busy(last) && last != kafka_errc::unstable_offset_commit) break;
            self->note_retry("OffsetFetch", last, detail);
            continue;
        }
        fetched = true;
    }
    if (!fetched) co_return result_t{last ? last : make_error_code(net::errc::request_timeout), detail, out};

    // Members and what they own; whether the group exists at all.
    auto [dec, ddetail, description] = co_await describe_group(self, group, deadline);
    if (dec) co_return result_t{dec, ddetail, out};
    if (description.error && committed.empty()) {
        std::string message = description.error_message;
        if (description.error == kafka_errc::group_id_not_found) message = "group '" + group + "' does not exist";
        co_return result_t{description.error, message, out};
    }
    std::map<topic_partition, group_partition_offsets> rows;
    for (const auto& [tp, om] : committed) {
        auto& row = rows[tp];
        row.partition = tp;
        row.committed_offset = om.offset;
        row.metadata = om.metadata;
    }
    if (!description.error) {
        for (const auto& m : description.members)
            for (const auto& tp : m.assignment) {
                auto& row = rows[tp];
                row.partition = tp;
                row.member_id = m.member_id;
                row.client_id = m.client_id;
                row.client_host = m.client_host;
            }
    }
    std::vector<topic_partition> asked;
    for (const auto& [tp, row] : rows) asked.push_back(tp);
    auto [eec, edetail, ends] = co_await end_offsets(self, asked, deadline);
    if (eec) co_return result_t{eec, "end offsets: " + edetail, out};
    for (auto& [tp, row] : rows) {
        if (auto e = ends.find(tp); e != ends.end()) row.end_offset = e->second;
        if (row.end_offset && row.committed_offset) row.lag = *row.end_offset - *row.committed_offset;
        out.push_back(std::move(row));
    }
    co_return result_t{{}, {}, out};
}

} // namespace kwire
