// kwire::consumer: the public face, and the application's side of the
// consumer (assignment, poll, seeks) over consumer_impl.
#include "consumer_impl.hpp"

#include "kwire/proto/kafka_error.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include <thread>

namespace kwire {

// --- the facade ---------------------------------------------------------------

struct consumer::own_thread {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread;
};

consumer::consumer(consumer_options options) : thread_(std::make_unique<own_thread>()) {
    impl_ = std::make_shared<consumer_impl>(thread_->io.get_executor(), std::move(options));
    thread_->thread = std::thread([t = thread_.get()] { t->io.run(); });
    impl_->set_io_thread(thread_->thread.get_id());
}

consumer::consumer(asio::any_io_executor ex, consumer_options options)
    : impl_(std::make_shared<consumer_impl>(std::move(ex), std::move(options))) {}

consumer::~consumer() {
    if (impl_ && !impl_->on_io_thread()) impl_->close(std::chrono::seconds(30));
    if (thread_) {
        thread_->work.reset();
        if (thread_->thread.joinable()) {
            if (thread_->thread.get_id() == std::this_thread::get_id()) thread_->thread.detach();
            else thread_->thread.join();
        }
    }
}

void consumer::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    impl_->subscribe(std::move(topics), std::move(listener));
}
void consumer::unsubscribe() { impl_->unsubscribe(); }
void consumer::assign(std::vector<topic_partition> partitions) { impl_->assign(std::move(partitions)); }
std::vector<topic_partition> consumer::assignment() const { return impl_->assignment(); }

consumer_records consumer::poll(std::chrono::milliseconds timeout) {
    std::error_code ec;
    consumer_records records = poll(timeout, ec);
    if (ec) {
        const std::string detail = impl_->last_error_detail();
        throw std::system_error(ec, "kwire::consumer::poll" + (detail.empty() ? std::string() : " (" + detail + ")"));
    }
    return records;
}
consumer_records consumer::poll(std::chrono::milliseconds timeout, std::error_code& ec) {
    return impl_->poll(timeout, ec);
}

std::error_code consumer::commit(std::chrono::milliseconds timeout) { return impl_->commit(std::nullopt, timeout); }
std::error_code consumer::commit(const std::map<topic_partition, offset_and_metadata>& offsets,
                                 std::chrono::milliseconds timeout) {
    return impl_->commit(offsets, timeout);
}
void consumer::commit_async(std::function<void(std::error_code)> done) { impl_->commit_async(std::nullopt, std::move(done)); }
void consumer::commit_async(std::map<topic_partition, offset_and_metadata> offsets, std::function<void(std::error_code)> done) {
    impl_->commit_async(std::move(offsets), std::move(done));
}

