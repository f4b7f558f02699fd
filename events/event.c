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
	snprintf(ev->type_name, sizeof ev->type_name, "%s", hive_event_type_name(type));
	ev->payload = payload; /* NULL stays NULL: hive_store_append refuses it */
}

static void set_id(char *dst, const char *src)
{
	if (src && *src)
		snprintf(dst, HIVE_ID_LEN + 1, "%s", src);
	else
		dst[0] = '\0';
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

/* A string jansson writes as it is (printable ASCII, no '"' or '\\'):
 * then "s" is its exact encoding under JSON_ENSURE_ASCII. */
static int plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

static void put_field(hive_buf *b, const char *name, const char *value)
{
	hive_buf_append(b, ",\"", 2);
	hive_buf_puts(b, name);
	hive_buf_append(b, "\":\"", 3);
	hive_buf_puts(b, value);
	hive_buf_putc(b, '"');
}

/*
 * The envelope written directly, the payload by jansson: the same bytes
 * as encode_with_jansson (tests/unit/test_event.c compares them), without
 * building an object of nine members per event.  Any envelope string that
 * would need an escape takes the jansson path.
 */
static char *encode_fast(const hive_event *ev)
{
	if (ev->seq > (uint64_t)INT64_MAX || !plain(ev->id.s) || !plain(ev->time) || !plain(ev->type_name))
		return NULL;
	for (size_t i = 0; i < N_CORR; i++)
		if (!plain((const char *)ev + corr_fields[i].offset))
			return NULL;
	hive_buf b = {0};
	hive_buf_printf(&b, "{\"seq\":%" PRIu64, ev->seq);
	put_field(&b, "id", ev->id.s);
	put_field(&b, "time", ev->time);
	put_field(&b, "type", ev->type_name);
	for (size_t i = 0; i < N_CORR; i++) {
		const char *v = (const char *)ev + corr_fields[i].offset;
		if (*v)
			put_field(&b, corr_fields[i].field, v);
	}
	hive_buf_puts(&b, ",\"payload\":");
	char small[2048];
	size_t n = ev->payload ? json_dumpb(ev->payload, small, sizeof small, HIVE_EVENT_JSON_FLAGS) : 2;
	if (!ev->payload)
		memcpy(small, "{}", 2);
	if (n == 0) {
		hive_buf_dispose(&b);
		return NULL; /* jansson could not encode it: let its own path say so */
	}
	if (n <= sizeof small) {
		hive_buf_append(&b, small, n);
	} else {
		char *big = hive_xmalloc(n);
		json_dumpb(ev->payload, big, n, HIVE_EVENT_JSON_FLAGS);
		hive_buf_append(&b, big, n);
		free(big);
	}
	hive_buf_putc(&b, '}');
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
	ev->payload = json_incref(payload);
	return 0;
}

/* ---- the decoder's fast path --------------------------------------------- */

/*
 * Nearly every stored event is exactly what hive_event_encode wrote: the
 * envelope's fields in their order, each string plain (see plain()), the
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
	json_t *payload = json_loadb(c.p, (size_t)(c.end - 1 - c.p), JSON_REJECT_DUPLICATES, NULL);
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
