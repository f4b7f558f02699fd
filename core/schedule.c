/*
 * schedule.c - readiness, blocking and flow completion (see schedule.h).
 */
#include "core/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/attempt.h"
#include "core/emit.h"
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

/* Why a pending task cannot run (new string in *why), or NULL when its
 * dependencies are all fine; *all_done = every dependency succeeded. */
static int dep_status(hive_txn *txn, const json_t *task, hive_buf *why, int *all_done)
{
	json_t *deps = json_object_get(task, "depends_on"), *d;
	size_t i;
	*all_done = 1;
	json_array_foreach(deps, i, d) {
		json_t *dep = hive_proj_task(txn, json_string_value(d));
		hive_task_state st = task_state(dep);
		if (st != HIVE_TASK_SUCCESS)
			*all_done = 0;
		if (dep && dead(st) && !why->len)
			hive_buf_printf(why, "dependency %s ended %s", hive_json_str(dep, "key"), hive_task_state_name(st));
		else if (dep && st == HIVE_TASK_PENDING && hive_json_str(dep, "blocked_reason") && !why->len)
			hive_buf_printf(why, "dependency %s is blocked", hive_json_str(dep, "key"));
		json_decref(dep);
	}
	return 0;
}

/* One sweep over the flow's tasks; *changed when something moved, so the
 * caller sweeps again (blocking propagates along chains). */
static int sweep(hive_txn *txn, json_t *ids, int *changed, int *active, int *all_success)
{
	size_t i;
	json_t *id;
	*active = 0;
	*all_success = 1;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		if (!t)
			return hive_error_set(HIVE_ESYSTEM, "task %s has no projection; run hive events verify", json_string_value(id));
		hive_task_state st = task_state(t);
		int rc = 0;
		if (st != HIVE_TASK_SUCCESS)
			*all_success = 0;
		if (st == HIVE_TASK_PENDING) {
			hive_buf why = {0};
			int done;
			dep_status(txn, t, &why, &done);
			const char *prev = hive_json_str(t, "blocked_reason");
			if (why.len && !(prev && strcmp(prev, why.data) == 0)) {
				rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_BLOCKED,
							hive_json_pack("{s:s}", "reason", why.data), NULL);
				*changed = 1;
			} else if (!why.len && done) {
				rc = hive_emit_task_state(txn, t, HIVE_TASK_READY, "dependencies succeeded");
				if (!rc)
					rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_READY, json_object(), NULL);
				*changed = 1;
				(*active)++;
			} else if (!why.len) {
				(*active)++;
			}
			hive_buf_dispose(&why);
		} else if (st == HIVE_TASK_READY || st == HIVE_TASK_RUNNING || st == HIVE_TASK_VERIFYING ||
			   st == HIVE_TASK_RETRY) {
			(*active)++;
		}
		json_decref(t);
		if (rc)
			return rc;
	}
	return 0;
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
	json_t *flow = hive_proj_flow(txn, flow_id);
	if (!flow)
		return hive_error_set(HIVE_ENOTFOUND, "flow %s not found", flow_id);
	int rc = 0;
	if (hive_proj_flow_state(flow) != HIVE_FLOW_RUNNING)
		goto out;
	json_t *ids = json_object_get(flow, "task_ids");
	int changed, active = 0, all_success = 0;
	size_t rounds = 0;
	do {
		changed = 0;
		rc = sweep(txn, ids, &changed, &active, &all_success);
	} while (!rc && changed && ++rounds <= json_array_size(ids) + 1);
	if (rc)
		goto out;
	if (all_success) {
		rc = end_flow(txn, flow, HIVE_EV_FLOW_COMPLETED, NULL);
	} else if (active == 0) {
		hive_buf why = {0};
		failure_reason(txn, ids, &why);
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
