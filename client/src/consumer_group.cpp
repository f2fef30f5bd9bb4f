// Group membership (the classic protocol): one coroutine on the strand finds
// the coordinator, joins (the leader runs the assignor), syncs, heartbeats,
// commits on the auto-commit interval, and leaves. Rebalance callbacks are
// queued as events for poll() to run on the application's thread; an eager
// rebalance waits (up to max.poll.interval.ms) for them before rejoining.
#include "consumer_impl.hpp"

#include "kwire/consumer_protocol.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/heartbeat.hpp"
#include "kwire/proto/messages/join_group.hpp"
#include "kwire/proto/messages/leave_group.hpp"
#include "kwire/proto/messages/sync_group.hpp"

#include <asio/post.hpp>

#include <algorithm>

namespace kwire {
namespace {

using consumer_detail::no_throw;
using proto::kafka_errc;

bool is_fatal_group_error(kafka_errc e) {
    switch (e) {
    case kafka_errc::group_authorization_failed:
    case kafka_errc::inconsistent_group_protocol:
    case kafka_errc::fenced_instance_id:
    case kafka_errc::group_max_size_reached:
    case kafka_errc::invalid_session_timeout:
    case kafka_errc::invalid_group_id:
        return true;
    default:
        return false;
    }
}

std::map<std::string, std::size_t> partition_counts(const cluster_snapshot& snap, const std::vector<std::string>& topics) {
    std::map<std::string, std::size_t> out;
    for (const auto& t : topics) {
        const topic_metadata* tm = snap.topic(t);
        out[t] = tm && !tm->error ? tm->partitions.size() : 0;
    }
    return out;
}

std::vector<topic_partition> minus(const std::vector<topic_partition>& a, const std::vector<topic_partition>& b) {
    std::vector<topic_partition> out;
    for (const auto& x : a)
        if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
    return out;
}

} // namespace

void consumer_impl::wake_group() {
    asio::post(pool_->get_executor(), [self = shared_from_this()] {
        self->group_woken_ = true;
        self->group_wake_->cancel();
    });
}

void consumer_impl::run_rebalance_events(std::unique_lock<std::mutex>& lock) {
    while (!events_.empty()) {
        rebalance_event ev = std::move(events_.front());
        events_.pop_front();
        const rebalance_listener listener = listener_;
        lock.unlock();
        try {
            if (ev.kind == rebalance_event_kind::assigned && listener.on_assigned) listener.on_assigned(ev.partitions);
            if (ev.kind == rebalance_event_kind::revoked && listener.on_revoked) listener.on_revoked(ev.partitions);
            if (ev.kind == rebalance_event_kind::lost) {
                lost_unseen_ = false;  // (read under the mutex only; set here before the callback runs)
                if (listener.on_lost) listener.on_lost(ev.partitions);
                else if (listener.on_revoked) listener.on_revoked(ev.partitions);  // Java's default for onPartitionsLost
            }
        } catch (...) {
            options_.connection.log.log(net::log_level::error, net::log_context::consumer,
                                        [] { return std::string("a rebalance callback threw; ignored"); });
        }
        lock.lock();
        if (ev.kind == rebalance_event_kind::revoked) drop_revoking();
    }
    if (revocation_pending_) {
        revocation_pending_ = false;
        lock.unlock();
        wake_group();
        lock.lock();
    }
}

void consumer_impl::drop_revoking() {
    std::erase_if(assigned_, [](const auto& entry) { return entry.second.revoking; });
}

void consumer_impl::lose_assignment(const char* why) {
    std::vector<topic_partition> lost;
    for (const auto& [tp, p] : assigned_) {
        lost.push_back(tp);
        drop_buffered(tp);
    }
    assigned_.clear();
    joined_ = false;
    generation_ = -1;
    if (!lost.empty()) {
        options_.connection.log.log(net::log_level::warn, net::log_context::consumer, [&] {
            return "group " + options_.group_id + ": lost " + std::to_string(lost.size()) + " partition(s): " + why;
        });
        events_.push_back(rebalance_event{rebalance_event_kind::lost, std::move(lost)});
        lost_unseen_ = true;
    }
    changed_.notify_all();
}

void consumer_impl::apply_assignment(const std::vector<topic_partition>& assigned, rebalance_protocol protocol) {
    std::vector<topic_partition> owned;
    for (const auto& [tp, p] : assigned_) owned.push_back(tp);
    const auto revoked = minus(owned, assigned);
    const auto added = minus(assigned, owned);
    for (const auto& tp : revoked) {
        drop_buffered(tp);
        if (protocol == rebalance_protocol::cooperative) {
            // Owned until poll() has run on_revoked (a commit there still
            // stores them); the follow-up join waits for that.
            auto& p = assigned_.at(tp);
            p.revoking = true;
            ++p.epoch;
        } else {
            assigned_.erase(tp);
        }
    }
    for (const auto& tp : added) assigned_.emplace(tp, consumer_partition{});
    if (!revoked.empty()) {
        events_.push_back(rebalance_event{rebalance_event_kind::revoked, revoked});
        // Incremental rebalancing: what was given up goes to its new owner
        // in a follow-up round.
        if (protocol == rebalance_protocol::cooperative) {
            rejoin_needed_ = true;
            revocation_pending_ = true;
        }
    }
    if (!added.empty() || protocol == rebalance_protocol::eager)
        events_.push_back(rebalance_event{rebalance_event_kind::assigned, added});
    options_.connection.log.log(net::log_level::info, net::log_context::consumer, [&] {
        return "group " + options_.group_id + " generation " + std::to_string(generation_) + ": " +
               std::to_string(assigned.size()) + " partition(s) assigned (" + std::to_string(added.size()) + " new, " +
               std::to_string(revoked.size()) + " revoked)";
    });
    changed_.notify_all();
}

asio::awaitable<void> consumer_impl::wait_for_revocation(std::shared_ptr<consumer_impl> self) {
    const auto deadline = clock::now() + self->options_.max_poll_interval;
    for (;;) {
        {
            std::lock_guard lock(self->mutex_);
            if (!self->revocation_pending_ || self->closed_) co_return;
        }
        if (clock::now() >= deadline) co_return;
        self->group_wake_->expires_after(std::chrono::milliseconds(100));
        co_await self->group_wake_->async_wait(no_throw);
    }
}

asio::awaitable<void> consumer_impl::group_loop(std::shared_ptr<consumer_impl> self) {
    const auto& o = self->options_;
    auto next_heartbeat = clock::now();
    auto next_metadata_check = clock::now() + o.metadata_max_age;
    self->next_auto_commit_ = clock::now() + o.auto_commit_interval;
    int failures = 0;
    for (;;) {
        bool subscribed = false, closed = false, need_join = false, member = false, timed_out = false;
        {
            std::lock_guard lock(self->mutex_);
            subscribed = self->subscribed_;
            closed = self->closed_;
            need_join = self->rejoin_needed_ || !self->joined_;
            member = self->joined_ || !self->member_id_.empty();
            timed_out = self->joined_ && clock::now() - self->last_poll_ > o.max_poll_interval;
        }
        if (!subscribed || timed_out) {
            if (member) {
                // A static member keeps its place across restarts: it does not leave.
                if (!o.group_instance_id || timed_out) {
                    const std::string reason =
                        closed ? "the consumer is closing" : timed_out ? "poll() not called within max.poll.interval.ms" : "unsubscribed";
                    co_await leave_group(self, reason);
                }
                std::lock_guard lock(self->mutex_);
                if (timed_out) {
                    self->lose_assignment("poll() not called within max.poll.interval.ms; the member left the group");
                    self->poll_timed_out_ = true;
                } else if (closed) {  // (unsubscribe() gave the partitions up already)
                    std::vector<topic_partition> revoked;
                    for (const auto& [tp, p] : self->assigned_) revoked.push_back(tp);
                    for (const auto& tp : revoked) self->drop_buffered(tp);
                    self->assigned_.clear();
                    if (!revoked.empty())
                        self->events_.push_back(rebalance_event{rebalance_event_kind::revoked, std::move(revoked)});
                }
                self->joined_ = false;
                self->generation_ = -1;
                self->member_id_.clear();
                self->changed_.notify_all();
            }
            if (closed) {
                std::lock_guard lock(self->mutex_);
                self->group_loop_running_ = false;
                self->changed_.notify_all();
                co_return;
            }
            // Idle until subscribed again (or, after a poll timeout, polled again).
            if (!self->group_woken_) {
                self->group_wake_->expires_after(std::chrono::seconds(1));
                co_await self->group_wake_->async_wait(no_throw);
            }
            self->group_woken_ = false;
            continue;
        }
        if (need_join) {
            bool waiting_for_poll = false;
            {
                std::lock_guard lock(self->mutex_);
                waiting_for_poll = self->poll_timed_out_;
            }
            if (waiting_for_poll) {
                // Left after a poll timeout: rejoin only once poll() runs again.
                self->group_wake_->expires_after(std::chrono::milliseconds(200));
                co_await self->group_wake_->async_wait(no_throw);
                self->group_woken_ = false;
                continue;
            }
            const std::error_code ec = co_await join_and_sync(self);
            if (ec) {
                const bool fatal = ec.category() == proto::kafka_category() && is_fatal_group_error(static_cast<kafka_errc>(ec.value()));
                if (fatal) {
                    std::lock_guard lock(self->mutex_);
                    self->fatal_ = ec;
                    self->lose_assignment("the group refused this member");
                    self->group_loop_running_ = self->subscribed_ = false;
                    self->changed_.notify_all();
                    o.connection.log.log(net::log_level::error, net::log_context::consumer,
                                         [&] { return "group " + o.group_id + ": " + ec.message(); });
                    co_return;
                }
                {
                    std::lock_guard lock(self->mutex_);
                    self->note_failure(ec);
                }
                ++failures;
                std::minstd_rand random(static_cast<unsigned>(failures));
                std::uniform_real_distribution<double> unit(0.0, 1.0);
                self->group_wake_->expires_after(net::backoff_delay({o.retry_backoff, o.retry_backoff_max, 0.2},
                                                                    failures, unit(random)));
                co_await self->group_wake_->async_wait(no_throw);
                self->group_woken_ = false;
                continue;
            }
            failures = 0;
            next_heartbeat = clock::now() + o.heartbeat_interval;
            self->run_fetchers();
            continue;
        }

        const auto now = clock::now();
        if (now >= next_metadata_check) {
            // Partitions added to a subscribed topic, or a subscribed topic
            // created since the last join, need a rebalance to be assigned.
            next_metadata_check = now + o.metadata_max_age;
            std::optional<std::vector<std::string>> topics;
            {
                std::lock_guard lock(self->mutex_);
                topics = self->subscription_;
            }
            auto [mec, snap] = co_await self->metadata_->async_refresh(std::move(topics), no_throw);
            if (!mec) {
                std::lock_guard lock(self->mutex_);
                const auto counts = partition_counts(*snap, self->subscription_);
                if (counts != self->joined_partition_counts_) {
                    o.connection.log.log(net::log_level::info, net::log_context::consumer, [&] {
                        return "group " + o.group_id + ": subscribed topics changed; rejoining";
                    });
                    self->rejoin_needed_ = true;
                }
            }
            continue;
        }
        if (now >= next_heartbeat) {
            next_heartbeat = now + o.heartbeat_interval;
            (void)co_await heartbeat(self);
            continue;
        }
        if (o.enable_auto_commit && now >= self->next_auto_commit_) {
            self->next_auto_commit_ = now + o.auto_commit_interval;
            std::map<topic_partition, offset_and_metadata> positions;
            {
                std::lock_guard lock(self->mutex_);
                positions = self->consumed_positions();
            }
            if (!positions.empty()) (void)co_await commit_offsets(self, std::move(positions));
            continue;
        }
        if (!self->group_woken_) {
            auto until = next_heartbeat;
            if (o.enable_auto_commit) until = std::min(until, self->next_auto_commit_);
            self->group_wake_->expires_at(until);
            co_await self->group_wake_->async_wait(no_throw);
        }
        self->group_woken_ = false;
    }
}

asio::awaitable<std::error_code> consumer_impl::join_and_sync(std::shared_ptr<consumer_impl> self) {
    using join_t = proto::join_group_request;
    using sync_t = proto::sync_group_request;
    const auto& o = self->options_;

    // The rebalance protocol is cooperative only when every assignor offered is.
    std::vector<std::unique_ptr<assignor>> assignors;
    rebalance_protocol protocol = rebalance_protocol::cooperative;
    for (const auto& name : o.assignment_strategies) {
        assignors.push_back(make_assignor(name));
        if (assignors.back()->protocol() == rebalance_protocol::eager) protocol = rebalance_protocol::eager;
    }

    auto [cec, coordinator] = co_await find_coordinator(self);
    if (cec) co_return cec;

    // Partitions revoked by the last (cooperative) round go once poll() has
    // run on_revoked for them.
    co_await wait_for_revocation(self);
    {
        std::lock_guard lock(self->mutex_);
        self->drop_revoking();
    }

    // Eager: give everything up first (commit, then the application's
    // on_revoked in poll()).
    std::vector<topic_partition> owned;
    std::int32_t owned_generation = -1;
    {
        std::lock_guard lock(self->mutex_);
        for (const auto& [tp, p] : self->assigned_) owned.push_back(tp);
        owned_generation = self->generation_;
    }
    if (protocol == rebalance_protocol::eager && !owned.empty()) {
        if (o.enable_auto_commit) {
            std::map<topic_partition, offset_and_metadata> positions;
            {
                std::lock_guard lock(self->mutex_);
                positions = self->consumed_positions();
            }
            (void)co_await commit_offsets(self, std::move(positions));
        }
        {
            // The partitions stay owned until poll() has run on_revoked: a
            // commit() of records polled before then still stores them, for
            // the generation that owns them.
            std::lock_guard lock(self->mutex_);
            for (const auto& tp : owned) {
                self->drop_buffered(tp);
                auto& p = self->assigned_.at(tp);
                p.revoking = true;
                ++p.epoch;  // fetches in flight are dropped
            }
            self->events_.push_back(rebalance_event{rebalance_event_kind::revoked, owned});
            self->revocation_pending_ = true;
            self->changed_.notify_all();
        }
        co_await wait_for_revocation(self);
        {
            // Gone now, whether or not poll() ran in time.
            std::lock_guard lock(self->mutex_);
            self->drop_revoking();
        }
        owned.clear();
    }

    for (int round = 0; round < 10; ++round) {
        std::vector<std::string> topics;
        std::string member_id;
        {
            std::lock_guard lock(self->mutex_);
            topics = self->subscription_;
            member_id = self->member_id_;
            if (!self->subscribed_) co_return make_error_code(client_errc::consumer_closed);
        }
        member_subscription mine;
        mine.topics = topics;
        mine.owned_partitions = protocol == rebalance_protocol::cooperative ? owned : std::vector<topic_partition>{};
        mine.generation = owned_generation;
        mine.rack = o.client_rack;

        auto build_join = [&](std::int16_t) {
            join_t req;
            req.group_id = o.group_id;
            req.session_timeout_ms = static_cast<std::int32_t>(o.session_timeout.count());
            req.rebalance_timeout_ms = static_cast<std::int32_t>(o.rebalance_timeout.count());
            req.member_id = member_id;
            req.group_instance_id = o.group_instance_id;
            req.protocol_type = "consumer";
            for (const auto& a : assignors) {
                member_subscription s = mine;
                s.user_data = a->subscription_user_data(s.owned_partitions);
                join_t::join_group_request_protocol p;
                p.name = std::string(a->name());
                p.metadata = encode_subscription(s);
                req.protocols.push_back(std::move(p));
            }
            return req;
        };
        // JoinGroup and SyncGroup may wait for every member to rejoin: up to the rebalance timeout.
        const auto rebalance_limit = o.rebalance_timeout + std::chrono::milliseconds(5000);
        auto joined = co_await rpc<join_t>(self, coordinator, net::traffic::group, join_t::max_version, build_join,
                                           rebalance_limit);
        if (joined.ec) {
            std::lock_guard lock(self->mutex_);
            self->coordinator_ = -1;
            co_return joined.ec;
        }
        const auto& jr = joined.response;
        const auto jcode = static_cast<kafka_errc>(jr.error_code);
        if (jr.error_code != 0) {
            std::lock_guard lock(self->mutex_);
            if (jcode == kafka_errc::member_id_required) {
                self->member_id_ = jr.member_id;  // KIP-394: join again with the id the broker chose
                continue;
            }
            if (jcode == kafka_errc::unknown_member_id || jcode == kafka_errc::illegal_generation) {
                self->member_id_.clear();
                continue;
            }
            if (jcode == kafka_errc::not_coordinator || jcode == kafka_errc::coordinator_not_available)
                self->coordinator_ = -1;
            co_return proto::kafka_error(jr.error_code);
        }
        const bool leader = jr.leader == jr.member_id;
        const std::string protocol_name = jr.protocol_name.value_or("");
        {
            std::lock_guard lock(self->mutex_);
            self->member_id_ = jr.member_id;
            self->generation_ = jr.generation_id;
            self->protocol_name_ = protocol_name;
        }
        o.connection.log.log(net::log_level::debug, net::log_context::consumer, [&] {
            return "group " + o.group_id + ": joined generation " + std::to_string(jr.generation_id) + " as " +
                   (leader ? "leader" : "follower") + " (" + protocol_name + ", " + std::to_string(jr.members.size()) +
                   " member(s))";
        });

        // The leader assigns.
        std::vector<sync_t::sync_group_request_assignment> assignments;
        if (leader && !jr.skip_assignment) {
            auto chosen = make_assignor(protocol_name);
            if (!chosen) co_return make_error_code(kafka_errc::inconsistent_group_protocol);
            std::vector<member_subscription> members;
            std::vector<std::string> all_topics;
            for (const auto& m : jr.members) {
                member_subscription s;
                if (decode_subscription(m.metadata, s)) continue;  // an unreadable member gets nothing
                s.member_id = m.member_id;
                s.group_instance_id = m.group_instance_id;
                for (const auto& t : s.topics)
                    if (std::find(all_topics.begin(), all_topics.end(), t) == all_topics.end()) all_topics.push_back(t);
                members.push_back(std::move(s));
            }
            std::optional<std::vector<std::string>> wanted(all_topics);
            auto [mec, snap] = co_await self->metadata_->async_refresh(std::move(wanted), no_throw);
            if (mec) co_return mec;
            std::map<std::string, std::int32_t> partitions_per_topic;
            for (const auto& t : all_topics) {
                const topic_metadata* tm = snap->topic(t);
                if (tm && !tm->error && !tm->partitions.empty())
                    partitions_per_topic[t] = static_cast<std::int32_t>(tm->partitions.size());
            }
            const group_assignment result = chosen->assign(partitions_per_topic, members);
            for (const auto& m : jr.members) {
                sync_t::sync_group_request_assignment a;
                a.member_id = m.member_id;
                auto it = result.find(m.member_id);
                const std::vector<topic_partition> none;
                a.assignment = encode_assignment(it == result.end() ? none : it->second);
                assignments.push_back(std::move(a));
            }
        }
        auto build_sync = [&](std::int16_t) {
            sync_t req;
            req.group_id = o.group_id;
            req.generation_id = jr.generation_id;
            req.member_id = jr.member_id;
            req.group_instance_id = o.group_instance_id;
            req.protocol_type = "consumer";
            req.protocol_name = protocol_name;
            req.assignments = assignments;
            return req;
        };
        auto synced = co_await rpc<sync_t>(self, coordinator, net::traffic::group, sync_t::max_version, build_sync,
                                           rebalance_limit);
        if (synced.ec) {
            std::lock_guard lock(self->mutex_);
            self->coordinator_ = -1;
            co_return synced.ec;
        }
        const auto scode = static_cast<kafka_errc>(synced.response.error_code);
        if (synced.response.error_code != 0) {
            std::lock_guard lock(self->mutex_);
            if (scode == kafka_errc::rebalance_in_progress) continue;
            if (scode == kafka_errc::unknown_member_id || scode == kafka_errc::illegal_generation) {
                if (scode == kafka_errc::unknown_member_id) self->member_id_.clear();
                continue;
            }
            if (scode == kafka_errc::not_coordinator || scode == kafka_errc::coordinator_not_available)
                self->coordinator_ = -1;
            co_return proto::kafka_error(synced.response.error_code);
        }
        std::vector<topic_partition> mine_now;
        if (auto dec = decode_assignment(synced.response.assignment, mine_now)) co_return dec;
        std::sort(mine_now.begin(), mine_now.end());

        // Cooperative: commit what is given up before it goes.
        if (protocol == rebalance_protocol::cooperative && o.enable_auto_commit) {
            std::map<topic_partition, offset_and_metadata> positions;
            {
                std::lock_guard lock(self->mutex_);
                for (auto& [tp, om] : self->consumed_positions())
                    if (!std::binary_search(mine_now.begin(), mine_now.end(), tp)) positions[tp] = om;
            }
            if (!positions.empty()) (void)co_await commit_offsets(self, std::move(positions));
        }
        // What the subscribed topics look like now, to notice changes later.
        std::optional<std::vector<std::string>> subscribed_topics(topics);
        auto [mec, snap] = co_await self->metadata_->async_refresh(std::move(subscribed_topics), no_throw);
        std::lock_guard lock(self->mutex_);
        self->joined_ = true;
        self->rejoin_needed_ = false;
        self->joined_partition_counts_ = partition_counts(mec ? *self->metadata_->current() : *snap, topics);
        self->apply_assignment(mine_now, protocol);
        co_return std::error_code{};
    }
    co_return make_error_code(kafka_errc::rebalance_in_progress);
}

asio::awaitable<std::error_code> consumer_impl::heartbeat(std::shared_ptr<consumer_impl> self) {
    using request_t = proto::heartbeat_request;
    const auto& o = self->options_;
    std::int32_t coordinator = -1, generation = -1;
    std::string member;
    {
        std::lock_guard lock(self->mutex_);
        coordinator = self->coordinator_;
        generation = self->generation_;
        member = self->member_id_;
    }
    if (coordinator < 0) {
        auto [cec, node] = co_await find_coordinator(self);
        if (cec) co_return cec;
        coordinator = node;
    }
    auto build = [&](std::int16_t) {
        request_t req;
        req.group_id = o.group_id;
        req.generation_id = generation;
        req.member_id = member;
        req.group_instance_id = o.group_instance_id;
        return req;
    };
    auto r = co_await rpc<request_t>(self, coordinator, net::traffic::group, request_t::max_version, build);
    std::lock_guard lock(self->mutex_);
    if (r.ec) {
        self->coordinator_ = -1;
        co_return r.ec;
    }
    if (r.response.error_code == 0) co_return std::error_code{};
    const auto code = static_cast<kafka_errc>(r.response.error_code);
    const std::error_code ec = proto::kafka_error(r.response.error_code);
    switch (code) {
    case kafka_errc::rebalance_in_progress:
        self->rejoin_needed_ = true;
        break;
    case kafka_errc::illegal_generation:
        self->lose_assignment("the group moved to a new generation without this member");
        self->rejoin_needed_ = true;
        break;
    case kafka_errc::unknown_member_id:
        self->lose_assignment("the group no longer knows this member (session expired)");
        self->member_id_.clear();
        self->rejoin_needed_ = true;
        break;
    case kafka_errc::fenced_instance_id:
        self->fatal_ = ec;
        self->lose_assignment("another consumer uses this group.instance.id");
        break;
    case kafka_errc::not_coordinator:
    case kafka_errc::coordinator_not_available:
        self->coordinator_ = -1;
        break;
    default:
        break;
    }
    co_return ec;
}

asio::awaitable<void> consumer_impl::leave_group(std::shared_ptr<consumer_impl> self, std::string reason) {
    using request_t = proto::leave_group_request;
    const auto& o = self->options_;
    std::int32_t coordinator = -1;
    std::string member;
    {
        std::lock_guard lock(self->mutex_);
        coordinator = self->coordinator_;
        member = self->member_id_;
    }
    if (member.empty() || coordinator < 0) co_return;
    auto build = [&](std::int16_t version) {
        request_t req;
        req.group_id = o.group_id;
        if (version >= 3) {
            request_t::member_identity m;
            m.member_id = member;
            m.group_instance_id = o.group_instance_id;
            m.reason = reason;
            req.members.push_back(std::move(m));
        } else {
            req.member_id = member;
        }
        return req;
    };
    auto r = co_await rpc<request_t>(self, coordinator, net::traffic::group, request_t::max_version, build);
    o.connection.log.log(net::log_level::info, net::log_context::consumer, [&] {
        return "group " + o.group_id + ": left (" + reason + ")" +
               (r.ec ? ", LeaveGroup failed: " + r.ec.message() : std::string());
    });
}

} // namespace kwire
