/*
 * sse.h - GET /api/v1/events/stream: the log as Server-Sent Events.
 *
 * One follower thread (the hub) waits for commits with hive_store_wait
 * (inotify on the data file: the same wake-up `events stream --follow`
 * uses) and publishes the newest seq.  Each stream runs on its
 * connection's own thread (libmicrohttpd's thread per connection): it
 * reads the events after its cursor from the log in batches of at most
 * HIVE_SSE_BATCH, hands them to MHD as MHD asks for bytes, and sleeps on
 * the hub's condition variable when it has caught up.  So:
 *   - no gap, no duplicate: the cursor is a seq, and a batch ends on an
 *     event boundary; a reconnect resumes after Last-Event-ID (or ?after=);
 *   - a client that stops reading blocks only its own thread inside MHD's
 *     send, holding no lock and at most one batch (plus the socket's
 *     buffer); the runner is another process and never waits for us;
 *   - a closed client is noticed within a second even while idle.
 */
#ifndef HIVE_SSE_H
#define HIVE_SSE_H

#include <stdint.h>

#include "core/hive.h"
#include "events/buf.h"
#include "serve/http.h"

#define HIVE_SSE_BATCH 256

typedef struct hive_sse_hub hive_sse_hub;

/* Start the follower thread over s (borrowed; must outlive the hub).
 * heartbeat_ms: the idle comment interval.  Errors: HIVE_ESYSTEM. */
int hive_sse_hub_start(hive_store *s, int heartbeat_ms, hive_sse_hub **out);
/* Wake every stream to end, join the follower, free the hub.  Call after
 * MHD stopped (no stream still runs). */
void hive_sse_hub_stop(hive_sse_hub *h);
/* Tell the streams to end (they return end-of-stream at once), so that
 * MHD_stop_daemon can join their threads. */
void hive_sse_hub_close(hive_sse_hub *h);

/* Figures for /metrics. */
typedef struct {
	unsigned clients;        /* streams open now */
	uint64_t streams_total;  /* streams opened since start */
	uint64_t events_sent;    /* events written to streams */
	uint64_t last_seq;       /* the newest seq the follower saw */
	uint64_t max_lag;        /* last_seq minus the furthest-behind stream's cursor */
} hive_sse_stats;
void hive_sse_hub_stats(hive_sse_hub *h, hive_sse_stats *out);

/* The filters both event endpoints take: ?flow= ?task= ?attempt= resolved
 * to full ids ONCE, when the request comes (a name or key reused later
 * does not switch an open stream to another object, and cannot make its
 * reference ambiguous), and every ?type= (repeatable; each may also be a
 * comma-separated list; at most 64).  Errors: those of hive_resolve,
 * HIVE_EINVALID (too many types).  Owns its strings: _dispose. */
typedef struct {
	char *flow, *task, *attempt;  /* full ids, or NULL = any */
	char **types;
	size_t n_types;
} hive_sse_filter;
int hive_sse_filter_init(hive_store *s, hive_http_req *r, hive_sse_filter *f);
void hive_sse_filter_dispose(hive_sse_filter *f);

/* Answer GET /api/v1/events/stream: validates the filters and the resume
 * point first (4xx JSON on bad ones), then queues the stream. */
enum MHD_Result hive_sse_handle(hive_sse_hub *h, hive_http_req *r);

#endif
