// Positions and commits: where fetching starts (the committed offset, else
// auto.offset.reset through ListOffsets), OffsetFetch and OffsetCommit at the
// group coordinator, and timestamp lookups.
#include "consumer_impl.hpp"
#include "shared_requests.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/heartbeat.hpp"
#include "kwire/proto/messages/join_group.hpp"
#include "kwire/proto/messages/leave_group.hpp"
#include "kwire/proto/messages/list_offsets.hpp"
#include "kwire/proto/messages/offset_commit.hpp"
#include "kwire/proto/messages/sync_group.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

namespace kwire {
namespace {

using consumer_detail::no_throw;
using proto::kafka_errc;

// OffsetCommit names topics; v10 (topic ids) is not used.
constexpr std::int16_t commit_by_name = 9;

bool coordinator_moved(kafka_errc e) {
    return e == kafka_errc::not_coordinator || e == kafka_errc::coordinator_not_available;
}

} // namespace

std::int16_t consumer_impl::oldest_version_for(std::int16_t api_key) const {
    const bool static_member = options_.group_instance_id.has_value();
    const bool read_committed = options_.isolation == isolation_level::read_committed;
    switch (api_key) {
    case proto::join_group_request::api_key: return static_member ? 5 : 0;
    case proto::sync_group_request::api_key: return static_member ? 3 : 0;
    case proto::heartbeat_request::api_key: return static_member ? 3 : 0;
    case proto::leave_group_request::api_key: return static_member ? 3 : 0;
    case proto::offset_commit_request::api_key: return static_member ? 7 : 0;
    case proto::list_offsets_request::api_key: return read_committed ? 2 : 0;
    default: return 0;
    }
}

void consumer_impl::note_failure(const std::error_code& ec) {
    if (!net::is_configuration_failure(ec)) return;  // others are retried quietly (and logged)
    configuration_error_ = ec;
    changed_.notify_all();
}

void consumer_impl::note_partition_failure(consumer_partition& p, const topic_partition& tp, const std::error_code& ec) {
    // A broker's answer that retrying will not change (e.g. not authorized):
    // poll() reports it for this partition.
    if (!ec || ec.category() != proto::kafka_category() || proto::is_retriable(ec)) return;
    p.error = ec;
    p.error_detail = tp.to_string() + ": " + ec.message();
}

std::map<topic_partition, offset_and_metadata> consumer_impl::consumed_positions() const {
    std::map<topic_partition, offset_and_metadata> out;
    for (const auto& [tp, p] : assigned_)
        if (p.position && p.need == consumer_partition::need::none) out[tp] = offset_and_metadata{*p.position, p.leader_epoch, ""};
    return out;
}

void consumer_impl::resolve_positions() {
    std::vector<topic_partition> committed;
    std::vector<std::pair<topic_partition, offset_reset>> resets;
    for (auto& [tp, p] : assigned_) {
        if (p.position || p.lookup_in_flight || p.error || p.revoking) continue;
        if (p.need == consumer_partition::need::committed && options_.group_id.empty()) {
            p.need = consumer_partition::need::reset;
            p.reset_to = options_.auto_offset_reset;
        }
        if (p.need == consumer_partition::need::committed) {
            committed.push_back(tp);
        } else if (p.need == consumer_partition::need::reset) {
            if (p.reset_to == offset_reset::none) {
                p.error = make_error_code(client_errc::no_offset);
                p.error_detail = tp.to_string() + ": no committed offset and auto.offset.reset=none";
                continue;
            }
            resets.emplace_back(tp, p.reset_to);
        } else {
            continue;
        }
        p.lookup_in_flight = true;
    }
    // Started after the mutex is released (co_spawn may run them inline).
    auto self = shared_from_this();
    if (!committed.empty())
        asio::post(pool_->get_executor(), [self, parts = std::move(committed)]() mutable {
            asio::co_spawn(self->pool_->get_executor(), lookup_committed(self, std::move(parts)), asio::detached);
        });
    if (!resets.empty())
        asio::post(pool_->get_executor(), [self, parts = std::move(resets)]() mutable {
            asio::co_spawn(self->pool_->get_executor(), lookup_reset(self, std::move(parts)), asio::detached);
        });
}

asio::awaitable<void> consumer_impl::lookup_committed(std::shared_ptr<consumer_impl> self, std::vector<topic_partition> parts) {
    auto [ec, found] = co_await fetch_committed(self, parts);
    {
        std::lock_guard lock(self->mutex_);
        for (const auto& tp : parts) {
            auto it = self->assigned_.find(tp);
            if (it == self->assigned_.end()) continue;
            consumer_partition& p = it->second;
            p.lookup_in_flight = false;
            if (p.position || p.need != consumer_partition::need::committed) continue;  // sought meanwhile
            if (ec) {
                self->note_partition_failure(p, tp, ec);
                continue;  // tried again on the next round
            }
            auto f = found.find(tp);
            if (f != found.end() && f->second.offset >= 0) {
                p.position = f->second.offset;
                p.leader_epoch = f->second.leader_epoch;
                p.need = consumer_partition::need::none;
            } else {
                p.need = consumer_partition::need::reset;
                p.reset_to = self->options_.auto_offset_reset;
            }
        }
        if (ec) {
            self->note_failure(ec);
            self->options_.connection.log.log(net::log_level::warn, net::log_context::consumer,
                                              [&] { return "committed offsets lookup failed: " + ec.message(); });
            self->arm_timer(clock::now() + self->options_.retry_backoff);
        }
        self->changed_.notify_all();
    }
    if (!ec) self->run_fetchers();
}

asio::awaitable<void> consumer_impl::lookup_reset(std::shared_ptr<consumer_impl> self,
                                                  std::vector<std::pair<topic_partition, offset_reset>> parts) {
    std::map<topic_partition, std::int64_t> query;
    for (const auto& [tp, where] : parts) query[tp] = where == offset_reset::earliest ? -2 : -1;
    auto [ec, found] = co_await list_offsets(self, query);
    {
        std::lock_guard lock(self->mutex_);
        for (const auto& [tp, where] : parts) {
            auto it = self->assigned_.find(tp);
            if (it == self->assigned_.end()) continue;
            consumer_partition& p = it->second;
            p.lookup_in_flight = false;
            if (p.position || p.need != consumer_partition::need::reset) continue;
            auto f = found.find(tp);
            if (f == found.end() || f->second.first < 0) {
                self->note_partition_failure(p, tp, ec);
                continue;  // tried again on the next round
            }
            p.position = f->second.first;
            p.leader_epoch.reset();
            p.need = consumer_partition::need::none;
            self->options_.connection.log.log(net::log_level::debug, net::log_context::consumer, [&] {
                return tp.to_string() + ": starting at offset " + std::to_string(*p.position) +
                       (where == offset_reset::earliest ? " (earliest)" : " (latest)");
            });
        }
        if (ec) {
            self->note_failure(ec);
            self->arm_timer(clock::now() + self->options_.retry_backoff);
        }
        self->changed_.notify_all();
    }
    if (!ec) self->run_fetchers();
}

net::result_awaitable<std::map<topic_partition, std::pair<std::int64_t, std::int32_t>>> consumer_impl::list_offsets(
    std::shared_ptr<consumer_impl> self, std::map<topic_partition, std::int64_t> timestamps) {
    using request_t = proto::list_offsets_request;
    std::map<topic_partition, std::pair<std::int64_t, std::int32_t>> out;
    std::error_code last;
    for (int attempt = 0; attempt < 5 && out.size() < timestamps.size(); ++attempt) {
        if (attempt > 0) {
            asio::steady_timer pause(self->pool_->get_executor(), self->options_.retry_backoff);
            co_await pause.async_wait(no_throw);
        }
        // Leaders from metadata (refreshed for topics it does not know).
        auto snap = self->metadata_->current();
        std::vector<std::string> unknown;
        for (const auto& [tp, ts] : timestamps)
            if (!snap->topic(tp.topic) && (unknown.empty() || unknown.back() != tp.topic)) unknown.push_back(tp.topic);
        if (!unknown.empty() || attempt > 0) {
            std::optional<std::vector<std::string>> topics(std::in_place);
            for (const auto& [tp, ts] : timestamps)
                if (topics->empty() || topics->back() != tp.topic) topics->push_back(tp.topic);
            auto [mec, fresh] = co_await self->metadata_->async_refresh(std::move(topics), no_throw);
            if (mec) {
                last = mec;
                if (net::is_configuration_failure(last)) break;  // retrying cannot help
                continue;
            }
            snap = fresh;
        }
        std::map<std::int32_t, std::map<topic_partition, std::int64_t>> by_leader;
        for (const auto& [tp, ts] : timestamps) {
            if (out.count(tp)) continue;
            const topic_metadata* tm = snap->topic(tp.topic);
            if (!tm || tm->error) {
                last = tm ? tm->error : make_error_code(kafka_errc::unknown_topic_or_partition);
                continue;
            }
            if (tp.partition < 0 || static_cast<std::size_t>(tp.partition) >= tm->partitions.size()) {
                last = make_error_code(kafka_errc::unknown_topic_or_partition);
                continue;
            }
            const std::int32_t leader = tm->partitions[static_cast<std::size_t>(tp.partition)].leader;
            if (leader >= 0) by_leader[leader][tp] = ts;
        }
        for (const auto& [leader, query] : by_leader) {
            const std::int8_t isolation = self->options_.isolation == isolation_level::read_committed ? 1 : 0;
            auto build = [&query, isolation](std::int16_t) {
                return client_detail::make_list_offsets_request(query, isolation, 30000);
            };
            auto r = co_await rpc<request_t>(self, leader, net::traffic::metadata, request_t::max_version, build);
            if (r.ec) {
                last = r.ec;
                if (net::is_configuration_failure(last)) break;  // retrying cannot help
                continue;
            }
            for (const auto& t : r.response.topics) {
                for (const auto& p : t.partitions) {
                    const topic_partition tp{t.name, p.partition_index};
                    if (p.error_code != 0) {
                        last = proto::kafka_error(p.error_code);
                        continue;
                    }
                    out[tp] = {p.offset, p.leader_epoch};
                }
            }
        }
    }
    co_return std::pair{out.size() == timestamps.size() ? std::error_code{} : last, out};
}

net::result_awaitable<std::int32_t> consumer_impl::find_coordinator(std::shared_ptr<consumer_impl> self) {
    using request_t = proto::find_coordinator_request;
    {
        std::lock_guard lock(self->mutex_);
        if (self->coordinator_ >= 0) co_return std::pair{std::error_code{}, self->coordinator_};
    }
    const std::string group = self->options_.group_id;
    auto build = [&group](std::int16_t version) { return client_detail::make_find_coordinator_request(group, version); };
    // Any broker can answer, but not a bootstrap address that is down:
    // metadata (which walks the bootstrap list) names the live brokers first.
    if (self->metadata_->current()->brokers.empty()) {
        std::optional<std::vector<std::string>> no_topics(std::in_place);
        auto [mec, snap] = co_await self->metadata_->async_refresh(std::move(no_topics), no_throw);
        if (mec) co_return std::pair{mec, std::int32_t(-1)};
    }
    auto brokers = client_detail::brokers_in_turn(*self->metadata_->current(), self->next_coordinator_query_++);
    auto ask = [&](std::int32_t broker) {
        return rpc<request_t>(self, broker, net::traffic::metadata, request_t::max_version, build);
    };
    auto r = co_await client_detail::first_answer<consumer_detail::rpc_result<request_t::response_type>>(
        std::move(brokers), ask);
    if (r.ec) co_return std::pair{r.ec, std::int32_t(-1)};
    const auto c = client_detail::read_coordinator(r.response, r.version);
    if (c.ec) co_return std::pair{c.ec, std::int32_t(-1)};
    self->pool_->set_address(c.node, c.host, std::to_string(c.port));
    {
        std::lock_guard lock(self->mutex_);
        self->coordinator_ = c.node;
    }
    self->options_.connection.log.log(net::log_level::debug, net::log_context::consumer, [&] {
        return "group " + group + ": coordinator is broker " + std::to_string(c.node) + " (" + c.host + ":" +
               std::to_string(c.port) + ")";
    });
    co_return std::pair{std::error_code{}, c.node};
}

net::result_awaitable<std::map<topic_partition, offset_and_metadata>> consumer_impl::fetch_committed(
    std::shared_ptr<consumer_impl> self, std::vector<topic_partition> parts) {
    using request_t = proto::offset_fetch_request;
    std::map<topic_partition, offset_and_metadata> out;
    if (self->options_.group_id.empty()) co_return std::pair{make_error_code(client_errc::no_group), out};
    std::sort(parts.begin(), parts.end());
    const std::optional<std::vector<topic_partition>> asked(parts);
    std::error_code last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt > 0) {
            asio::steady_timer pause(self->pool_->get_executor(), self->options_.retry_backoff);
            co_await pause.async_wait(no_throw);
        }
        auto [cec, coordinator] = co_await find_coordinator(self);
        if (cec) {
            last = cec;
            if (net::is_configuration_failure(last)) break;  // retrying cannot help
            continue;
        }
        const std::string group = self->options_.group_id;
        // (v7+: wait for pending transactional offsets)
        auto build = [&](std::int16_t version) {
            return client_detail::make_offset_fetch_request(group, asked, version, true);
        };
        auto r = co_await rpc<request_t>(self, coordinator, net::traffic::group, client_detail::offset_fetch_by_name,
                                         build);
        if (r.ec) {
            last = r.ec;
            std::lock_guard lock(self->mutex_);
            self->coordinator_ = -1;
            if (net::is_configuration_failure(last)) break;  // retrying cannot help
            continue;
        }
        bool retry = false;
        auto note = [&](std::int16_t code) {
            if (code == 0) return false;
            last = proto::kafka_error(code);
            const auto e = static_cast<kafka_errc>(code);
            if (coordinator_moved(e)) {
                std::lock_guard lock(self->mutex_);
                self->coordinator_ = -1;
            }
            if (proto::is_retriable(last)) retry = true;
            return true;
        };
        if (note(client_detail::offset_fetch_error(r.response, r.version))) {
            if (retry) continue;
            break;
        }
        out.clear();
        client_detail::for_each_committed(r.response, r.version,
                                          [&](const topic_partition& tp, std::int16_t error, offset_and_metadata om) {
                                              if (!note(error)) out[tp] = std::move(om);
                                          });
        if (retry) continue;
        co_return std::pair{out.size() == parts.size() ? std::error_code{} : last, out};
    }
    co_return std::pair{last ? last : make_error_code(net::errc::request_timeout), out};
}

