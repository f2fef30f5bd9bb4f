// The accumulator: send() puts each record straight into its partition's
// open batch (written once, in wire form, by record_batch_builder), within
// the buffer.memory budget. Records of a topic whose partitions are not known
// yet wait, with their bytes owned, until metadata arrives.
#include "producer_impl.hpp"

#include "kwire/partitioner.hpp"
#include "kwire/proto/buffer_chain.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

namespace kwire {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::size_t record_size(const payload& key, const payload& value, const std::vector<header>& headers) {
    std::size_t size = proto::record_batch_builder::max_record_size(key.size(), value.size());
    for (const auto& h : headers) size += h.name.size() + h.value.size() + 10;
    return size;
}

// Bytes referenced rather than copied into a batch from this size on.
constexpr std::size_t reference_threshold = proto::buffer_chain::default_reference_threshold;

} // namespace

void producer_impl::enqueue(producer_record& record, bool may_move, delivery_handler done) {
    completion_list out;
    auto fail_now = [&](std::error_code ec) {
        out.push_back(completion{std::move(done), ec, record_metadata{{}, record.partition.value_or(-1), -1, -1}});
        run_completions(out);  // not counted in pending_
    };
    const std::size_t size = record_size(record.key, record.value, record.headers);
    if (size > options_.max_request_size || size > options_.buffer_memory)
        return fail_now(make_error_code(client_errc::record_too_large));
    if (record.topic.empty()) return fail_now(proto::make_error_code(proto::kafka_errc::invalid_topic_exception));

    std::unique_lock lock(mutex_);
    if (closing_ || closed_) {
        lock.unlock();
        return fail_now(make_error_code(client_errc::producer_closed));
    }
    if (fatal_) {
        const auto ec = fatal_;
        lock.unlock();
        return fail_now(ec);
    }
    // buffer.memory: wait for space, but never on the I/O thread (the space
    // is freed there).
    if (buffer_used_ > 0 && buffer_used_ + size > options_.buffer_memory) {
        if (on_io_thread()) {
            lock.unlock();
            return fail_now(make_error_code(client_errc::buffer_full));
        }
        wake();
        ++senders_waiting_;
        const bool space = space_.wait_for(lock, options_.max_block, [&] {
            return closing_ || closed_ || buffer_used_ == 0 || buffer_used_ + size <= options_.buffer_memory;
        });
        --senders_waiting_;
        if (closing_ || closed_) {
            lock.unlock();
            return fail_now(make_error_code(client_errc::producer_closed));
        }
        if (!space) {
            lock.unlock();
            return fail_now(make_error_code(client_errc::buffer_full));
        }
    }

    topic_state& t = topic_for(record.topic);
    const std::int64_t timestamp = record.timestamp_ms.value_or(now_ms());
    buffer_used_ += size;
    ++pending_;
    if (t.partitions.empty()) {
        // Unknown partitions: the record waits (owning its bytes) for metadata.
        waiting_record w;
        w.partition = record.partition;
        w.timestamp = timestamp;
        w.since = clock::now();
        w.reserved = size;
        w.done = std::move(done);
        auto take = [&](payload& p) -> payload {
            if (may_move) return std::move(p);
            payload copy = payload(p.bytes());
            if (p.is_null()) copy = payload();
            return copy;
        };
        w.key = take(record.key);
        w.value = take(record.value);
        w.key.own();
        w.value.own();
        for (auto& h : record.headers) {
            header copy{h.name, take(h.value)};
            copy.value.own();
            w.headers.push_back(std::move(copy));
        }
        const bool first = t.waiting.empty();
        t.waiting.push_back(std::move(w));
        lock.unlock();
        if (first) wake();
        return;
    }

    std::int32_t partition = -1;
    std::error_code ec = choose_partition(t, record.partition, record.key, partition);
    if (!ec) ec = append(t, partition, timestamp, record.key, record.value, record.headers, may_move, size, done);
    if (ec) {
        buffer_used_ -= size;
        --pending_;
        lock.unlock();
        return fail_now(ec);
    }
}

