// producer_options from the string properties users already write.
#include "kwire/connection_config.hpp"
#include "kwire/producer.hpp"

#include <algorithm>
#include <cctype>

namespace kwire {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

} // namespace

producer_options producer_options::from_config(const config& cfg, net::log_callback log) {
    producer_options o;
    o.bootstrap = cfg.bootstrap_servers();
    o.connection = make_connection_options(cfg, std::move(log));
    o.reconnect_backoff = cfg.get_ms("reconnect.backoff.ms");
    o.reconnect_backoff_max = cfg.get_ms("reconnect.backoff.max.ms");

    const std::string acks = lower(cfg.get_or_default("acks"));
    o.acks = acks == "0" ? 0 : acks == "1" ? 1 : -1;
    o.linger = cfg.get_ms("linger.ms");
    o.batch_size = static_cast<std::size_t>(cfg.get_int("batch.size"));
    o.buffer_memory = static_cast<std::size_t>(cfg.get_int("buffer.memory"));
    o.max_block = cfg.get_ms("max.block.ms");
    o.max_request_size = static_cast<std::size_t>(cfg.get_int("max.request.size"));
    const std::string codec = lower(cfg.get_or_default("compression.type"));
    const auto parsed = proto::codec_from_name(codec);
    if (!parsed) throw config_error("compression.type: '" + codec + "' is not one of none, gzip, snappy, lz4, zstd");
    if (!proto::codec_available(*parsed))
        throw config_error("compression.type: " + codec + " is not available in this build of kwire");
    o.compression = *parsed;
    o.compression_level = static_cast<int>(std::stol(cfg.get_or_default("compression.level")));
    o.max_in_flight = static_cast<int>(cfg.get_int("max.in.flight.requests.per.connection"));
    o.retries = static_cast<std::int32_t>(std::min<std::int64_t>(cfg.get_int("retries"), 2147483647));
    o.retry_backoff = cfg.get_ms("retry.backoff.ms");
    o.retry_backoff_max = cfg.get_ms("retry.backoff.max.ms");
    o.delivery_timeout = cfg.get_ms("delivery.timeout.ms");
    o.metadata_max_age = cfg.get_ms("metadata.max.age.ms");
    o.allow_auto_create_topics = cfg.get_bool("allow.auto.create.topics");
    o.partitioner = lower(cfg.get_or_default("partitioner"));

    if (o.max_in_flight < 1) throw config_error("max.in.flight.requests.per.connection must be at least 1");
    if (o.batch_size < 1) throw config_error("batch.size must be at least 1");

    // As the Java client: idempotence is on unless the settings it needs are
    // changed; asked for explicitly, a contradicting setting is an error.
    const bool explicit_idempotence = cfg.get("enable.idempotence").has_value();
    o.idempotence = cfg.get_bool("enable.idempotence");
    if (o.idempotence) {
        std::string conflict;
        if (o.acks != -1) conflict = "acks=all";
        else if (o.max_in_flight > 5) conflict = "max.in.flight.requests.per.connection of at most 5";
        else if (o.retries == 0) conflict = "retries greater than 0";
        if (!conflict.empty()) {
            if (explicit_idempotence) throw config_error("enable.idempotence=true needs " + conflict);
            o.idempotence = false;
        }
    }
    return o;
}

} // namespace kwire
