/*
 * mhd.c - see mhd.h.
 */
#include "serve/mhd.h"

#include <dlfcn.h>

#include "events/error.h"

#ifndef HIVE_MHD_SONAME
#define HIVE_MHD_SONAME "libmicrohttpd.so.12"
#endif

hive_mhd_api hive_mhd;

static const char *missing; /* the first symbol dlsym did not find */

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p && !missing)
		missing = name;
	return p;
}

/* POSIX allows a function's address through dlsym's void *. */
#define LOAD(lib, name) (hive_mhd.name = (__typeof__(hive_mhd.name))sym(lib, "MHD_" #name))

int hive_mhd_load(void)
{
	if (hive_mhd.start_daemon)
		return 0;
	void *lib = dlopen(HIVE_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return hive_error_set(HIVE_ESYSTEM,
				      "hive serve needs libmicrohttpd: %s; install it (Debian: apt-get install libmicrohttpd12)",
				      dlerror());
	missing = NULL;
	LOAD(lib, stop_daemon);
	LOAD(lib, create_response_from_buffer);
	LOAD(lib, create_response_from_callback);
	LOAD(lib, add_response_header);
	LOAD(lib, queue_response);
	LOAD(lib, destroy_response);
	LOAD(lib, lookup_connection_value);
	LOAD(lib, get_connection_values);
	LOAD(lib, get_connection_info);
	LOAD(lib, start_daemon);
	if (missing) {
		hive_mhd.start_daemon = NULL; /* the table is complete only when this is set */
		return hive_error_set(HIVE_ESYSTEM, "hive serve: %s has no %s; install libmicrohttpd 0.9.71 or newer",
				      HIVE_MHD_SONAME, missing);
	}
	return 0;
}
