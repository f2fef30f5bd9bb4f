// How a kwire::config becomes the options of a broker connection.
#pragma once

#include "kwire/config.hpp"
#include "kwire/net/connection.hpp"

namespace kwire {

// Throws config_error for a malformed value.
net::connection_options make_connection_options(const config& cfg);

} // namespace kwire
