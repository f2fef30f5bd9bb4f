#include "kwire/connection_config.hpp"

#include <stdexcept>

namespace kwire {

net::connection_options make_connection_options(const config& cfg) {
    net::connection_options o;
    o.client_id = cfg.get_or_default("client.id");
    o.connect_timeout = cfg.get_ms("socket.connection.setup.timeout.ms");
    o.request_timeout = cfg.get_ms("request.timeout.ms");
    o.max_frame_size = static_cast<std::size_t>(cfg.get_int("receive.message.max.bytes"));
    try {
        o.pins = net::version_pins::parse(cfg.get_or_default("api.version.pin"));
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("api.version.pin: ") + e.what());
    }
    return o;
}

} // namespace kwire
