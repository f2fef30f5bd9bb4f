// kwire::admin's group calls: ListGroups at every broker, DescribeGroups and
// OffsetFetch at the group's coordinator (FindCoordinator), and ListOffsets
// at the partitions' leaders for the lag.
#include "admin_impl.hpp"
#include "shared_requests.hpp"

#include "kwire/consumer_protocol.hpp"
#include "kwire/proto/messages/describe_groups.hpp"
#include "kwire/proto/messages/list_groups.hpp"
#include "kwire/proto/messages/list_offsets.hpp"

#include <map>
#include <set>

namespace kwire {

using admin_detail::worth_retry;
using proto::kafka_errc;

namespace {

bool coordinator_moved(const std::error_code& ec) {
    return ec == kafka_errc::not_coordinator || ec == kafka_errc::coordinator_not_available;
}

// Worth asking again: the coordinator moved, is loading, or the group is
// between generations.
bool coordinator_busy(const std::error_code& ec) {
    return coordinator_moved(ec) || ec == kafka_errc::coordinator_load_in_progress;
}

std::error_code group_not_found() { return make_error_code(kafka_errc::group_id_not_found); }

group_member_description member_of(const proto::describe_groups_response::described_group_member& m,
                                   const std::string& protocol_type) {
    group_member_description member;
    member.member_id = m.member_id;
    member.group_instance_id = m.group_instance_id;
    member.client_id = m.client_id;
    member.client_host = m.client_host;
    if (protocol_type == "consumer") {
        // Undecodable bytes (a foreign client's) leave the fields empty.
        member_subscription subscription;
        if (!m.member_metadata.empty() && !decode_subscription(m.member_metadata, subscription))
            member.subscribed_topics = subscription.topics;
        std::vector<topic_partition> assigned;
        if (!m.member_assignment.empty() && !decode_assignment(m.member_assignment, assigned))
            member.assignment = std::move(assigned);
    }
    return member;
}

} // namespace

admin_impl::op<std::vector<group_listing>> admin_impl::list_groups(std::shared_ptr<admin_impl> self,
                                                                   clock::time_point deadline) {
    using request_t = proto::list_groups_request;
    using attempt_t = admin_detail::attempt<bool>;
    std::vector<group_listing> out;
    std::optional<std::vector<std::string>> no_topics(std::in_place);  // only the brokers are wanted
    auto [mec, mdetail, snap] = co_await refresh(self, std::move(no_topics), deadline);
    if (mec) co_return outcome<std::vector<group_listing>>{mec, mdetail, out};

    // Each broker lists the groups it coordinates.
    std::map<std::string, group_listing> merged;
    const auto brokers = client_detail::brokers_in_turn(*snap, 0);
    for (const std::int32_t node : brokers) {
        auto once = [&]() -> asio::awaitable<attempt_t> {
            auto build = [](std::int16_t) { return request_t{}; };  // no filters: every state and type
            auto r = co_await rpc<request_t>(self, node, deadline, build);
            if (r.ec) co_return admin_detail::failed<bool>(r);
            if (r.response.error_code != 0) {
                const std::error_code ec = proto::kafka_error(r.response.error_code);
                co_return attempt_t{ec, "broker " + std::to_string(node), false, coordinator_busy(ec)};
            }
            for (const auto& g : r.response.groups)
                merged[g.group_id] = group_listing{g.group_id, g.protocol_type, g.group_state, g.group_type};
            co_return attempt_t{};
        };
        const std::string what = "ListGroups";
        auto [ec, detail, done] = co_await retrying<bool>(self, what, deadline, once);
        if (ec) co_return outcome<std::vector<group_listing>>{ec, detail, out};
    }
    for (auto& [id, g] : merged) out.push_back(std::move(g));
    co_return outcome<std::vector<group_listing>>{{}, {}, out};
}

admin_impl::op<std::int32_t> admin_impl::find_coordinator(std::shared_ptr<admin_impl> self, std::string group,
                                                          clock::time_point deadline) {
    using request_t = proto::find_coordinator_request;
    using attempt_t = admin_detail::attempt<std::int32_t>;
    auto build = [&group](std::int16_t version) { return client_detail::make_find_coordinator_request(group, version); };
    auto once = [&]() -> asio::awaitable<attempt_t> {
        auto r = co_await rpc_any<request_t>(self, deadline, build);
        if (r.ec) co_return admin_detail::failed<std::int32_t>(r);
        const auto c = client_detail::read_coordinator(r.response, r.version);
        if (c.ec) co_return attempt_t{c.ec, c.detail, -1, coordinator_busy(c.ec)};
        self->pool_->set_address(c.node, c.host, std::to_string(c.port));
        co_return attempt_t{{}, {}, c.node};
    };
    const std::string what = "FindCoordinator for group '" + group + "'";
    co_return co_await retrying<std::int32_t>(self, what, deadline, once);
}

admin_impl::op<group_description> admin_impl::describe_group(std::shared_ptr<admin_impl> self, std::string group,
                                                             clock::time_point deadline) {
    using request_t = proto::describe_groups_request;
    using attempt_t = admin_detail::attempt<group_description>;
    auto build = [&group](std::int16_t) {
        request_t req;
        req.groups.push_back(group);
        return req;
    };
    auto once = [&]() -> asio::awaitable<attempt_t> {
        group_description out;
        out.group_id = group;
        auto [cec, cdetail, coordinator] = co_await find_coordinator(self, group, deadline);
        if (cec) co_return attempt_t{cec, cdetail, out};
        auto r = co_await rpc<request_t>(self, coordinator, deadline, build);
        if (r.ec) co_return admin_detail::failed<group_description>(r);
        if (r.response.groups.size() != 1)
            co_return attempt_t{make_error_code(net::errc::unexpected_response),
                                "DescribeGroups answered for " + std::to_string(r.response.groups.size()) + " groups",
                                out};
        const auto& g = r.response.groups.front();
        const std::error_code ec = proto::kafka_error(g.error_code);
        if (coordinator_busy(ec)) co_return attempt_t{ec, g.error_message.value_or(""), out, true};
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
        for (const auto& m : g.members) out.members.push_back(member_of(m, out.protocol_type));
        co_return attempt_t{{}, {}, std::move(out)};
    };
    const std::string what = "DescribeGroups";
    co_return co_await retrying<group_description>(self, what, deadline, once);
}

admin_impl::op<std::vector<group_description>> admin_impl::describe_groups(std::shared_ptr<admin_impl> self,
                                                                           clock::time_point deadline,
                                                                           std::vector<std::string> groups) {
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
    using attempt_t = admin_detail::attempt<bool>;
    constexpr std::int64_t latest = -1;
    std::map<topic_partition, std::int64_t> out;
    std::set<topic_partition> pending(partitions.begin(), partitions.end());
    auto once = [&]() -> asio::awaitable<attempt_t> {
        std::optional<std::vector<std::string>> topics(std::in_place);
        for (const auto& tp : pending)
            if (topics->empty() || topics->back() != tp.topic) topics->push_back(tp.topic);
        auto [mec, mdetail, snap] = co_await refresh(self, std::move(topics), deadline);
        if (mec) co_return attempt_t{mec, mdetail};
        attempt_t left{{}, {}, false, true};  // what keeps a partition pending
        std::map<std::int32_t, std::map<topic_partition, std::int64_t>> by_leader;  // partition -> latest
        for (auto it = pending.begin(); it != pending.end();) {
            const topic_metadata* t = snap->topic(it->topic);
            // A deleted topic (or partition) has no end: its offsets stay committed.
            if (!t || t->error == kafka_errc::unknown_topic_or_partition || it->partition < 0 ||
                static_cast<std::size_t>(it->partition) >= t->partitions.size()) {
                it = pending.erase(it);
                continue;
            }
            const std::int32_t leader = t->partitions[static_cast<std::size_t>(it->partition)].leader;
            if (leader >= 0) {
                by_leader[leader][*it] = latest;
            } else {
                left.ec = make_error_code(kafka_errc::leader_not_available);
                left.detail = it->to_string();
            }
            ++it;
        }
        for (const auto& [leader, asked] : by_leader) {
            const std::int32_t timeout_ms = admin_detail::remaining_ms(deadline);
            // The high watermark, as consumer lag is usually measured.
            auto build = [&asked, timeout_ms](std::int16_t) {
                return client_detail::make_list_offsets_request(asked, 0, timeout_ms);
            };
            auto r = co_await rpc<request_t>(self, leader, deadline, build);
            if (r.ec) {
                left = admin_detail::failed<bool>(r);
                if (!left.retry) co_return left;
                continue;
            }
            for (const auto& t : r.response.topics) {
                for (const auto& p : t.partitions) {
                    const topic_partition tp{t.name, p.partition_index};
                    if (!pending.count(tp)) continue;
                    const std::error_code ec = proto::kafka_error(p.error_code);
                    if (ec) {
                        // A moved leader: asked again after a metadata refresh.
                        left = attempt_t{ec, tp.to_string() + " at broker " + std::to_string(leader), false,
                                         worth_retry(ec)};
                        if (!left.retry) co_return left;
                        continue;
                    }
                    out[tp] = p.offset;
                    pending.erase(tp);
                }
            }
        }
        co_return pending.empty() ? attempt_t{} : left;
    };
    const std::string what = "ListOffsets";
    auto [ec, detail, done] = co_await retrying<bool>(self, what, deadline, once);
    co_return outcome<std::map<topic_partition, std::int64_t>>{ec, detail, out};
}

// The offsets `group` committed, every partition (OffsetFetch at the coordinator).
admin_impl::op<std::map<topic_partition, offset_and_metadata>> admin_impl::committed_offsets(
    std::shared_ptr<admin_impl> self, std::string group, clock::time_point deadline) {
    using request_t = proto::offset_fetch_request;
    using committed_t = std::map<topic_partition, offset_and_metadata>;
    using attempt_t = admin_detail::attempt<committed_t>;
    auto once = [&]() -> asio::awaitable<attempt_t> {
        auto [cec, cdetail, coordinator] = co_await find_coordinator(self, group, deadline);
        if (cec) co_return attempt_t{cec, cdetail};
        // OffsetFetch v1 cannot ask for "every topic": it names each
        // partition, so every partition of the cluster is asked for.
        const auto version = co_await version_at<request_t>(self, coordinator, client_detail::offset_fetch_by_name);
        std::optional<std::vector<topic_partition>> asked;  // nullopt: every partition
        if (version && *version < 2) {
            std::optional<std::vector<std::string>> every;
            auto [mec, mdetail, snap] = co_await refresh(self, std::move(every), deadline);
            if (mec) co_return attempt_t{mec, mdetail};
            asked.emplace();
            for (const auto& [name, t] : snap->topics)
                for (const auto& p : t.partitions) asked->push_back(topic_partition{name, p.partition});
        }
        // What is committed now (not require_stable), as Java's admin client asks.
        auto build = [&](std::int16_t v) { return client_detail::make_offset_fetch_request(group, asked, v, false); };
        auto r = co_await rpc<request_t>(self, coordinator, deadline, build, client_detail::offset_fetch_by_name);
        if (r.ec) co_return admin_detail::failed<committed_t>(r);
        auto busy = [](const std::error_code& ec) {
            return coordinator_busy(ec) || ec == kafka_errc::unstable_offset_commit;
        };
        if (const auto top = client_detail::offset_fetch_error(r.response, r.version); top != 0) {
            const std::error_code ec = proto::kafka_error(top);
            co_return attempt_t{ec, "group '" + group + "'", {}, busy(ec)};
        }
        attempt_t got;
        client_detail::for_each_committed(
            r.response, r.version, [&](const topic_partition& tp, std::int16_t error, offset_and_metadata om) {
                if (error != 0) {
                    got.ec = proto::kafka_error(error);
                    got.detail = tp.to_string();
                    got.retry = busy(got.ec);
                    return;
                }
                // A negative offset: nothing committed (v1's answer for partitions never committed).
                if (om.offset >= 0) got.value[tp] = std::move(om);
            });
        co_return got;
    };
    const std::string what = "OffsetFetch";
    co_return co_await retrying<committed_t>(self, what, deadline, once);
}

admin_impl::op<std::vector<group_partition_offsets>> admin_impl::list_group_offsets(std::shared_ptr<admin_impl> self,
                                                                                     clock::time_point deadline,
                                                                                     std::string group) {
    using result_t = outcome<std::vector<group_partition_offsets>>;
    std::vector<group_partition_offsets> out;
    auto [fec, fdetail, committed] = co_await committed_offsets(self, group, deadline);
    if (fec) co_return result_t{fec, fdetail, out};

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
