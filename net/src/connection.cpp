#include "kwire/net/connection.hpp"

#include "transport.hpp"

#include "kwire/proto/api_keys.hpp"

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

namespace kwire::net {
namespace {

// What the first four bytes of a "frame size" look like when the peer is not
// speaking Kafka to us, so the error can say what is really on that port.
std::error_code classify_bad_size(const std::array<std::byte, 4>& b) {
    const auto u = [&](int i) { return std::to_integer<unsigned>(b[static_cast<std::size_t>(i)]); };
    // A TLS record: content type alert (21) or handshake (22), version 3.x.
    if ((u(0) == 0x15 || u(0) == 0x16) && u(1) == 0x03 && u(2) <= 0x04) return errc::tls_on_plaintext;
    if (std::memcmp(b.data(), "HTTP", 4) == 0) return errc::http_on_kafka_port;
    return errc::frame_too_large;
}

} // namespace

connection::connection(private_tag, asio::any_io_executor ex, connection_options options)
    : strand_(asio::make_strand(ex)),
      options_(std::move(options)),
      resolver_(strand_),
      transport_(std::make_unique<transport>(strand_)),
      connect_timer_(strand_),
      watchdog_(strand_) {}

connection::~connection() = default;

std::string connection::failure() const { return failure_; }

std::string connection::describe_failure(std::error_code ec, const std::string& step,
                                         const std::string& detail) const {
    std::string line = "broker " + peer_ + ": " + step + " failed: " + ec.message();
    if (!detail.empty()) line += " (" + detail + ")";
    return line;
}

std::string connection::abort(std::error_code ec, std::string step, std::string detail) {
    std::string line = describe_failure(ec, step, detail);
    asio::dispatch(strand_, [self = shared_from_this(), ec, step = std::move(step), detail = std::move(detail)] {
        self->fail(ec, step, detail);
    });
    return line;
}

void connection::close() {
    asio::post(strand_, [self = shared_from_this()] {
        if (self->state_ != state::failed) self->fail(errc::shut_down, "close");
    });
}

void connection::start_connect(std::string host, std::string port, erased_handler<std::error_code> handler) {
    asio::dispatch(strand_, [self = shared_from_this(), host = std::move(host), port = std::move(port),
                             handler = std::move(handler)]() mutable {
        if (self->state_ != state::idle) return handler(errc::connection_poisoned);
        self->state_ = state::connecting;
        self->peer_ = host + ":" + port;
        auto shared_handler = std::make_shared<erased_handler<std::error_code>>(std::move(handler));
        std::function<void(std::error_code)> finish = [self, shared_handler](std::error_code ec) {
            if (!*shared_handler) return;
            self->connect_timer_.cancel();
            if (!ec) {
                self->state_ = state::open;
                self->read_frame_size();
            }
            (*shared_handler)(ec);
        };
        self->options_.log.log(log_level::debug, log_context::broker, [&] {
            return "broker " + self->peer_ + ": connecting" +
                   (self->options_.tls.enabled ? std::string(" (TLS)") : std::string());
        });

        self->connect_timer_.expires_after(self->options_.connect_timeout);
        self->connect_timer_.async_wait([self, finish](std::error_code ec) {
            if (ec || self->state_ != state::connecting || self->handshaking_) return;
            self->fail(errc::connect_timeout, "connect",
                       "no TCP connection within " + std::to_string(self->options_.connect_timeout.count()) + " ms");
            finish(errc::connect_timeout);
        });

        self->resolver_.async_resolve(
            host, port,
            [self, finish, host](std::error_code ec, asio::ip::tcp::resolver::results_type results) {
                if (self->state_ != state::connecting) return;
                if (ec) {
                    self->fail(errc::resolve_failed, "resolve", "cannot resolve '" + host + "': " + ec.message());
                    return finish(errc::resolve_failed);
                }
                asio::async_connect(
                    self->transport_->lowest_layer(), results,
                    [self, finish, host](std::error_code ec, const asio::ip::tcp::endpoint& endpoint) {
                        if (self->state_ != state::connecting) return;
                        if (ec) {
                            self->fail(errc::connect_failed, "connect", ec.message());
                            return finish(errc::connect_failed);
                        }
                        std::error_code ignored;
                        self->transport_->lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
                        self->options_.log.log(log_level::debug, log_context::broker, [&] {
                            std::ostringstream a;
                            a << endpoint;
                            return "broker " + self->peer_ + ": TCP connection to " + a.str();
                        });
                        if (!self->options_.tls.enabled) return finish({});
                        self->start_tls(host, finish);
                    });
            });
    });
}

void connection::start_tls(std::string host, std::function<void(std::error_code)> finish) {
#if defined(KWIRE_WITH_TLS)
    std::string detail;
    auto context = make_tls_context(options_.tls, detail);
    if (!context) {
        fail(errc::tls_config_invalid, "TLS setup", detail);
        return finish(errc::tls_config_invalid);
    }
    transport_->start_tls(std::move(context));
    const std::string name = options_.tls.server_name.empty() ? host : options_.tls.server_name;
    SSL* ssl = transport_->tls_stream().native_handle();
    if (auto problem = configure_tls_session(ssl, options_.tls, name); !problem.empty()) {
        fail(errc::tls_config_invalid, "TLS setup", problem);
        return finish(errc::tls_config_invalid);
    }
    // The handshake has its own budget; the connect timer's earlier wait is
    // cancelled by re-arming it and ignores a late firing (handshaking_).
    handshaking_ = true;
    connect_timer_.expires_after(options_.tls_handshake_timeout);
    connect_timer_.async_wait([self = shared_from_this(), finish](std::error_code ec) {
        if (ec || self->state_ != state::connecting || !self->handshaking_) return;
        self->fail(errc::tls_handshake_timeout, "TLS handshake",
                   "no TLS handshake within " + std::to_string(self->options_.tls_handshake_timeout.count()) + " ms");
        finish(errc::tls_handshake_timeout);
    });
    // The names in the broker's certificate, for a hostname-mismatch message.
    auto peer_names = std::make_shared<std::string>();
    record_certificate_names(transport_->tls_stream(), peer_names);
    transport_->tls_stream().async_handshake(
        asio::ssl::stream_base::client, [self = shared_from_this(), finish, name, peer_names](std::error_code ec) {
            if (self->state_ != state::connecting) return;
            self->handshaking_ = false;
            SSL* ssl = self->transport_->tls_stream().native_handle();
            if (ec) {
                std::string detail;
                const errc code = classify_tls_failure(ec, ssl, self->options_.tls, name, *peer_names, detail);
                self->fail(code, "TLS handshake", detail);
                return finish(code);
            }
            self->tls_session_ = describe_tls_session(ssl);
            self->options_.log.log(log_level::debug, log_context::security, [&] {
                return "broker " + self->peer_ + ": TLS handshake done: " + self->tls_session_ +
                       (self->options_.tls.verify_certificate
                            ? (self->options_.tls.verify_hostname ? ", certificate and host name '" + name + "' verified"
                                                                  : std::string(", certificate verified, host name not checked"))
                            : std::string(", certificate NOT verified"));
            });
            finish({});
        });
#else
    (void)host;
    fail(errc::tls_unavailable, "TLS setup");
    finish(errc::tls_unavailable);
#endif
}

void connection::start_request(std::int16_t api_key, std::int16_t api_version, request_body body,
                               std::chrono::milliseconds timeout, erased_handler<std::error_code, response> handler) {
    asio::dispatch(strand_, [self = shared_from_this(), api_key, api_version, body = std::move(body), timeout,
                             handler = std::move(handler)]() mutable {
        if (self->state_ != state::open) {
            return handler(self->failure_code_ ? self->failure_code_ : make_error_code(errc::connection_poisoned),
                           response{});
        }
        const std::int32_t correlation_id = self->queue_frame(api_key, api_version, std::move(body), {});
        self->in_flight_.push_back(in_flight{correlation_id, api_key, api_version,
                                             std::chrono::steady_clock::now() + timeout, timeout,
                                             std::move(handler)});
        self->arm_watchdog();
        self->write_more();
    });
}

void connection::start_no_response(std::int16_t api_key, std::int16_t api_version, request_body body,
                                   erased_handler<std::error_code> handler) {
    asio::dispatch(strand_, [self = shared_from_this(), api_key, api_version, body = std::move(body),
                             handler = std::move(handler)]() mutable {
        if (self->state_ != state::open)
            return handler(self->failure_code_ ? self->failure_code_ : make_error_code(errc::connection_poisoned));
        // Not in flight: nothing to match. The writer completes the handler
        // once the frame is written; the watchdog fails the connection if
        // that takes longer than request_timeout.
        self->queue_frame(api_key, api_version, std::move(body), std::move(handler));
        self->arm_watchdog();
        self->write_more();
    });
}

std::int32_t connection::queue_frame(std::int16_t api_key, std::int16_t api_version, request_body body,
                                     erased_handler<std::error_code> written) {
    const std::int32_t correlation_id = next_correlation_id_;
    next_correlation_id_ = correlation_id == std::numeric_limits<std::int32_t>::max() ? 1 : correlation_id + 1;

    // Size, request header and the encoder's bytes in one buffer (the header
    // is small, so the body is appended); external segments are sent from
    // where they are, spliced in at their offsets.
    outgoing_frame frame;
    auto& bytes = frame.bytes;
    bytes.reserve(64 + options_.client_id.size() + body.bytes.size());
    proto::writer w(bytes);
    w.write_int32(0);  // patched below
    w.write_int16(api_key);
    w.write_int16(api_version);
    w.write_int32(correlation_id);
    w.write_nullable_string(options_.client_id);
    if (proto::request_header_version(api_key, api_version) >= 2) w.write_uvarint(0);  // no tagged fields
    const std::size_t header_size = bytes.size();
    w.write_raw(body.bytes);
    std::size_t external_size = 0;
    frame.externals = std::move(body.externals);
    for (auto& e : frame.externals) {
        e.offset += header_size;
        external_size += e.bytes.size();
    }
    const auto size = static_cast<std::uint32_t>(bytes.size() - 4 + external_size);
    for (int i = 0; i < 4; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<std::byte>(size >> (24 - 8 * i));
    frame.written = std::move(written);
    frame.api_key = api_key;
    frame.api_version = api_version;
    if (frame.written) frame.write_deadline = std::chrono::steady_clock::now() + options_.request_timeout;

    options_.log.log(log_level::debug, log_context::protocol, [&] {
        return "broker " + peer_ + ": " + std::string(proto::api_name(api_key)) + " v" + std::to_string(api_version) +
               " request, correlation id " + std::to_string(correlation_id) +
               (frame.written ? ", no response expected" : "");
    });
    write_queue_.push_back(std::move(frame));
    return correlation_id;
}

void connection::write_more() {
    if (write_active_ || write_queue_.empty() || state_ != state::open) return;
    write_active_ = true;
    writing_.swap(write_queue_);
    // One gather write for every queued frame, record batches in place.
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(writing_.size());
    for (const auto& f : writing_) {
        std::size_t at = 0;
        for (const auto& e : f.externals) {
            if (e.offset > at) buffers.emplace_back(f.bytes.data() + at, e.offset - at);
            buffers.emplace_back(e.bytes.data(), e.bytes.size());
            at = e.offset;
        }
        buffers.emplace_back(f.bytes.data() + at, f.bytes.size() - at);
    }
    asio::async_write(*transport_, buffers, [self = shared_from_this()](std::error_code ec, std::size_t) {
        self->write_active_ = false;
        // On failure, the frames of this write (their handlers for requests
        // without a response included) complete with the connection's error,
        // now that the socket no longer reads their bytes.
        if (self->state_ == state::failed) return self->complete_in_flight();
        if (self->state_ != state::open) return;
        if (ec) return self->fail(errc::connection_closed, "write", ec.message());
        // Written: requests without a response are done, in the order sent.
        // Their handlers may run inline and queue more, so they run from a
        // local list, after the next write has started.
        auto finished = std::move(self->writing_);
        self->writing_.clear();
        self->write_more();
        for (auto& f : finished)
            if (f.written) f.written(std::error_code{});
    });
}

void connection::read_frame_size() {
    asio::async_read(*transport_, asio::buffer(size_buffer_), [self = shared_from_this()](std::error_code ec, std::size_t) {
        if (self->state_ != state::open) return;
        if (ec) {
            // A broker on a SASL listener answers ApiVersions and then drops
            // the connection on the first other request of a client that did
            // not authenticate.
            if (!self->options_.sasl.enabled() && !self->any_response_ && !self->in_flight_.empty() &&
                (ec == asio::error::eof || ec == asio::error::connection_reset) &&
                self->in_flight_.front().api_key != 18 && self->in_flight_.front().api_key != 17) {
                return self->fail(errc::sasl_required, std::string(proto::api_name(self->in_flight_.front().api_key)),
                                  "the broker answered ApiVersions, then closed the connection instead of "
                                  "answering; it does so for clients that did not authenticate");
            }
            return self->fail(errc::connection_closed, "read",
                              ec == asio::error::eof ? "the broker closed the connection" : ec.message());
        }
        const std::int32_t size = static_cast<std::int32_t>(
            (std::to_integer<std::uint32_t>(self->size_buffer_[0]) << 24) |
            (std::to_integer<std::uint32_t>(self->size_buffer_[1]) << 16) |
            (std::to_integer<std::uint32_t>(self->size_buffer_[2]) << 8) |
            std::to_integer<std::uint32_t>(self->size_buffer_[3]));
        if (size < 4 || static_cast<std::size_t>(size) > self->options_.max_frame_size) {
            const std::error_code cause = size < 4 && size >= 0 ? make_error_code(errc::bad_frame)
                                                                : classify_bad_size(self->size_buffer_);
            if (cause == make_error_code(errc::tls_on_plaintext))
                return self->fail(cause, "read", "the reply starts with a TLS record, not a Kafka frame size");
            return self->fail(cause, "read",
                              "response frame size " + std::to_string(size) + " (maximum " +
                                  std::to_string(self->options_.max_frame_size) + ")");
        }
        self->read_frame_body(static_cast<std::size_t>(size));
    });
}

void connection::read_frame_body(std::size_t size) {
    read_buffer_ = options_.frame_pool ? options_.frame_pool->take(size) : proto::byte_buffer{};
    read_buffer_.resize(size);
    asio::async_read(*transport_, asio::buffer(read_buffer_.data(), size),
                     [self = shared_from_this()](std::error_code ec, std::size_t) {
                         if (self->state_ != state::open) return;
                         if (ec)
                             return self->fail(errc::connection_closed, "read",
                                               "connection lost inside a response: " + ec.message());
                         self->deliver(std::move(self->read_buffer_));
                         if (self->state_ == state::open) self->read_frame_size();
                     });
}

void connection::deliver(proto::byte_buffer frame) {
    const std::size_t size = frame.size();
    proto::reader r(proto::bytes_view(frame.data(), size));
    const std::int32_t correlation_id = r.read_int32();
    const auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                                 [&](const in_flight& p) { return p.correlation_id == correlation_id; });
    if (it == in_flight_.end()) {
        return fail(errc::unexpected_response, "read",
                    "response with correlation id " + std::to_string(correlation_id) + " matches no request");
    }
    if (proto::response_header_version(it->api_key, it->api_version) >= 1)
        r.read_tagged_fields([](std::uint32_t, proto::reader&) {});
    if (!r.ok()) return fail(errc::bad_frame, "read", "malformed response header: " + r.error().message());

    if (it->api_key != 18) any_response_ = true;
    options_.log.log(log_level::debug, log_context::protocol, [&] {
        return "broker " + peer_ + ": " + std::string(proto::api_name(it->api_key)) + " v" +
               std::to_string(it->api_version) + " response, correlation id " + std::to_string(correlation_id) +
               ", " + std::to_string(size + 4) + " bytes";
    });
    response resp;
    resp.correlation_id = correlation_id;
    resp.body_offset = size - r.remaining();
    resp.frame_size = size;
    // The frame's bytes, owned by its (pooled) buffer.
    std::shared_ptr<const proto::byte_buffer> owner =
        options_.frame_pool ? options_.frame_pool->share(std::move(frame))
                            : std::make_shared<const proto::byte_buffer>(std::move(frame));
    resp.frame = std::shared_ptr<const std::byte[]>(owner, owner->data());
    auto handler = std::move(it->handler);
    in_flight_.erase(it);
    handler({}, std::move(resp));
}

void connection::arm_watchdog() {
    using time_point = std::chrono::steady_clock::time_point;
    time_point earliest = time_point::max();
    for (const auto& p : in_flight_) earliest = std::min(earliest, p.deadline);
    for (const auto* frames : {&writing_, &write_queue_})
        for (const auto& f : *frames)
            if (f.written) earliest = std::min(earliest, f.write_deadline);
    if (earliest == time_point::max()) return;
    if (watchdog_deadline_ != std::chrono::steady_clock::time_point{} && watchdog_deadline_ <= earliest) return;
    watchdog_deadline_ = earliest;
    watchdog_.expires_at(earliest);
    watchdog_.async_wait([self = shared_from_this()](std::error_code ec) { self->on_watchdog(ec); });
}

void connection::on_watchdog(std::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed or closed
    watchdog_deadline_ = {};
    if (state_ != state::open) return;
    const auto now = std::chrono::steady_clock::now();
    // When several deadlines have passed (a watchdog that fired late), the
    // one that passed first is the failure to report.
    const in_flight* late_request = nullptr;
    for (const auto& p : in_flight_)
        if (p.deadline <= now && (!late_request || p.deadline < late_request->deadline)) late_request = &p;
    const outgoing_frame* late_frame = nullptr;
    for (const auto* frames : {&writing_, &write_queue_})
        for (const auto& f : *frames)
            if (f.written && f.write_deadline <= now && (!late_frame || f.write_deadline < late_frame->write_deadline))
                late_frame = &f;
    if (late_frame && (!late_request || late_frame->write_deadline <= late_request->deadline)) {
        return fail(errc::request_timeout, "write",
                    std::string(proto::api_name(late_frame->api_key)) + " v" + std::to_string(late_frame->api_version) +
                        " (no response expected) not written within " +
                        std::to_string(options_.request_timeout.count()) + " ms: the broker reads nothing");
    }
    if (late_request) {
        return fail(errc::request_timeout, "request",
                    std::string(proto::api_name(late_request->api_key)) + " v" +
                        std::to_string(late_request->api_version) + " got no response within " +
                        std::to_string(late_request->timeout.count()) + " ms");
    }
    arm_watchdog();
}

void connection::fail(std::error_code ec, std::string step, std::string detail) {
    if (state_ == state::failed) return;
    state_ = state::failed;
    failure_code_ = ec;
    failure_ = describe_failure(ec, step, detail);
    if (ec != make_error_code(errc::shut_down))
        options_.log.log(log_level::warn, log_context::broker, [&] { return failure_; });
    resolver_.cancel();
    connect_timer_.cancel();
    watchdog_.cancel();
    transport_->close();
    // A write under way may still read the callers' record batches until it
    // completes (with an error, now that the transport is closed): callers
    // hear of the failure, and may free their batches, only after that.
    if (!write_active_) complete_in_flight();
}

void connection::complete_in_flight() {
    // Runs once no write is under way. Frames not (completely) written that
    // await no response complete here, in the order they were queued, then
    // the requests in flight. Handlers may run inline, so everything is taken
    // out of the members first.
    auto frames = std::move(writing_);
    writing_.clear();
    auto queued = std::move(write_queue_);
    write_queue_.clear();
    auto pending = std::move(in_flight_);
    in_flight_.clear();
    for (auto* list : {&frames, &queued})
        for (auto& f : *list)
            if (f.written) f.written(failure_code_);
    for (auto& p : pending) p.handler(failure_code_, response{});
}

} // namespace kwire::net
