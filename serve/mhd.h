/*
 * mhd.h - libmicrohttpd for `hive serve`, loaded when the server starts
 * (dlopen), not linked into the hive binary.
 *
 * Why: libmicrohttpd links gnutls, and with it p11-kit, nettle, hogweed,
 * gmp, libtasn1, libidn2, libunistring and libffi.  Linked, every hive
 * process -- `flow run` with its long life most of all -- mapped them
 * (+2.5 MB of resident set, docs/benchmarks.md "Peak RSS") although only
 * `hive serve` speaks HTTP.  A dlopen of one library through a table of
 * the ten functions serve/ calls keeps one binary (install, tests and
 * `hive serve`'s behaviour unchanged), where a separate serve executable
 * would have to be found, installed and kept in step with hive.  The
 * headers still come from libmicrohttpd's development package, so each
 * pointer has the library's own prototype (__typeof__).
 */
#ifndef HIVE_MHD_H
#define HIVE_MHD_H

#include <microhttpd.h>

/* The functions serve/ calls: hive_mhd.queue_response(...) is
 * MHD_queue_response(...).  Filled by hive_mhd_load; read-only after. */
typedef struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_get_connection_values) *get_connection_values;
	__typeof__(MHD_get_connection_info) *get_connection_info;
} hive_mhd_api;

extern hive_mhd_api hive_mhd;

/* Load libmicrohttpd (HIVE_MHD_SONAME, the soname hive was built
 * against) and fill hive_mhd; once per process, before any other thread
 * uses it.  Returns 0, or HIVE_ESYSTEM naming the library, dlerror()'s
 * reason and the package to install.  The library stays loaded. */
int hive_mhd_load(void);

#endif
