#include "events/event.h"

#include <inttypes.h>
#include <string.h>

#include "events/buf.h"
#include "events/error.h"

#define P HIVE_CORR_PROJECT
#define F HIVE_CORR_FLOW
#define T HIVE_CORR_TASK
#define A HIVE_CORR_ATTEMPT

/* The catalog: SPEC section 8's names, in enum order. */
static const hive_event_kind catalog[HIVE_EV__COUNT] = {
	[HIVE_EV_UNKNOWN]                 = {HIVE_EV_UNKNOWN, "unknown", 0},
	[HIVE_EV_PROJECT_CREATED]         = {HIVE_EV_PROJECT_CREATED, "project_created", P},
	[HIVE_EV_TASK_CREATED]            = {HIVE_EV_TASK_CREATED, "task_created", P | T},
	[HIVE_EV_FLOW_CREATED]            = {HIVE_EV_FLOW_CREATED, "flow_created", P | F},
	[HIVE_EV_FLOW_STARTED]            = {HIVE_EV_FLOW_STARTED, "flow_started", P | F},
	[HIVE_EV_FLOW_PAUSED]             = {HIVE_EV_FLOW_PAUSED, "flow_paused", P | F},
	[HIVE_EV_FLOW_RESUMED]            = {HIVE_EV_FLOW_RESUMED, "flow_resumed", P | F},
	[HIVE_EV_FLOW_COMPLETED]          = {HIVE_EV_FLOW_COMPLETED, "flow_completed", P | F},
	[HIVE_EV_FLOW_FAILED]             = {HIVE_EV_FLOW_FAILED, "flow_failed", P | F},
	[HIVE_EV_FLOW_ABORTED]            = {HIVE_EV_FLOW_ABORTED, "flow_aborted", P | F},
	[HIVE_EV_TASK_READY]              = {HIVE_EV_TASK_READY, "task_ready", P | F | T},
	[HIVE_EV_TASK_BLOCKED]            = {HIVE_EV_TASK_BLOCKED, "task_blocked", P | F | T},
	[HIVE_EV_TASK_STATE_CHANGED]      = {HIVE_EV_TASK_STATE_CHANGED, "task_state_changed", P | T},
	[HIVE_EV_TASK_RETRY_SCHEDULED]    = {HIVE_EV_TASK_RETRY_SCHEDULED, "task_retry_scheduled", P | F | T},
	[HIVE_EV_TASK_RETRY_REQUESTED]    = {HIVE_EV_TASK_RETRY_REQUESTED, "task_retry_requested", P | T},
	[HIVE_EV_TASK_ESCALATED]          = {HIVE_EV_TASK_ESCALATED, "task_escalated", P | T},
	[HIVE_EV_TASK_ABORTED]            = {HIVE_EV_TASK_ABORTED, "task_aborted", P | T},
	[HIVE_EV_RETRY_CONTEXT_ASSEMBLED] = {HIVE_EV_RETRY_CONTEXT_ASSEMBLED, "retry_context_assembled", P | F | T | A},
	[HIVE_EV_ATTEMPT_STARTED]         = {HIVE_EV_ATTEMPT_STARTED, "attempt_started", P | F | T | A},
	[HIVE_EV_RUNTIME_STARTED]         = {HIVE_EV_RUNTIME_STARTED, "runtime_started", P | F | T | A},
	[HIVE_EV_RUNTIME_EXITED]          = {HIVE_EV_RUNTIME_EXITED, "runtime_exited", P | F | T | A},
	[HIVE_EV_CHANGES_RECORDED]        = {HIVE_EV_CHANGES_RECORDED, "changes_recorded", P | F | T | A},
	[HIVE_EV_CHECK_STARTED]           = {HIVE_EV_CHECK_STARTED, "check_started", P | F | T | A},
	[HIVE_EV_CHECK_COMPLETED]         = {HIVE_EV_CHECK_COMPLETED, "check_completed", P | F | T | A},
	[HIVE_EV_ATTEMPT_COMPLETED]       = {HIVE_EV_ATTEMPT_COMPLETED, "attempt_completed", P | F | T | A},
	[HIVE_EV_ATTEMPT_CRASHED]         = {HIVE_EV_ATTEMPT_CRASHED, "attempt_crashed", P | F | T | A},
	[HIVE_EV_CIRCUIT_OPENED]          = {HIVE_EV_CIRCUIT_OPENED, "circuit_opened", P | F},
	[HIVE_EV_CIRCUIT_HALF_OPENED]     = {HIVE_EV_CIRCUIT_HALF_OPENED, "circuit_half_opened", P | F},
	[HIVE_EV_CIRCUIT_CLOSED]          = {HIVE_EV_CIRCUIT_CLOSED, "circuit_closed", P | F},
	[HIVE_EV_WORKTREE_RELEASED]       = {HIVE_EV_WORKTREE_RELEASED, "worktree_released", P | F | T},
	[HIVE_EV_BRANCH_DELETED]          = {HIVE_EV_BRANCH_DELETED, "branch_deleted", P | F},
	[HIVE_EV_FLOW_COLLECTED]          = {HIVE_EV_FLOW_COLLECTED, "flow_collected", P | F},
	[HIVE_EV_FLOW_LANDED]             = {HIVE_EV_FLOW_LANDED, "flow_landed", P | F},
	[HIVE_EV_TASK_REBASED]            = {HIVE_EV_TASK_REBASED, "task_rebased", P | F | T},
	[HIVE_EV_FLOW_REBASED]            = {HIVE_EV_FLOW_REBASED, "flow_rebased", P | F},
	[HIVE_EV_TASK_EDITED]             = {HIVE_EV_TASK_EDITED, "task_edited", P | T},
	[HIVE_EV_TASK_ACCEPTED]           = {HIVE_EV_TASK_ACCEPTED, "task_accepted", P | T | A},
	[HIVE_EV_CHECK_FLAKY]             = {HIVE_EV_CHECK_FLAKY, "check_flaky", P | F | T | A},
	[HIVE_EV_SPARE_REMOVED]           = {HIVE_EV_SPARE_REMOVED, "spare_removed", P | F},
};

