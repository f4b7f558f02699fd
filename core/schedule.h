/*
 * schedule.h - the decisions that move a flow forward, each run inside the
 * caller's write transaction.
 */
#ifndef HIVE_SCHEDULE_H
#define HIVE_SCHEDULE_H

#include <jansson.h>
#include <sys/types.h>

#include "events/id.h"
#include "events/store.h"

/* Running attempts whose processes are to be killed once the transaction
 * that ended them has committed. */
typedef struct {
	char (*ids)[HIVE_ID_LEN + 1];
	size_t n;
} hive_kill_list;

void hive_kill_list_add(hive_kill_list *k, const char *attempt_id);
/* Kill every process group tagged with one of the attempts (their runtime,
 * its children, the check running; hive_proc_kill_tagged), then empty k.
 * Returns the number of groups killed. */
int hive_kill_list_run(hive_kill_list *k);
void hive_kill_list_dispose(hive_kill_list *k);

/* Milliseconds since the attempt (projection doc) started, by the wall
 * clock; for attempts that end without a runner measuring them (crashed,
 * aborted).  0 when unknown. */
int64_t hive_attempt_age_ms(const json_t *attempt);

/* Make pending tasks whose dependencies all succeeded ready; report tasks
 * whose dependencies ended failed/escalated/aborted as blocked; end the
 * flow completed (all success) or failed (nothing else can run).  Does
 * nothing unless the flow is running.  *ended_out (may be NULL) = 1 when
 * the flow ended here. */
int hive_schedule_pass(hive_txn *txn, const char *flow_id, int *ended_out);

/* Move every task of the flow that has not ended to aborted, ending
 * running attempts with outcome aborted; their process groups are added to
 * kill (may be NULL) for the caller to kill after the commit. */
int hive_schedule_abort_tasks(hive_txn *txn, json_t *flow, const char *reason, hive_kill_list *kill);

/* Abort one task (and its running attempt). */
int hive_schedule_abort_task(hive_txn *txn, json_t *task, const char *reason, hive_kill_list *kill);

#endif
