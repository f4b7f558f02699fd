/*
 * emit.h - build one event, correlate it, append it and apply it: the one
 * place that does init/correlate/emit/dispose, inside the caller's write
 * transaction.
 *
 * Payloads are stolen (released on every path).  A NULL payload is refused
 * with HIVE_EFAILED and nothing is appended: it means building the payload
 * failed (a NULL string given to json_pack, out of memory), and an event
 * silently emptied to {} would be worse than a failed step.  Build payloads
 * with hive_json_pack (events/json.h), whose error names the cause.
 *
 * Errors: those of hive_emit (core/projection.h) and the NULL payload above.
 */
#ifndef HIVE_EMIT_H
#define HIVE_EMIT_H

#include <jansson.h>

#include "core/state.h"
#include "events/event.h"
#include "events/store.h"

/* An event correlated by ids (each NULL or "" = absent). */
int hive_emit_new(hive_txn *txn, hive_event_type type, json_t *payload, const char *project_id,
		  const char *flow_id, const char *task_id, const char *attempt_id);

/* An event correlated to a task document (borrowed): its project, flow and
 * task, plus attempt_id (may be NULL). */
int hive_emit_for_task(hive_txn *txn, const json_t *task, hive_event_type type, json_t *payload,
		       const char *attempt_id);

/* An event correlated to a flow document (borrowed): its project and flow. */
int hive_emit_for_flow(hive_txn *txn, const json_t *flow, hive_event_type type, json_t *payload);

/* An event of a task's flow that names no task (circuit events): the task
 * document's (borrowed) project and flow. */
int hive_emit_for_task_flow(hive_txn *txn, const json_t *task, hive_event_type type,
			    json_t *payload);

/* Emit task_state_changed {from, to, reason} for a task document (borrowed;
 * it is not updated — reload it after).  reason may be NULL.  Whether the
 * move is legal is judged when the event is applied (core/state.h). */
int hive_emit_task_state(hive_txn *txn, const json_t *task, hive_task_state to, const char *reason);

#endif
