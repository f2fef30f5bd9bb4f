// The sender: on the broker pool's strand, it drains ready batches into one
// Produce request per broker (one batch per partition, as the broker
// requires), keeps up to max.in.flight requests pipelined per broker, and
// settles every batch from its response: delivered, retried, or failed.
#include "producer_impl.hpp"

#include "kwire/proto/kafka_error.hpp"

#include <asio/bind_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>

namespace kwire {
namespace {

using proto::kafka_errc;

// Errors after which the partition's leader should be looked up again.
bool leader_may_have_moved(kafka_errc e) {
    switch (e) {
    case kafka_errc::not_leader_or_follower:
    case kafka_errc::unknown_topic_or_partition:
    case kafka_errc::leader_not_available:
    case kafka_errc::fenced_leader_epoch:
    case kafka_errc::unknown_leader_epoch:
    case kafka_errc::kafka_storage_error:
    case kafka_errc::preferred_leader_not_available:
        return true;
    default:
        return false;
    }
}

std::string describe(const std::error_code& ec) { return ec.message() + " (" + ec.category().name() + ")"; }

} // namespace

producer_impl::producer_impl(asio::any_io_executor ex, producer_options options)
    : options_(std::move(options)),
      executor_(ex),
      pool_(net::broker_pool::create(ex, options_.connection,
                                     net::backoff_options{options_.reconnect_backoff, options_.reconnect_backoff_max})),
      metadata_(cluster_metadata::create(pool_, options_.bootstrap)),
      timer_(pool_->get_executor()),
      random_(std::random_device{}()) {
    metadata_->set_allow_auto_create(options_.allow_auto_create_topics);
}

producer_impl::~producer_impl() = default;

bool producer_impl::on_io_thread() const {
    if (io_thread_ != std::thread::id{}) return std::this_thread::get_id() == io_thread_;
    if (pool_->get_executor().running_in_this_thread()) return true;
    if (auto* io = executor_.target<asio::io_context::executor_type>()) return io->running_in_this_thread();
    return false;
}

std::size_t producer_impl::pending() const {
    std::lock_guard lock(mutex_);
    return pending_;
}

// --- lifecycle --------------------------------------------------------------

std::error_code producer_impl::flush(std::chrono::milliseconds timeout) {
    if (on_io_thread()) return make_error_code(client_errc::would_block);
    std::unique_lock lock(mutex_);
    ++flushing_;
    wake();
    const bool done = changed_.wait_for(lock, timeout, [&] { return pending_ == 0 && completing_ == 0; });
    --flushing_;
    return done ? std::error_code{} : make_error_code(client_errc::flush_timeout);
}

std::error_code producer_impl::close(std::chrono::milliseconds timeout) {
    if (on_io_thread()) return make_error_code(client_errc::would_block);
    std::unique_lock lock(mutex_);
    if (closed_) return {};
    closing_ = true;
    space_.notify_all();  // senders waiting for buffer space give up
    wake();
    const bool delivered = changed_.wait_for(lock, timeout, [&] { return pending_ == 0 && completing_ == 0; });
    closed_ = true;
    completion_list out;
    abort_all(make_error_code(client_errc::producer_closed), out);
    lock.unlock();
    run_completions(out);
    // Requests in flight fail as their connections close; their batches
    // then complete with producer_closed.
    pool_->close();
    lock.lock();
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return pending_ == 0 && completing_ == 0; });
    lock.unlock();
    asio::post(pool_->get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
    return delivered ? std::error_code{} : make_error_code(client_errc::flush_timeout);
}

// --- completions --------------------------------------------------------------

void producer_impl::release(std::size_t bytes) {
    buffer_used_ -= std::min(bytes, buffer_used_);
    if (senders_waiting_ > 0 && buffer_used_ <= options_.buffer_memory / 2) space_.notify_all();
}