topic_state& producer_impl::topic_for(std::string_view name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return *it->second;
    auto t = std::make_unique<topic_state>();
    t->name = std::string(name);
    metadata_stale_ = true;  // ask for it soon
    return *topics_.emplace(t->name, std::move(t)).first->second;
}

std::error_code producer_impl::choose_partition(topic_state& t, const std::optional<std::int32_t>& requested,
                                                const payload& key, std::int32_t& out) {
    const auto count = static_cast<std::int32_t>(t.partitions.size());
    if (requested) {
        if (*requested < 0 || *requested >= count) return make_error_code(client_errc::unknown_partition);
        out = *requested;
        return {};
    }
    if (options_.custom_partitioner) {
        try {
            out = options_.custom_partitioner(t.name, key.optional_bytes(), count);
        } catch (...) {
            return make_error_code(client_errc::partitioner_failed);
        }
        if (out < 0 || out >= count) return make_error_code(client_errc::partitioner_failed);
        return {};
    }
    const std::string& how = options_.partitioner;
    if (how == "random") {
        out = static_cast<std::int32_t>(random_() % static_cast<std::uint32_t>(count));
        return {};
    }
    const bool crc = how == "consistent" || how == "consistent_random";
    if (!key.is_null() || how == "murmur2" || how == "consistent") {
        out = crc ? consistent_partition(key.bytes(), count) : murmur2_partition(key.bytes(), count);
        return {};
    }
    // No key: stick to one partition until about a batch of bytes went there,
    // then move on (Java's uniform sticky partitioner, KIP-794).
    if (t.sticky_partition < 0 || t.sticky_partition >= count || t.sticky_bytes >= options_.batch_size) {
        std::int32_t next = static_cast<std::int32_t>(random_() % static_cast<std::uint32_t>(count));
        if (count > 1 && next == t.sticky_partition) next = (next + 1) % count;
        t.sticky_partition = next;
        t.sticky_bytes = 0;
    }
    out = t.sticky_partition;
    return {};
}

batch_ptr producer_impl::new_batch() {
    if (spare_batches_.empty()) return std::make_unique<produce_batch>();
    batch_ptr b = std::move(spare_batches_.back());
    spare_batches_.pop_back();
    return b;
}

void producer_impl::recycle(batch_ptr b) {
    // Keeps a few batches (and their builders' buffers) for reuse.
    if (spare_batches_.size() >= 64) return;
    b->handlers.clear();
    b->timestamps.clear();
    b->builder.reset();  // drops value owners
    b->topic = nullptr;
    b->attempts = 0;
    b->closed = b->sent = false;
    b->producer_id = -1;
    b->producer_epoch = -1;
    b->base_sequence = -1;
    b->last_error = {};
    b->reserved = 0;
    b->sub_order = 0;
    b->sub_span = produce_batch::full_sub_span;
    spare_batches_.push_back(std::move(b));
}

