// Fetching: one fetch in flight per broker, over an incremental fetch
// session, for the assigned partitions the broker leads; responses kept as
// they arrived and decoded by poll() into record views.
#include "consumer_impl.hpp"

#include "kwire/proto/kafka_error.hpp"

#include <asio/bind_executor.hpp>
#include <asio/post.hpp>

#include <algorithm>

namespace kwire {
namespace {

using proto::kafka_errc;

bool leader_may_have_moved(kafka_errc e) {
    switch (e) {
    case kafka_errc::not_leader_or_follower:
    case kafka_errc::unknown_topic_or_partition:
    case kafka_errc::leader_not_available:
    case kafka_errc::fenced_leader_epoch:
    case kafka_errc::unknown_leader_epoch:
    case kafka_errc::kafka_storage_error:
    case kafka_errc::offset_not_available:
    case kafka_errc::unknown_topic_id:
    case kafka_errc::inconsistent_topic_id:
        return true;
    default:
        return false;
    }
}

} // namespace

void consumer_impl::wake() {
    asio::post(pool_->get_executor(), [self = shared_from_this()] { self->run_fetchers(); });
}

void consumer_impl::refresh_metadata() {
    // Under the mutex, on the strand.
    if (metadata_in_flight_ || clock::now() < metadata_next_) return;
    std::optional<std::vector<std::string>> topics(std::in_place);
    for (const auto& [tp, p] : assigned_)
        if (topics->empty() || topics->back() != tp.topic) topics->push_back(tp.topic);
    for (const auto& t : subscription_) topics->push_back(t);
    metadata_in_flight_ = true;
    // Started after the mutex is released: a completion may run inline.
    asio::post(pool_->get_executor(), [self = shared_from_this(), topics = std::move(topics)]() mutable {
    self->metadata_->async_refresh(std::move(topics),
                             asio::bind_executor(self->pool_->get_executor(), [self](
                                                                            std::error_code ec, cluster_metadata::snapshot_ptr) {
                                 {
                                     std::lock_guard lock(self->mutex_);
                                     self->metadata_in_flight_ = false;
                                     self->metadata_next_ = clock::now() + self->options_.retry_backoff;
                                     if (ec && !self->closed_) {
                                         self->note_failure(ec);
                                         self->options_.connection.log.log(
                                             net::log_level::warn, net::log_context::consumer,
                                             [&] { return "metadata refresh failed: " + self->metadata_->last_failure(); });
                                     }
                                 }
                                 self->run_fetchers();
                             }));
    });
}

void consumer_impl::arm_timer(clock::time_point at) {
    if (timer_at_ <= at && timer_at_ > clock::now()) return;
    timer_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        {
            std::lock_guard lock(self->mutex_);
            self->timer_at_ = clock::time_point::max();
        }
        self->run_fetchers();
    });
}