void producer_impl::complete_batch(batch_ptr b, std::error_code ec, std::int64_t base_offset,
                                   std::int64_t log_append_time, completion_list& out) {
    // pending() drops now (a handler sees its record done); flush() and
    // close() also wait for the handlers themselves (completing_).
    const std::size_t records = b->handlers.size();
    pending_ -= std::min(records, pending_);
    completing_ += records;
    out.counted += records;
    release(b->reserved);
    out.batches.push_back(batch_completion{std::move(b), ec, base_offset, log_append_time});
}

void producer_impl::fail_waiting(waiting_record& w, std::error_code ec, completion_list& out) {
    out.push_back(completion{std::move(w.done), ec, record_metadata{{}, w.partition.value_or(-1), -1, w.timestamp}});
    pending_ -= std::min<std::size_t>(1, pending_);
    ++completing_;
    ++out.counted;
    release(w.reserved);
}

void producer_impl::fail_topic(topic_state& t, std::error_code ec, completion_list& out) {
    const std::size_t waiting = t.waiting.size();
    for (auto& w : t.waiting) fail_waiting(w, ec, out);
    t.waiting.clear();
    std::size_t batches = 0;
    for (auto& p : t.partitions) {
        // Batches that went out stay (their outcome, or their sequence
        // numbers, are the broker's to settle); the others fail.
        for (auto it = p.queue.begin(); it != p.queue.end();) {
            if ((*it)->sent) {
                ++it;
                continue;
            }
            batch_ptr b = std::move(*it);
            it = p.queue.erase(it);
            ++batches;
            complete_batch(std::move(b), ec, -1, -1, out);
        }
    }
    if (waiting == 0 && batches == 0) return;
    options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
        return "topic " + t.name + " refused: " + describe(ec) + "; failed " + std::to_string(waiting) +
               " waiting record(s) and " + std::to_string(batches) + " unsent batch(es)";
    });
}

void producer_impl::run_completions(completion_list& list) {
    if (list.empty()) return;
    // On the I/O thread a handler bound to the producer's own executor runs
    // right here: no dispatch per record.
    const bool here = on_io_thread();
    auto run = [here](delivery_handler& done, std::error_code ec, const record_metadata& md) {
        if (!done) return;
        if (here) done.run_here(ec, md);
        else done(ec, md);
    };
    for (auto& c : list.records) run(c.done, c.ec, c.metadata);
    for (auto& [b, ec, base_offset, log_append_time] : list.batches) {
        record_metadata md;
        md.topic = b->topic->name;
        md.partition = b->partition;
        for (std::size_t i = 0; i < b->handlers.size(); ++i) {
            md.offset = ec || base_offset < 0 ? -1 : base_offset + static_cast<std::int64_t>(i);
            md.timestamp_ms = log_append_time >= 0 ? log_append_time : b->timestamps[i];
            run(b->handlers[i], ec, md);
        }
    }
    {
        std::lock_guard lock(mutex_);
        for (auto& c : list.batches) recycle(std::move(c.batch));
        if (list.counted > 0) {
            completing_ -= std::min(list.counted, completing_);
            changed_.notify_all();
        }
    }
    list.records.clear();
    list.batches.clear();
    list.counted = 0;
}

void producer_impl::abort_all(std::error_code ec, completion_list& out) {
    for (auto& [name, t] : topics_) {
        for (auto& w : t->waiting) fail_waiting(w, ec, out);
        t->waiting.clear();
        for (auto& p : t->partitions) {
            while (!p.queue.empty()) {
                batch_ptr b = std::move(p.queue.front());
                p.queue.pop_front();
                complete_batch(std::move(b), ec, -1, -1, out);
            }
        }
    }
}

// --- the sender loop ----------------------------------------------------------

void producer_impl::wake() {
    if (wake_posted_.exchange(true)) return;
    asio::post(pool_->get_executor(), [self = shared_from_this()] {
        self->wake_posted_ = false;
        self->run_sender();
    });
}

void producer_impl::run_sender() {
    completion_list out;
    std::vector<outgoing_request> requests;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        expire(now, out);
        refresh_metadata_if_needed(now);
        ensure_producer_id(now);
        requests = drain(now);
        arm_timer(now);
    }
    run_completions(out);
    // In drain order: a partition's batches reach its connection in sequence order.
    for (auto& r : requests) send_request(std::move(r));
}

