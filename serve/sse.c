/* sse.c - the event stream of `hive serve` (see sse.h for the design). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/error.h"
#include "serve/sse.h"

typedef struct sse_stream sse_stream;

struct hive_sse_hub {
	hive_store *store;
	int heartbeat_ms;
	pthread_t thread;
	int wake[2];              /* written once to stop the follower */
	pthread_mutex_t mu;       /* guards everything below */
	pthread_cond_t changed;   /* last_seq grew, or closing */
	uint64_t last_seq;
	int closing;
	sse_stream *streams;      /* open streams (for the figures) */
	unsigned clients;
	uint64_t streams_total, events_sent;
};

struct sse_stream {
	hive_sse_hub *hub;
	sse_stream *prev, *next;
	int fd;                   /* the client's socket: polled for a hang-up while idle */
	hive_sse_filter f;
	int failed;               /* an error event was queued: end once it is sent */
	uint64_t cursor;          /* every event up to here was considered (guarded by hub->mu for stats) */
	hive_buf out;             /* formatted bytes not yet handed to MHD: at most one batch */
	size_t off;
	int64_t last_write_ms;
	unsigned batch_n;         /* events in the batch being read */
	uint64_t batch_last;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the follower ------------------------------------------------------------ */

static void publish(hive_sse_hub *h, uint64_t seq)
{
	pthread_mutex_lock(&h->mu);
	if (seq > h->last_seq) {
		h->last_seq = seq;
		pthread_cond_broadcast(&h->changed);
	}
	pthread_mutex_unlock(&h->mu);
}

static int closing(hive_sse_hub *h)
{
	pthread_mutex_lock(&h->mu);
	int c = h->closing;
	pthread_mutex_unlock(&h->mu);
	return c;
}

static void *follow(void *arg)
{
	hive_sse_hub *h = arg;
	uint64_t seen = h->last_seq;
	while (!closing(h)) {
		if (hive_store_wait(h->store, seen, 1000, h->wake[0]) != 1)
			continue;
		uint64_t last = 0;
		if (hive_store_last_seq(h->store, &last) == 0 && last > seen) {
			seen = last;
			publish(h, last);
		}
	}
	return NULL;
}

int hive_sse_hub_start(hive_store *s, int heartbeat_ms, hive_sse_hub **out)
{
	hive_sse_hub *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->store = s;
	h->heartbeat_ms = heartbeat_ms;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->changed, &ca);
	pthread_condattr_destroy(&ca);
	int rc = hive_store_last_seq(s, &h->last_seq);
	if (!rc && pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		rc = hive_error_set(HIVE_ESYSTEM, "hive serve: cannot create a pipe: %s", strerror(errno));
	if (!rc && (errno = pthread_create(&h->thread, NULL, follow, h)) != 0) {
		rc = hive_error_set(HIVE_ESYSTEM, "hive serve: cannot start a thread: %s", strerror(errno));
		close(h->wake[0]);
		close(h->wake[1]);
	}
	if (rc) {
		pthread_cond_destroy(&h->changed);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void hive_sse_hub_close(hive_sse_hub *h)
{
	pthread_mutex_lock(&h->mu);
	h->closing = 1;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->mu);
	if (write(h->wake[1], "x", 1) < 0) {
		/* the pipe is full: the follower is being woken anyway */
	}
}

void hive_sse_hub_stop(hive_sse_hub *h)
{
	if (!h)
		return;
	hive_sse_hub_close(h);
	pthread_join(h->thread, NULL);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_cond_destroy(&h->changed);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void hive_sse_hub_stats(hive_sse_hub *h, hive_sse_stats *out)
{
	pthread_mutex_lock(&h->mu);
	out->clients = h->clients;
	out->streams_total = h->streams_total;
	out->events_sent = h->events_sent;
	out->last_seq = h->last_seq;
	out->max_lag = 0;
	for (sse_stream *st = h->streams; st; st = st->next)
		if (h->last_seq > st->cursor && h->last_seq - st->cursor > out->max_lag)
			out->max_lag = h->last_seq - st->cursor;
	pthread_mutex_unlock(&h->mu);
}

/* ---- one stream ------------------------------------------------------------------- */

static void stream_free(sse_stream *st)
{
	hive_sse_filter_dispose(&st->f);
	hive_buf_dispose(&st->out);
	free(st);
}

/* "id: SEQ / event: TYPE / data: ENVELOPE" and a blank line.  The stored
 * envelope is one line of compact JSON; a newline in it would still be
 * framed correctly (SSE joins data: lines with "\n"). */
static int put_event(uint64_t seq, hive_slice raw, void *ctx)
{
	sse_stream *st = ctx;
	json_t *ev = json_loadb(raw.data, raw.len, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	hive_buf_printf(&st->out, "id: %llu\nevent: %s\ndata: ", (unsigned long long)seq,
			type && !strpbrk(type, "\r\n") ? type : "message");
	json_decref(ev);
	for (size_t i = 0; i < raw.len; i++) {
		char c = ((const char *)raw.data)[i];
		if (c == '\n')
			hive_buf_puts(&st->out, "\ndata: ");
		else if (c != '\r')
			hive_buf_putc(&st->out, c);
	}
	hive_buf_puts(&st->out, "\n\n");
	st->batch_n++;
	st->batch_last = seq;
	return 0;
}

/* Read the next batch after the cursor into st->out.  A full batch ends
 * the cursor at its last event (the rest comes next time); a short one
 * at the end of the snapshot, matched or not, so filtered-out events
 * never wake this stream again. */
static int fill(sse_stream *st)
{
	hive_events_query q = {.flow_ref = st->f.flow, .task_ref = st->f.task, .attempt_ref = st->f.attempt,
			       .types = (const char *const *)st->f.types, .n_types = st->f.n_types,
			       .after = st->cursor, .limit = HIVE_SSE_BATCH};
	uint64_t last = 0;
	st->batch_n = 0;
	int rc = hive_events_list(st->hub->store, &q, put_event, st, &last);
	if (rc)
		return rc;
	uint64_t next = st->batch_n == HIVE_SSE_BATCH ? st->batch_last : last;
	hive_sse_hub *h = st->hub;
	pthread_mutex_lock(&h->mu);
	if (next > st->cursor)
		st->cursor = next;
	h->events_sent += st->batch_n;
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static int client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};
	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

enum { WAIT_NEW, WAIT_HEARTBEAT, WAIT_END };

/* Sleep until the log grew past the cursor, a heartbeat is due, the
 * client hung up (checked every second) or the server closes. */
static int wait_for_events(sse_stream *st)
{
	hive_sse_hub *h = st->hub;
	int64_t beat = st->last_write_ms + h->heartbeat_ms;
	int r = WAIT_NEW;
	pthread_mutex_lock(&h->mu);
	while (!h->closing && h->last_seq <= st->cursor) {
		int64_t now = now_ms();
		if (now >= beat) {
			r = WAIT_HEARTBEAT;
			break;
		}
		int64_t until = beat < now + 1000 ? beat : now + 1000;
		struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
		if (pthread_cond_timedwait(&h->changed, &h->mu, &ts) == ETIMEDOUT && client_gone(st->fd)) {
			r = WAIT_END;
			break;
		}
	}
	if (h->closing)
		r = WAIT_END;
	pthread_mutex_unlock(&h->mu);
	return r;
}

static void put_error(sse_stream *st, int rc)
{
	json_t *e = json_pack("{s:i,s:{s:s,s:s}}", "schema", 2, "error", "code", hive_error_name(rc), "message",
			      hive_error_last());
	char *s = json_dumps(e, JSON_COMPACT);
	hive_buf_printf(&st->out, "event: error\ndata: %s\n\n", s ? s : "{}");
	free(s);
	json_decref(e);
}

/* MHD asks for up to max bytes: hand out what is buffered, else read the
 * next batch, else sleep.  This thread is the connection's own. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	sse_stream *st = cls;
	for (;;) {
		if (st->off < st->out.len) {
			size_t n = st->out.len - st->off < max ? st->out.len - st->off : max;
			memcpy(buf, st->out.data + st->off, n);
			st->off += n;
			st->last_write_ms = now_ms();
			return (ssize_t)n;
		}
		hive_buf_reset(&st->out);
		st->off = 0;
		if (st->failed || closing(st->hub))
			return MHD_CONTENT_READER_END_OF_STREAM;
		int rc = fill(st);
		if (rc) { /* the log became unreadable: say so once, then end */
			put_error(st, rc);
			st->failed = 1;
			continue;
		}
		if (st->out.len)
			continue;
		switch (wait_for_events(st)) {
		case WAIT_HEARTBEAT: hive_buf_puts(&st->out, ": hb\n\n"); break;
		case WAIT_END: return MHD_CONTENT_READER_END_OF_STREAM;
		default: break;
		}
	}
}

static void stream_done(void *cls)
{
	sse_stream *st = cls;
	hive_sse_hub *h = st->hub;
	pthread_mutex_lock(&h->mu);
	if (st->prev)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	h->clients--;
	pthread_mutex_unlock(&h->mu);
	stream_free(st);
}

/* ---- the request --------------------------------------------------------------------- */

typedef struct {
	hive_sse_filter *f;
	int too_many;
} types_ctx;

/* Every ?type= (repeatable; each may also be a comma-separated list). */
static enum MHD_Result collect_type(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	types_ctx *c = cls;
	if (strcmp(key, "type") != 0 || !value)
		return MHD_YES;
	for (const char *p = value; *p;) {
		size_t n = strcspn(p, ",");
		if (n) {
			if (c->f->n_types == 64) {
				c->too_many = 1;
				return MHD_NO;
			}
			char **grown = realloc(c->f->types, (c->f->n_types + 1) * sizeof *grown);
			if (!grown)
				abort();
			c->f->types = grown;
			c->f->types[c->f->n_types++] = strndup(p, n);
		}
		p += n + (p[n] == ',');
	}
	return MHD_YES;
}

/* ?NAME= (kind NAME) as a full id into *out (new), or nothing when absent. */
static int resolve_arg(hive_store *s, hive_http_req *r, const char *name, char **out)
{
	const char *ref = hive_http_arg(r, name);
	char id[HIVE_ID_LEN + 1];
	int rc = ref ? hive_ref_resolve(s, name, ref, id) : 0;
	if (!rc && ref)
		*out = hive_xstrdup(id);
	return rc;
}

int hive_sse_filter_init(hive_store *s, hive_http_req *r, hive_sse_filter *f)
{
	memset(f, 0, sizeof *f);
	types_ctx tc = {f, 0};
	hive_mhd.get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_type, &tc);
	int rc = tc.too_many ? hive_error_set(HIVE_EINVALID, "too many types (at most 64)") : 0;
	if (!rc)
		rc = resolve_arg(s, r, "flow", &f->flow);
	if (!rc)
		rc = resolve_arg(s, r, "task", &f->task);
	if (!rc)
		rc = resolve_arg(s, r, "attempt", &f->attempt);
	if (rc)
		hive_sse_filter_dispose(f);
	return rc;
}

