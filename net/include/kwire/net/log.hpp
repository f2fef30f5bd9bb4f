// Logging hook. kwire never prints: it hands one-line messages to a callback
// the application installs, filtered by level and, for debug messages, by
// context (as librdkafka's `debug=` property: broker, protocol, security,
// producer, consumer, all).
//
// A logger without a callback costs one branch per call site; messages are
// only formatted when they will be delivered. Secrets (passwords, key
// passphrases) are never part of a message.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace kwire::net {

// Ordered by severity; the numbers are syslog's (librdkafka's log_level).
enum class log_level : int { error = 3, warn = 4, info = 6, debug = 7 };

// Contexts of debug messages, combined as a bit mask.
namespace log_context {
inline constexpr unsigned broker = 1;    // connecting, connection failures
inline constexpr unsigned protocol = 2;  // requests and responses, version choices
inline constexpr unsigned security = 4;  // TLS handshake, SASL
inline constexpr unsigned producer = 8;  // batches, retries, idempotence (producer id, sequences)
inline constexpr unsigned consumer = 16; // fetching, offsets, the group
inline constexpr unsigned all = broker | protocol | security | producer | consumer;
} // namespace log_context

// "error", "warn", "info" or "debug".
std::string_view to_string(log_level level) noexcept;
// Name of a single context bit ("broker", "protocol", "security").
std::string_view context_name(unsigned context) noexcept;

// (level, context name, message)
using log_callback = std::function<void(log_level, std::string_view context, std::string_view message)>;

class logger {
public:
    logger() = default;  // disabled
    // Delivers messages at `level` or more severe; debug messages only for
    // the contexts in `debug_contexts` (a non-empty set enables debug level).
    explicit logger(log_callback callback, log_level level = log_level::info, unsigned debug_contexts = 0)
        : callback_(callback ? std::make_shared<const log_callback>(std::move(callback)) : nullptr),
          level_(debug_contexts != 0 ? log_level::debug : level),
          debug_(debug_contexts) {}

    bool enabled(log_level level, unsigned context) const noexcept {
        if (!callback_ || static_cast<int>(level) > static_cast<int>(level_)) return false;
        return level != log_level::debug || (debug_ & context) != 0;
    }

    // `make_message()` returns the text; it runs only when the message is delivered.
    template <class MakeMessage>
    void log(log_level level, unsigned context, MakeMessage&& make_message) const {
        if (enabled(level, context)) (*callback_)(level, context_name(context), make_message());
    }

    log_level level() const noexcept { return level_; }
    unsigned debug_contexts() const noexcept { return debug_; }

    // "broker,security", "all", "" -> mask. Throws std::invalid_argument naming an unknown context.
    static unsigned parse_debug(std::string_view list);
    // error|warn|warning|info|debug or a syslog number 0-7. Throws std::invalid_argument.
    static log_level parse_level(std::string_view text);

private:
    std::shared_ptr<const log_callback> callback_;
    log_level level_ = log_level::info;
    unsigned debug_ = 0;
};

} // namespace kwire::net
