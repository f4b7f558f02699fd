/*
 * schedule.h - the decisions that move a flow forward (schedule.c): make
 * tasks ready or blocked, end the flow, abort tasks.  Each runs inside the
 * caller's write transaction (hive_store_write), so its reads and the
 * events it appends are one atomic step; on an error the caller's
 * transaction is aborted and nothing it appended stays.
 *
 * Documents passed in are borrowed and not updated: reload them after.
 * Errors, besides those listed: whatever hive_emit returns (core/emit.h;
 * e.g. an illegal transition, a storage error).
 */
#ifndef HIVE_SCHEDULE_H
#define HIVE_SCHEDULE_H

#include <jansson.h>

#include "core/kill_list.h"
#include "events/store.h"

/*
 * Make pending tasks whose dependencies all succeeded ready; report tasks
 * whose dependencies ended failed/escalated/aborted as blocked (blocking
 * propagates along chains); end the flow completed (all success) or failed
 * (nothing else can run, with a reason naming the tasks).  Does nothing
 * unless the flow is running.  *ended_out (may be NULL) = 1 when the flow
 * ended here.
 * Errors: HIVE_ENOTFOUND (no such flow), HIVE_ESYSTEM (a task of the flow
 * has no document: the store needs `hive events verify`).
 */
int hive_schedule_pass(hive_txn *txn, const char *flow_id, int *ended_out);

/*
 * Move every task of the flow document (borrowed) that has not ended to
 * aborted, ending their running attempts with outcome aborted.  Those
 * attempts are added to kill (may be NULL) for the caller to kill after
 * the commit (kill_list.h says why not before).  reason: borrowed, shown
 * in the events.
 */
int hive_schedule_abort_tasks(hive_txn *txn, json_t *flow, const char *reason, hive_kill_list *kill);

/* The same for one task document (borrowed).  A task that has ended is
 * left alone (0). */
int hive_schedule_abort_task(hive_txn *txn, json_t *task, const char *reason, hive_kill_list *kill);

#endif
