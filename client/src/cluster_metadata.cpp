#include "kwire/cluster_metadata.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/metadata.hpp"
#include "kwire/proto/metadata_query.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

namespace kwire {
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

} // namespace

cluster_metadata::cluster_metadata(private_tag, std::shared_ptr<net::broker_pool> pool,
                                   std::vector<std::pair<std::string, std::string>> bootstrap)
    : pool_(std::move(pool)), current_(std::make_shared<cluster_snapshot>()), fetch_done_(pool_->get_executor()) {
    std::int32_t id = net::broker_pool::bootstrap_node;
    for (auto& [host, port] : bootstrap) {
        pool_->set_address(id, host, port);
        bootstrap_ids_.push_back(id--);
    }
}

cluster_metadata::snapshot_ptr cluster_metadata::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::string cluster_metadata::last_failure() const {
    std::lock_guard lock(mutex_);
    return last_failure_;
}

std::vector<std::int32_t> cluster_metadata::candidates() const {
    // Known brokers first, starting at a different one each time so that one
    // slow broker does not take every refresh; the bootstrap list last.
    std::vector<std::int32_t> ids;
    const auto snap = current();
    for (const auto& [id, b] : snap->brokers) ids.push_back(id);
    if (!ids.empty()) std::rotate(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(next_candidate_ % ids.size()), ids.end());
    ids.insert(ids.end(), bootstrap_ids_.begin(), bootstrap_ids_.end());
    return ids;
}

net::result_awaitable<cluster_metadata::snapshot_ptr> cluster_metadata::refresh(
    std::shared_ptr<cluster_metadata> self, std::optional<std::vector<std::string>> topics) {
    if (!topics) self->want_all_ = true;
    else self->wanted_.insert(topics->begin(), topics->end());
    // The first fetch to start from now on covers this request.
    const std::uint64_t mine = self->generation_started_ + 1;
    while (self->generation_done_ < mine) {
        if (self->fetching_) {
            // Another refresh is fetching: its end cancels the wait.
            co_await self->fetch_done_.async_wait(no_throw);
            continue;
        }
        self->fetching_ = true;
        self->fetch_done_.expires_at(asio::steady_timer::time_point::max());
        ++self->generation_started_;
        const bool all = self->want_all_;
        std::vector<std::string> list(self->wanted_.begin(), self->wanted_.end());
        self->want_all_ = false;
        self->wanted_.clear();
        auto [ec, snap] = co_await fetch_once(self, all, std::move(list));
        self->last_error_ = ec;
        self->fetching_ = false;
        ++self->generation_done_;
        self->fetch_done_.cancel();
    }
    co_return std::pair{self->last_error_, self->current()};
}

net::result_awaitable<cluster_metadata::snapshot_ptr> cluster_metadata::fetch_once(
    std::shared_ptr<cluster_metadata> self, bool all_topics, std::vector<std::string> topics) {
    using request_t = proto::metadata_request;
    std::vector<std::string> failures;
    std::error_code last = make_error_code(net::errc::connect_failed);
    const auto ids = self->candidates();
    ++self->next_candidate_;
    for (const std::int32_t id : ids) {
        auto [ec, ready] = co_await self->pool_->async_get(id, net::traffic::metadata, no_throw);
        if (ec) {
            last = ec;
            failures.push_back(ready.failure.empty() ? ec.message() : ready.failure);
            continue;
        }
        const auto version = ready.versions.choose(request_t::api_key, {request_t::min_version, request_t::max_version});
        if (!version) {
            failures.push_back("broker " + ready.conn->peer() + ": no Metadata version in common");
            continue;
        }
        const request_t req =
            proto::make_metadata_request(all_topics ? std::nullopt : std::optional(topics), *version,
                                         self->allow_auto_create_ && !all_topics);
        auto [mec, resp] = co_await ready.conn->async_send(req, *version, no_throw);
        if (mec) {
            last = mec;
            failures.push_back(ready.conn->failure().empty()
                                   ? "broker " + ready.conn->peer() + ": Metadata failed: " + mec.message()
                                   : ready.conn->failure());
            continue;
        }

        auto snap = std::make_shared<cluster_snapshot>();
        const auto previous = self->current();
        if (!all_topics) snap->topics = previous->topics;  // a partial refresh keeps the other topics
        snap->cluster_id = resp.cluster_id;
        snap->controller_id = resp.controller_id;
        for (const auto& b : resp.brokers) {
            snap->brokers[b.node_id] = broker_metadata{b.node_id, b.host, b.port, b.rack};
            self->pool_->set_address(b.node_id, b.host, std::to_string(b.port));
        }
        for (const auto& t : resp.topics) {
            topic_metadata tm;
            tm.name = t.name.value_or("");
            tm.id = t.topic_id;
            tm.internal = t.is_internal;
            tm.error = proto::kafka_error(t.error_code);
            for (const auto& p : t.partitions) {
                tm.partitions.push_back(partition_metadata{p.partition_index, p.leader_id, p.leader_epoch,
                                                           p.replica_nodes, p.isr_nodes,
                                                           proto::kafka_error(p.error_code)});
            }
            std::sort(tm.partitions.begin(), tm.partitions.end(),
                      [](const auto& a, const auto& b) { return a.partition < b.partition; });
            snap->topics[tm.name] = std::move(tm);
        }
        snap->fetched_at = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(self->mutex_);
            self->current_ = std::move(snap);
            self->last_failure_.clear();
        }
        co_return std::pair{std::error_code{}, self->current()};
    }
    std::string joined;
    for (std::size_t i = 0; i < failures.size(); ++i) joined += (i ? "; " : "") + failures[i];
    {
        std::lock_guard lock(self->mutex_);
        self->last_failure_ = std::move(joined);
    }
    co_return std::pair{last, self->current()};
}

} // namespace kwire