void producer_impl::expire(clock::time_point now, completion_list& out) {
    const auto limit = options_.delivery_timeout;
    for (auto& [name, t] : topics_) {
        while (!t->waiting.empty() && now - t->waiting.front().since >= limit) {
            // A topic the broker says does not exist is the clearer error.
            const std::error_code ec = t->metadata_error ? t->metadata_error : make_error_code(client_errc::delivery_timeout);
            options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
                return "record for " + t->name + " not delivered within delivery.timeout.ms: " +
                       (t->metadata_error ? describe(t->metadata_error)
                                          : metadata_failure_ ? "no metadata: " + metadata_->last_failure()
                                                              : std::string("topic metadata unavailable"));
            });
            fail_waiting(t->waiting.front(), ec, out);
            t->waiting.pop_front();
        }
        for (auto& p : t->partitions) {
            while (!p.queue.empty() && now - p.queue.front()->created >= limit) {
                batch_ptr b = std::move(p.queue.front());
                p.queue.pop_front();
                options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
                    return std::to_string(b->record_count()) + " record(s) for " + t->name + "/" +
                           std::to_string(b->partition) + " not delivered within delivery.timeout.ms" +
                           (b->last_error ? ", last error: " + describe(b->last_error) : std::string());
                });
                // The broker may hold a batch that was sent: its sequence
                // numbers cannot be reused, so the epoch moves on.
                if (b->sent) request_epoch_bump("a sent batch expired");
                complete_batch(std::move(b), make_error_code(client_errc::delivery_timeout), -1, -1, out);
            }
        }
    }
}

void producer_impl::refresh_metadata_if_needed(clock::time_point now) {
    if (metadata_in_flight_ || now < metadata_next_ || topics_.empty()) return;
    bool need = metadata_stale_;
    for (const auto& [name, t] : topics_)
        if (!t->waiting.empty() || t->partitions.empty()) need = true;
    if (!need && now - metadata_->current()->fetched_at < options_.metadata_max_age) return;
    metadata_in_flight_ = true;
    metadata_stale_ = false;
    std::optional<std::vector<std::string>> names(std::in_place);
    for (const auto& [name, t] : topics_) names->push_back(name);
    // Started after the mutex is released: a completion may run inline.
    asio::post(pool_->get_executor(), [self = shared_from_this(), names = std::move(names)]() mutable {
    self->metadata_->async_refresh(std::move(names),
                             asio::bind_executor(self->pool_->get_executor(),
                                                 [self](std::error_code ec,
                                                                             cluster_metadata::snapshot_ptr snap) {
                                                     self->on_metadata(ec, snap);
                                                 }));
    });
}

void producer_impl::on_metadata(std::error_code ec, const cluster_metadata::snapshot_ptr& snap) {
    completion_list out;
    {
        std::lock_guard lock(mutex_);
        metadata_in_flight_ = false;
        const auto now = clock::now();
        if (ec) {
            metadata_failure_ = ec;
            ++metadata_failures_;
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            metadata_next_ = now + net::backoff_delay({options_.retry_backoff, options_.retry_backoff_max, 0.2},
                                                      metadata_failures_, unit(random_));
            options_.connection.log.log(net::log_level::warn, net::log_context::producer,
                                        [&] { return "metadata refresh failed: " + metadata_->last_failure(); });
            if (net::is_configuration_failure(ec)) {
                // Wrong credentials or TLS settings: nothing will get through.
                for (auto& [name, t] : topics_) {
                    for (auto& w : t->waiting) fail_waiting(w, ec, out);
                    t->waiting.clear();
                }
            }
        } else {
            metadata_failures_ = 0;
            metadata_failure_ = {};
            metadata_next_ = now + options_.retry_backoff;
            for (auto& [name, t] : topics_) {
                const topic_metadata* tm = snap->topic(name);
                if (!tm) continue;
                if (tm->error) {
                    t->metadata_error = tm->error;
                    // E.g. TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION:
                    // no wait helps, so the records fail now (as Java's
                    // producer throws on the metadata update). A retriable
                    // error (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE)
                    // keeps them waiting, up to delivery.timeout.ms.
                    if (!proto::is_retriable(tm->error)) fail_topic(*t, tm->error, out);
                    continue;
                }
                t->metadata_error = {};
                t->id = tm->id;
                if (tm->partitions.size() > t->partitions.size()) t->partitions.resize(tm->partitions.size());
                if (!t->partitions.empty()) place_waiting(*t, out);
            }
        }
    }
    run_completions(out);
    run_sender();
}