void hive_sse_filter_dispose(hive_sse_filter *f)
{
	free(f->flow);
	free(f->task);
	free(f->attempt);
	for (size_t i = 0; i < f->n_types; i++)
		free(f->types[i]);
	free(f->types);
	memset(f, 0, sizeof *f);
}

/* Last-Event-ID (what a reconnecting EventSource sends) wins over ?after=.
 * ?after=now starts at the log's last event (*now = 1): a page that fetched
 * the documents wants what happens next, not the whole history again. */
static int resume_point(hive_http_req *r, uint64_t *after, int *now, enum MHD_Result *ret)
{
	const char *id = hive_http_header(r, "Last-Event-ID"), *a = hive_http_arg(r, "after");
	const char *what = id ? "Last-Event-ID" : "after";
	const char *v = id ? id : a;
	*after = 0;
	*now = !id && a && strcmp(a, "now") == 0;
	if (v && !*now && hive_http_parse_u64(v, after) != 0) {
		*ret = hive_http_error(r, 400, "invalid", "%s=%s is not a seq (a non-negative integer)", what, v);
		return -1;
	}
	return 0;
}

static const char *const stream_args[] = {"after", "flow", "task", "attempt", "type", NULL};

enum MHD_Result hive_sse_handle(hive_sse_hub *h, hive_http_req *r)
{
	enum MHD_Result ret;
	uint64_t after;
	int now;
	if (hive_http_refuse_args(r, stream_args, &ret) || resume_point(r, &after, &now, &ret))
		return ret;
	uint64_t last = 0;
	int rc = hive_store_last_seq(h->store, &last);
	if (rc)
		return hive_http_hive_error(r, rc);
	if (now)
		after = last;
	if (after > last) /* it would wait forever: a seq this log never had */
		return hive_http_error(r, 400, "invalid",
				       "resume point %llu is after this log's last event (seq %llu): the client read "
				       "another data dir, or a restored backup; reconnect with ?after=0",
				       (unsigned long long)after, (unsigned long long)last);
	sse_stream *st = calloc(1, sizeof *st);
	if (!st)
		abort();
	st->hub = h;
	st->cursor = after;
	const union MHD_ConnectionInfo *ci = hive_mhd.get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	st->fd = ci ? ci->connect_fd : -1;
	rc = hive_sse_filter_init(h->store, r, &st->f);
	/* The first batch now: an unknown flow or type is a 4xx, not a stream. */
	hive_buf_printf(&st->out, "retry: 1000\n: events after %llu\n\n", (unsigned long long)after);
	if (!rc)
		rc = fill(st);
	if (rc) {
		stream_free(st);
		return hive_http_hive_error(r, rc);
	}
	st->last_write_ms = now_ms();
	struct MHD_Response *resp = hive_mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
								      stream_done);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	pthread_mutex_lock(&h->mu);
	st->next = h->streams;
	if (h->streams)
		h->streams->prev = st;
	h->streams = st;
	h->clients++;
	h->streams_total++;
	pthread_mutex_unlock(&h->mu);
	hive_mhd.add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	hive_mhd.add_response_header(resp, "Cache-Control", "no-store");
	hive_mhd.add_response_header(resp, "X-Accel-Buffering", "no");
	hive_mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = hive_mhd.queue_response(r->conn, 200, resp);
	hive_mhd.destroy_response(resp);
	return ret;
}
