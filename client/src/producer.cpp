// kwire::producer: the public face (threads, blocking helpers) over producer_impl.
#include "producer_impl.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <future>
#include <thread>

namespace kwire {

struct producer::own_thread {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    std::thread thread;
};

producer::producer(producer_options options) : thread_(std::make_unique<own_thread>()) {
    impl_ = std::make_shared<producer_impl>(thread_->io.get_executor(), std::move(options));
    executor_ = impl_->executor();
    thread_->thread = std::thread([t = thread_.get()] { t->io.run(); });
    impl_->set_io_thread(thread_->thread.get_id());
}

producer::producer(asio::any_io_executor ex, producer_options options)
    : impl_(std::make_shared<producer_impl>(std::move(ex), std::move(options))), executor_(impl_->executor()) {}

producer::~producer() {
    if (impl_ && !impl_->on_io_thread()) close(impl_->options().delivery_timeout);
    if (thread_) {
        thread_->work.reset();
        if (thread_->thread.joinable()) {
            if (thread_->thread.get_id() == std::this_thread::get_id()) thread_->thread.detach();
            else thread_->thread.join();
        }
    }
}

void producer::enqueue(producer_record& record, bool may_move, net::erased_handler<std::error_code, record_metadata> done) {
    impl_->enqueue(record, may_move, std::move(done));
}

record_metadata producer::send_sync(const producer_record& record, std::optional<std::chrono::milliseconds> timeout) {
    if (impl_->on_io_thread())
        throw std::system_error(make_error_code(client_errc::would_block), "kwire::producer::send_sync");
    // Shared with the callback, which may outlive this call when it times out.
    auto promise = std::make_shared<std::promise<std::pair<std::error_code, record_metadata>>>();
    auto future = promise->get_future();
    send(record, [promise](std::error_code ec, record_metadata md) { promise->set_value({ec, md}); });
    const auto& o = impl_->options();
    const auto limit = timeout.value_or(o.delivery_timeout + o.connection.request_timeout + o.linger +
                                        std::chrono::milliseconds(5000));
    if (future.wait_for(limit) != std::future_status::ready) {
        throw std::system_error(make_error_code(client_errc::delivery_timeout),
                                "kwire::producer::send_sync: no outcome within " + std::to_string(limit.count()) + " ms");
    }
    auto [ec, md] = future.get();
    if (ec) {
        throw std::system_error(ec, "kwire::producer::send_sync: record to " + record.topic + " failed");
    }
    return md;
}

std::error_code producer::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }

std::error_code producer::close(std::chrono::milliseconds timeout) { return impl_->close(timeout); }

std::size_t producer::pending() const { return impl_->pending(); }

asio::any_io_executor producer::executor() const { return executor_; }

} // namespace kwire