#undef P
#undef F
#undef T
#undef A

const hive_event_kind *hive_event_kind_of(hive_event_type t)
{
	if (t <= HIVE_EV_UNKNOWN || t >= HIVE_EV__COUNT)
		return NULL;
	return &catalog[t];
}

hive_event_type hive_event_type_from_name(const char *name)
{
	for (int t = 1; t < HIVE_EV__COUNT; t++)
		if (strcmp(catalog[t].name, name) == 0)
			return (hive_event_type)t;
	return HIVE_EV_UNKNOWN;
}

const char *hive_event_type_name(hive_event_type t)
{
	const hive_event_kind *k = hive_event_kind_of(t);
	return k ? k->name : "unknown";
}

void hive_event_init(hive_event *ev, hive_event_type type, json_t *payload)
{
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	const char *name = hive_event_type_name(type); /* a catalog name: short */
	memcpy(ev->type_name, name, strlen(name) + 1);
	ev->payload = payload; /* NULL stays NULL: hive_store_append refuses it */
}

/* src cut to HIVE_ID_LEN bytes (as snprintf would; no printf per id). */
static void set_id(char *dst, const char *src)
{
	size_t n = src ? strnlen(src, HIVE_ID_LEN) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void hive_event_correlate(hive_event *ev, const char *project_id, const char *flow_id,
			  const char *task_id, const char *attempt_id)
{
	set_id(ev->project_id, project_id);
	set_id(ev->flow_id, flow_id);
	set_id(ev->task_id, task_id);
	set_id(ev->attempt_id, attempt_id);
}

void hive_event_dispose(hive_event *ev)
{
	json_decref(ev->payload);
	ev->payload = NULL;
}

static const struct {
	const char *field;
	unsigned bit;
	size_t offset;
} corr_fields[] = {
	{"project_id", HIVE_CORR_PROJECT, offsetof(hive_event, project_id)},
	{"flow_id", HIVE_CORR_FLOW, offsetof(hive_event, flow_id)},
	{"task_id", HIVE_CORR_TASK, offsetof(hive_event, task_id)},
	{"attempt_id", HIVE_CORR_ATTEMPT, offsetof(hive_event, attempt_id)},
};
#define N_CORR (sizeof corr_fields / sizeof corr_fields[0])

/* How the log stores an event: compact, fields in envelope order, ASCII. */
#define HIVE_EVENT_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)

/* The envelope as jansson lays it out (the reference for the fast path
 * below, and the path for any string the fast path does not write). */
static char *encode_with_jansson(const hive_event *ev)
{
	json_t *o = json_object();
	json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
	json_object_set_new(o, "id", json_string(ev->id.s));
	json_object_set_new(o, "time", json_string(ev->time));
	json_object_set_new(o, "type", json_string(ev->type_name));
	for (size_t i = 0; i < N_CORR; i++) {
		const char *v = (const char *)ev + corr_fields[i].offset;
		if (*v)
			json_object_set_new(o, corr_fields[i].field, json_string(v));
	}
	/* set_new steals: a new reference either way (incref of the borrowed
	 * payload, or a fresh {} that would otherwise leak). */
	json_object_set_new(o, "payload", ev->payload ? json_incref(ev->payload) : json_object());
	char *s = json_dumps(o, HIVE_EVENT_JSON_FLAGS);
	json_decref(o);
	return s;
}

/*
 * The encoder writes into a hive_buf directly: each step reserves room for
 * what it may write (hive_buf_reserve), then writes bytes and advances
 * len, the NUL restored at the end (encode_fast).  A call per byte
 * through hive_buf_putc was a fifth of the encoder's time.
 */
static void put_raw(hive_buf *b, const char *s, size_t n)
{
	hive_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void put_char(hive_buf *b, char c)
{
	hive_buf_reserve(b, 1);
	b->data[b->len++] = c;
}

/* ,"name":"value" for a plain value: printable ASCII without '"' or '\\',
 * which jansson writes as it is under JSON_ENSURE_ASCII, and at most 63
 * bytes (as every envelope string is).  0, with len unmoved, otherwise. */
/*
 * Non-zero when one of the 8 bytes of w is not plain: below 0x20, above
 * 0x7e, '"' or '\\'.  The byte tests of "Bit Twiddling Hacks" (hasless,
 * hasmore, haszero), exact as a yes/no answer: checking the envelope's
 * strings a byte at a time was a tenth of an append's time.
 */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static uint64_t word_not_plain(uint64_t w)
{
	uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
	return ((w - ONES * 0x20) & ~w & HIGHS) | (((w + ONES) | w) & HIGHS) |
	       ((quote - ONES) & ~quote & HIGHS) | ((backslash - ONES) & ~backslash & HIGHS);
}

static int plain_bytes(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_not_plain(w))
			return 0;
	}
	for (; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
			return 0;
	}
	return 1;
}

