/*
 * flowindex.h - the scheduling index of a flow (flowindex.c): what the
 * scheduling pass (schedule.c) and the pick (runner.c) need, kept up to
 * date as events are applied, so a tick reads a few small documents
 * instead of every task of the flow.
 *
 * Like every projection it is a pure function of the log (hive_apply
 * maintains it; `events verify` compares it with a replay; an older store
 * rebuilds it on open).  Keys (projection.h lists the documents):
 *
 *   sched/<flow-id>                  counts: {"tasks": N, "states": {state:
 *                                    n}, "pending": {category: n}}
 *   sched/<flow-id>/task/<task-id>   {"pos", "state", "pending" (category,
 *                                    pending tasks only), "dependants"
 *                                    [ids of the flow's tasks that depend
 *                                    on it; absent when none]}
 *   sched/<flow-id>/act/<pos>        {"id"}: a pending task the next pass
 *                                    acts on (to_ready or to_block)
 *   sched/<flow-id>/start/<pos>      {"id"}: a task that is ready or retry
 *
 * <pos> is the task's place in the flow's task_ids, zero-padded, so a
 * prefix scan visits the tasks in the flow's order.
 *
 * A pending task's category is what a pass would do with it, from its
 * dependencies as they are now (hive_flowindex_dep_status):
 *   to_ready  every dependency succeeded: the pass makes it ready
 *   waiting   nothing wrong, some dependency has not succeeded yet
 *   to_block  a dependency ended failed/escalated/aborted or is blocked,
 *             and the task's blocked_reason does not say so yet
 *   blocked   the same, already reported (blocked_reason says it)
 * It depends only on the task's own state, blocked_reason and depends_on
 * and on its dependencies' state, blocked_reason and key, so an event
 * that changes one of those re-examines the task and its dependants
 * (hive_flowindex_task_changed): never the whole flow.
 *
 * The index of a flow that has ended is left as it was when a task moved
 * on to a newer flow (nothing schedules an ended flow).
 */
#ifndef HIVE_FLOWINDEX_H
#define HIVE_FLOWINDEX_H

#include <stdint.h>

#include "core/projection.h"
#include "events/buf.h"

/* ---- maintained by hive_apply (projection.c) ---------------------------- */

/* A flow was created over task_ids (borrowed): index each task as it is
 * now (the tasks already carry flow_id).  Time linear in the flow, once. */
int hive_flowindex_flow_created(hive_kv *kv, const char *flow_id, const json_t *task_ids);

/* Task task_id's state, blocked_reason, key or depends_on may have
 * changed: re-examine it and its dependants in its flow.  A task in no
 * flow, or one its flow did not index, is left alone (0). */
int hive_flowindex_task_changed(hive_kv *kv, const char *task_id);

/* Why the pending task (borrowed) cannot run: "dependency K ended S" or
 * "dependency K is blocked" for its first such dependency, appended to
 * why (left empty when none); *all_done = 1 when every dependency
 * succeeded.  The one rule the pass and the index share. */
void hive_flowindex_dep_status(hive_kv *kv, const json_t *task, hive_buf *why, int *all_done);

/* ---- read by the pass and the pick ---------------------------------------- */

typedef struct {
	int64_t tasks;
	int64_t state[HIVE_TASK__COUNT]; /* tasks in each hive_task_state */
	int64_t to_ready, waiting, to_block, blocked; /* pending tasks by category */
} hive_flowindex_counts;

/* The flow's counts.  HIVE_ESYSTEM when the flow has no index (the store
 * needs `hive events verify`). */
int hive_flowindex_counts_get(hive_txn *txn, const char *flow_id, hive_flowindex_counts *out);

/* The sets of the index. */
typedef enum { HIVE_FLOWINDEX_ACT, HIVE_FLOWINDEX_START } hive_flowindex_set;

/* The first task of the set whose position is > after (-1: from the
 * start), in the flow's order: *pos and task_id (HIVE_ID_LEN + 1 bytes)
 * filled.  HIVE_ENOTFOUND when there is none.  Cost: the entries of the
 * set at or before `after`, plus one. */
int hive_flowindex_next(hive_txn *txn, const char *flow_id, hive_flowindex_set set, int64_t after, int64_t *pos,
			char *task_id);

#endif
