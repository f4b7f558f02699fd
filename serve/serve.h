/*
 * serve.h - `hive serve`: the library API over HTTP (docs/serve.md).
 *
 * A front end at the same layer as cli/: it calls only core/hive.h (and
 * the bottom-layer helpers), so every document is the one the command
 * line prints with --json.  libmicrohttpd runs one thread per connection;
 * requests that read documents or steer take one lock (the store handle
 * is shared), event streams never do: each stream reads the log on its
 * own thread, woken by one follower thread (hive_store_wait).  A client
 * that stops reading blocks only its own thread, with at most one batch
 * of events buffered for it.
 */
#ifndef HIVE_SERVE_H
#define HIVE_SERVE_H

#include <signal.h>

#include "core/hive.h"

typedef struct {
	const char *listen;      /* "HOST:PORT" (IPv4, "localhost" or "[IPv6]"); PORT 0 = any free port */
	int allow_remote;        /* a non-loopback HOST is refused without it */
	const char *dir;         /* the data dir: serve.token lives there */
	/* called once listening, with the URL that sets the cookie
	 * (http://HOST:PORT/?token=...) */
	void (*ready)(const char *url, void *ctx);
	void *ready_ctx;
	/* written (one byte) by a signal handler to stop; read end */
	int stop_fd;
	int heartbeat_ms;        /* SSE comment interval; 0 = 15000 */
} hive_serve_opts;

/*
 * Listen, serve until stop_fd becomes readable, then stop: open event
 * streams end, the listening socket closes.  The token is read from (or
 * on first use written to) <dir>/serve.token.
 * Errors: HIVE_EINVALID (a bad or non-loopback --listen without
 * allow_remote; an unsafe token file), HIVE_ESYSTEM (cannot listen: the
 * message names the address; cannot write the token).
 */
int hive_serve_run(hive_store *s, const hive_serve_opts *o);

#endif