void consumer_impl::run_fetchers() {
    std::vector<std::pair<std::int32_t, std::vector<fetch_position>>> to_send;
    std::vector<std::map<topic_partition, std::uint64_t>> epochs_of;
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        resolve_positions();
        const auto now = clock::now();
        const auto snap = metadata_->current();
        bool need_metadata = false;
        std::map<std::int32_t, std::vector<const topic_partition*>> by_leader;
        std::set<topic_partition> buffered;
        for (const auto& c : buffered_) buffered.insert(c.tp);
        if (cursor_.active) buffered.insert(cursor_.chunk.tp);
        // Brokers leading a partition whose records wait in the buffer: the
        // next fetch from them should include it once poll() has taken them.
        std::set<std::int32_t> held_back;
        auto leader_of = [&](const topic_partition& tp, const topic_metadata* tm) {
            if (tm && static_cast<std::size_t>(tp.partition) < tm->partitions.size())
                return tm->partitions[static_cast<std::size_t>(tp.partition)].leader;
            return std::int32_t{-1};
        };
        for (auto& [tp, p] : assigned_) {
            if (p.paused || p.revoking || p.fetching || p.error) continue;
            const topic_metadata* tm = snap->topic(tp.topic);
            if (buffered.count(tp)) {
                held_back.insert(leader_of(tp, tm));
                continue;
            }
            if (tm && tm->error && tm->error.category() == proto::kafka_category() && !proto::is_retriable(tm->error)) {
                // E.g. TOPIC_AUTHORIZATION_FAILED: retrying will not help; poll() says so.
                p.error = tm->error;
                p.error_detail = tp.to_string() + ": " + tm->error.message();
                continue;
            }
            if (!p.position) continue;
            const std::int32_t leader = leader_of(tp, tm);
            const bool exists = tm && !tm->error && static_cast<std::size_t>(tp.partition) < tm->partitions.size();
            if (exists) p.gone_reported = false;
            if (!exists && tm && p.high_watermark >= 0 && !p.gone_reported) {
                // It was fetched before and the cluster no longer has it: the
                // application hears of it once (it stays assigned, in case
                // the topic comes back).
                p.gone_reported = true;
                p.error = make_error_code(kafka_errc::unknown_topic_or_partition);
                p.error_detail = tp.to_string() + " no longer exists (topic deleted?)";
                continue;
            }
            if (leader < 0) {
                need_metadata = true;
                continue;
            }
            by_leader[leader].push_back(&tp);
        }
        if (need_metadata) {
            refresh_metadata();
            arm_timer(now + options_.retry_backoff);
        }
        if (buffered_bytes_ < options_.queued_max_bytes) {
            for (auto& [node, parts] : by_leader) {
                broker_fetcher& f = fetchers_[node];
                if (f.in_flight) continue;
                if (!f.conn || !f.conn->is_open()) {
                    if (f.conn) {
                        f.conn.reset();
                        f.session.reset();
                    }
                    if (!f.connecting && now >= f.retry_at) connect_fetcher(node);
                    else if (!f.connecting) arm_timer(f.retry_at);
                    continue;
                }
                if (now < f.retry_at) {
                    arm_timer(f.retry_at);
                    continue;
                }
                if (held_back.count(node)) {
                    // Only caught-up partitions to ask for: the broker would
                    // hold that request for fetch.max.wait.ms, and the
                    // buffered partitions' next fetch behind it. poll() wakes
                    // the fetchers when it takes their records.
                    const bool any_behind = std::any_of(parts.begin(), parts.end(), [&](const topic_partition* tp) {
                        const consumer_partition& p = assigned_[*tp];
                        return p.high_watermark < 0 || *p.position < p.high_watermark;
                    });
                    if (!any_behind) continue;
                }
                std::vector<fetch_position> wanted;
                std::map<topic_partition, std::uint64_t> epochs;
                const std::int32_t per_partition = options_.max_partition_fetch_bytes;
                for (const topic_partition* tp : parts) {
                    consumer_partition& p = assigned_[*tp];
                    const topic_metadata* tm = snap->topic(tp->topic);
                    fetch_position fp;
                    fp.topic = tp->topic;
                    fp.topic_id = tm ? tm->id : proto::uuid{};
                    fp.partition = tp->partition;
                    fp.fetch_offset = *p.position;
                    fp.current_leader_epoch =
                        tm ? tm->partitions[static_cast<std::size_t>(tp->partition)].leader_epoch : -1;
                    fp.last_fetched_epoch = p.leader_epoch.value_or(-1);
                    fp.max_bytes = per_partition;
                    wanted.push_back(std::move(fp));
                    epochs[*tp] = p.epoch;
                    p.fetching = true;
                }
                f.in_flight = true;
                to_send.emplace_back(node, std::move(wanted));
                epochs_of.push_back(std::move(epochs));
            }
        }
    }
    for (std::size_t i = 0; i < to_send.size(); ++i)
        send_fetch(to_send[i].first, std::move(to_send[i].second), std::move(epochs_of[i]));
}

