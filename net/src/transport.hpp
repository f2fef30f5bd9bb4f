// Private to the library: the byte stream under a connection, plain TCP or
// TLS over TCP, chosen at run time. It offers async_read_some and
// async_write_some, so asio::async_read / asio::async_write work on it
// unchanged. OpenSSL types appear only here and in tls.cpp.
#pragma once

#include "kwire/net/security.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>

#if defined(KWIRE_WITH_TLS)
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#endif

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace kwire::net {

enum class errc;

#if defined(KWIRE_WITH_TLS)
// An OpenSSL client context built from a tls_config.
struct tls_context {
    asio::ssl::context ssl{asio::ssl::context::tls_client};
};

// Loads CAs, client certificate and key. On failure returns nullptr and says
// why in `detail` (file names, never the key passphrase).
std::shared_ptr<tls_context> make_tls_context(const tls_config& config, std::string& detail);

// SNI and hostname verification for one session; returns an empty string or
// what went wrong.
std::string configure_tls_session(SSL* ssl, const tls_config& config, const std::string& server_name);

// Keeps the names (subjectAltName, else CN) of the broker's own certificate
// in `names` as the handshake verifies it.
void record_certificate_names(asio::ssl::stream<asio::ip::tcp::socket>& stream, std::shared_ptr<std::string> names);

// Turns a failed handshake into the check that failed, with a detail line.
errc classify_tls_failure(std::error_code ec, SSL* ssl, const tls_config& config, const std::string& server_name,
                          const std::string& certificate_names, std::string& detail);

// "TLSv1.3 TLS_AES_256_GCM_SHA384"
std::string describe_tls_session(SSL* ssl);
#endif

class transport {
public:
    using executor_type = asio::any_io_executor;
    using tcp_socket = asio::ip::tcp::socket;

    explicit transport(const executor_type& ex) : socket_(ex) {}

    executor_type get_executor() noexcept { return socket_.get_executor(); }

    // The TCP socket (inside the TLS stream once TLS is on).
    tcp_socket& lowest_layer() noexcept {
#if defined(KWIRE_WITH_TLS)
        if (tls_) return tls_->next_layer();
#endif
        return socket_;
    }

    bool is_tls() const noexcept {
#if defined(KWIRE_WITH_TLS)
        return tls_ != nullptr;
#else
        return false;
#endif
    }

#if defined(KWIRE_WITH_TLS)
    // Wraps the connected socket in a TLS stream; call before any byte is exchanged.
    void start_tls(std::shared_ptr<tls_context> context) {
        context_ = std::move(context);
        tls_ = std::make_unique<asio::ssl::stream<tcp_socket>>(std::move(socket_), context_->ssl);
    }
    asio::ssl::stream<tcp_socket>& tls_stream() noexcept { return *tls_; }
#endif

    template <class MutableBuffers, class Handler>
    void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
#if defined(KWIRE_WITH_TLS)
        if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
#endif
        socket_.async_read_some(buffers, std::forward<Handler>(handler));
    }

    template <class ConstBuffers, class Handler>
    void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
#if defined(KWIRE_WITH_TLS)
        if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
#endif
        socket_.async_write_some(buffers, std::forward<Handler>(handler));
    }

    // Closes the TCP socket without a TLS close_notify: pending operations
    // end with operation_aborted, and nothing can wait on a silent peer.
    void close() noexcept {
        std::error_code ignored;
        lowest_layer().shutdown(tcp_socket::shutdown_both, ignored);
        lowest_layer().close(ignored);
    }

private:
    tcp_socket socket_;
#if defined(KWIRE_WITH_TLS)
    std::shared_ptr<tls_context> context_;
    std::unique_ptr<asio::ssl::stream<tcp_socket>> tls_;
#endif
};

} // namespace kwire::net