static int put_field(hive_buf *b, const char *name, size_t nlen, const char *value)
{
	size_t n = strnlen(value, 64);
	if (n == 64 || !plain_bytes(value, n))
		return 0;
	hive_buf_reserve(b, nlen + n + 6);
	char *o = b->data + b->len;
	*o++ = ',';
	*o++ = '"';
	memcpy(o, name, nlen);
	o += nlen;
	memcpy(o, "\":\"", 3);
	o += 3;
	memcpy(o, value, n);
	o += n;
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 1;
}

static void put_uint(hive_buf *b, uint64_t v)
{
	char d[20];
	int n = 0;
	do
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put_raw(b, d + sizeof d - n, (size_t)n);
}

static void put_int(hive_buf *b, json_int_t v)
{
	if (v < 0)
		put_char(b, '-');
	put_uint(b, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

/*
 * s[0..len) as jansson's dump_string writes it under JSON_ENSURE_ASCII:
 * '"' and '\\' escaped, \b \f \n \r \t by name, the other controls as
 * \u00XX (upper-case hex), everything else from 0x20 to 0x7f as it is.
 * 0 at the first byte >= 0x80: non-ASCII text is left to jansson, which
 * decodes the UTF-8 (and refuses it when it is not UTF-8).
 */
static int put_string(hive_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	hive_buf_reserve(b, 6 * len + 2);
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			*o++ = (char)ch;
			continue;
		}
		if (ch >= 0x80)
			return 0;
		char named = ch == '"' ? '"' : ch == '\\' ? '\\' : ch == '\b' ? 'b' : ch == '\f' ? 'f'
			   : ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\t' ? 't' : 0;
		*o++ = '\\';
		if (named) {
			*o++ = named;
		} else {
			memcpy(o, "u00", 3);
			o[3] = hex[ch >> 4];
			o[4] = hex[ch & 15];
			o += 5;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 1;
}

/*
 * A payload value as jansson writes it with HIVE_EVENT_JSON_FLAGS (compact,
 * members in insertion order, ASCII), at `depth` (the payload object is 1).
 * jansson's own dump goes through a callback per token and formats a
 * pointer into a hash table per object and array (its cycle check): that
 * was a quarter of an append's time.  0 for what is left to jansson: a
 * real (its "%.17g" rules), non-ASCII text, and anything nested deeper
 * than HIVE_EVENT_MAX_DEPTH (which also stops a cycle).
 */
static int put_value(hive_buf *b, const json_t *v, int depth)
{
	if (depth > HIVE_EVENT_MAX_DEPTH)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		put_char(b, '{');
		int first = 1;
		for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it)) {
			if (!first)
				put_char(b, ',');
			first = 0;
			if (!put_string(b, json_object_iter_key(it), json_object_iter_key_len(it)))
				return 0;
			put_char(b, ':');
			if (!put_value(b, json_object_iter_value(it), depth + 1))
				return 0;
		}
		put_char(b, '}');
		return 1;
	}
	case JSON_ARRAY:
		put_char(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				put_char(b, ',');
			if (!put_value(b, json_array_get(v, i), depth + 1))
				return 0;
		}
		put_char(b, ']');
		return 1;
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		put_int(b, json_integer_value(v));
		return 1;
	case JSON_TRUE:
		put_raw(b, "true", 4);
		return 1;
	case JSON_FALSE:
		put_raw(b, "false", 5);
		return 1;
	case JSON_NULL:
		put_raw(b, "null", 4);
		return 1;
	default:
		return 0;
	}
}

