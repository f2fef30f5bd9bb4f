// Idempotence: a producer id and epoch from InitProducerId, and per
// partition sequence numbers stamped on each batch when it is first sent, so
// the broker drops duplicates of retried batches and refuses gaps. When the
// sequence cannot be recovered (a sent batch expired, the broker lost the
// producer's state), the epoch is bumped (KIP-360) once nothing is in flight,
// and every partition's sequence starts again at 0.
#include "producer_impl.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/messages/init_producer_id.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <limits>

namespace kwire {
namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

std::int32_t add_sequence(std::int32_t base, std::int32_t count) {
    // Sequences wrap from INT32_MAX to 0, as the broker expects.
    const std::int64_t next = static_cast<std::int64_t>(base) + count;
    return static_cast<std::int32_t>(next % (static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::max()) + 1));
}

struct producer_id_outcome {
    std::error_code ec;
    std::int16_t error_code = 0;
    std::int64_t id = -1;
    std::int16_t epoch = -1;
};

asio::awaitable<producer_id_outcome> init_producer_id(std::shared_ptr<net::broker_pool> pool, std::int32_t node,
                                                      std::int64_t current_id, std::int16_t current_epoch) {
    using request_t = proto::init_producer_id_request;
    producer_id_outcome out;
    auto [ec, ready] = co_await pool->async_get(node, net::traffic::metadata, no_throw);
    if (ec) {
        out.ec = ec;
        co_return out;
    }
    const std::int16_t newest = request_t::latest_version_unstable ? request_t::max_version - 1 : request_t::max_version;
    const auto version = ready.versions.choose(request_t::api_key, {request_t::min_version, newest});
    if (!version) {
        out.ec = make_error_code(net::errc::no_common_version);
        co_return out;
    }
    request_t req;
    req.transactional_id = std::nullopt;
    req.transaction_timeout_ms = std::numeric_limits<std::int32_t>::max();
    // From v3 an idempotent producer may bump its own epoch (KIP-360);
    // before that it gets a new producer id.
    if (*version >= 3) {
        req.producer_id = current_id;
        req.producer_epoch = current_epoch;
    }
    auto [rec, resp] = co_await ready.conn->async_send(req, *version, no_throw);
    out.ec = rec;
    out.error_code = resp.error_code;
    out.id = resp.producer_id;
    out.epoch = resp.producer_epoch;
    co_return out;
}

} // namespace

bool producer_impl::producer_id_ready() const noexcept { return producer_id_ >= 0; }

void producer_impl::ensure_producer_id(clock::time_point now) {
    if (!options_.idempotence || fatal_ || closed_ || producer_id_in_flight_ || topics_.empty()) return;
    if (producer_id_ >= 0 && !epoch_bump_needed_) return;
    if (batches_in_flight_ > 0 || now < producer_id_next_) return;  // a bump waits for every batch to come back
    const auto snap = metadata_->current();
    if (snap->brokers.empty()) {
        metadata_stale_ = true;
        return;
    }
    // Any broker answers InitProducerId without a transactional id.
    auto it = snap->brokers.begin();
    std::advance(it, producer_id_failures_ % static_cast<int>(snap->brokers.size()));
    const std::int32_t node = it->first;
    producer_id_in_flight_ = true;
    const bool bump = epoch_bump_needed_ && producer_id_ >= 0;
    const std::int64_t id = bump ? producer_id_ : -1;
    const std::int16_t epoch = bump ? producer_epoch_ : std::int16_t(-1);
    // Started after the mutex is released (co_spawn may run it inline).
    asio::post(pool_->get_executor(), [self = shared_from_this(), node, id, epoch] {
        asio::co_spawn(self->pool_->get_executor(), init_producer_id(self->pool_, node, id, epoch),
                       [self](std::exception_ptr e, producer_id_outcome r) {
                           if (e) r.ec = make_error_code(net::errc::internal_error);
                           self->on_producer_id(r.ec, r.error_code, r.id, r.epoch);
                       });
    });
}

