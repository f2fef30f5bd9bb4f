// What the client knows of the cluster: brokers, topics, partitions and their
// leaders, refreshed from any reachable broker and handed out as immutable
// snapshots. Broker addresses learnt here feed the broker pool.
//
// Refreshes coalesce: while one is under way, further requests wait for the
// next one, which asks for every topic any of them wanted.
#pragma once

#include "kwire/net/broker_pool.hpp"
#include "kwire/proto/uuid.hpp"

#include <asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace kwire {

struct partition_metadata {
    std::int32_t partition = 0;
    std::int32_t leader = -1;
    std::int32_t leader_epoch = -1;
    std::vector<std::int32_t> replicas;
    std::vector<std::int32_t> isr;
    std::error_code error;
};

struct topic_metadata {
    std::string name;
    proto::uuid id;
    bool internal = false;
    std::error_code error;  // e.g. unknown_topic_or_partition
    std::vector<partition_metadata> partitions;  // ordered by partition id
};

struct broker_metadata {
    std::int32_t node_id = -1;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
};

struct cluster_snapshot {
    std::optional<std::string> cluster_id;
    std::int32_t controller_id = -1;
    std::map<std::int32_t, broker_metadata> brokers;
    std::map<std::string, topic_metadata, std::less<>> topics;
    std::chrono::steady_clock::time_point fetched_at{};

    const topic_metadata* topic(std::string_view name) const {
        auto it = topics.find(name);
        return it == topics.end() ? nullptr : &it->second;
    }
};

class cluster_metadata : public std::enable_shared_from_this<cluster_metadata> {
    struct private_tag {};

public:
    using snapshot_ptr = std::shared_ptr<const cluster_snapshot>;

    // `bootstrap` is the bootstrap.servers list; its addresses are registered
    // in the pool as node ids -1, -2, ... until real broker ids are known.
    static std::shared_ptr<cluster_metadata> create(std::shared_ptr<net::broker_pool> pool,
                                                    std::vector<std::pair<std::string, std::string>> bootstrap) {
        return std::make_shared<cluster_metadata>(private_tag{}, std::move(pool), std::move(bootstrap));
    }
    cluster_metadata(private_tag, std::shared_ptr<net::broker_pool> pool,
                     std::vector<std::pair<std::string, std::string>> bootstrap);

    // The newest snapshot (empty before the first refresh).
    snapshot_ptr current() const;

    // Refreshes metadata for `topics` (std::nullopt: every topic). Completion:
    // void(std::error_code, snapshot_ptr). Fails only when no broker answers;
    // per-topic errors are in the snapshot. The error's detail (which broker,
    // which step) is in last_failure().
    template <class Token>
    auto async_refresh(std::optional<std::vector<std::string>> topics, Token&& token) {
        return net::async_spawn<snapshot_ptr>(pool_->get_executor(), refresh(shared_from_this(), std::move(topics)),
                                              std::forward<Token>(token));
    }

    std::string last_failure() const;

    // Whether refreshes ask the broker to create missing topics (producers'
    // allow.auto.create.topics). Off by default.
    void set_allow_auto_create(bool allow) noexcept { allow_auto_create_ = allow; }

private:
    static net::result_awaitable<snapshot_ptr> refresh(std::shared_ptr<cluster_metadata> self,
                                                       std::optional<std::vector<std::string>> topics);
    static net::result_awaitable<snapshot_ptr> fetch_once(std::shared_ptr<cluster_metadata> self, bool all_topics,
                                                          std::vector<std::string> topics);
    std::vector<std::int32_t> candidates() const;

    std::shared_ptr<net::broker_pool> pool_;
    std::vector<std::int32_t> bootstrap_ids_;
    mutable std::mutex mutex_;  // guards current_ and last_failure_, read from any thread
    snapshot_ptr current_;
    std::string last_failure_;
    asio::steady_timer fetch_done_;  // cancelled when a fetch ends, waking waiters
    // Coalescing state (touched only on the pool's strand).
    bool fetching_ = false;
    bool want_all_ = false;
    std::set<std::string> wanted_;
    std::uint64_t generation_started_ = 0;
    std::uint64_t generation_done_ = 0;
    std::error_code last_error_;
    std::size_t next_candidate_ = 0;
    bool allow_auto_create_ = false;
};

} // namespace kwire