/* The payload as jansson writes it: by put_value, or by jansson itself for
 * what put_value leaves to it.  0 when jansson cannot encode it either. */
static int put_payload(hive_buf *b, const json_t *payload)
{
	if (!payload) {
		put_raw(b, "{}", 2);
		return 1;
	}
	size_t at = b->len;
	if (put_value(b, payload, 1))
		return 1;
	b->len = at;
	size_t n = json_dumpb(payload, NULL, 0, HIVE_EVENT_JSON_FLAGS);
	if (n == 0)
		return 0;
	hive_buf_reserve(b, n);
	json_dumpb(payload, b->data + b->len, n, HIVE_EVENT_JSON_FLAGS);
	b->len += n;
	return 1;
}

/*
 * The envelope and the payload written directly: the same bytes as
 * encode_with_jansson (tests/unit/test_event.c compares them), without
 * building an object of nine members per event.  Any envelope string
 * that would need an escape takes the jansson path (NULL here).
 */
static char *encode_fast(const hive_event *ev)
{
	if (ev->seq > (uint64_t)INT64_MAX)
		return NULL;
	hive_buf b = {0};
	hive_buf_reserve(&b, 511); /* most events fit: no realloc on the way */
	put_raw(&b, "{\"seq\":", 7);
	put_uint(&b, ev->seq);
	int ok = put_field(&b, "id", 2, ev->id.s) && put_field(&b, "time", 4, ev->time) &&
		 put_field(&b, "type", 4, ev->type_name);
	for (size_t i = 0; ok && i < N_CORR; i++) {
		const char *v = (const char *)ev + corr_fields[i].offset;
		if (*v)
			ok = put_field(&b, corr_fields[i].field, strlen(corr_fields[i].field), v);
	}
	if (ok) {
		put_raw(&b, ",\"payload\":", 11);
		ok = put_payload(&b, ev->payload); /* 0: jansson cannot encode it, let its path say so */
	}
	if (!ok) {
		hive_buf_dispose(&b);
		return NULL;
	}
	put_char(&b, '}');
	b.data[b.len] = '\0';
	return hive_buf_detach(&b);
}

char *hive_event_encode(const hive_event *ev)
{
	char *s = encode_fast(ev);
	if (!s)
		s = encode_with_jansson(ev);
	if (!s) {
		fputs("hive: out of memory encoding an event\n", stderr);
		abort();
	}
	return s;
}

/* The deepest level under v, at most HIVE_EVENT_MAX_DEPTH + 1 (it stops
 * looking there, so a cycle ends too). */
static int depth_of(const json_t *v, int depth)
{
	if (depth > HIVE_EVENT_MAX_DEPTH)
		return depth;
	int deepest = depth;
	if (json_is_object(v)) {
		for (void *it = json_object_iter((json_t *)v); it && deepest <= HIVE_EVENT_MAX_DEPTH;
		     it = json_object_iter_next((json_t *)v, it)) {
			int d = depth_of(json_object_iter_value(it), depth + 1);
			deepest = d > deepest ? d : deepest;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && deepest <= HIVE_EVENT_MAX_DEPTH; i++) {
			int d = depth_of(json_array_get(v, i), depth + 1);
			deepest = d > deepest ? d : deepest;
		}
	}
	return deepest;
}

