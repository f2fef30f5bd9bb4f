// A move-only, type-erased completion handler that remembers the executor it
// must run on (its associated executor) and keeps that executor busy until it
// has run. Connections store these for requests still in flight.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/prefer.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kwire::net {

template <class... Args>
class erased_handler {
public:
    erased_handler() = default;

    template <class Handler>
    erased_handler(Handler&& handler, const asio::any_io_executor& fallback)
        : impl_(std::make_unique<impl<std::decay_t<Handler>>>(std::forward<Handler>(handler), fallback)) {}

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    // Runs the handler on its executor. May be called once.
    void operator()(Args... args) {
        auto taken = std::move(impl_);
        taken->complete(std::move(args)...);
    }

private:
    struct base {
        virtual ~base() = default;
        virtual void complete(Args... args) = 0;
    };

    template <class Handler>
    struct impl final : base {
        impl(Handler&& h, const asio::any_io_executor& fallback)
            : work(asio::prefer(executor_of(h, fallback), asio::execution::outstanding_work.tracked)),
              handler(std::move(h)) {}

        // The handler's own executor when it is an I/O executor; otherwise
        // (e.g. use_future's, which runs inline) the fallback.
        static asio::any_io_executor executor_of(const Handler& h, const asio::any_io_executor& fallback) {
            using associated = asio::associated_executor_t<Handler, asio::any_io_executor>;
            if constexpr (std::is_constructible_v<asio::any_io_executor, associated>)
                return asio::get_associated_executor(h, fallback);
            else
                return fallback;
        }

        void complete(Args... args) override {
            auto ex = work;
            asio::dispatch(ex, [h = std::move(handler), w = std::move(work),
                                a = std::make_tuple(std::move(args)...)]() mutable {
                std::apply(std::move(h), std::move(a));
            });
        }

        asio::any_io_executor work;
        Handler handler;
    };

    std::unique_ptr<base> impl_;
};

} // namespace kwire::net
