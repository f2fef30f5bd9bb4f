// A background thread that calls a function at a fixed period until stopped:
// the CLI's progress lines (printed only when stderr is a terminal).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace kwire::cli {

inline bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

class periodic_reporter {
public:
    periodic_reporter() = default;
    // Calls `tick` every `period` on its own thread, first after one period.
    periodic_reporter(std::chrono::milliseconds period, std::function<void()> tick)
        : thread_([this, period, tick = std::move(tick)] {
              std::unique_lock lock(mutex_);
              auto next = std::chrono::steady_clock::now() + period;
              while (!stopping_) {
                  if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
                  lock.unlock();
                  tick();
                  lock.lock();
                  next += period;
              }
          }) {}
    periodic_reporter(const periodic_reporter&) = delete;
    periodic_reporter& operator=(const periodic_reporter&) = delete;
    ~periodic_reporter() { stop(); }

    // Returns once the thread has finished (no tick runs after this).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses exist
};

} // namespace kwire::cli