void producer_impl::connect_sink(std::int32_t node) {
    sinks_[node].connecting = true;
    // Started after the mutex is released: a completion may run inline.
    asio::post(pool_->get_executor(), [self = shared_from_this(), node] {
    self->pool_->async_get(
        node, net::traffic::produce,
        asio::bind_executor(self->pool_->get_executor(), [self, node](std::error_code ec,
                                                                                    net::ready_connection ready) {
            completion_list out;
            {
                std::lock_guard lock(self->mutex_);
                broker_sink& s = self->sinks_[node];
                s.connecting = false;
                if (ec) {
                    s.retry_at = clock::now() + self->options_.retry_backoff;
                    s.last_failure = ready.failure.empty() ? describe(ec) : ready.failure;
                    self->metadata_stale_ = true;
                    self->options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
                        return "no connection to broker " + std::to_string(node) + ": " + s.last_failure;
                    });
                    if (net::is_configuration_failure(ec)) self->abort_all(ec, out);
                } else {
                    s.conn = ready.conn;
                    s.versions = ready.versions;
                    s.last_failure.clear();
                }
            }
            self->run_completions(out);
            self->run_sender();
        }));
    });
}

namespace {

// May this partition's front batch go out now, if its broker is being sent to?
bool sendable(const partition_state& p, clock::time_point now, bool idempotent) {
    if (p.queue.empty() || p.blocked) return false;
    // Until the broker confirmed a first sequence for this producer epoch,
    // one batch at a time: a later batch accepted as the first would leave
    // an earlier one unplaceable (OUT_OF_ORDER_SEQUENCE_NUMBER for ever).
    if (idempotent && p.last_acked_sequence < 0 && p.in_flight > 0) return false;
    return now >= p.queue.front()->retry_at;
}

// Must it go out now? Like Java's accumulator, once one partition of a
// broker is ripe, every sendable partition of that broker rides along in
// the same request rather than waiting for its own linger to run out.
bool ripe(const partition_state& p, clock::time_point now, bool hurry) {
    const produce_batch& front = *p.queue.front();
    return hurry || front.closed || front.sent || p.queue.size() > 1 || now >= front.linger_until;
}

} // namespace