std::error_code producer_impl::append(topic_state& t, std::int32_t partition, std::int64_t timestamp, payload& key,
                                      payload& value, const std::vector<header>& headers, bool may_move,
                                      std::size_t reserved, delivery_handler& done) {
    partition_state& p = t.partitions[static_cast<std::size_t>(partition)];
    produce_batch* b = p.queue.empty() ? nullptr : p.queue.back().get();
    if (b && !b->closed && !b->builder.empty() && b->builder.size_bytes() + reserved > options_.batch_size) {
        b->closed = true;
        wake();
    }
    if (b && b->closed) b = nullptr;
    bool created = false;
    if (!b) {
        batch_ptr fresh = new_batch();
        proto::record_batch_builder::options bo;
        bo.compression = options_.compression;
        bo.compression_level = options_.compression_level;
        if (auto ec = fresh->builder.reset(bo)) return ec;
        fresh->topic = &t;
        fresh->partition = partition;
        fresh->order = p.next_order++;
        fresh->sub_order = 0;
        fresh->sub_span = produce_batch::full_sub_span;
        fresh->created = clock::now();
        fresh->linger_until = fresh->created + options_.linger;
        b = fresh.get();
        p.queue.push_back(std::move(fresh));
        created = true;
    }

    std::array<proto::record_header, 8> small;
    std::vector<proto::record_header> large;
    std::span<const proto::record_header> hdrs;
    if (headers.size() <= small.size()) {
        for (std::size_t i = 0; i < headers.size(); ++i) small[i] = {headers[i].name, headers[i].value.optional_bytes()};
        hdrs = std::span<const proto::record_header>(small.data(), headers.size());
    } else {
        for (const auto& h : headers) large.push_back({h.name, h.value.optional_bytes()});
        hdrs = large;
    }
    // A large value is referenced, not copied, when something keeps it alive.
    std::shared_ptr<const void> owner;
    if (value.size() >= reference_threshold) {
        if (value.kind() == payload::ownership::borrowed || (may_move && value.kind() == payload::ownership::moved_in))
            owner = value.share();
    }
    if (!b->builder.append(timestamp, key.optional_bytes(), value.optional_bytes(), hdrs, owner)) {
        if (created && b->builder.empty()) {
            p.queue.pop_back();
            --p.next_order;
        }
        return make_error_code(client_errc::record_too_large);
    }
    b->handlers.push_back(std::move(done));
    b->timestamps.push_back(timestamp);
    b->reserved += reserved;
    t.sticky_bytes += reserved;
    if (b->builder.size_bytes() >= options_.batch_size) {
        b->closed = true;
        wake();
    } else if (created) {
        wake();  // arms the linger timer
    }
    return {};
}

void producer_impl::place_waiting(topic_state& t, completion_list& out) {
    while (!t.waiting.empty()) {
        waiting_record w = std::move(t.waiting.front());
        t.waiting.pop_front();
        std::int32_t partition = -1;
        std::error_code ec = choose_partition(t, w.partition, w.key, partition);
        if (!ec) ec = append(t, partition, w.timestamp, w.key, w.value, w.headers, true, w.reserved, w.done);
        if (ec) fail_waiting(w, ec, out);
    }
}

