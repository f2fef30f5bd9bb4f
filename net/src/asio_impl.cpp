// Asio's implementation, compiled once for the whole library
// (ASIO_SEPARATE_COMPILATION keeps it out of every other translation unit).
#include <asio/impl/src.hpp>
#if defined(KWIRE_WITH_TLS)
#include <asio/ssl/impl/src.hpp>
#endif
