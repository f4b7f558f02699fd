#include "events/event.h"

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
	[HIVE_EV_BRANCH_DELETED]          = {HIVE_EV_BRANCH_DELETED, "branch_deleted", P | F | T},
	[HIVE_EV_FLOW_COLLECTED]          = {HIVE_EV_FLOW_COLLECTED, "flow_collected", P | F},
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

char *hive_event_encode(const hive_event *ev)
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
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
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

int hive_event_decode(const char *json, size_t len, hive_event *ev)
{
	json_error_t jerr;
	memset(ev, 0, sizeof *ev);
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