int hive_event_payload_depth_ok(const json_t *payload)
{
	return !payload || depth_of(payload, 1) <= HIVE_EVENT_MAX_DEPTH;
}

static int decode_string(json_t *o, const char *field, char *dst, size_t n, int required, uint64_t seq)
{
	json_t *v = json_object_get(o, field);
	if (!v) {
		dst[0] = '\0';
		if (required)
			return hive_error_set(HIVE_EINVALID, "event seq %llu: missing field \"%s\"",
					      (unsigned long long)seq, field);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= n)
		return hive_error_set(HIVE_EINVALID,
				      "event seq %llu: field \"%s\" must be a non-empty string of at most %zu bytes",
				      (unsigned long long)seq, field, n - 1);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int decode_fields(json_t *o, hive_event *ev)
{
	json_t *seq = json_object_get(o, "seq");
	if (!seq)
		return hive_error_set(HIVE_EINVALID, "event: missing field \"seq\"");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		return hive_error_set(HIVE_EINVALID, "event: field \"seq\" must be an integer >= 1");
	ev->seq = (uint64_t)json_integer_value(seq);
	unsigned long long n = (unsigned long long)ev->seq; /* for messages */
	int rc;
	if ((rc = decode_string(o, "id", ev->id.s, sizeof ev->id.s, 1, ev->seq)) ||
	    (rc = decode_string(o, "time", ev->time, sizeof ev->time, 1, ev->seq)) ||
	    (rc = decode_string(o, "type", ev->type_name, sizeof ev->type_name, 1, ev->seq)))
		return rc;
	for (size_t i = 0; i < N_CORR; i++) {
		char *dst = (char *)ev + corr_fields[i].offset;
		if ((rc = decode_string(o, corr_fields[i].field, dst, HIVE_ID_LEN + 1, 0, ev->seq)))
			return rc;
	}
	ev->type = hive_event_type_from_name(ev->type_name);
	const hive_event_kind *k = hive_event_kind_of(ev->type);
	for (size_t i = 0; k && i < N_CORR; i++) {
		const char *v = (const char *)ev + corr_fields[i].offset;
		if ((k->required & corr_fields[i].bit) && !*v)
			return hive_error_set(HIVE_EINVALID, "event seq %llu: field \"%s\" is required for type \"%s\"",
					      n, corr_fields[i].field, k->name);
	}
	json_t *payload = json_object_get(o, "payload");
	if (!payload)
		return hive_error_set(HIVE_EINVALID, "event seq %llu: missing field \"payload\"", n);
	if (!json_is_object(payload))
		return hive_error_set(HIVE_EINVALID, "event seq %llu: field \"payload\" must be an object", n);
	if (!hive_event_payload_depth_ok(payload))
		return hive_error_set(HIVE_EINVALID, "event seq %llu: field \"payload\" nests deeper than %d levels", n,
				      HIVE_EVENT_MAX_DEPTH);
	ev->payload = json_incref(payload);
	return 0;
}

/* ---- the decoder's fast path --------------------------------------------- */

/*
 * Nearly every stored event is exactly what hive_event_encode wrote: the
 * envelope's fields in their order, each string plain (see put_field()), the
 * payload last.  Such an envelope is read here by hand and only the payload
 * is parsed by jansson, which halves the decoder's work (`events verify`,
 * rebuilds and every scan decode each event).  The fast path accepts only
 * what the full parse would accept with the same result; anything else
 * (another order, whitespace, an escape, an extra field, a value out of
 * range, any error) answers 0 and the full parse decides, with its own
 * error messages.
 */
typedef struct {
	const char *p, *end;
} cursor;

static int lit(cursor *c, const char *s, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

/* A plain, non-empty string value into dst (at most n - 1 bytes). */
static int plain_value(cursor *c, char *dst, size_t n)
{
	if (!lit(c, "\"", 1))
		return 0;
	const char *s = c->p;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return 0;
		c->p++;
	}
	size_t len = (size_t)(c->p - s);
	if (c->p == c->end || len == 0 || len >= n)
		return 0;
	memcpy(dst, s, len);
	dst[len] = '\0';
	c->p++;
	return 1;
}

/* seq: 1 to 18 digits, no leading zero (so it fits a json_int_t). */
static int seq_value(cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && n < 19) {
		v = v * 10 + (uint64_t)(*c->p++ - '0');
		n++;
	}
	if (n == 0 || n > 18 || v == 0 || c->p[-n] == '0')
		return 0;
	*out = v;
	return 1;
}

