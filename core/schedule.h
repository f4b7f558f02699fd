/*
 * schedule.h - the decisions that move a flow forward, each run inside the
 * caller's write transaction.
 */
#ifndef HIVE_SCHEDULE_H
#define HIVE_SCHEDULE_H

#include <jansson.h>
#include <sys/types.h>

#include "events/store.h"

/* Process groups that running attempts own, to kill once the transaction
 * that ended them has committed. */
typedef struct {
	pid_t *v;
	size_t n;
} hive_groups;

/* Append the groups a running attempt (projection doc, borrowed) owns: its
 * runtime's until the runtime exited (after that hive reaped the leader and
 * the number may be reused), and the check it is running. */
void hive_attempt_groups(const json_t *attempt, hive_groups *g);
/* Milliseconds since the attempt (projection doc) started, by the wall
 * clock; for attempts that end without a runner measuring them (crashed,
 * aborted).  0 when unknown. */
int64_t hive_attempt_age_ms(const json_t *attempt);
/* Kill every group still alive (TERM, then KILL), then empty g.  Returns
 * how many were alive. */
int hive_groups_kill(hive_groups *g);
void hive_groups_dispose(hive_groups *g);

/* Make pending tasks whose dependencies all succeeded ready; report tasks
 * whose dependencies ended failed/escalated/aborted as blocked; end the
 * flow completed (all success) or failed (nothing else can run).  Does
 * nothing unless the flow is running.  *ended_out (may be NULL) = 1 when
 * the flow ended here. */
int hive_schedule_pass(hive_txn *txn, const char *flow_id, int *ended_out);

/* Move every task of the flow that has not ended to aborted, ending
 * running attempts with outcome aborted; their process groups are added to
 * kill (may be NULL) for the caller to kill after the commit. */
int hive_schedule_abort_tasks(hive_txn *txn, json_t *flow, const char *reason, hive_groups *kill);

/* Abort one task (and its running attempt). */
int hive_schedule_abort_task(hive_txn *txn, json_t *task, const char *reason, hive_groups *kill);

/* Emit task_state_changed {from, to, reason} for a task document (borrowed;
 * it is not updated — reload it after). */
int hive_emit_task_state(hive_txn *txn, const json_t *task, const char *to, const char *reason);

/* Emit an event correlated to a task document (payload stolen). */
int hive_emit_for_task(hive_txn *txn, const json_t *task, int type, json_t *payload, const char *attempt_id);

#endif