net::result_awaitable<bool> consumer_impl::commit_offsets(std::shared_ptr<consumer_impl> self,
                                                          std::map<topic_partition, offset_and_metadata> offsets) {
    using request_t = proto::offset_commit_request;
    if (self->options_.group_id.empty()) co_return std::pair{make_error_code(client_errc::no_group), false};
    if (offsets.empty()) co_return std::pair{std::error_code{}, true};
    std::error_code last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt > 0) {
            asio::steady_timer pause(self->pool_->get_executor(), self->options_.retry_backoff);
            co_await pause.async_wait(no_throw);
        }
        auto [cec, coordinator] = co_await find_coordinator(self);
        if (cec) {
            last = cec;
            if (net::is_configuration_failure(last)) break;  // retrying cannot help
            continue;
        }
        std::int32_t generation = -1;
        std::string member;
        {
            // A member commits for its generation; the broker refuses the
            // commit if that generation no longer owns the partitions.
            std::lock_guard lock(self->mutex_);
            if (self->subscribed_ && self->joined_) {
                generation = self->generation_;
                member = self->member_id_;
            }
        }
        const std::string group = self->options_.group_id;
        const auto instance = self->options_.group_instance_id;
        auto build = [&](std::int16_t version) {
            request_t req;
            req.group_id = group;
            req.generation_id_or_member_epoch = generation;
            req.member_id = member;
            if (version >= 7 && !member.empty()) req.group_instance_id = instance;
            for (const auto& [tp, om] : offsets) {
                request_t::offset_commit_request_partition p;
                p.partition_index = tp.partition;
                p.committed_offset = om.offset;
                p.committed_leader_epoch = om.leader_epoch.value_or(-1);
                p.committed_metadata = om.metadata;
                client_detail::topic_entry(req.topics, tp.topic).partitions.push_back(std::move(p));
            }
            return req;
        };
        auto r = co_await rpc<request_t>(self, coordinator, net::traffic::group, commit_by_name, build);
        if (r.ec) {
            last = r.ec;
            std::lock_guard lock(self->mutex_);
            self->coordinator_ = -1;
            if (net::is_configuration_failure(last)) break;  // retrying cannot help
            continue;
        }
        std::error_code first;
        bool retry = false;
        for (const auto& t : r.response.topics)
            for (const auto& p : t.partitions) {
                if (p.error_code == 0 || first) continue;
                first = proto::kafka_error(p.error_code);
                const auto e = static_cast<kafka_errc>(p.error_code);
                if (coordinator_moved(e)) {
                    std::lock_guard lock(self->mutex_);
                    self->coordinator_ = -1;
                    retry = true;
                } else if (e == kafka_errc::illegal_generation || e == kafka_errc::unknown_member_id ||
                           e == kafka_errc::rebalance_in_progress || e == kafka_errc::fenced_instance_id) {
                    // Not retried: the partitions may have moved on. The group rejoins.
                    std::lock_guard lock(self->mutex_);
                    if (e != kafka_errc::rebalance_in_progress) self->rejoin_needed_ = true;
                } else if (proto::is_retriable(first)) {
                    retry = true;
                }
            }
        if (!first) {
            self->options_.connection.log.log(net::log_level::debug, net::log_context::consumer, [&] {
                return "committed " + std::to_string(offsets.size()) + " offset(s) for group " + group +
                       (generation >= 0 ? " in generation " + std::to_string(generation) : std::string());
            });
            co_return std::pair{std::error_code{}, true};
        }
        last = first;
        self->options_.connection.log.log(net::log_level::warn, net::log_context::consumer,
                                          [&] { return "commit for group " + group + " failed: " + first.message(); });
        if (!retry) break;
    }
    co_return std::pair{last, false};
}

} // namespace kwire
