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

/*
 * The person a command acts for (SPEC section 12, "People in the loop").
 * A library call a person makes (task retry, edit, accept, abort, flow
 * start/pause/resume/abort) sets its actor for the duration of the call;
 * every event emitted through this header on the calling thread meanwhile
 * carries it as the payload member "actor", whichever function builds the
 * event (a scheduling pass, an abort of running attempts), so what one
 * command caused is attributed as one.  Runners, on their own threads,
 * never see it.  actor is borrowed until hive_emit_actor_end; NULL or ""
 * records none.  Calls do not nest.
 */
void hive_emit_actor_begin(const char *actor);
void hive_emit_actor_end(void);

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