static int fast_field(cursor *c, const char *name, char *dst, size_t n)
{
	size_t nl = strlen(name);
	const char *at = c->p;
	if ((size_t)(c->end - c->p) < nl + 4 || c->p[0] != ',' || c->p[1] != '"' ||
	    memcmp(c->p + 2, name, nl) != 0 || c->p[2 + nl] != '"' || c->p[3 + nl] != ':') {
		dst[0] = '\0';
		return 1; /* absent (the caller decides whether it may be) */
	}
	c->p += nl + 4;
	if (plain_value(c, dst, n))
		return 1;
	c->p = at;
	return 0;
}

/*
 * 1 when the payload text p[0..n) may nest deeper than HIVE_EVENT_MAX_DEPTH:
 * its brackets (outside strings) nest HIVE_EVENT_MAX_DEPTH deep or more, so
 * a value inside the deepest may be one level too many.  Then the full
 * parse decides (it counts exactly), so both paths refuse the same
 * payloads.  Text shorter than the cap cannot nest that deep: not scanned.
 */
static int may_be_too_deep(const char *p, size_t n)
{
	if (n < HIVE_EVENT_MAX_DEPTH)
		return 0;
	int depth = 0;
	for (const char *end = p + n; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
		} else if (*p == '{' || *p == '[') {
			if (++depth >= HIVE_EVENT_MAX_DEPTH)
				return 1;
		} else if (*p == '}' || *p == ']') {
			depth--;
		}
	}
	return 0;
}

static int decode_fast(const char *json, size_t len, hive_event *ev)
{
	cursor c = {json, json + len};
	if (!lit(&c, "{\"seq\":", 7) || !seq_value(&c, &ev->seq) || !lit(&c, ",\"id\":", 6) ||
	    !plain_value(&c, ev->id.s, sizeof ev->id.s) || !lit(&c, ",\"time\":", 8) ||
	    !plain_value(&c, ev->time, sizeof ev->time) || !lit(&c, ",\"type\":", 8) ||
	    !plain_value(&c, ev->type_name, sizeof ev->type_name))
		return 0;
	for (size_t i = 0; i < N_CORR; i++)
		if (!fast_field(&c, corr_fields[i].field, (char *)ev + corr_fields[i].offset, HIVE_ID_LEN + 1))
			return 0;
	if (!lit(&c, ",\"payload\":", 11) || c.end - c.p < 3 || c.end[-1] != '}' || *c.p != '{')
		return 0;
	ev->type = hive_event_type_from_name(ev->type_name);
	const hive_event_kind *k = hive_event_kind_of(ev->type);
	for (size_t i = 0; k && i < N_CORR; i++)
		if ((k->required & corr_fields[i].bit) && !((const char *)ev + corr_fields[i].offset)[0])
			return 0;
	/* the payload is the rest but the envelope's closing brace; jansson
	 * checks it is one whole object with nothing after it */
	size_t plen = (size_t)(c.end - 1 - c.p);
	if (may_be_too_deep(c.p, plen))
		return 0;
	json_t *payload = json_loadb(c.p, plen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(payload)) {
		json_decref(payload);
		return 0;
	}
	ev->payload = payload;
	return 1;
}

int hive_event_decode(const char *json, size_t len, hive_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (decode_fast(json, len, ev))
		return 0;
	memset(ev, 0, sizeof *ev);
	json_error_t jerr;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		/* jansson quotes the offending bytes raw; keep the message one
		 * printable line (found by tests/fuzz: a stored '\v' got through) */
		for (char *c = jerr.text; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return hive_error_set(HIVE_EINVALID, "event: invalid JSON at line %d column %d: %s",
				      jerr.line, jerr.column, jerr.text);
	}
	int rc = json_is_object(o) ? decode_fields(o, ev)
				   : hive_error_set(HIVE_EINVALID, "event: not a JSON object");
	json_decref(o);
	if (rc)
		hive_event_dispose(ev);
	return rc;
}
