// One TCP connection to one broker: Kafka framing, pipelined requests matched
// to responses by correlation id, per-request deadlines.
//
// One writer and one reader per connection. Requests queued while a write is
// under way go out together in one gather write. Any I/O, framing or timeout
// error poisons the connection: it closes and every request in flight
// completes with that error; a new connection is the caller's decision.
//
// Requests the broker does not answer (Produce with acks=0) are sent with
// async_send_no_response: they take a correlation id but wait for no response;
// they complete once their frame is written, which must happen within
// request_timeout (else the connection fails with errc::request_timeout).
#pragma once

#include "kwire/net/api_versions.hpp"
#include "kwire/net/erased_handler.hpp"
#include "kwire/net/errors.hpp"
#include "kwire/net/log.hpp"
#include "kwire/net/security.hpp"
#include "kwire/proto/byte_buffer.hpp"
#include "kwire/proto/reader.hpp"
#include "kwire/proto/writer.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace kwire::net {

struct connection_options {
    std::string client_id = "kwire";
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{30'000};
    // A response announcing a larger frame is an error, never an allocation.
    std::size_t max_frame_size = 100 * 1024 * 1024;
    // Caps on the API versions sent (api.version.pin).
    version_pins pins;
    // TLS (SSL, SASL_SSL) and its handshake's time limit, counted from the
    // TCP connection.
    tls_config tls;
    std::chrono::milliseconds tls_handshake_timeout{10'000};
    // SASL (SASL_PLAINTEXT, SASL_SSL); open_connection authenticates.
    sasl_config sasl;
    // Where connection steps and failures are reported (disabled by default).
    logger log;
    // Response frames are read into buffers from this pool and go back to it
    // when the last view of them is dropped (consumers: no fresh, page-
    // faulting megabytes per fetch). Null: a new buffer per frame.
    std::shared_ptr<proto::byte_buffer_pool> frame_pool;
};

class transport;

// A complete response frame. `body()` views the bytes after the response
// header. The frame is shared, so decoded record sets can view it and keep it
// alive instead of copying it.
struct response {
    std::int32_t correlation_id = 0;
    std::shared_ptr<const std::byte[]> frame;
    std::size_t frame_size = 0;
    std::size_t body_offset = 0;

    proto::bytes_view body() const noexcept {
        if (!frame) return {};
        return proto::bytes_view(frame.get() + body_offset, frame_size - body_offset);
    }
};

// An encoded request body: the encoder's own bytes, with caller-owned spans
// (sealed record batches) to send in place at recorded offsets.
struct request_body {
    std::vector<std::byte> bytes;
    std::vector<proto::external_segment> externals;
};

class connection : public std::enable_shared_from_this<connection> {
    struct private_tag {};

public:
    using executor_type = asio::strand<asio::any_io_executor>;

    static std::shared_ptr<connection> create(asio::any_io_executor ex, connection_options options = {}) {
        return std::make_shared<connection>(private_tag{}, std::move(ex), std::move(options));
    }
    connection(private_tag, asio::any_io_executor ex, connection_options options);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    executor_type get_executor() const noexcept { return strand_; }
    const connection_options& options() const noexcept { return options_; }
    // "host:port", for messages.
    const std::string& peer() const noexcept { return peer_; }
    bool is_open() const noexcept { return state_ == state::open; }
    // Why the connection failed, in one line naming the broker and the step;
    // empty while it is healthy.
    std::string failure() const;

    // Resolves `host` and connects to the first address that answers, within
    // the connect timeout. Completion: void(std::error_code).
    template <class Token>
    auto async_connect(std::string host, std::string port, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [self = shared_from_this()](auto handler, std::string h, std::string p) {
                self->start_connect(std::move(h), std::move(p),
                                    erased_handler<std::error_code>(std::move(handler), self->strand_));
            },
            token, std::move(host), std::move(port));
    }

    // Sends a request whose body is already encoded at `api_version`.
    // Completion: void(std::error_code, response).
    template <class Token>
    auto async_request(std::int16_t api_key, std::int16_t api_version, std::vector<std::byte> body,
                       Token&& token) {
        return asio::async_initiate<Token, void(std::error_code, response)>(
            [self = shared_from_this(), api_key, api_version](auto handler, std::vector<std::byte> b) {
                self->start_request(api_key, api_version, request_body{std::move(b), {}}, self->options_.request_timeout,
                                    erased_handler<std::error_code, response>(std::move(handler), self->strand_));
            },
            token, std::move(body));
    }

    // Encodes `request` at `version`, sends it and decodes the response.
    // Record sets in the request are sent from where they are, without a
    // copy: their bytes must stay valid until the completion runs. Record
    // sets in the response view the response frame and keep it alive.
    // Completion: void(std::error_code, typename Request::response_type).
    template <class Request, class Token>
    auto async_send(const Request& request, std::int16_t version, Token&& token) {
        return async_send(request, version, options_.request_timeout, std::forward<Token>(token));
    }

    // As above, with this request's own time limit instead of
    // request_timeout (JoinGroup may rightly wait for a whole rebalance).
    template <class Request, class Token>
    auto async_send(const Request& request, std::int16_t version, std::chrono::milliseconds timeout, Token&& token) {
        using Response = typename Request::response_type;
        request_body body;
        proto::writer w(body.bytes, body.externals);
        const std::error_code encode_error = request.encode(w, version);
        return asio::async_initiate<Token, void(std::error_code, Response)>(
            [self = shared_from_this(), version, encode_error, timeout](auto handler, request_body b) {
                erased_handler<std::error_code, Response> done(std::move(handler), self->strand_);
                if (encode_error) return done(encode_error, Response{});
                self->start_request(
                    Request::api_key, version, std::move(b), timeout,
                    erased_handler<std::error_code, response>(
                        [done = std::move(done), version](std::error_code ec, response r) mutable {
                            Response decoded;
                            if (!ec) ec = decode_body(decoded, r, version);
                            done(ec, std::move(decoded));
                        },
                        self->strand_));
            },
            token, std::move(body));
    }

    // Encodes `request` at `version` and sends it as a request the broker
    // sends no response to: Produce with acks=0 is the one such request in
    // Kafka. (A response to it would match nothing, so it would fail the
    // connection with errc::unexpected_response.) The request takes the next
    // correlation id but is not put in flight: no response is matched and no
    // deadline runs, so responses to the requests around it match as usual.
    // Record sets in the request are sent from where they are, without a
    // copy: their bytes must stay valid until the completion runs.
    // Completion: void(std::error_code), once the whole frame has been written
    // to the socket (the bytes may then be freed; the broker's handling of the
    // request is not confirmed), or with the connection's error if the
    // connection is not open or fails before the frame is written. If it fails
    // while the frame is being written, the completion runs only once that
    // write has ended, when the socket no longer reads the caller's bytes.
    // A broker that fails such a Produce says so by closing the connection,
    // which then fails like any other (requests in flight get the error).
    template <class Request, class Token>
    auto async_send_no_response(const Request& request, std::int16_t version, Token&& token) {
        request_body body;
        proto::writer w(body.bytes, body.externals);
        const std::error_code encode_error = request.encode(w, version);
        return asio::async_initiate<Token, void(std::error_code)>(
            [self = shared_from_this(), version, encode_error](auto handler, request_body b) {
                erased_handler<std::error_code> done(std::move(handler), self->strand_);
                if (encode_error) return done(encode_error);
                self->start_no_response(Request::api_key, version, std::move(b), std::move(done));
            },
            token, std::move(body));
    }

    // Closes the connection; requests in flight complete with errc::shut_down.
    void close();

    // Fails the connection with `ec` as if `step` had failed: records the
    // one-line failure() and closes, completing requests in flight with `ec`.
    // For steps run on top of the connection (SASL). Returns the failure line.
    std::string abort(std::error_code ec, std::string step, std::string detail = {});

    // "TLSv1.3 TLS_AES_256_GCM_SHA384" once a TLS handshake is done; empty otherwise.
    const std::string& tls_session() const noexcept { return tls_session_; }

private:
    enum class state { idle, connecting, open, failed };

    struct in_flight {
        std::int32_t correlation_id;
        std::int16_t api_key;
        std::int16_t api_version;
        std::chrono::steady_clock::time_point deadline;
        std::chrono::milliseconds timeout;
        erased_handler<std::error_code, response> handler;
    };

    template <class Response>
    static std::error_code decode_body(Response& out, const response& r, std::int16_t version) {
        proto::reader rd(r.body());
        const std::shared_ptr<const void> owner = r.frame;
        rd.set_owner(&owner);
        if (auto ec = out.decode(rd, version)) return ec;
        return {};
    }

    struct outgoing_frame {
        std::vector<std::byte> bytes;  // size, request header and the encoder's bytes
        std::vector<proto::external_segment> externals;  // offsets into `bytes`
        // Set for a request without a response: runs once the frame is written.
        erased_handler<std::error_code> written;
        // For those: the frame must be written by then (request_timeout), or
        // the connection fails; a broker that stops reading is no hang.
        std::chrono::steady_clock::time_point write_deadline{};
        std::int16_t api_key = -1;
        std::int16_t api_version = -1;
    };

    void start_connect(std::string host, std::string port, erased_handler<std::error_code> handler);
    void start_tls(std::string host, std::function<void(std::error_code)> finish);
    std::string describe_failure(std::error_code ec, const std::string& step, const std::string& detail) const;
    void start_request(std::int16_t api_key, std::int16_t api_version, request_body body, std::chrono::milliseconds timeout,
                       erased_handler<std::error_code, response> handler);
    void start_no_response(std::int16_t api_key, std::int16_t api_version, request_body body,
                           erased_handler<std::error_code> handler);
    // Frames the request with the next correlation id and queues it for the
    // writer; returns the correlation id. Runs on the strand, connection open.
    std::int32_t queue_frame(std::int16_t api_key, std::int16_t api_version, request_body body,
                             erased_handler<std::error_code> written);
    void complete_in_flight();
    void write_more();
    void read_frame_size();
    void read_frame_body(std::size_t size);
    void deliver(proto::byte_buffer frame);
    void arm_watchdog();
    void on_watchdog(std::error_code ec);
    void fail(std::error_code ec, std::string step, std::string detail = {});

    executor_type strand_;
    connection_options options_;
    asio::ip::tcp::resolver resolver_;
    std::unique_ptr<transport> transport_;
    asio::steady_timer connect_timer_;
    asio::steady_timer watchdog_;
    std::chrono::steady_clock::time_point watchdog_deadline_{};
    state state_ = state::idle;
    bool handshaking_ = false;  // the connect timer guards the TLS handshake
    bool any_response_ = false; // a response other than ApiVersions arrived
    std::string tls_session_;
    std::string peer_;
    std::int32_t next_correlation_id_ = 1;
    std::deque<in_flight> in_flight_;
    std::vector<outgoing_frame> write_queue_;   // complete frames not yet written
    std::vector<outgoing_frame> writing_;       // frames of the write under way
    bool write_active_ = false;
    std::array<std::byte, 4> size_buffer_{};
    // The frame being read; not zero-filled first (fetch responses are large).
    proto::byte_buffer read_buffer_;
    std::error_code failure_code_;
    std::string failure_;
};

} // namespace kwire::net
