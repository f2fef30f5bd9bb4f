// consumer_options from the string properties users already write.
#include "kwire/connection_config.hpp"
#include "kwire/consumer.hpp"

#include <cctype>

namespace kwire {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::int32_t to_int32(const config& cfg, std::string_view key) {
    const std::int64_t v = cfg.get_int(key);
    if (v > 2147483647) throw config_error(std::string(key) + " is larger than 2147483647");
    return static_cast<std::int32_t>(v);
}

} // namespace

consumer_options consumer_options::from_config(const config& cfg, net::log_callback log) {
    consumer_options o;
    o.bootstrap = cfg.bootstrap_servers();
    o.connection = make_connection_options(cfg, std::move(log));
    o.reconnect_backoff = cfg.get_ms("reconnect.backoff.ms");
    o.reconnect_backoff_max = cfg.get_ms("reconnect.backoff.max.ms");
    o.retry_backoff = cfg.get_ms("retry.backoff.ms");
    o.retry_backoff_max = cfg.get_ms("retry.backoff.max.ms");
    o.metadata_max_age = cfg.get_ms("metadata.max.age.ms");

    o.group_id = cfg.get_or_default("group.id");
    if (auto id = cfg.get("group.instance.id"); id && !id->empty()) o.group_instance_id = *id;
    const std::string reset = lower(cfg.get_or_default("auto.offset.reset"));
    o.auto_offset_reset = reset == "earliest" || reset == "smallest" || reset == "beginning" ? offset_reset::earliest
                          : reset == "none" || reset == "error"                              ? offset_reset::none
                                                                                             : offset_reset::latest;
    o.enable_auto_commit = cfg.get_bool("enable.auto.commit");
    o.auto_commit_interval = cfg.get_ms("auto.commit.interval.ms");
    o.session_timeout = cfg.get_ms("session.timeout.ms");
    o.heartbeat_interval = cfg.get_ms("heartbeat.interval.ms");
    o.max_poll_interval = cfg.get_ms("max.poll.interval.ms");
    o.rebalance_timeout = o.max_poll_interval;
    o.fetch_min_bytes = to_int32(cfg, "fetch.min.bytes");
    o.fetch_max_bytes = to_int32(cfg, "fetch.max.bytes");
    o.max_partition_fetch_bytes = to_int32(cfg, "max.partition.fetch.bytes");
    o.fetch_max_wait = cfg.get_ms("fetch.max.wait.ms");
    o.queued_max_bytes = static_cast<std::size_t>(cfg.get_int("queued.max.bytes"));
    o.max_poll_records = static_cast<std::size_t>(cfg.get_int("max.poll.records"));
    o.isolation = lower(cfg.get_or_default("isolation.level")) == "read_committed" ? isolation_level::read_committed
                                                                                   : isolation_level::read_uncommitted;
    o.assignment_strategies.clear();
    std::string list = cfg.get_or_default("partition.assignment.strategy");
    std::string_view rest = list;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string item(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(item.begin());
        if (item.empty()) continue;
        auto a = make_assignor(item);
        if (!a) throw config_error("partition.assignment.strategy: unknown assignor '" + item + "'");
        o.assignment_strategies.emplace_back(a->name());
    }
    if (o.assignment_strategies.empty()) throw config_error("partition.assignment.strategy is empty");
    if (auto rack = cfg.get("client.rack"); rack && !rack->empty()) o.client_rack = *rack;
    o.allow_auto_create_topics = cfg.get("allow.auto.create.topics") ? cfg.get_bool("allow.auto.create.topics") : false;
    o.check_crcs = cfg.get_bool("check.crcs");

    if (o.max_poll_records == 0) throw config_error("max.poll.records must be at least 1");
    if (o.heartbeat_interval >= o.session_timeout)
        throw config_error("heartbeat.interval.ms must be lower than session.timeout.ms");
    return o;
}

} // namespace kwire
