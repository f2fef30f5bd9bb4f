// How a kwire::config becomes the options of a broker connection.
#pragma once

#include "kwire/config.hpp"
#include "kwire/net/connection.hpp"

namespace kwire {

// Throws config_error for a malformed value or a missing one (e.g. SASL
// without sasl.username). `log` receives messages filtered by the `debug`
// and `log_level` properties; without it kwire logs nothing.
net::connection_options make_connection_options(const config& cfg, net::log_callback log = {});

} // namespace kwire