bool producer_impl::split(produce_batch& b, std::error_code cause, clock::time_point now) {
    const std::int32_t count = b.record_count();
    if (count < 2 || b.handlers.size() != static_cast<std::size_t>(count)) return false;
    partition_state& p = b.topic->partitions[static_cast<std::size_t>(b.partition)];

    // Read the records back from the batch as it was sent (decompressed if
    // it was compressed). The views point into `wire` or the reader.
    b.builder.seal();  // a no-op: a batch that went out is sealed
    if (b.builder.error()) return false;
    const std::vector<std::byte> wire = b.builder.sealed().to_vector();
    proto::record_batch_reader reader;
    reader.reset(wire);
    if (!reader.next_batch()) return false;
    struct read_record {
        proto::record r;
        std::size_t header_begin = 0, header_end = 0;
        std::size_t size = 0;
    };
    std::vector<read_record> records;
    std::vector<proto::record_header> headers;
    records.reserve(static_cast<std::size_t>(count));
    std::size_t total = 0;
    for (proto::record r; reader.next_record(r);) {
        read_record rr;
        rr.r = r;
        rr.header_begin = headers.size();
        for (const auto& h : r.headers) headers.push_back(h);
        rr.header_end = headers.size();
        rr.size = proto::record_batch_builder::max_record_size(
            r.key ? r.key->size() : 0, r.value ? r.value->size() : 0,
            std::span<const proto::record_header>(headers.data() + rr.header_begin, rr.header_end - rr.header_begin));
        total += rr.size;
        records.push_back(rr);
    }
    if (reader.error() || records.size() != static_cast<std::size_t>(count)) return false;

    // Pieces of about half the records' size, in order: a piece takes the
    // next record while it stays within the target (and always its first),
    // so there are at least two and each has fewer records than the whole.
    const std::size_t target = std::max<std::size_t>(total / 2, 1);
    std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [begin, end) of each piece
    std::size_t piece_bytes = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (ranges.empty() || (piece_bytes > 0 && piece_bytes + records[i].size > target)) {
            ranges.emplace_back(i, i);
            piece_bytes = 0;
        }
        ++ranges.back().second;
        piece_bytes += records[i].size;
    }

    // Build every piece before touching the batch, so that a failure leaves it whole.
    std::vector<batch_ptr> pieces;
    proto::record_batch_builder::options bo;
    bo.compression = options_.compression;
    bo.compression_level = options_.compression_level;
    bool built = true;
    for (const auto& [begin, end] : ranges) {
        batch_ptr piece = new_batch();
        built = !piece->builder.reset(bo);
        for (std::size_t i = begin; built && i < end; ++i) {
            const read_record& rr = records[i];
            const std::span<const proto::record_header> hdrs(headers.data() + rr.header_begin,
                                                             rr.header_end - rr.header_begin);
            built = piece->builder.append(rr.r.timestamp, rr.r.key, rr.r.value, hdrs);
        }
        pieces.push_back(std::move(piece));
        if (!built) break;
    }
    if (!built) {
        for (auto& piece : pieces) recycle(std::move(piece));
        return false;
    }

    const std::uint64_t span = std::max<std::uint64_t>(b.sub_span / pieces.size(), 1);
    std::size_t reserved_left = b.reserved;
    for (std::size_t k = 0; k < pieces.size(); ++k) {
        produce_batch& piece = *pieces[k];
        const auto [begin, end] = ranges[k];
        std::size_t bytes = 0;
        for (std::size_t i = begin; i < end; ++i) {
            piece.handlers.push_back(std::move(b.handlers[i]));
            piece.timestamps.push_back(b.timestamps[i]);
            bytes += records[i].size;
        }
        // buffer.memory stays held, shared out by size (the last takes the rest).
        piece.reserved = k + 1 == pieces.size() ? reserved_left
                                                : std::min(reserved_left, b.reserved / total * bytes +
                                                                              b.reserved % total * bytes / total);
        reserved_left -= piece.reserved;
        piece.topic = b.topic;
        piece.partition = b.partition;
        piece.order = b.order;
        piece.sub_order = b.sub_order + span * k;
        piece.sub_span = span;
        piece.created = b.created;  // delivery.timeout.ms still counts from the record's send
        piece.linger_until = b.created;
        piece.retry_at = now;
        piece.closed = true;
        // Like the whole batch: it holds sequence numbers (with idempotence)
        // that must not be left unused, and goes out without lingering.
        piece.sent = b.sent;
        piece.attempts = 0;
        piece.last_error = cause;
        stamp_split(piece, b, static_cast<std::int32_t>(begin));
    }
    options_.connection.log.log(net::log_level::info, net::log_context::producer, [&] {
        return b.topic->name + "/" + std::to_string(b.partition) + ": the broker refused a batch of " +
               std::to_string(count) + " records (" + std::to_string(wire.size()) + " bytes) as too large (" +
               std::string(proto::kafka_error_name(static_cast<std::int16_t>(cause.value()))) + "); split into " +
               std::to_string(pieces.size()) + " batches";
    });
    b.handlers.clear();
    b.timestamps.clear();
    b.reserved = 0;
    // Nothing more of the partition goes out until every batch in flight is
    // back; then the pieces go first, in order (as for a retry).
    p.blocked = true;
    for (auto& piece : pieces) requeue(p, std::move(piece));
    return true;
}

} // namespace kwire