void producer_impl::on_producer_id(std::error_code ec, std::int16_t error_code, std::int64_t id, std::int16_t epoch) {
    completion_list out;
    {
        std::lock_guard lock(mutex_);
        producer_id_in_flight_ = false;
        const auto now = clock::now();
        const std::error_code kec = error_code ? proto::kafka_error(error_code) : std::error_code{};
        if (ec || kec) {
            const std::error_code cause = ec ? ec : kec;
            ++producer_id_failures_;
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            producer_id_next_ = now + net::backoff_delay({options_.retry_backoff, options_.retry_backoff_max, 0.2},
                                                         producer_id_failures_, unit(random_));
            options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
                return "InitProducerId failed: " + cause.message();
            });
            const bool retriable = ec ? !(ec.category() == net::net_category() && !net::is_retriable(ec) &&
                                          ec != make_error_code(net::errc::resolve_failed))
                                      : proto::is_retriable(kec);
            if (!retriable) {
                // E.g. no IDEMPOTENT_WRITE permission: no record can be sent.
                fatal_ = cause;
                abort_all(cause, out);
            }
        } else {
            producer_id_failures_ = 0;
            const bool changed = id != producer_id_ || epoch != producer_epoch_;
            options_.connection.log.log(net::log_level::info, net::log_context::producer, [&] {
                return "producer id " + std::to_string(id) + ", epoch " + std::to_string(epoch) +
                       (epoch_bump_needed_ ? " (epoch bumped; sequences start again at 0)" : "");
            });
            producer_id_ = id;
            producer_epoch_ = epoch;
            epoch_bump_needed_ = false;
            if (changed) {
                for (auto& [name, t] : topics_) {
                    for (auto& p : t->partitions) {
                        p.next_sequence = 0;
                        p.last_acked_sequence = -1;
                    }
                }
            }
        }
    }
    run_completions(out);
    run_sender();
}

void producer_impl::stamp(produce_batch& b, partition_state& p) {
    if (b.producer_id == producer_id_ && b.producer_epoch == producer_epoch_) return;  // a retry keeps its sequence
    b.producer_id = producer_id_;
    b.producer_epoch = producer_epoch_;
    b.base_sequence = p.next_sequence;
    p.next_sequence = add_sequence(p.next_sequence, b.record_count());
    b.builder.restamp(b.producer_id, b.producer_epoch, b.base_sequence);
}

void producer_impl::note_acked(produce_batch& b, partition_state& p) {
    if (!options_.idempotence || b.producer_id != producer_id_ || b.producer_epoch != producer_epoch_) return;
    p.last_acked_sequence = add_sequence(b.base_sequence, b.record_count() - 1);
}

void producer_impl::stamp_split(produce_batch& piece, const produce_batch& whole, std::int32_t offset) {
    if (whole.producer_id < 0) return;  // never stamped (idempotence off): nothing to carry over
    // The same producer id and epoch as the whole batch: a bump before the
    // piece goes out restamps it, as any batch of the old epoch.
    piece.producer_id = whole.producer_id;
    piece.producer_epoch = whole.producer_epoch;
    piece.base_sequence = add_sequence(whole.base_sequence, offset);
    piece.builder.restamp(piece.producer_id, piece.producer_epoch, piece.base_sequence);
}

void producer_impl::sequence_unused(produce_batch& b, partition_state& p) {
    if (!options_.idempotence || b.producer_id != producer_id_ || b.producer_epoch != producer_epoch_) return;
    // Only this attempt was made (a refused batch is not stored) and no
    // later batch has sequences: the next batch may take these.
    if (b.attempts <= 1 && p.next_sequence == add_sequence(b.base_sequence, b.record_count())) {
        p.next_sequence = b.base_sequence;
        return;
    }
    request_epoch_bump("a batch failed and later batches of its partition carry the sequences after it");
}

void producer_impl::request_epoch_bump(const char* why) {
    if (!options_.idempotence || epoch_bump_needed_) return;
    epoch_bump_needed_ = true;
    options_.connection.log.log(net::log_level::warn, net::log_context::producer,
                                [&] { return std::string("bumping the producer epoch: ") + why; });
}

} // namespace kwire
