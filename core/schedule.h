/*
 * schedule.h - the decisions that move a flow forward, each run inside the
 * caller's write transaction.
 */
#ifndef HIVE_SCHEDULE_H
#define HIVE_SCHEDULE_H

#include <jansson.h>

#include "events/store.h"

/* Make pending tasks whose dependencies all succeeded ready; report tasks
 * whose dependencies ended failed/escalated/aborted as blocked; end the
 * flow completed (all success) or failed (nothing else can run).  Does
 * nothing unless the flow is running.  *ended_out (may be NULL) = 1 when
 * the flow ended here. */
int hive_schedule_pass(hive_txn *txn, const char *flow_id, int *ended_out);

/* Move every task of the flow that has not ended to aborted, ending
 * running attempts with outcome aborted (the caller kills their groups). */
int hive_schedule_abort_tasks(hive_txn *txn, json_t *flow, const char *reason);

/* Abort one task (and its running attempt). */
int hive_schedule_abort_task(hive_txn *txn, json_t *task, const char *reason);

/* Emit task_state_changed {from, to, reason} for a task document (borrowed;
 * it is not updated — reload it after). */
int hive_emit_task_state(hive_txn *txn, const json_t *task, const char *to, const char *reason);

/* Emit an event correlated to a task document (payload stolen). */
int hive_emit_for_task(hive_txn *txn, const json_t *task, int type, json_t *payload, const char *attempt_id);

#endif
