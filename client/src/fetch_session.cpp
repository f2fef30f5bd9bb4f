// KIP-227 fetch sessions: see fetch_session.hpp.
#include "fetch_session.hpp"

#include "kwire/proto/kafka_error.hpp"

#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace kwire {

namespace {

std::string id_bytes(const proto::uuid& id) {
    return std::string(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

std::string describe(const fetch_position& p) {
    return (p.topic.empty() ? p.topic_id.to_base64() : p.topic) + "/" + std::to_string(p.partition);
}

// Fills the request fields every Fetch request carries, at `version`.
void apply_settings(proto::fetch_request& req, std::int16_t version, const fetch_settings& s) {
    if (version >= 15) req.replica_state.replica_id = s.replica_id;
    else req.replica_id = s.replica_id;
    req.max_wait_ms = s.max_wait_ms;
    req.min_bytes = s.min_bytes;
    req.max_bytes = s.max_bytes;
    req.isolation_level = s.isolation_level;
    if (version >= 11) req.rack_id = s.rack_id;
}

proto::fetch_request::fetch_partition to_wire(const fetch_position& p, std::int16_t version) {
    proto::fetch_request::fetch_partition out;
    out.partition = p.partition;
    out.current_leader_epoch = p.current_leader_epoch;
    out.fetch_offset = p.fetch_offset;
    if (version >= 12) out.last_fetched_epoch = p.last_fetched_epoch;  // the encoder refuses it earlier
    out.log_start_offset = p.log_start_offset;
    out.partition_max_bytes = p.max_bytes;
    return out;
}

// Adds partitions to a request's topic list, one entry per topic, topics in
// the order they first appear.
class topic_lists {
public:
    topic_lists(std::vector<proto::fetch_request::fetch_topic>& topics, bool uses_ids)
        : topics_(topics), uses_ids_(uses_ids) {}

    void add(const fetch_position& p, std::int16_t version) {
        const std::string k = uses_ids_ ? id_bytes(p.topic_id) : p.topic;
        auto [it, inserted] = index_.try_emplace(k, topics_.size());
        if (inserted) {
            auto& t = topics_.emplace_back();
            if (uses_ids_) t.topic_id = p.topic_id;
            else t.topic = p.topic;
        }
        topics_[it->second].partitions.push_back(to_wire(p, version));
    }

private:
    std::vector<proto::fetch_request::fetch_topic>& topics_;
    bool uses_ids_;
    std::unordered_map<std::string, std::size_t> index_;
};

} // namespace

std::int32_t fetch_session::next_epoch(std::int32_t epoch) noexcept {
    if (epoch < 0) return final_epoch;
    if (epoch == std::numeric_limits<std::int32_t>::max()) return 1;
    return epoch + 1;
}

std::int16_t fetch_session::usable_version(const std::vector<fetch_position>& wanted, std::int16_t version) noexcept {
    if (version < first_topic_id_version) return version;
    for (const auto& p : wanted)
        if (p.topic_id.is_zero()) return first_topic_id_version - 1;
    return version;
}

fetch_session::key fetch_session::key_of(const fetch_position& p, bool uses_ids) {
    return {uses_ids ? id_bytes(p.topic_id) : p.topic, p.partition};
}

void fetch_session::forget_session() noexcept {
    session_id_ = invalid_session_id;
    epoch_ = initial_epoch;
    uses_ids_ = false;
    partitions_.clear();
}

proto::fetch_request fetch_session::build(const std::vector<fetch_position>& wanted, std::int16_t version,
                                          const fetch_settings& s) {
    if (version < proto::fetch_request::min_version || version > proto::fetch_request::max_version)
        throw std::invalid_argument("fetch_session: Fetch version " + std::to_string(version) + " is not 4-18");
    const bool uses_ids = version >= first_topic_id_version;

    pending_request next;
    next.uses_ids = uses_ids;
    for (const auto& p : wanted) {
        if (uses_ids && p.topic_id.is_zero())
            throw std::invalid_argument("fetch_session: Fetch v" + std::to_string(version) +
                                        " names topics by id, and " + describe(p) + " has none");
        if (!uses_ids && p.topic.empty())
            throw std::invalid_argument("fetch_session: Fetch v" + std::to_string(version) +
                                        " names topics by name, and partition " + std::to_string(p.partition) +
                                        " of topic id " + p.topic_id.to_base64() + " has none");
        if (!next.partitions.try_emplace(key_of(p, uses_ids), p).second)
            throw std::invalid_argument("fetch_session: " + describe(p) + " is listed twice");
    }

    proto::fetch_request req;
    apply_settings(req, version, s);
    topic_lists topics(req.topics, uses_ids);

    const bool incremental = version >= first_session_version && session_id_ != invalid_session_id &&
                             uses_ids_ == uses_ids;
    if (version < first_session_version) {
        // No sessions: session_id and session_epoch are not even on the wire.
        next.kind = request_kind::sessionless;
        for (const auto& p : wanted) topics.add(p, version);
    } else if (!incremental) {
        // Full: every partition; closes the session named (a stale one, or
        // the open one when the topic naming changes) and asks for a new one.
        next.kind = request_kind::full;
        next.session_id = session_id_ != invalid_session_id ? session_id_ : stale_session_id_;
        next.epoch = initial_epoch;
        for (const auto& p : wanted) topics.add(p, version);
    } else {
        next.kind = request_kind::incremental;
        next.session_id = session_id_;
        next.epoch = epoch_;
        for (const auto& p : wanted) {
            const auto it = partitions_.find(key_of(p, uses_ids));
            if (it == partitions_.end() || !(it->second == p)) topics.add(p, version);
        }
        // Forgotten: what the session holds and is no longer wanted. The map
        // is ordered by topic, so one entry per topic.
        for (const auto& [k, p] : partitions_) {
            if (next.partitions.count(k) != 0) continue;
            auto& forgotten = req.forgotten_topics_data;
            const bool same_topic = !forgotten.empty() &&
                                    (uses_ids ? forgotten.back().topic_id == p.topic_id
                                              : forgotten.back().topic == p.topic);
            if (!same_topic) {
                auto& t = forgotten.emplace_back();
                if (uses_ids) t.topic_id = p.topic_id;
                else t.topic = p.topic;
            }
            forgotten.back().partitions.push_back(p.partition);
        }
    }
    req.session_id = next.session_id;
    req.session_epoch = next.epoch;
    pending_ = std::move(next);
    return req;
}

proto::fetch_request fetch_session::build_close(std::int16_t version, const fetch_settings& s) {
    if (version < proto::fetch_request::min_version || version > proto::fetch_request::max_version)
        throw std::invalid_argument("fetch_session: Fetch version " + std::to_string(version) + " is not 4-18");
    proto::fetch_request req;
    apply_settings(req, version, s);
    pending_request next;
    if (version < first_session_version) {
        next.kind = request_kind::sessionless;
    } else {
        next.kind = request_kind::close;
        next.session_id = session_id_ != invalid_session_id ? session_id_ : stale_session_id_;
        next.epoch = final_epoch;
    }
    req.session_id = next.session_id;
    req.session_epoch = next.epoch;
    pending_ = std::move(next);
    return req;
}

std::error_code fetch_session::on_response(const proto::fetch_response& resp, std::int16_t version) {
    pending_request sent = std::move(pending_);
    pending_ = pending_request{};
    if (sent.kind == request_kind::none) return std::make_error_code(std::errc::invalid_argument);

    if (sent.kind == request_kind::sessionless || version < first_session_version) {
        // A request without a session: an open one is left behind, to be
        // closed by the next full request should sessions come back.
        if (session_id_ != invalid_session_id) stale_session_id_ = session_id_;
        forget_session();
        return version >= first_session_version ? proto::kafka_error(resp.error_code) : std::error_code{};
    }

    if (sent.kind == request_kind::close) {
        // Closed (or unknown to the broker anyway): nothing is left either way.
        forget_session();
        if (stale_session_id_ == sent.session_id) stale_session_id_ = invalid_session_id;
        return proto::kafka_error(resp.error_code);
    }

    if (resp.error_code != 0) {
        // The broker refused the request as a whole; the partitions had no
        // data. Start over with a full request: on a new session, closing the
        // one just used unless the broker no longer knows it.
        forget_session();
        if (resp.error_code == static_cast<std::int16_t>(proto::kafka_errc::fetch_session_id_not_found))
            stale_session_id_ = invalid_session_id;
        else
            stale_session_id_ = sent.session_id;
        return proto::kafka_error(resp.error_code);
    }

    if (sent.kind == request_kind::full) {
        stale_session_id_ = invalid_session_id;  // the full request closed it
        if (resp.session_id == invalid_session_id) {
            // The broker declined a session (or was throttling us, KIP-219):
            // the next request is full again, asking once more.
            forget_session();
        } else {
            session_id_ = resp.session_id;
            epoch_ = next_epoch(initial_epoch);
            uses_ids_ = sent.uses_ids;
            partitions_ = std::move(sent.partitions);
        }
        return {};
    }

    // Incremental.
    if (resp.session_id == invalid_session_id) {
        // The broker ended the session (it closes one left without
        // partitions); the request was served without it.
        forget_session();
    } else {
        partitions_ = std::move(sent.partitions);
        epoch_ = next_epoch(sent.epoch);
    }
    return {};
}

void fetch_session::reset() noexcept {
    // A full or close request names the stale session already, so it stays
    // stale; an open session becomes stale: the broker may still hold it.
    if (session_id_ != invalid_session_id) stale_session_id_ = session_id_;
    pending_ = pending_request{};
    forget_session();
}

} // namespace kwire