std::map<topic_partition, offset_and_metadata> consumer::committed(const std::vector<topic_partition>& partitions,
                                                                   std::chrono::milliseconds timeout) {
    std::error_code ec;
    auto out = impl_->committed(partitions, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::committed");
    return out;
}

std::int64_t consumer::position(const topic_partition& tp, std::chrono::milliseconds timeout) {
    std::error_code ec;
    const auto out = impl_->position(tp, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::position(" + tp.to_string() + ")");
    return out;
}

void consumer::seek(const topic_partition& tp, std::int64_t offset) { impl_->seek(tp, offset); }
void consumer::seek_to_beginning(const std::vector<topic_partition>& partitions) {
    impl_->seek_to(partitions, offset_reset::earliest);
}
void consumer::seek_to_end(const std::vector<topic_partition>& partitions) { impl_->seek_to(partitions, offset_reset::latest); }

std::map<topic_partition, std::optional<std::int64_t>> consumer::offsets_for_times(
    const std::map<topic_partition, std::int64_t>& timestamps, std::chrono::milliseconds timeout) {
    std::error_code ec;
    auto out = impl_->offsets_for_times(timestamps, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::offsets_for_times");
    return out;
}

std::map<topic_partition, std::int64_t> consumer::beginning_offsets(const std::vector<topic_partition>& partitions,
                                                                    std::chrono::milliseconds timeout) {
    std::error_code ec;
    auto out = impl_->list_offsets_at(partitions, -2, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::beginning_offsets");
    return out;
}

std::map<topic_partition, std::int64_t> consumer::end_offsets(const std::vector<topic_partition>& partitions,
                                                              std::chrono::milliseconds timeout) {
    std::error_code ec;
    auto out = impl_->list_offsets_at(partitions, -1, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::end_offsets");
    return out;
}

std::vector<topic_partition> consumer::partitions_for(const std::string& topic, std::chrono::milliseconds timeout) {
    std::error_code ec;
    auto out = impl_->partitions_for(topic, timeout, ec);
    if (ec) throw std::system_error(ec, "kwire::consumer::partitions_for(" + topic + ")");
    return out;
}

void consumer::pause(const std::vector<topic_partition>& partitions) { impl_->set_paused(partitions, true); }
void consumer::resume(const std::vector<topic_partition>& partitions) { impl_->set_paused(partitions, false); }
std::vector<topic_partition> consumer::paused() const { return impl_->paused(); }
void consumer::close(std::chrono::milliseconds timeout) { impl_->close(timeout); }
asio::any_io_executor consumer::executor() const { return impl_->executor(); }

void consumer::iterator::advance() {
    index_ = 0;
    batch_.clear();
    while (consumer_) {
        std::error_code ec;
        batch_ = consumer_->poll(std::chrono::milliseconds(500), ec);
        if (ec == make_error_code(client_errc::consumer_closed)) {
            consumer_ = nullptr;  // the end
            return;
        }
        if (ec) throw std::system_error(ec, "kwire::consumer: poll");
        if (!batch_.empty()) return;
    }
}

// --- consumer_impl: the application's calls -------------------------------------

namespace {

// Fetch responses are read into recycled buffers, within a budget of what
// the consumer may buffer anyway (unless the application brought a pool).
consumer_options with_frame_pool(consumer_options o) {
    constexpr std::size_t max_budget = 64 * 1024 * 1024;
    if (!o.connection.frame_pool)
        o.connection.frame_pool = proto::byte_buffer_pool::create(std::min(o.queued_max_bytes, max_budget));
    return o;
}

constexpr std::size_t decompressed_pool_budget = 16 * 1024 * 1024;

} // namespace

consumer_impl::consumer_impl(asio::any_io_executor ex, consumer_options options)
    : options_(with_frame_pool(std::move(options))),
      executor_(ex),
      decompressed_pool_(proto::byte_buffer_pool::create(decompressed_pool_budget)),
      pool_(net::broker_pool::create(ex, options_.connection,
                                     net::backoff_options{options_.reconnect_backoff, options_.reconnect_backoff_max})),
      metadata_(cluster_metadata::create(pool_, options_.bootstrap)),
      timer_(pool_->get_executor()),
      group_wake_(std::make_unique<asio::steady_timer>(pool_->get_executor())) {
    cursor_.reader = proto::record_batch_reader(proto::record_batch_reader::options{
        64 * 1024 * 1024, 0, options_.check_crcs});
    metadata_->set_allow_auto_create(options_.allow_auto_create_topics);
}

bool consumer_impl::on_io_thread() const {
    if (io_thread_ != std::thread::id{}) return std::this_thread::get_id() == io_thread_;
    if (pool_->get_executor().running_in_this_thread()) return true;
    if (auto* io = executor_.target<asio::io_context::executor_type>()) return io->running_in_this_thread();
    return false;
}

void consumer_impl::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    if (options_.group_id.empty())
        throw std::invalid_argument("kwire::consumer::subscribe needs group.id (or use assign())");
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        // Leaving manual assignment: those partitions go.
        if (!subscribed_) {
            for (const auto& [tp, p] : assigned_) drop_buffered(tp);
            assigned_.clear();
        }
        subscription_ = std::move(topics);
        listener_ = std::move(listener);
        subscribed_ = true;
        rejoin_needed_ = true;
        last_poll_ = clock::now();
        if (!group_loop_running_) {
            group_loop_running_ = true;
            asio::co_spawn(pool_->get_executor(), group_loop(shared_from_this()), asio::detached);
        }
    }
    wake_group();
}

void consumer_impl::unsubscribe() {
    bool auto_commit = false;
    {
        std::lock_guard lock(mutex_);
        if (!subscribed_) return;
        auto_commit = options_.enable_auto_commit && !assigned_.empty();
    }
    // As Java does before leaving: what was consumed is committed while this
    // member still owns its partitions.
    if (auto_commit) (void)commit(std::nullopt, options_.connection.request_timeout);
    {
        std::lock_guard lock(mutex_);
        if (!subscribed_) return;
        subscribed_ = false;
        // The group's partitions go now, not when the group loop gets to
        // leave: an assign() right after must not be undone by that leave.
        std::vector<topic_partition> revoked;
        for (const auto& [tp, p] : assigned_) revoked.push_back(tp);
        for (const auto& tp : revoked) drop_buffered(tp);
        assigned_.clear();
        if (!revoked.empty()) events_.push_back(rebalance_event{rebalance_event_kind::revoked, std::move(revoked)});
        changed_.notify_all();
    }
    wake_group();  // the group loop leaves the group
}

void consumer_impl::assign(std::vector<topic_partition> partitions) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        if (subscribed_) throw std::logic_error("kwire::consumer::assign: the consumer is subscribed; unsubscribe() first");
        std::map<topic_partition, consumer_partition> next;
        for (auto& tp : partitions) {
            auto it = assigned_.find(tp);
            if (it != assigned_.end()) next.emplace(tp, std::move(it->second));
            else next.emplace(tp, consumer_partition{});
        }
        for (const auto& [tp, p] : assigned_)
            if (!next.count(tp)) drop_buffered(tp);
        assigned_ = std::move(next);
    }
    wake();
}

std::vector<topic_partition> consumer_impl::assignment() const {
    std::lock_guard lock(mutex_);
    std::vector<topic_partition> out;
    for (const auto& [tp, p] : assigned_) out.push_back(tp);
    return out;
}

consumer_records consumer_impl::poll(std::chrono::milliseconds timeout, std::error_code& ec) {
    ec = {};
    consumer_records out;
    if (on_io_thread()) {
        ec = make_error_code(client_errc::would_block);
        return out;
    }
    const auto deadline = clock::now() + timeout;
    std::unique_lock lock(mutex_);
    bool woke_fetchers = false;
    for (;;) {
        if (closed_) {
            ec = make_error_code(client_errc::consumer_closed);
            return out;
        }
        last_poll_ = clock::now();
        if (poll_timed_out_) {
            // The group dropped us for polling too slowly: rejoin now.
            poll_timed_out_ = false;
            rejoin_needed_ = true;
            lock.unlock();
            wake_group();
            lock.lock();
        }
        run_rebalance_events(lock);
        maybe_auto_commit_assigned(lock);
        last_error_detail_.clear();
        if (fatal_) {
            ec = fatal_;
            return out;
        }
        if (configuration_error_) {
            ec = std::exchange(configuration_error_, {});
            return out;
        }
        for (auto& [tp, p] : assigned_) {
            if (p.error) {
                ec = p.error;
                last_error_detail_ = p.error_detail.empty() ? tp.to_string() : p.error_detail;
                // no_offset is a state, not an event: every poll() says it
                // until a seek() or a commit gives the partition a position.
                if (ec != make_error_code(client_errc::no_offset)) p.error = {};
                return out;
            }
        }
        take_records(out, options_.max_poll_records);
        if (!out.empty()) break;
        if (!woke_fetchers) {
            woke_fetchers = true;
            lock.unlock();
            wake();
            lock.lock();
            continue;
        }
        if (clock::now() >= deadline) break;
        changed_.wait_until(lock, deadline);
    }
    lock.unlock();
    wake();  // buffer space freed: fetch more
    return out;
}

// Manually assigned partitions are auto-committed too (as in Java), from
// poll(): there is no group loop running for them.
void consumer_impl::maybe_auto_commit_assigned(std::unique_lock<std::mutex>& lock) {
    if (subscribed_ || !options_.enable_auto_commit || options_.group_id.empty() || assigned_.empty()) return;
    const auto now = clock::now();
    if (next_manual_auto_commit_ == clock::time_point{}) next_manual_auto_commit_ = now + options_.auto_commit_interval;
    if (now < next_manual_auto_commit_) return;
    next_manual_auto_commit_ = now + options_.auto_commit_interval;
    auto positions = consumed_positions();
    if (positions.empty()) return;
    lock.unlock();
    net::async_spawn<bool>(pool_->get_executor(), commit_offsets(shared_from_this(), std::move(positions)),
                           [](std::error_code, bool) {});  // a failed auto-commit is logged; the next one retries
    lock.lock();
}

void consumer_impl::seek(const topic_partition& tp, std::int64_t offset) {
    {
        std::lock_guard lock(mutex_);
        auto it = assigned_.find(tp);
        if (it == assigned_.end())
            throw std::invalid_argument("kwire::consumer::seek: " + tp.to_string() + " is not assigned");
        auto& p = it->second;
        p.position = offset;
        p.leader_epoch.reset();
        p.need = consumer_partition::need::none;
        p.error = {};
        ++p.epoch;
        drop_buffered(tp);
    }
    wake();
}

void consumer_impl::seek_to(const std::vector<topic_partition>& partitions, offset_reset where) {
    {
        std::lock_guard lock(mutex_);
        const bool all = partitions.empty();
        for (auto& [tp, p] : assigned_) {
            if (!all && std::find(partitions.begin(), partitions.end(), tp) == partitions.end()) continue;
            p.position.reset();
            p.need = consumer_partition::need::reset;
            p.reset_to = where;
            p.error = {};
            ++p.epoch;
            drop_buffered(tp);
        }
    }
    wake();
}

void consumer_impl::set_paused(const std::vector<topic_partition>& partitions, bool paused) {
    {
        std::lock_guard lock(mutex_);
        for (const auto& tp : partitions) {
            auto it = assigned_.find(tp);
            if (it == assigned_.end()) continue;
            it->second.paused = paused;
            // Data fetched before a pause is dropped: after resume, fetching
            // starts again at the position.
            if (paused) {
                ++it->second.epoch;
                drop_buffered(tp);
            }
        }
    }
    wake();
}

std::vector<topic_partition> consumer_impl::paused() const {
    std::lock_guard lock(mutex_);
    std::vector<topic_partition> out;
    for (const auto& [tp, p] : assigned_)
        if (p.paused) out.push_back(tp);
    return out;
}

std::int64_t consumer_impl::position(const topic_partition& tp, std::chrono::milliseconds timeout, std::error_code& ec) {
    ec = {};
    const auto deadline = clock::now() + timeout;
    std::unique_lock lock(mutex_);
    auto it = assigned_.find(tp);
    if (it == assigned_.end()) {
        ec = make_error_code(client_errc::not_assigned);
        return -1;
    }
    lock.unlock();
    wake();
    lock.lock();
    const bool known = changed_.wait_until(lock, deadline, [&] {
        auto i = assigned_.find(tp);
        return closed_ || i == assigned_.end() || i->second.position.has_value() || i->second.error;
    });
    it = assigned_.find(tp);
    if (!known) ec = make_error_code(net::errc::request_timeout);
    else if (it == assigned_.end()) ec = make_error_code(client_errc::not_assigned);
    else if (it->second.error) ec = it->second.error;
    else if (closed_) ec = make_error_code(client_errc::consumer_closed);
    return !ec && it != assigned_.end() && it->second.position ? *it->second.position : -1;
}

std::map<topic_partition, offset_and_metadata> consumer_impl::committed(const std::vector<topic_partition>& partitions,
                                                                        std::chrono::milliseconds timeout,
                                                                        std::error_code& ec) {
    auto [e, out] = run_blocking(fetch_committed(shared_from_this(), partitions), timeout);
    ec = e;
    return out;
}

std::map<topic_partition, std::optional<std::int64_t>> consumer_impl::offsets_for_times(
    const std::map<topic_partition, std::int64_t>& timestamps, std::chrono::milliseconds timeout, std::error_code& ec) {
    auto [e, found] = run_blocking(list_offsets(shared_from_this(), timestamps), timeout);
    ec = e;
    std::map<topic_partition, std::optional<std::int64_t>> out;
    for (const auto& [tp, ts] : timestamps) {
        auto it = found.find(tp);
        if (it != found.end() && it->second.first >= 0) out[tp] = it->second.first;
        else out[tp] = std::nullopt;
    }
    return out;
}

std::map<topic_partition, std::int64_t> consumer_impl::list_offsets_at(const std::vector<topic_partition>& partitions,
                                                                        std::int64_t timestamp,
                                                                        std::chrono::milliseconds timeout,
                                                                        std::error_code& ec) {
    std::map<topic_partition, std::int64_t> query;
    for (const auto& tp : partitions) query[tp] = timestamp;
    auto [e, found] = run_blocking(list_offsets(shared_from_this(), std::move(query)), timeout);
    ec = e;
    std::map<topic_partition, std::int64_t> out;
    for (const auto& [tp, v] : found) out[tp] = v.first;
    return out;
}

std::vector<topic_partition> consumer_impl::partitions_for(const std::string& topic, std::chrono::milliseconds timeout,
                                                           std::error_code& ec) {
    auto op = [](std::shared_ptr<consumer_impl> self, std::string name) -> net::result_awaitable<std::vector<topic_partition>> {
        std::optional<std::vector<std::string>> topics(std::in_place);
        topics->push_back(name);
        auto [mec, snap] = co_await self->metadata_->async_refresh(std::move(topics), consumer_detail::no_throw);
        std::vector<topic_partition> out;
        if (mec) co_return std::pair{mec, out};
        const topic_metadata* tm = snap->topic(name);
        if (!tm) co_return std::pair{make_error_code(proto::kafka_errc::unknown_topic_or_partition), out};
        if (tm->error) co_return std::pair{tm->error, out};
        for (const auto& p : tm->partitions) out.push_back(topic_partition{name, p.partition});
        co_return std::pair{std::error_code{}, out};
    };
    auto [e, out] = run_blocking(op(shared_from_this(), topic), timeout);
    ec = e;
    return out;
}

std::error_code consumer_impl::commit(std::optional<std::map<topic_partition, offset_and_metadata>> offsets,
                                      std::chrono::milliseconds timeout) {
    std::map<topic_partition, offset_and_metadata> what;
    {
        std::lock_guard lock(mutex_);
        if (subscribed_ && lost_unseen_) return make_error_code(client_errc::partitions_lost);
        what = offsets ? std::move(*offsets) : consumed_positions();
    }
    if (what.empty()) return {};
    std::vector<topic_partition> parts;
    for (const auto& [tp, om] : what) parts.push_back(tp);
    const std::error_code ec = run_blocking(commit_offsets(shared_from_this(), std::move(what)), timeout).first;
    if (!ec) {
        // A partition stuck on no_offset has a committed offset to start from now.
        std::lock_guard lock(mutex_);
        for (const auto& tp : parts) {
            auto it = assigned_.find(tp);
            if (it == assigned_.end() || it->second.error != make_error_code(client_errc::no_offset)) continue;
            it->second.error = {};
            it->second.need = consumer_partition::need::committed;
        }
    }
    if (!ec) wake();
    return ec;
}

void consumer_impl::commit_async(std::optional<std::map<topic_partition, offset_and_metadata>> offsets,
                                 std::function<void(std::error_code)> done) {
    std::map<topic_partition, offset_and_metadata> what;
    bool lost = false;
    {
        std::lock_guard lock(mutex_);
        lost = subscribed_ && lost_unseen_;
        if (!lost) what = offsets ? std::move(*offsets) : consumed_positions();
    }
    if (lost) {
        // Completes as a commit would: on the I/O thread, never inside this call.
        asio::post(pool_->get_executor(), [done = std::move(done)] {
            if (done) done(make_error_code(client_errc::partitions_lost));
        });
        return;
    }
    net::async_spawn<bool>(pool_->get_executor(), commit_offsets(shared_from_this(), std::move(what)),
                           [done = std::move(done)](std::error_code ec, bool) {
                               if (done) done(ec);
                           });
}

void consumer_impl::close(std::chrono::milliseconds timeout) {
    if (on_io_thread()) return;
    const auto deadline = clock::now() + timeout;
    bool auto_commit = false;
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        auto_commit = options_.enable_auto_commit && !options_.group_id.empty();
    }
    if (auto_commit) (void)commit(std::nullopt, std::max(std::chrono::milliseconds(0),
                                                         std::chrono::duration_cast<std::chrono::milliseconds>(
                                                             deadline - clock::now())));
    std::unique_lock lock(mutex_);
    const bool was_subscribed = subscribed_;
    subscribed_ = false;
    closed_ = true;
    changed_.notify_all();
    lock.unlock();
    if (was_subscribed) {
        wake_group();
        // The group loop leaves the group and ends.
        lock.lock();
        changed_.wait_until(lock, deadline, [&] { return !group_loop_running_; });
        lock.unlock();
    }
    pool_->close();
    asio::post(pool_->get_executor(), [self = shared_from_this()] {
        self->timer_.cancel();
        self->group_wake_->cancel();
    });
}

} // namespace kwire