void consumer_impl::connect_fetcher(std::int32_t node) {
    fetchers_[node].connecting = true;
    // Started after the mutex is released: a completion may run inline.
    asio::post(pool_->get_executor(), [self = shared_from_this(), node] {
    self->pool_->async_get(node, net::traffic::fetch,
                     asio::bind_executor(self->pool_->get_executor(), [self, node](
                                                                    std::error_code ec, net::ready_connection ready) {
                         {
                             std::lock_guard lock(self->mutex_);
                             broker_fetcher& f = self->fetchers_[node];
                             f.connecting = false;
                             if (ec) {
                                 f.retry_at = clock::now() + self->options_.retry_backoff;
                                 self->note_failure(ec);
                                 self->options_.connection.log.log(net::log_level::warn, net::log_context::consumer, [&] {
                                     return "no connection to broker " + std::to_string(node) + ": " +
                                            (ready.failure.empty() ? ec.message() : ready.failure);
                                 });
                                 self->metadata_next_ = {};
                                 self->refresh_metadata();
                             } else {
                                 f.conn = ready.conn;
                                 f.versions = ready.versions;
                                 f.session.reset();
                             }
                         }
                         self->run_fetchers();
                     }));
    });
}

void consumer_impl::send_fetch(std::int32_t node, std::vector<fetch_position> wanted,
                               std::map<topic_partition, std::uint64_t> epochs) {
    using request_t = proto::fetch_request;
    std::shared_ptr<net::connection> conn;
    proto::fetch_request req;
    std::int16_t version = -1;
    {
        std::lock_guard lock(mutex_);
        broker_fetcher& f = fetchers_[node];
        conn = f.conn;
        bool have_ids = true;
        for (const auto& w : wanted) have_ids = have_ids && !w.topic_id.is_zero();
        // v13 names topics by id only.
        const auto v = f.versions.choose(request_t::api_key,
                                         {request_t::min_version, have_ids ? request_t::max_version : std::int16_t(12)});
        if (v) {
            version = *v;
            fetch_settings s;
            s.max_wait_ms = static_cast<std::int32_t>(options_.fetch_max_wait.count());
            s.min_bytes = options_.fetch_min_bytes;
            s.max_bytes = options_.fetch_max_bytes;
            s.isolation_level = options_.isolation == isolation_level::read_committed ? 1 : 0;
            s.rack_id = options_.client_rack.value_or("");
            try {
                req = f.session.build(wanted, version, s);
            } catch (const std::invalid_argument&) {
                version = -1;  // cannot happen with the version chosen above; fail the round, not the process
            }
        }
    }
    if (version < 0 || !conn) {
        asio::post(pool_->get_executor(), [self = shared_from_this(), node, epochs = std::move(epochs)]() mutable {
            self->on_fetch(node, -1, std::move(epochs), make_error_code(net::errc::no_common_version), nullptr);
        });
        return;
    }
    conn->async_send(req, version,
                     asio::bind_executor(pool_->get_executor(),
                                         [self = shared_from_this(), node, version, epochs = std::move(epochs)](
                                             std::error_code ec, proto::fetch_response resp) mutable {
                                             self->on_fetch(node, version, std::move(epochs), ec, &resp);
                                         }));
}

