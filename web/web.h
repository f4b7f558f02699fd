/*
 * web.h - the web timeline's files (web/index.html, app.js, app.css),
 * embedded in the hive binary at build time by tests/tools/gen_web_files.sh
 * so `hive serve` needs nothing on disk and nothing from the network.
 */
#ifndef HIVE_WEB_H
#define HIVE_WEB_H

#include <stddef.h>

struct hive_web_file {
	const char *path;         /* the URL path served: "/", "/index.html", "/app.js", "/app.css" */
	const char *content_type; /* the full Content-Type, e.g. "text/css; charset=utf-8" */
	const unsigned char *data; /* len bytes, followed by a NUL */
	size_t len;
};

/* The embedded files, terminated by an entry whose path is NULL.  Static
 * storage: borrowed for the life of the process. */
extern const struct hive_web_file hive_web_files[];

#endif