std::vector<outgoing_request> producer_impl::drain(clock::time_point now) {
    std::vector<outgoing_request> requests;
    if (closed_) return requests;
    if (options_.idempotence && (!producer_id_ready() || epoch_bump_needed_)) return requests;
    const bool hurry = flushing_ > 0 || closing_;
    const auto snap = metadata_->current();

    // Partitions with something to send, by leader.
    std::map<std::int32_t, std::vector<std::pair<topic_state*, std::size_t>>> by_leader;
    for (auto& [name, t] : topics_) {
        const topic_metadata* tm = snap->topic(name);
        for (std::size_t i = 0; i < t->partitions.size(); ++i) {
            partition_state& p = t->partitions[i];
            if (p.blocked && p.in_flight == 0) p.blocked = false;  // every batch is back: go again, in order
            if (!sendable(p, now, options_.idempotence)) continue;
            const std::int32_t leader = tm && i < tm->partitions.size() ? tm->partitions[i].leader : -1;
            if (leader < 0) {
                metadata_stale_ = true;
                continue;
            }
            by_leader[leader].emplace_back(t.get(), i);
        }
    }

    for (auto& [node, parts] : by_leader) {
        broker_sink& sink = sinks_[node];
        if (!sink.conn || !sink.conn->is_open()) {
            sink.conn.reset();
            if (!sink.connecting && now >= sink.retry_at) connect_sink(node);
            continue;
        }
        while (sink.requests_in_flight < options_.max_in_flight) {
            const bool any_ripe = std::any_of(parts.begin(), parts.end(), [&](const auto& part) {
                const partition_state& p = part.first->partitions[part.second];
                return sendable(p, now, options_.idempotence) && ripe(p, now, hurry);
            });
            if (!any_ripe) break;
            auto batches = std::make_shared<std::vector<batch_ptr>>();
            std::size_t bytes = 0;
            for (auto& [t, i] : parts) {
                partition_state& p = t->partitions[i];
                if (!sendable(p, now, options_.idempotence)) continue;
                const std::size_t size = p.queue.front()->builder.size_bytes();
                if (!batches->empty() && bytes + size > options_.max_request_size) continue;
                batch_ptr b = std::move(p.queue.front());
                p.queue.pop_front();
                b->closed = true;
                if (options_.idempotence) stamp(*b, p);
                ++p.in_flight;
                ++batches_in_flight_;
                bytes += size;
                batches->push_back(std::move(b));
            }
            if (batches->empty()) break;
            ++sink.requests_in_flight;
            const auto version = produce_version(sink.versions, *batches);
            requests.push_back(outgoing_request{node, sink.conn, version, std::move(batches)});
        }
    }
    return requests;
}

std::optional<std::int16_t> producer_impl::produce_version(const net::api_versions& versions,
                                                           const std::vector<batch_ptr>& batches) const {
    using request_t = proto::produce_request;
    bool have_ids = true;
    for (const auto& b : batches) have_ids = have_ids && !b->topic->id.is_zero();
    // v13 names topics by id only; zstd needs v7 or later.
    const std::int16_t newest = have_ids ? request_t::max_version : std::int16_t(12);
    const std::int16_t oldest = options_.compression == proto::compression_codec::zstd ? std::int16_t(7) : request_t::min_version;
    return versions.choose(request_t::api_key, {oldest, newest});
}

void producer_impl::send_request(outgoing_request request) {
    using request_t = proto::produce_request;
    const std::int32_t node = request.node;
    const auto& batches = request.batches;
    const auto version = request.version;

    request_t req;
    req.acks = options_.acks;
    req.timeout_ms = static_cast<std::int32_t>(options_.connection.request_timeout.count());
    req.transactional_id = std::nullopt;
    std::error_code seal_error;
    for (auto& b : *batches) {
        b->builder.seal();
        if (b->builder.error()) seal_error = b->builder.error();
        auto it = std::find_if(req.topic_data.begin(), req.topic_data.end(),
                               [&](const auto& td) { return td.name == b->topic->name; });
        if (it == req.topic_data.end()) {
            request_t::topic_produce_data td;
            td.name = b->topic->name;
            if (version && *version >= 13) td.topic_id = b->topic->id;
            req.topic_data.push_back(std::move(td));
            it = req.topic_data.end() - 1;
        }
        request_t::partition_produce_data pd;
        pd.index = b->partition;
        const proto::sealed_batch sealed = b->builder.sealed();
        pd.records = proto::record_set(sealed.buffers, nullptr);
        it->partition_data.push_back(std::move(pd));
        b->sent = true;
        ++b->attempts;
    }
    std::error_code fail_now;
    if (!version) fail_now = make_error_code(net::errc::no_common_version);
    else if (seal_error) fail_now = seal_error;
    if (fail_now) {
        // Not sendable at all: settle as a response would, on the strand.
        asio::post(pool_->get_executor(), [self = shared_from_this(), node, batches, fail_now] {
            self->on_response(node, batches, fail_now, nullptr, true);
        });
        return;
    }
    options_.connection.log.log(net::log_level::debug, net::log_context::producer, [&] {
        return "Produce v" + std::to_string(*version) + " to broker " + std::to_string(node) + ": " +
               std::to_string(batches->size()) + " batch(es)";
    });
    auto self = shared_from_this();
    if (options_.acks == 0) {
        request.conn->async_send_no_response(req, *version,
                                     asio::bind_executor(pool_->get_executor(), [self, node, batches](std::error_code ec) {
                                         self->on_response(node, batches, ec, nullptr, false);
                                     }));
    } else {
        request.conn->async_send(req, *version,
                         asio::bind_executor(pool_->get_executor(), [self, node, batches](
                                                                        std::error_code ec, proto::produce_response resp) {
                             self->on_response(node, batches, ec, &resp, false);
                         }));
    }
}

