# libmosquitto, the MQTT client library for the printer's broker (port 8883,
# MQTT 3.1.1 over TLS, user bblp, the access code as password):
# `Bambu::mosquitto`, the one target a library links to use <mosquitto.h>.
#
# Dynamic builds: Debian's libmosquitto-dev (libmosquitto1 at run time).
# BAMBU_STATIC: the libmosquitto.a that scripts/build-static compiles from
# Debian's source package (Debian ships no static archive), found first on
# PKG_CONFIG_PATH (CMakeLists.txt), with what it needs after it
# (pkg-config --static: OpenSSL, pthread). A static program that hands it an
# SSL_CTX of ours is linked once, at configure time, so a broken archive
# stops the configuration here rather than at the first link that uses it.
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto>=2.0)
add_library(Bambu::mosquitto INTERFACE IMPORTED)
target_link_libraries(Bambu::mosquitto INTERFACE PkgConfig::MOSQUITTO)
if(NOT BAMBU_STATIC)
  return()
endif()
target_link_libraries(Bambu::mosquitto INTERFACE ${MOSQUITTO_STATIC_LDFLAGS})

include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_INCLUDES ${MOSQUITTO_INCLUDE_DIRS})
set(CMAKE_REQUIRED_LIBRARIES ${MOSQUITTO_LINK_LIBRARIES} ${MOSQUITTO_STATIC_LDFLAGS})
set(CMAKE_REQUIRED_LINK_OPTIONS -static)
set(CMAKE_REQUIRED_QUIET ON)
# Every call an MQTT client of the printer makes; linked, never run.
check_cxx_source_compiles([[
#include <mosquitto.h>
#include <openssl/ssl.h>
static void on_message(mosquitto*, void*, const mosquitto_message*) {}
static void on_connect(mosquitto*, void*, int) {}
int main() {
  mosquitto_lib_init();
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  mosquitto* client = mosquitto_new(nullptr, true, nullptr);
  int rc = mosquitto_int_option(client, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // Without this, libmosquitto 2.0 applies its own defaults to the
  // SSL_CTX and then wants a CA file of its own (connect: MOSQ_ERR_INVAL).
  rc |= mosquitto_int_option(client, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  rc |= mosquitto_void_option(client, MOSQ_OPT_SSL_CTX, context);
  rc |= mosquitto_username_pw_set(client, "bblp", "00000000");
  mosquitto_connect_callback_set(client, on_connect);
  mosquitto_message_callback_set(client, on_message);
  rc |= mosquitto_connect_async(client, "127.0.0.1", 8883, 60);
  rc |= mosquitto_loop_start(client);
  rc |= mosquitto_subscribe(client, nullptr, "device/SERIAL/report", 0);
  rc |= mosquitto_publish(client, nullptr, "device/SERIAL/request", 2, "{}", 0, false);
  rc |= mosquitto_disconnect(client);
  rc |= mosquitto_loop_stop(client, false);
  mosquitto_destroy(client);
  SSL_CTX_free(context);
  mosquitto_lib_cleanup();
  return rc;
}
]] BAMBU_MOSQUITTO_LINKS_STATICALLY)
unset(CMAKE_REQUIRED_INCLUDES)
unset(CMAKE_REQUIRED_LIBRARIES)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
unset(CMAKE_REQUIRED_QUIET)
if(NOT BAMBU_MOSQUITTO_LINKS_STATICALLY)
  message(FATAL_ERROR "BAMBU_STATIC: no static program links ${BAMBU_MOSQUITTO_PREFIX}/lib/libmosquitto.a "
                      "(${MOSQUITTO_STATIC_LDFLAGS}); CMakeFiles/CMakeError.log has the linker's message")
endif()
