/*
 * event.h - the event envelope, the catalog of event types, and the JSON
 * codec (SPEC section 8).
 *
 * One event is one JSON object:
 *   {"seq", "id", "time", "type", "project_id"?, "flow_id"?, "task_id"?,
 *    "attempt_id"?, "payload"}
 * Correlation fields appear only when they apply; the catalog says which
 * ones each known type requires.  A type this build does not know is kept:
 * its stored bytes are printed as they are and never rewritten.
 */
#ifndef HIVE_EVENT_H
#define HIVE_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "events/id.h"

typedef enum {
	HIVE_EV_UNKNOWN = 0,
	HIVE_EV_PROJECT_CREATED,
	HIVE_EV_TASK_CREATED,
	HIVE_EV_FLOW_CREATED,
	HIVE_EV_FLOW_STARTED,
	HIVE_EV_FLOW_PAUSED,
	HIVE_EV_FLOW_RESUMED,
	HIVE_EV_FLOW_COMPLETED,
	HIVE_EV_FLOW_FAILED,
	HIVE_EV_FLOW_ABORTED,
	HIVE_EV_TASK_READY,
	HIVE_EV_TASK_BLOCKED,
	HIVE_EV_TASK_STATE_CHANGED,
	HIVE_EV_TASK_RETRY_SCHEDULED,
	HIVE_EV_TASK_RETRY_REQUESTED,
	HIVE_EV_TASK_ESCALATED,
	HIVE_EV_TASK_ABORTED,
	HIVE_EV_RETRY_CONTEXT_ASSEMBLED,
	HIVE_EV_ATTEMPT_STARTED,
	HIVE_EV_RUNTIME_STARTED,
	HIVE_EV_RUNTIME_EXITED,
	HIVE_EV_CHANGES_RECORDED,
	HIVE_EV_CHECK_STARTED,
	HIVE_EV_CHECK_COMPLETED,
	HIVE_EV_ATTEMPT_COMPLETED,
	HIVE_EV_ATTEMPT_CRASHED,
	HIVE_EV_CIRCUIT_OPENED,
	HIVE_EV_CIRCUIT_HALF_OPENED,
	HIVE_EV_CIRCUIT_CLOSED,
	HIVE_EV_WORKTREE_RELEASED,
	HIVE_EV_BRANCH_DELETED,
	HIVE_EV_FLOW_COLLECTED,
	HIVE_EV_FLOW_LANDED,
	HIVE_EV_TASK_REBASED,
	HIVE_EV_FLOW_REBASED,
	HIVE_EV_TASK_EDITED,
	HIVE_EV_TASK_ACCEPTED,
	HIVE_EV_CHECK_FLAKY,
	HIVE_EV_SPARE_REMOVED,
	HIVE_EV__COUNT
} hive_event_type;

/* Correlation fields, as a bit mask in the catalog. */
enum {
	HIVE_CORR_PROJECT = 1 << 0,
	HIVE_CORR_FLOW    = 1 << 1,
	HIVE_CORR_TASK    = 1 << 2,
	HIVE_CORR_ATTEMPT = 1 << 3,
};

typedef struct {
	hive_event_type type;
	const char *name;
	unsigned required; /* HIVE_CORR_* that must be present */
} hive_event_kind;

/* The catalog entry for a type; NULL for HIVE_EV_UNKNOWN / out of range. */
const hive_event_kind *hive_event_kind_of(hive_event_type t);
/* Type for a name; HIVE_EV_UNKNOWN when this build does not know it. */
hive_event_type hive_event_type_from_name(const char *name);
const char *hive_event_type_name(hive_event_type t);

/*
 * An event in memory.  Strings are inline so an event can live on the
 * stack; `payload` is owned by the event (a new reference) and released by
 * hive_event_dispose().  Empty correlation strings mean "absent".
 */
typedef struct {
	uint64_t seq;            /* 0 until appended */
	hive_id id;              /* empty until appended */
	char time[32];           /* empty until appended */
	hive_event_type type;
	char type_name[64];      /* always set; for unknown types the stored name */
	char project_id[HIVE_ID_LEN + 1];
	char flow_id[HIVE_ID_LEN + 1];
	char task_id[HIVE_ID_LEN + 1];
	char attempt_id[HIVE_ID_LEN + 1];
	json_t *payload;         /* object; owned */
} hive_event;

/* Start an event of a known type with `payload` (stolen).  A NULL payload
 * is kept NULL, and hive_store_append refuses the event (HIVE_EINVALID):
 * a payload that could not be built never becomes an empty event. */
void hive_event_init(hive_event *ev, hive_event_type type, json_t *payload);
/* Set correlation ids (NULL or "" leaves the field absent). */
void hive_event_correlate(hive_event *ev, const char *project_id, const char *flow_id,
			  const char *task_id, const char *attempt_id);
void hive_event_dispose(hive_event *ev);

/*
 * How deep a payload may nest: the payload object is level 1 and every
 * value inside an object or array is one level deeper than it (jansson's
 * way of counting).  hive_txn_append refuses a deeper payload and the
 * decoder refuses a stored one, on its fast path and its full parse alike.
 * Well under jansson's own parser limit (2048 for the whole envelope,
 * which is one level more), so hive's cap, not jansson's, decides.
 */
#define HIVE_EVENT_MAX_DEPTH 1000

/* 1 when payload (an object or any JSON value; NULL counts as {}) nests
 * no deeper than HIVE_EVENT_MAX_DEPTH, else 0 (a cycle counts as too deep). */
int hive_event_payload_depth_ok(const json_t *payload);

/* Encode to compact JSON, fields in envelope order. New string (free()).
 * The event must have seq, id and time set. */
char *hive_event_encode(const hive_event *ev);

/*
 * Decode and validate one stored event.  Errors (HIVE_EINVALID) name the
 * field: `event: missing field "type"`, `event seq 7: field "flow_id" is
 * required for type "flow_started"`.  Unknown types decode with
 * type = HIVE_EV_UNKNOWN and their name in type_name.  On success *ev owns a
 * new reference to the payload.
 */
int hive_event_decode(const char *json, size_t len, hive_event *ev);

#endif