void producer_impl::on_response(std::int32_t node, const std::shared_ptr<std::vector<batch_ptr>>& batches,
                                std::error_code ec, const proto::produce_response* resp, bool final_error) {
    completion_list out;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        broker_sink& sink = sinks_[node];
        --sink.requests_in_flight;
        for (auto& b : *batches) {
            --b->topic->partitions[static_cast<std::size_t>(b->partition)].in_flight;
            --batches_in_flight_;
        }
        if (ec) {
            if (!final_error) {
                if (sink.conn && !sink.conn->is_open()) {
                    sink.last_failure = sink.conn->failure();
                    sink.conn.reset();
                }
                metadata_stale_ = true;
                options_.connection.log.log(net::log_level::warn, net::log_context::producer, [&] {
                    return "Produce to broker " + std::to_string(node) + " failed: " +
                           (sink.last_failure.empty() ? describe(ec) : sink.last_failure) + "; retrying";
                });
            }
            for (auto& b : *batches) {
                if (closed_) complete_batch(std::move(b), make_error_code(client_errc::producer_closed), -1, -1, out);
                else if (final_error || net::is_configuration_failure(ec)) {
                    if (final_error) sequence_unused(*b, b->topic->partitions[static_cast<std::size_t>(b->partition)]);
                    complete_batch(std::move(b), ec, -1, -1, out);
                }
                else retry(std::move(b), ec, now, out);
            }
        } else if (!resp) {
            // acks=0: written is all there is to know.
            for (auto& b : *batches) complete_batch(std::move(b), {}, -1, -1, out);
        } else {
            for (auto& b : *batches) {
                const proto::produce_response::partition_produce_response* found = nullptr;
                for (const auto& tr : resp->responses) {
                    const bool same = tr.topic_id.is_zero() ? tr.name == b->topic->name : tr.topic_id == b->topic->id;
                    if (!same) continue;
                    for (const auto& pr : tr.partition_responses)
                        if (pr.index == b->partition) found = &pr;
                }
                if (!found) {
                    retry(std::move(b), make_error_code(net::errc::unexpected_response), now, out);
                    continue;
                }
                settle(std::move(b), found->error_code, found->base_offset, found->log_append_time_ms,
                       found->error_message, now, out);
            }
        }
    }
    run_completions(out);
    run_sender();
}

