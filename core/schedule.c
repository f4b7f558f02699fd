/*
 * schedule.c - readiness, blocking and flow completion (see schedule.h).
 */
#include "core/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/attempt.h"
#include "core/emit.h"
#include "core/flowindex.h"
#include "core/projection.h"
#include "core/state.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/id.h"
#include "events/json.h"

static hive_task_state task_state(const json_t *t) { return hive_proj_task_state(t); }

static int dead(hive_task_state st)
{
	return st == HIVE_TASK_FAILED || st == HIVE_TASK_ESCALATED || st == HIVE_TASK_ABORTED;
}

/* What a sweep does with one pending task: report it blocked (once per
 * reason) or make it ready; *changed when it did either. */
static int act_on(hive_txn *txn, json_t *t, int *changed)
{
	if (task_state(t) != HIVE_TASK_PENDING)
		return 0; /* the index named it before it moved on */
	hive_kv kv;
	hive_kv_txn(&kv, txn);
	hive_buf why = {0};
	int done, rc = 0;
	hive_flowindex_dep_status(&kv, t, &why, &done);
	const char *prev = hive_json_str(t, "blocked_reason");
	if (why.len && !(prev && strcmp(prev, why.data) == 0)) {
		rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_BLOCKED, hive_json_pack("{s:s}", "reason", why.data), NULL);
		*changed = 1;
	} else if (!why.len && done) {
		rc = hive_emit_task_state(txn, t, HIVE_TASK_READY, "dependencies succeeded");
		if (!rc)
			rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_READY, json_object(), NULL);
		*changed = 1;
	}
	hive_buf_dispose(&why);
	return rc;
}

/*
 * One sweep over the flow's tasks in the flow's order, as the pass always
 * did, but visiting only the pending tasks the index says it acts on
 * (flowindex.h): the others would be left as they are.  Each step looks
 * for the next such task after the last one, so a task that an earlier
 * step made actionable later in the order is met in this sweep, one
 * earlier in the next: the same events in the same order as a sweep
 * over every task.  *changed when something moved, so the caller sweeps
 * again (blocking propagates along chains).
 */
static int sweep(hive_txn *txn, const char *flow_id, int *changed)
{
	int64_t pos = -1;
	char id[HIVE_ID_LEN + 1];
	int rc;
	while ((rc = hive_flowindex_next(txn, flow_id, HIVE_FLOWINDEX_ACT, pos, &pos, id)) == 0) {
		json_t *t = hive_proj_task(txn, id);
		if (!t)
			return hive_error_set(HIVE_ESYSTEM, "task %s has no projection; run hive events verify", id);
		rc = act_on(txn, t, changed);
		json_decref(t);
		if (rc)
			return rc;
	}
	return rc == HIVE_ENOTFOUND ? 0 : rc;
}

static int end_flow(hive_txn *txn, json_t *flow, int type, const char *reason)
{
	json_t *p = reason ? hive_json_pack("{s:s}", "reason", reason) : json_object();
	return hive_emit_for_flow(txn, flow, (hive_event_type)type, p);
}

/* A one-line account of why a flow cannot go on: the tasks that ended badly. */
static void failure_reason(hive_txn *txn, json_t *ids, hive_buf *b)
{
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		hive_task_state st = task_state(t);
		if (dead(st) || (st == HIVE_TASK_PENDING && hive_json_str(t, "blocked_reason")))
			hive_buf_printf(b, "%s%s %s", b->len ? "; " : "", hive_json_str(t, "key"),
					st == HIVE_TASK_PENDING ? "blocked" : hive_task_state_name(st));
		json_decref(t);
	}
}

int hive_schedule_pass(hive_txn *txn, const char *flow_id, int *ended_out)
{
	if (ended_out)
		*ended_out = 0;
	json_t *flow = hive_proj_flow_head(txn, flow_id); /* the pass needs no task list */
	if (!flow)
		return hive_error_set(HIVE_ENOTFOUND, "flow %s not found", flow_id);
	int rc = 0;
	if (hive_proj_flow_state(flow) != HIVE_FLOW_RUNNING)
		goto out;
	hive_flowindex_counts n;
	if ((rc = hive_flowindex_counts_get(txn, flow_id, &n)))
		goto out;
	int changed;
	int64_t rounds = 0;
	do {
		changed = 0;
		rc = sweep(txn, flow_id, &changed);
	} while (!rc && changed && ++rounds <= n.tasks + 1);
	if (rc || (rc = hive_flowindex_counts_get(txn, flow_id, &n)))
		goto out;
	/* what a sweep over every task counted: a pending task is active
	 * unless something it depends on ended badly or is blocked */
	int64_t active = n.state[HIVE_TASK_READY] + n.state[HIVE_TASK_RUNNING] + n.state[HIVE_TASK_VERIFYING] +
			 n.state[HIVE_TASK_RETRY] + n.to_ready + n.waiting;
	if (n.state[HIVE_TASK_SUCCESS] == n.tasks) {
		rc = end_flow(txn, flow, HIVE_EV_FLOW_COMPLETED, NULL);
	} else if (active == 0) {
		hive_buf why = {0};
		json_t *ids = hive_proj_flow_task_ids(txn, flow_id); /* once, as the flow ends */
		failure_reason(txn, ids, &why);
		json_decref(ids);
		rc = end_flow(txn, flow, HIVE_EV_FLOW_FAILED, why.len ? why.data : "no task can run");
		hive_buf_dispose(&why);
	} else {
		goto out;
	}
	if (!rc && ended_out)
		*ended_out = 1;
out:
	json_decref(flow);
	return rc;
}

int hive_schedule_abort_task(hive_txn *txn, json_t *task, const char *reason, hive_kill_list *kill)
{
	hive_task_state st = task_state(task);
	if (hive_task_state_final(st))
		return 0;
	int rc = 0;
	const char *running = hive_json_str(task, "running_attempt");
	if (running) {
		json_t *a = hive_proj_attempt(txn, running);
		if (kill)
			hive_kill_list_add(kill, running);
		rc = hive_emit_for_task(txn, task, HIVE_EV_ATTEMPT_COMPLETED,
					hive_json_pack("{s:s,s:I,s:O?,s:s}", "outcome", "aborted", "duration_ms",
						  (json_int_t)hive_attempt_age_ms(a), "attempt_number",
						  json_object_get(a, "attempt_number"), "summary", reason),
					running);
		json_decref(a);
	}
	if (!rc)
		rc = hive_emit_for_task(txn, task, HIVE_EV_TASK_ABORTED, hive_json_pack("{s:s}", "reason", reason), NULL);
	if (!rc)
		rc = hive_emit_task_state(txn, task, HIVE_TASK_ABORTED, reason);
	return rc;
}

int hive_schedule_abort_tasks(hive_txn *txn, json_t *flow, const char *reason, hive_kill_list *kill)
{
	json_t *ids = json_object_get(flow, "task_ids"), *id;
	size_t i;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		int rc = t ? hive_schedule_abort_task(txn, t, reason, kill) : 0;
		json_decref(t);
		if (rc)
			return rc;
	}
	return 0;
}