void consumer_impl::on_fetch(std::int32_t node, std::int16_t version, std::map<topic_partition, std::uint64_t> epochs,
                             std::error_code ec, const proto::fetch_response* resp) {
    {
        std::lock_guard lock(mutex_);
        broker_fetcher& f = fetchers_[node];
        f.in_flight = false;
        for (const auto& [tp, e] : epochs) {
            auto it = assigned_.find(tp);
            if (it != assigned_.end()) it->second.fetching = false;
        }
        if (!ec && resp) ec = f.session.on_response(*resp, version);
        if (closed_) return;
        if (ec) {
            f.session.reset();
            f.retry_at = clock::now() + options_.retry_backoff;
            if (f.conn && !f.conn->is_open()) f.conn.reset();
            options_.connection.log.log(net::log_level::warn, net::log_context::consumer, [&] {
                return "Fetch from broker " + std::to_string(node) + " failed: " + ec.message();
            });
            metadata_next_ = {};
            refresh_metadata();
        } else if (resp) {
            const auto snap = metadata_->current();
            std::shared_ptr<const void> owner;
            for (const auto& tr : resp->responses) {
                std::string topic = tr.topic;
                if (!tr.topic_id.is_zero()) {
                    for (const auto& [name, tm] : snap->topics)
                        if (tm.id == tr.topic_id) topic = name;
                }
                for (const auto& pd : tr.partitions) {
                    const topic_partition tp{topic, pd.partition_index};
                    auto it = assigned_.find(tp);
                    auto sent = epochs.find(tp);
                    if (it == assigned_.end() || sent == epochs.end() || sent->second != it->second.epoch)
                        continue;  // no longer wanted, or fetched before a seek
                    consumer_partition& p = it->second;
                    if (pd.error_code != 0) {
                        const auto code = static_cast<kafka_errc>(pd.error_code);
                        const std::error_code kec = proto::kafka_error(pd.error_code);
                        if (code == kafka_errc::offset_out_of_range) {
                            if (options_.auto_offset_reset == offset_reset::none) {
                                p.error = kec;
                            } else {
                                options_.connection.log.log(net::log_level::info, net::log_context::consumer, [&] {
                                    return tp.to_string() + ": offset " + std::to_string(p.position.value_or(-1)) +
                                           " out of range; resetting";
                                });
                                p.position.reset();
                                p.need = consumer_partition::need::reset;
                                p.reset_to = options_.auto_offset_reset;
                                ++p.epoch;
                            }
                        } else if (leader_may_have_moved(code) || proto::is_retriable(kec)) {
                            metadata_next_ = {};
                            refresh_metadata();
                        } else {
                            p.error = kec;  // e.g. authorization: the application must hear of it
                        }
                        continue;
                    }
                    p.high_watermark = pd.high_watermark;
                    if (!pd.records || pd.records->empty()) continue;
                    fetched_chunk chunk;
                    chunk.tp = tp;
                    chunk.owner = pd.records->owner();
                    chunk.records = pd.records->contiguous();
                    chunk.epoch = p.epoch;
                    if (pd.aborted_transactions) {
                        for (const auto& a : *pd.aborted_transactions)
                            chunk.aborted.push_back(aborted_transaction{a.producer_id, a.first_offset});
                        std::sort(chunk.aborted.begin(), chunk.aborted.end(),
                                  [](const auto& a, const auto& b) { return a.first_offset < b.first_offset; });
                    }
                    buffered_bytes_ += chunk.records.size();
                    buffered_.push_back(std::move(chunk));
                }
            }
        }
        changed_.notify_all();
    }
    run_fetchers();
}

// --- poll()'s half ---------------------------------------------------------------

void consumer_impl::drop_buffered(const topic_partition& tp) {
    for (auto it = buffered_.begin(); it != buffered_.end();) {
        if (it->tp == tp) {
            buffered_bytes_ -= std::min(buffered_bytes_, it->records.size());
            it = buffered_.erase(it);
        } else {
            ++it;
        }
    }
    if (cursor_.active && cursor_.chunk.tp == tp) {
        cursor_.active = false;
        cursor_.chunk = {};
        cursor_.decompressed.reset();
    }
}

void consumer_impl::take_records(consumer_records& out, std::size_t max) {
    while (out.size() < max) {
        if (!cursor_.active) {
            if (buffered_.empty()) return;
            cursor_.chunk = std::move(buffered_.front());
            buffered_.pop_front();
            buffered_bytes_ -= std::min(buffered_bytes_, cursor_.chunk.records.size());
            auto it = assigned_.find(cursor_.chunk.tp);
            if (it == assigned_.end() || it->second.epoch != cursor_.chunk.epoch || !it->second.position) {
                cursor_.chunk = {};
                continue;  // stale
            }
            cursor_.reader.reset(cursor_.chunk.records);
            cursor_.active = true;
            cursor_.in_batch = false;
            cursor_.decompressed.reset();
            cursor_.aborted_producers.clear();
            cursor_.next_aborted = 0;
        }
        if (!decode_some(out, max)) {
            cursor_.active = false;
            cursor_.chunk = {};
            cursor_.decompressed.reset();
        }
    }
}

