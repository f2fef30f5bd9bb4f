# Included by the top-level CMakeLists.txt once the `kwire` target is complete:
# the shared library (KWIRE_BUILD_SHARED) and the install rules (KWIRE_INSTALL).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_target_property(kwire_library_type kwire TYPE)
set(kwire_shared_target "")
if(KWIRE_BUILD_SHARED AND kwire_library_type STREQUAL "STATIC_LIBRARY")
  if(CMAKE_VERSION VERSION_LESS 3.24)
    message(STATUS "kwire: no shared library (KWIRE_BUILD_SHARED needs CMake 3.24 for $<LINK_LIBRARY:WHOLE_ARCHIVE>)")
  else()
    # A target needs a source; the code itself comes from libkwire.a.
    file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/kwire_shared.cpp
         CONTENT "// libkwire.so: every object of libkwire.a, linked whole (cmake/kwire_install.cmake).\n")
    add_library(kwire_shared SHARED ${PROJECT_BINARY_DIR}/kwire_shared.cpp)
    add_library(kwire::kwire_shared ALIAS kwire_shared)
    set_target_properties(kwire_shared PROPERTIES
      OUTPUT_NAME kwire
      EXPORT_NAME kwire_shared
      VERSION ${PROJECT_VERSION}
      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
      LINKER_LANGUAGE CXX)
    # Every object of libkwire.a, and what it links (OpenSSL, zlib, codecs).
    target_link_libraries(kwire_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,kwire>" PUBLIC Threads::Threads)
    # Users compile against the same headers and definitions as libkwire.a's.
    foreach(property INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES INTERFACE_COMPILE_DEFINITIONS
                     INTERFACE_COMPILE_FEATURES)
      get_target_property(value kwire ${property})
      if(value)
        set_property(TARGET kwire_shared PROPERTY ${property} "${value}")
      endif()
    endforeach()
    set(kwire_shared_target kwire_shared)
  endif()
endif()

if(NOT KWIRE_INSTALL)
  return()
endif()

set(KWIRE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/kwire)
install(DIRECTORY proto/include/ net/include/ client/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(TARGETS kwire ${kwire_shared_target} EXPORT kwireTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT kwireTargets NAMESPACE kwire:: DESTINATION ${KWIRE_CMAKE_DIR})

# What the installed config must find again: libkwire.a's own dependencies.
set(KWIRE_HAVE_TLS ${KWIRE_WITH_TLS})
configure_package_config_file(cmake/kwireConfig.cmake.in ${PROJECT_BINARY_DIR}/kwireConfig.cmake
                              INSTALL_DESTINATION ${KWIRE_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/kwireConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/kwireConfig.cmake ${PROJECT_BINARY_DIR}/kwireConfigVersion.cmake
        DESTINATION ${KWIRE_CMAKE_DIR})

# pkg-config: paths relative to the .pc file, so that `cmake --install
# --prefix DIR` and a moved install tree both work.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(KWIRE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH kwire_pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" kwire_pc_up "${kwire_pc_up}")
  set(KWIRE_PC_PREFIX "\${pcfiledir}/${kwire_pc_up}")
endif()
set(KWIRE_PC_CFLAGS "-DASIO_STANDALONE -DASIO_NO_DEPRECATED -DASIO_SEPARATE_COMPILATION")
set(KWIRE_PC_REQUIRES_PRIVATE "zlib")
set(KWIRE_PC_LIBS_PRIVATE "")
if(KWIRE_WITH_TLS)
  string(APPEND KWIRE_PC_CFLAGS " -DKWIRE_WITH_TLS=1")
  string(APPEND KWIRE_PC_REQUIRES_PRIVATE " openssl")
endif()
if(KWIRE_HAVE_LZ4)
  string(APPEND KWIRE_PC_REQUIRES_PRIVATE " liblz4")
endif()
if(KWIRE_HAVE_ZSTD)
  string(APPEND KWIRE_PC_REQUIRES_PRIVATE " libzstd")
endif()
if(KWIRE_HAVE_SNAPPY)
  string(APPEND KWIRE_PC_LIBS_PRIVATE " -lsnappy")  # snappy ships no .pc file
endif()
if(NOT ASIO_INCLUDE_DIR STREQUAL "/usr/include")
  string(APPEND KWIRE_PC_CFLAGS " -I${ASIO_INCLUDE_DIR}")
endif()
configure_file(cmake/kwire.pc.in ${PROJECT_BINARY_DIR}/kwire.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/kwire.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