void producer_impl::settle(batch_ptr b, std::int16_t error_code, std::int64_t base_offset,
                           std::int64_t log_append_time, const std::optional<std::string>& message,
                           clock::time_point now, completion_list& out) {
    partition_state& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
    if (error_code == 0) {
        note_acked(*b, p);
        return complete_batch(std::move(b), {}, base_offset, log_append_time, out);
    }
    const std::error_code ec = proto::kafka_error(error_code);
    const auto code = static_cast<kafka_errc>(error_code);
    options_.connection.log.log(net::log_level::debug, net::log_context::producer, [&] {
        return b->topic->name + "/" + std::to_string(b->partition) + ": " + std::string(proto::kafka_error_name(error_code)) +
               (message && !message->empty() ? ": " + *message : std::string());
    });
    switch (code) {
    case kafka_errc::duplicate_sequence_number:
        // The broker has this batch already (an earlier attempt got through).
        note_acked(*b, p);
        return complete_batch(std::move(b), {}, -1, log_append_time, out);
    case kafka_errc::out_of_order_sequence_number:
        // Expected while an earlier batch of the partition is being retried;
        // for the batch the broker should take next, its state was lost.
        // A batch at or before the last confirmed sequence can never be
        // placed (a later batch got in first): start a new epoch.
        if (options_.idempotence && !p.blocked &&
            (b->base_sequence == p.last_acked_sequence + 1 ||
             (p.last_acked_sequence >= 0 && b->base_sequence <= p.last_acked_sequence)))
            request_epoch_bump("the broker cannot place the partition's sequence");
        return retry(std::move(b), ec, now, out);
    case kafka_errc::unknown_producer_id:
    case kafka_errc::invalid_producer_epoch:
        request_epoch_bump(code == kafka_errc::unknown_producer_id ? "the broker forgot the producer id"
                                                                   : "the broker rejected the producer epoch");
        return retry(std::move(b), ec, now, out);
    case kafka_errc::message_too_large:
    case kafka_errc::record_list_too_large:
        // As Java does: a batch of several records goes again as smaller
        // batches; only a record too large on its own fails.
        if (!closed_ && b->record_count() > 1 && split(*b, ec, now)) return recycle(std::move(b));
        break;
    default:
        break;
    }
    if (proto::is_retriable(ec)) {
        if (leader_may_have_moved(code)) metadata_stale_ = true;
        return retry(std::move(b), ec, now, out);
    }
    // Refused for good: the broker stored nothing of it.
    sequence_unused(*b, p);
    complete_batch(std::move(b), ec, -1, -1, out);
}

void producer_impl::retry(batch_ptr b, std::error_code cause, clock::time_point now, completion_list& out) {
    b->last_error = cause;
    partition_state& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
    const bool expired = now - b->created >= options_.delivery_timeout;
    if (b->attempts > options_.retries || expired) {
        if (b->sent) request_epoch_bump("a batch was given up");
        return complete_batch(std::move(b), expired ? make_error_code(client_errc::delivery_timeout) : cause, -1, -1, out);
    }
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    b->retry_at = now + net::backoff_delay({options_.retry_backoff, options_.retry_backoff_max, 0.2}, b->attempts,
                                           unit(random_));
    p.blocked = true;
    requeue(p, std::move(b));
}

void producer_impl::requeue(partition_state& p, batch_ptr b) {
    const auto at = std::find_if(p.queue.begin(), p.queue.end(), [&](const batch_ptr& q) { return b->before(*q); });
    p.queue.insert(at, std::move(b));
}

void producer_impl::arm_timer(clock::time_point now) {
    auto next = clock::time_point::max();
    auto consider = [&](clock::time_point t) { next = std::min(next, t); };
    bool waiting = false;
    for (const auto& [name, t] : topics_) {
        if (!t->waiting.empty()) {
            waiting = true;
            consider(t->waiting.front().since + options_.delivery_timeout);
        }
        for (const auto& p : t->partitions) {
            if (p.queue.empty()) continue;
            const produce_batch& front = *p.queue.front();
            consider(front.created + options_.delivery_timeout);
            if (front.retry_at > now) consider(front.retry_at);
            else if (!front.closed && !front.sent && p.queue.size() == 1) consider(front.linger_until);
        }
    }
    if (waiting || metadata_stale_) consider(std::max(metadata_next_, now + std::chrono::milliseconds(1)));
    for (const auto& [node, s] : sinks_)
        if (!s.conn && !s.connecting && s.retry_at > now) consider(s.retry_at);
    if (options_.idempotence && !producer_id_in_flight_ && (producer_id_ < 0 || epoch_bump_needed_) && !topics_.empty())
        consider(std::max(producer_id_next_, now + std::chrono::milliseconds(1)));
    if (next == clock::time_point::max() || closed_) return;
    next = std::max(next, now + std::chrono::milliseconds(1));
    if (timer_at_ <= next && timer_at_ > now) return;  // an earlier wake is already set
    timer_at_ = next;
    timer_.expires_at(next);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        {
            std::lock_guard lock(self->mutex_);
            self->timer_at_ = clock::time_point::max();
        }
        self->run_sender();
    });
}

} // namespace kwire