// Decodes records of the current chunk into `out`; false when the chunk is done.
bool consumer_impl::decode_some(consumer_records& out, std::size_t max) {
    auto it = assigned_.find(cursor_.chunk.tp);
    if (it == assigned_.end() || it->second.epoch != cursor_.chunk.epoch || !it->second.position) return false;
    consumer_partition& p = it->second;
    auto& r = cursor_.reader;
    const bool read_committed = options_.isolation == isolation_level::read_committed;
    // The records returned view the chunk (and a decompressed batch): keep them alive.
    out.keep_alive(cursor_.chunk.owner);
    if (cursor_.decompressed) out.keep_alive(cursor_.decompressed);
    auto& name = topic_names_[it->first.topic];
    if (!name) name = std::make_shared<const std::string>(it->first.topic);
    out.keep_alive(name);
    const std::string_view topic = *name;
    while (out.size() < max) {
        if (!cursor_.in_batch) {
            if (!r.next_batch()) {
                if (r.error()) {
                    p.error = r.error();
                    p.error_detail = "malformed batch in " + cursor_.chunk.tp.to_string();
                }
                return false;
            }
            cursor_.batch = r.batch();
            const auto& b = cursor_.batch;
            if (b.last_offset < *p.position) continue;  // before the position (fetches start at a batch boundary)
            if (read_committed) {
                // Producers whose aborted transactions start at or before this batch.
                while (cursor_.next_aborted < cursor_.chunk.aborted.size() &&
                       cursor_.chunk.aborted[cursor_.next_aborted].first_offset <= b.last_offset) {
                    cursor_.aborted_producers.insert(cursor_.chunk.aborted[cursor_.next_aborted].producer_id);
                    ++cursor_.next_aborted;
                }
                if (b.control()) {
                    // An abort marker ends that producer's aborted transaction.
                    proto::record marker;
                    if (r.next_record(marker)) {
                        const auto c = proto::parse_control_record(marker.key);
                        if (c && c->is_abort()) cursor_.aborted_producers.erase(b.producer_id);
                    }
                    p.position = std::max(*p.position, b.last_offset + 1);
                    continue;
                }
                if (b.transactional() && cursor_.aborted_producers.count(b.producer_id)) {
                    p.position = std::max(*p.position, b.last_offset + 1);
                    continue;
                }
            }
            if (b.control()) {
                p.position = std::max(*p.position, b.last_offset + 1);
                continue;
            }
            if (b.compression() != proto::compression_codec::none) {
                // The records view the reader's decompression buffer: keep it.
                cursor_.decompressed = decompressed_pool_->share(r.take_decompressed());
                r.reuse_buffer(decompressed_pool_->take());
                out.keep_alive(cursor_.decompressed);
            }
            cursor_.in_batch = true;
        }
        proto::record rec;
        if (!r.next_record(rec)) {
            if (r.error()) {
                p.error = r.error();
                p.error_detail = "malformed record in " + cursor_.chunk.tp.to_string();
                return false;
            }
            cursor_.in_batch = false;
            // Compaction may leave gaps: the batch's last offset is consumed.
            p.position = std::max(*p.position, cursor_.batch.last_offset + 1);
            continue;
        }
        if (rec.offset < *p.position) continue;
        consumer_record cr;
        cr.topic = topic;
        cr.partition = it->first.partition;
        cr.offset = rec.offset;
        cr.timestamp_ms = cursor_.batch.timestamp_kind() == proto::timestamp_type::log_append_time
                              ? cursor_.batch.max_timestamp
                              : rec.timestamp;
        cr.timestamp_type = cursor_.batch.timestamp_kind();
        if (cursor_.batch.partition_leader_epoch >= 0) cr.leader_epoch = cursor_.batch.partition_leader_epoch;
        cr.key = rec.key;
        cr.value = rec.value;
        cr.headers = rec.headers;
        out.add(std::move(cr));
        p.position = rec.offset + 1;
        if (cursor_.batch.partition_leader_epoch >= 0) p.leader_epoch = cursor_.batch.partition_leader_epoch;
    }
    return true;  // `max` reached; the chunk may have more
}

} // namespace kwire
