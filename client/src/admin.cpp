// kwire::admin: the public face, the shared machinery (metadata, retries) and
// the topic calls: CreateTopics and DeleteTopics at the controller, Metadata
// for listings and descriptions, DescribeConfigs for topic configs.
#include "admin_impl.hpp"

#include "kwire/connection_config.hpp"
#include "kwire/proto/messages/create_topics.hpp"
#include "kwire/proto/messages/delete_topics.hpp"
#include "kwire/proto/topic_deletion.hpp"
#include "kwire/proto/messages/describe_configs.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <future>
#include <map>
#include <thread>

namespace kwire {

using admin_detail::no_throw;
using admin_detail::worth_retry;
using proto::kafka_errc;

// --- options, values ------------------------------------------------------------

admin_options admin_options::from_config(const config& cfg, net::log_callback log) {
    admin_options o;
    o.bootstrap = cfg.bootstrap_servers();
    if (o.bootstrap.empty()) throw config_error("bootstrap.servers is not set");
    o.connection = make_connection_options(cfg, std::move(log));
    o.reconnect_backoff = cfg.get_ms("reconnect.backoff.ms");
    o.reconnect_backoff_max = cfg.get_ms("reconnect.backoff.max.ms");
    o.retry_backoff = cfg.get_ms("retry.backoff.ms");
    o.retry_backoff_max = cfg.get_ms("retry.backoff.max.ms");
    return o;
}

std::string topic_outcome::describe() const {
    std::string out = "topic '" + name + "': ";
    if (!error) return out + "ok";
    out += error.message();
    if (!error_message.empty() && error_message != error.message()) out += " (" + error_message + ")";
    return out;
}

std::string_view to_string(config_source s) noexcept {
    switch (s) {
    case config_source::unknown: return "UNKNOWN";
    case config_source::dynamic_topic: return "DYNAMIC_TOPIC_CONFIG";
    case config_source::dynamic_broker: return "DYNAMIC_BROKER_CONFIG";
    case config_source::dynamic_default_broker: return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case config_source::static_broker: return "STATIC_BROKER_CONFIG";
    case config_source::default_config: return "DEFAULT_CONFIG";
    case config_source::dynamic_broker_logger: return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case config_source::client_metrics: return "CLIENT_METRICS_CONFIG";
    case config_source::group: return "GROUP_CONFIG";
    }
    return "UNKNOWN";
}

// --- the facade ---------------------------------------------------------------

struct admin::own_thread {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread;
};

admin::admin(admin_options options) : thread_(std::make_unique<own_thread>()) {
    impl_ = std::make_shared<admin_impl>(thread_->io.get_executor(), std::move(options));
    thread_->thread = std::thread([t = thread_.get()] { t->io.run(); });
}

admin::~admin() {
    // Calls that timed out may still run on the I/O thread: closing the pool
    // ends their requests (the marker posted after the close says it ran);
    // stopping the loop drops the rest, whose frames (and their references to
    // impl_) go with the io_context after impl_.
    impl_->close();
    auto closed = std::make_shared<std::promise<void>>();
    asio::post(impl_->executor(), [closed] { closed->set_value(); });
    closed->get_future().wait_for(std::chrono::seconds(1));
    thread_->work.reset();
    thread_->io.stop();
    if (thread_->thread.joinable()) thread_->thread.join();
}

std::vector<topic_outcome> admin::create_topics(const std::vector<new_topic>& topics, duration timeout, bool validate_only) {
    return impl_->run("create topics", timeout, &admin_impl::create_topics, topics, validate_only);
}

std::vector<topic_outcome> admin::delete_topics(const std::vector<std::string>& names, duration timeout) {
    return impl_->run("delete topics", timeout, &admin_impl::delete_topics, names);
}

std::vector<topic_listing> admin::list_topics(duration timeout) {
    return impl_->run("list topics", timeout, &admin_impl::list_topics);
}

std::vector<topic_description> admin::describe_topics(const std::vector<std::string>& names, duration timeout) {
    return impl_->run("describe topics", timeout, &admin_impl::describe_topics, names);
}

std::vector<config_entry> admin::describe_topic_configs(const std::string& topic, duration timeout) {
    return impl_->run("describe configs of topic '" + topic + "'", timeout, &admin_impl::describe_topic_configs, topic);
}

std::vector<group_listing> admin::list_groups(duration timeout) {
    return impl_->run("list groups", timeout, &admin_impl::list_groups);
}

std::vector<group_description> admin::describe_groups(const std::vector<std::string>& group_ids, duration timeout) {
    return impl_->run("describe groups", timeout, &admin_impl::describe_groups, group_ids);
}

std::vector<group_partition_offsets> admin::list_group_offsets(const std::string& group_id, duration timeout) {
    return impl_->run("offsets of group '" + group_id + "'", timeout, &admin_impl::list_group_offsets, group_id);
}

// --- shared machinery -------------------------------------------------------------

admin_impl::admin_impl(asio::any_io_executor ex, admin_options options)
    : options_(std::move(options)),
      pool_(net::broker_pool::create(std::move(ex), options_.connection,
                                     net::backoff_options{options_.reconnect_backoff, options_.reconnect_backoff_max})),
      metadata_(cluster_metadata::create(pool_, options_.bootstrap)) {}

void admin_impl::note_retry(const std::string& what, const std::error_code& ec, const std::string& detail) const {
    options_.connection.log.log(net::log_level::debug, net::log_context::protocol, [&] {
        return "admin: " + what + ": " + ec.message() + (detail.empty() ? "" : " (" + detail + ")") + "; retrying";
    });
}

asio::awaitable<bool> admin_impl::pause(std::shared_ptr<admin_impl> self, int attempt, clock::time_point deadline) {
    auto delay = self->options_.retry_backoff;
    for (int i = 0; i < attempt && delay < self->options_.retry_backoff_max; ++i) delay *= 2;
    delay = std::min(delay, self->options_.retry_backoff_max);
    if (clock::now() + delay >= deadline) co_return false;
    asio::steady_timer timer(self->pool_->get_executor(), delay);
    co_await timer.async_wait(no_throw);
    co_return true;
}

admin_impl::op<cluster_metadata::snapshot_ptr> admin_impl::refresh(std::shared_ptr<admin_impl> self,
                                                                   std::optional<std::vector<std::string>> topics,
                                                                   clock::time_point deadline) {
    using attempt_t = admin_detail::attempt<cluster_metadata::snapshot_ptr>;
    auto once = [&]() -> asio::awaitable<attempt_t> {
        auto wanted = topics;
        auto [ec, snap] = co_await self->metadata_->async_refresh(std::move(wanted), no_throw);
        if (!ec) co_return attempt_t{{}, {}, snap};
        co_return attempt_t{ec, self->metadata_->last_failure(), snap, true};
    };
    const std::string what = "metadata";
    co_return co_await retrying<cluster_metadata::snapshot_ptr>(self, what, deadline, once);
}

// --- topics -------------------------------------------------------------------------

namespace {

// CreateTopics and DeleteTopics go to the controller; in KRaft mode any broker
// forwards them (and Metadata names some broker as "controller").
// Metadata v0 (an old broker, or api.version.pin) has no internal flag:
// Kafka's own topics are known by name.
bool is_internal(const topic_metadata& t) {
    return t.internal || t.name == "__consumer_offsets" || t.name == "__transaction_state" ||
           t.name == "__share_group_state";
}

std::optional<std::int32_t> controller_of(const cluster_snapshot& snap) {
    if (snap.controller_id >= 0 && snap.brokers.count(snap.controller_id)) return snap.controller_id;
    return std::nullopt;
}

// Each topic's answer in a CreateTopics or DeleteTopics response.
const auto& topic_results(const proto::create_topics_response& r) { return r.topics; }
const auto& topic_results(const proto::delete_topics_response& r) { return r.responses; }
const std::string& name_of(const proto::create_topics_response::creatable_topic_result& t) { return t.name; }
std::string name_of(const proto::delete_topics_response::deletable_topic_result& t) { return t.name.value_or(""); }

} // namespace

template <class Request, class Build>
admin_impl::op<std::vector<topic_outcome>> admin_impl::at_controller(std::shared_ptr<admin_impl> self,
                                                                    clock::time_point deadline,
                                                                    std::vector<std::string> names, std::string what,
                                                                    Build build) {
    std::vector<topic_outcome> out;
    std::map<std::string, std::size_t> pending;  // name -> index in out
    for (std::size_t i = 0; i < names.size(); ++i) {
        out.push_back(topic_outcome{names[i], {}, {}});
        pending.emplace(names[i], i);
    }
    using attempt_t = admin_detail::attempt<bool>;
    auto once = [&]() -> asio::awaitable<attempt_t> {
        std::vector<std::string> wanted;
        for (const auto& [name, index] : pending) wanted.push_back(name);
        std::optional<std::vector<std::string>> asked(wanted);
        auto [mec, mdetail, snap] = co_await refresh(self, std::move(asked), deadline);
        if (mec) co_return attempt_t{mec, mdetail};
        const std::int32_t timeout_ms = admin_detail::remaining_ms(deadline);
        auto request = [&](std::int16_t version) { return build(wanted, version, timeout_ms); };
        // Another broker forwards to the controller when it cannot be reached.
        auto r = co_await rpc_any<Request>(self, deadline, request, controller_of(*snap));
        if (r.ec) co_return admin_detail::failed<bool>(r);
        attempt_t left{make_error_code(net::errc::unexpected_response), "topics missing from the answer", false, true};
        for (const auto& t : topic_results(r.response)) {
            auto it = pending.find(name_of(t));
            if (it == pending.end()) continue;
            const std::error_code ec = proto::kafka_error(t.error_code);
            if (ec == kafka_errc::not_controller) {
                // Asked again once metadata names the new controller.
                left.ec = ec;
                left.detail = "broker " + std::to_string(r.node) + " is not the controller";
                continue;
            }
            out[it->second].error = ec;
            if (ec) out[it->second].error_message = t.error_message.value_or("");
            pending.erase(it);
        }
        co_return pending.empty() ? attempt_t{} : left;
    };
    auto [ec, detail, done] = co_await retrying<bool>(self, what, deadline, once);
    co_return outcome<std::vector<topic_outcome>>{ec, detail, out};
}

admin_impl::op<std::vector<topic_outcome>> admin_impl::create_topics(std::shared_ptr<admin_impl> self,
                                                                     clock::time_point deadline,
                                                                     std::vector<new_topic> topics, bool validate_only) {
    using request_t = proto::create_topics_request;
    std::vector<std::string> names;
    std::map<std::string, const new_topic*> by_name;
    for (const auto& t : topics) {
        names.push_back(t.name);
        by_name.emplace(t.name, &t);
    }
    auto build = [&](const std::vector<std::string>& pending, std::int16_t, std::int32_t timeout_ms) {
        request_t req;
        req.timeout_ms = timeout_ms;
        req.validate_only = validate_only;
        for (const auto& name : pending) {
            const new_topic& t = *by_name.at(name);
            request_t::creatable_topic ct;
            ct.name = t.name;
            ct.num_partitions = t.partitions;
            ct.replication_factor = t.replication_factor;
            for (const auto& [key, value] : t.configs) {
                request_t::creatable_topic_config c;
                c.name = key;
                c.value = value;
                ct.configs.push_back(std::move(c));
            }
            req.topics.push_back(std::move(ct));
        }
        return req;
    };
    const std::string what = "CreateTopics";
    co_return co_await at_controller<request_t>(self, deadline, std::move(names), what, build);
}

admin_impl::op<std::vector<topic_outcome>> admin_impl::delete_topics(std::shared_ptr<admin_impl> self,
                                                                     clock::time_point deadline,
                                                                     std::vector<std::string> names) {
    using request_t = proto::delete_topics_request;
    auto build = [](const std::vector<std::string>& pending, std::int16_t version, std::int32_t timeout_ms) {
        return proto::make_delete_topics_request(pending, version, timeout_ms);
    };
    const std::string what = "DeleteTopics";
    co_return co_await at_controller<request_t>(self, deadline, std::move(names), what, build);
}

admin_impl::op<std::vector<topic_listing>> admin_impl::list_topics(std::shared_ptr<admin_impl> self,
                                                                   clock::time_point deadline) {
    std::optional<std::vector<std::string>> every;  // nullopt: every topic
    auto [ec, detail, snap] = co_await refresh(self, std::move(every), deadline);
    std::vector<topic_listing> out;
    if (ec) co_return outcome<std::vector<topic_listing>>{ec, detail, out};
    for (const auto& [name, t] : snap->topics) {
        if (name.empty() || t.error == kafka_errc::unknown_topic_or_partition) continue;
        out.push_back(topic_listing{name, t.id, is_internal(t), static_cast<std::int32_t>(t.partitions.size())});
    }
    co_return outcome<std::vector<topic_listing>>{{}, {}, out};
}

admin_impl::op<std::vector<topic_description>> admin_impl::describe_topics(std::shared_ptr<admin_impl> self,
                                                                           clock::time_point deadline,
                                                                           std::vector<std::string> names) {
    std::vector<topic_description> out;
    for (int attempt = 0;; ++attempt) {
        std::optional<std::vector<std::string>> asked(names);
        auto [ec, detail, snap] = co_await refresh(self, std::move(asked), deadline);
        if (ec) co_return outcome<std::vector<topic_description>>{ec, detail, out};
        out.clear();
        bool settling = false;  // a topic just created: no leaders yet
        for (const auto& name : names) {
            topic_description d;
            d.name = name;
            const topic_metadata* t = snap->topic(name);
            if (!t) {
                d.error = make_error_code(kafka_errc::unknown_topic_or_partition);
            } else {
                d.id = t->id;
                d.internal = is_internal(*t);
                d.error = t->error;
                for (const auto& p : t->partitions)
                    d.partitions.push_back(partition_description{p.partition, p.leader, p.leader_epoch, p.replicas,
                                                                 p.isr, p.error});
            }
            if (d.error == kafka_errc::leader_not_available) settling = true;
            out.push_back(std::move(d));
        }
        // What the broker says when the time runs out is the answer.
        if (!settling || !co_await pause(self, attempt, deadline)) break;
    }
    co_return outcome<std::vector<topic_description>>{{}, {}, out};
}

admin_impl::op<std::vector<config_entry>> admin_impl::describe_topic_configs(std::shared_ptr<admin_impl> self,
                                                                             clock::time_point deadline,
                                                                             std::string topic) {
    using request_t = proto::describe_configs_request;
    using attempt_t = admin_detail::attempt<std::vector<config_entry>>;
    constexpr std::int8_t topic_resource = 2;
    auto build = [&](std::int16_t) {
        request_t req;
        request_t::describe_configs_resource res;
        res.resource_type = topic_resource;
        res.resource_name = topic;
        res.configuration_keys.reset();  // every config
        req.resources.push_back(std::move(res));
        return req;
    };
    auto once = [&]() -> asio::awaitable<attempt_t> {
        auto r = co_await rpc_any<request_t>(self, deadline, build);
        if (r.ec) co_return admin_detail::failed<std::vector<config_entry>>(r);
        if (r.response.results.size() != 1)
            co_return attempt_t{make_error_code(net::errc::unexpected_response),
                                "DescribeConfigs answered for " + std::to_string(r.response.results.size()) +
                                    " resources"};
        const auto& result = r.response.results.front();
        if (result.error_code != 0) {
            const std::error_code ec = proto::kafka_error(result.error_code);
            // An unknown topic is an answer, not a moment's trouble.
            co_return attempt_t{ec, result.error_message.value_or(""), {},
                                ec != kafka_errc::unknown_topic_or_partition && worth_retry(ec)};
        }
        std::vector<config_entry> out;
        for (const auto& c : result.configs) {
            config_entry e;
            e.name = c.name;
            e.value = c.value;
            e.source = c.config_source >= 0 && c.config_source <= 8 ? static_cast<config_source>(c.config_source)
                                                                     : config_source::unknown;
            e.is_default = e.source == config_source::default_config;
            e.read_only = c.read_only;
            e.sensitive = c.is_sensitive;
            if (e.sensitive) e.value.reset();  // never handed on, whatever the broker sent
            out.push_back(std::move(e));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        co_return attempt_t{{}, {}, std::move(out)};
    };
    const std::string what = "DescribeConfigs";
    co_return co_await retrying<std::vector<config_entry>>(self, what, deadline, once);
}

} // namespace kwire
