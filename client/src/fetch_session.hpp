// One broker's side of a KIP-227 incremental fetch session (private to the
// library; the consumer keeps one fetch_session per broker it fetches from).
//
// Fetch v7 and later carry a session id and epoch:
//   (0, 0)          full request, asking the broker for a new session;
//   (id, 0)         full request that closes session `id` and asks for a new one;
//   (0, -1)         full request without a session (what v4-v6 always are);
//   (id, -1)        closes session `id` (FINAL_EPOCH), no new session;
//   (id, 1..MAX)    incremental request on session `id`.
// A full request lists every partition wanted. The broker answers with the
// new session's id (or 0 when it declines one, e.g. its session cache is full)
// and keeps the partitions and their fetch positions. Each later request
// carries the next epoch (1, 2, ... INT32_MAX, then 1 again) and lists only
// the partitions added or changed since the last request (a new fetch offset
// after records arrived, a new leader epoch, ...), and names in
// forgotten_topics_data those no longer wanted. The broker's incremental
// response lists only the partitions with something new (records, a moved
// high watermark or log start offset, an error); a partition absent from it
// simply had nothing new. The broker closes a session that has no
// partitions left, answering with session id 0.
//
// Contract: at most one request per session in flight. Every request built
// and sent ends in exactly one call: on_response() with its response, or
// reset() when it failed (connection error, timeout) or its response was
// lost. A request built but never sent can be dropped: the next build()
// replaces it. The partitions the session is known to hold change only when
// a response arrives, so a failed request never leaves the session believing
// its changes were applied (reset() makes the next request a full one).
//
// Topic naming: Fetch v13+ names topics by id. build() at v13+ needs a
// nonzero topic_id on every position (and a name below v13): pick the version
// with usable_version(), which caps it at 12 while some topic id is unknown.
// A session lives on one side of that line; crossing it makes the next
// request a full one (on a new session).
#pragma once

#include "kwire/proto/messages/fetch.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace kwire {

// One partition the consumer wants from this broker now.
struct fetch_position {
    std::string topic;
    proto::uuid topic_id;
    std::int32_t partition = 0;
    std::int64_t fetch_offset = 0;
    std::int32_t current_leader_epoch = -1;  // sent from v9
    std::int32_t last_fetched_epoch = -1;    // sent from v12
    std::int64_t log_start_offset = -1;      // sent from v5 (followers only; -1 for consumers)
    std::int32_t max_bytes = 1'048'576;      // partition_max_bytes

    friend bool operator==(const fetch_position&, const fetch_position&) = default;
};

struct fetch_settings {
    std::int32_t max_wait_ms = 500;
    std::int32_t min_bytes = 1;
    std::int32_t max_bytes = 52'428'800;
    std::int8_t isolation_level = 0;  // 0 read_uncommitted, 1 read_committed
    std::string rack_id;              // sent from v11
    std::int32_t replica_id = -1;     // -1 for consumers
};

class fetch_session {
public:
    // Kafka's special session ids and epochs.
    static constexpr std::int32_t invalid_session_id = 0;
    static constexpr std::int32_t initial_epoch = 0;
    static constexpr std::int32_t final_epoch = -1;
    // The first Fetch version with sessions, and with topic ids.
    static constexpr std::int16_t first_session_version = 7;
    static constexpr std::int16_t first_topic_id_version = 13;

    // The epoch after `epoch` on an open session: +1, INT32_MAX wraps to 1.
    static std::int32_t next_epoch(std::int32_t epoch) noexcept;

    // The highest Fetch version, at most `version`, that can name every
    // partition of `wanted`: `version`, or 12 when some topic id is zero.
    static std::int16_t usable_version(const std::vector<fetch_position>& wanted, std::int16_t version) noexcept;

    // The next request for exactly `wanted` at `version` (4-18). Below v7 a
    // full request without a session (and any session this object had is
    // dropped, left to the broker to expire). From v7: incremental when a
    // session is open on the same side of v13, listing only partitions added
    // or changed since the last answered request and forgetting those no
    // longer wanted; otherwise full, with epoch 0 (closing the previous
    // session, if any, and asking for a new one).
    // Throws std::invalid_argument for a version outside 4-18, a partition
    // listed twice, a zero topic_id at v13+ or an empty topic name below v13:
    // all caller bugs (see usable_version()).
    proto::fetch_request build(const std::vector<fetch_position>& wanted, std::int16_t version,
                               const fetch_settings& s);

    // The response to the last built request, at the version it was sent.
    // Opens, continues or ends the session. Returns the response's top-level
    // error (v7+: FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
    // FETCH_SESSION_TOPIC_ID_ERROR, ...), after which the session is reset
    // and the next build() is a full request: the caller retries, with no
    // records lost (the response had none). std::errc::invalid_argument when
    // no request is outstanding (the response is then ignored). The
    // response's partitions are the caller's to read; they are not checked
    // against the request here.
    std::error_code on_response(const proto::fetch_response& resp, std::int16_t version);

    // The last request failed or its response was lost: the next build() is
    // a full request on a new session (it also asks the broker to close the
    // old one, if there was one).
    void reset() noexcept;

    // An empty request that closes the session (epoch -1, FINAL_EPOCH), for a
    // clean shutdown; the broker answers at once. With no session open (or
    // below v7) it is an empty sessionless fetch, harmless but pointless:
    // check session_id() first. After it (answered or not) no session is
    // open and a later build() is full.
    proto::fetch_request build_close(std::int16_t version, const fetch_settings& s);

    // The open session's id; 0 when none is open (the next request is full).
    std::int32_t session_id() const noexcept { return session_id_; }
    // The epoch the next incremental request carries; 0 when no session is
    // open (the next request is full).
    std::int32_t epoch() const noexcept { return session_id_ != invalid_session_id ? epoch_ : initial_epoch; }
    // How many partitions the broker's session holds (as of the last
    // answered request).
    std::size_t session_size() const noexcept { return partitions_.size(); }
    // Whether a built request awaits on_response() or reset().
    bool awaiting_response() const noexcept { return pending_.kind != request_kind::none; }

private:
    // A partition's identity within a session: (topic id bytes or name, partition).
    using key = std::pair<std::string, std::int32_t>;
    using partition_map = std::map<key, fetch_position>;

    enum class request_kind { none, sessionless, full, incremental, close };

    struct pending_request {
        request_kind kind = request_kind::none;
        std::int32_t session_id = invalid_session_id;  // as sent
        std::int32_t epoch = final_epoch;              // as sent
        bool uses_ids = false;
        partition_map partitions;  // the session's partitions once the broker applies the request
    };

    static key key_of(const fetch_position& p, bool uses_ids);
    void forget_session() noexcept;

    std::int32_t session_id_ = invalid_session_id;  // the open session, or 0
    std::int32_t epoch_ = initial_epoch;            // next incremental epoch while open
    bool uses_ids_ = false;                         // the open session was made at v13+
    partition_map partitions_;                      // what the open session holds
    // A session to close with the next full request (set when one failed).
    std::int32_t stale_session_id_ = invalid_session_id;
    pending_request pending_;
};

} // namespace kwire
