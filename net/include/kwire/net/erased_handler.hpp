// A move-only, type-erased completion handler that remembers the executor it
// must run on (its associated executor). Connections store these for requests
// in flight, and the producer one per record, so a handler that fits (most
// lambdas, use_future's, use_awaitable's) is stored inline: no heap
// allocation per record.
//
// A handler whose executor is the component's own (the `fallback`) needs no
// work guard: the component keeps its executor running while it holds
// handlers. A handler bound elsewhere (a user's strand, another io_context)
// keeps that executor busy until it has run.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/prefer.hpp>

#include <cstddef>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kwire::net {

template <class... Args>
class erased_handler {
public:
    // Room for the executor (56 bytes on x86-64) and a handler of up to ~64
    // bytes; larger handlers go to the heap.
    static constexpr std::size_t inline_size = 128;

    erased_handler() noexcept = default;

    template <class Handler>
    erased_handler(Handler&& handler, const asio::any_io_executor& fallback) {
        using stored = bound<std::decay_t<Handler>>;
        if constexpr (sizeof(stored) <= inline_size && alignof(stored) <= alignof(std::max_align_t) &&
                      std::is_nothrow_move_constructible_v<stored>) {
            ::new (static_cast<void*>(storage_)) stored(std::forward<Handler>(handler), fallback);
            ops_ = &inline_ops<stored>;
        } else {
            ::new (static_cast<void*>(storage_)) stored*(new stored(std::forward<Handler>(handler), fallback));
            ops_ = &heap_ops<stored>;
        }
    }

    erased_handler(erased_handler&& o) noexcept : ops_(std::exchange(o.ops_, nullptr)) {
        if (ops_) ops_->relocate(o.storage_, storage_);
    }
    erased_handler& operator=(erased_handler&& o) noexcept {
        if (this != &o) {
            reset();
            ops_ = std::exchange(o.ops_, nullptr);
            if (ops_) ops_->relocate(o.storage_, storage_);
        }
        return *this;
    }
    erased_handler(const erased_handler&) = delete;
    erased_handler& operator=(const erased_handler&) = delete;
    ~erased_handler() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    // Runs the handler on its executor. May be called once.
    void operator()(Args... args) {
        const ops* o = std::exchange(ops_, nullptr);
        o->complete(storage_, false, std::move(args)...);
    }

    // The same, for a caller running on the fallback executor: a handler
    // bound to that executor runs right here (no dispatch, no executor copy:
    // the producer completes thousands of records per response this way).
    void run_here(Args... args) {
        const ops* o = std::exchange(ops_, nullptr);
        o->complete(storage_, true, std::move(args)...);
    }

private:
    template <class Handler>
    struct bound {
        // Whether Handler has an executor of its own (asio::bind_executor,
        // use_awaitable's, a strand-bound handler...).
        struct none {};
        static constexpr bool has_own_executor = !std::is_same_v<asio::associated_executor_t<Handler, none>, none>;

        bound(Handler&& h, const asio::any_io_executor& fallback)
            : executor(executor_of(h, fallback)), handler(std::move(h)) {
            if constexpr (has_own_executor) foreign = executor != fallback;
        }
        bound(const Handler& h, const asio::any_io_executor& fallback)
            : executor(executor_of(h, fallback)), handler(h) {
            if constexpr (has_own_executor) foreign = executor != fallback;
        }

        // The handler's own executor when it is an I/O executor (tracked, as
        // nothing else keeps it running); otherwise (e.g. use_future's, which
        // runs inline) the fallback.
        static asio::any_io_executor executor_of(const Handler& h, const asio::any_io_executor& fallback) {
            using associated = asio::associated_executor_t<Handler, asio::any_io_executor>;
            if constexpr (!has_own_executor) {
                return fallback;  // a plain lambda: no lookup, no comparison
            } else if constexpr (std::is_constructible_v<asio::any_io_executor, associated>) {
                asio::any_io_executor own = asio::get_associated_executor(h, fallback);
                if (own == fallback) return own;
                return asio::prefer(std::move(own), asio::execution::outstanding_work.tracked);
            } else {
                return fallback;
            }
        }

        // Takes the handler out of `b`, lets `release` destroy (or free) `b`
        // before the handler runs (the handler may destroy what held it), and
        // runs it: right here, or on its executor.
        template <class Release>
        static void run(bound& b, bool here, Release release, Args&&... args) {
            if (here && !b.foreign) {
                Handler h(std::move(b.handler));
                release();
                std::move(h)(std::move(args)...);
                return;
            }
            asio::any_io_executor ex(std::move(b.executor));
            Handler h(std::move(b.handler));
            release();
            asio::dispatch(ex, [h = std::move(h), a = std::make_tuple(std::move(args)...)]() mutable {
                std::apply(std::move(h), std::move(a));
            });
        }

        asio::any_io_executor executor;
        Handler handler;
        bool foreign = false;  // bound to an executor other than the fallback
    };

    struct ops {
        void (*complete)(void* storage, bool here, Args&&... args);
        void (*relocate)(void* from, void* to) noexcept;  // move-construct at `to`, destroy `from`
        void (*destroy)(void* storage) noexcept;
    };

    template <class Stored>
    static constexpr ops inline_ops{
        [](void* s, bool here, Args&&... args) {
            auto* b = static_cast<Stored*>(s);
            Stored::run(*b, here, [b]() noexcept { b->~Stored(); }, std::move(args)...);
        },
        [](void* from, void* to) noexcept {
            ::new (to) Stored(std::move(*static_cast<Stored*>(from)));
            static_cast<Stored*>(from)->~Stored();
        },
        [](void* s) noexcept { static_cast<Stored*>(s)->~Stored(); },
    };

    template <class Stored>
    static constexpr ops heap_ops{
        [](void* s, bool here, Args&&... args) {
            Stored* b = *static_cast<Stored**>(s);
            Stored::run(*b, here, [b]() noexcept { delete b; }, std::move(args)...);
        },
        [](void* from, void* to) noexcept { ::new (to) Stored*(*static_cast<Stored**>(from)); },
        [](void* s) noexcept { delete *static_cast<Stored**>(s); },
    };

    void reset() noexcept {
        if (const ops* o = std::exchange(ops_, nullptr)) o->destroy(storage_);
    }

    const ops* ops_ = nullptr;
    alignas(std::max_align_t) unsigned char storage_[inline_size];
};

} // namespace kwire::net
