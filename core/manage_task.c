/*
 * manage_task.c - `hive task abort` and `hive task retry`.
 */
#include <stdio.h>
#include <string.h>

#include "core/emit.h"
#include "core/hive.h"
#include "core/manage_task.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/proc.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/schedule.h"
#include "core/state.h"
#include "events/error.h"
#include "events/json.h"

typedef struct {
	const char *ref, *reason, *mode;
	int reset_count;
	hive_kill_list kill; /* a running attempt's groups, killed after commit */
	hive_retry_prelude before; /* task retry --rebase: core/land.c */
	void *before_ctx;
} task_op_ctx;

static json_t *load_task(hive_txn *txn, const char *ref, int *rc)
{
	hive_id id;
	if ((*rc = hive_resolve(txn, HIVE_REF_TASK, ref, &id)))
		return NULL;
	json_t *t = hive_proj_task(txn, id.s);
	if (!t)
		*rc = hive_error_set(HIVE_ESYSTEM, "task %s has no projection; run hive events verify", id.s);
	return t;
}

static int abort_txn(hive_txn *txn, void *vctx)
{
	task_op_ctx *c = vctx;
	int rc;
	json_t *t = load_task(txn, c->ref, &rc);
	if (!t)
		return rc;
	hive_task_state st = hive_proj_task_state(t);
	if (hive_task_state_final(st)) {
		rc = hive_error_set(HIVE_ECONFLICT, "task %s is %s; only a task that has not ended can be aborted",
				    hive_json_str(t, "key"), hive_task_state_name(st));
	} else {
		c->kill.n = 0; /* the transaction may run again after the map grew */
		rc = hive_schedule_abort_task(txn, t, c->reason ? c->reason : "aborted by a person", &c->kill);
		if (!rc && hive_json_str(t, "flow_id"))
			rc = hive_schedule_pass(txn, hive_json_str(t, "flow_id"), NULL);
	}
	json_decref(t);
	return rc;
}

int hive_task_abort(hive_store *s, const char *task_ref, const char *reason)
{
	task_op_ctx c = {.ref = task_ref, .reason = reason};
	int rc = hive_store_write(s, abort_txn, &c);
	if (!rc)
		hive_kill_list_run(&c.kill);
	hive_kill_list_dispose(&c.kill);
	return rc;
}

/* Refuse a spent budget unless --reset-count: the budget the last outcome
 * was counted against, as the retry policy routes it. */
static int check_budget(const json_t *t)
{
	hive_retry_policy p;
	hive_retry_policy_of(t, &p);
	int outcome = hive_proj_task_last_outcome(t);
	int idx = p.n_budgets == 0 ? 0 : (outcome >= 0 ? hive_retry_policy_budget_for(&p, outcome) : -1);
	if (idx < 0)
		return 0;
	int max = p.n_budgets == 0 ? p.max_attempts : p.budgets[idx].max_attempts;
	int used = (int)json_integer_value(json_array_get(json_object_get(t, "budget_used"), (size_t)idx));
	if (used >= max) {
		hive_error_set(HIVE_ECONFLICT, "retry limit exceeded: %d of %d attempts used", used, max);
		return hive_error_hint_set(HIVE_HINT_RESET_COUNT, NULL);
	}
	return 0;
}

static int retry_txn(hive_txn *txn, void *vctx)
{
	task_op_ctx *c = vctx;
	int rc;
	json_t *t = load_task(txn, c->ref, &rc);
	if (!t)
		return rc;
	hive_task_state st = hive_proj_task_state(t);
	if (st != HIVE_TASK_FAILED && st != HIVE_TASK_RETRY && st != HIVE_TASK_ESCALATED)
		rc = hive_error_set(HIVE_ECONFLICT, "task %s is %s; only failed, retry or escalated tasks can be retried",
				    hive_json_str(t, "key"), hive_task_state_name(st));
	else if (!hive_json_str(t, "flow_id"))
		rc = hive_error_set(HIVE_ECONFLICT, "task %s has never run in a flow", hive_json_str(t, "key"));
	if (!rc) {
		/* An aborted flow never runs again: a task made pending there
		 * would wait forever.  It can run in a new flow instead. */
		json_t *last = hive_proj_flow(txn, hive_json_str(t, "flow_id"));
		if (last && hive_proj_flow_state(last) == HIVE_FLOW_ABORTED) {
			hive_error_set(HIVE_ECONFLICT,
				       "task %s cannot be retried in flow %s, which was aborted; put it in a new flow, "
				       "where it runs again", hive_json_str(t, "key"), hive_json_str(last, "name"));
			rc = hive_error_hint_set(HIVE_HINT_NEW_FLOW, hive_json_str(t, "key"));
		}
		json_decref(last);
	}
	if (!rc && !c->reset_count && st != HIVE_TASK_RETRY)
		rc = check_budget(t);
	if (!rc && c->before)
		rc = c->before(txn, t, c->before_ctx);
	json_t *p = hive_json_pack("{s:b}", "reset_count", c->reset_count);
	json_object_set_new(p, "mode", json_string(c->mode ? c->mode : hive_retry_policy_mode_name(hive_retry_policy_mode_of(t))));
	if (!rc)
		rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_RETRY_REQUESTED, p, NULL);
	else
		json_decref(p);
	if (!rc)
		rc = hive_emit_task_state(txn, t, HIVE_TASK_PENDING, "hive task retry");
	json_t *flow = rc ? NULL : hive_proj_flow(txn, hive_json_str(t, "flow_id"));
	if (flow && hive_proj_flow_state(flow) == HIVE_FLOW_FAILED)
		rc = hive_emit_for_flow(txn, flow, HIVE_EV_FLOW_RESUMED,
					hive_json_pack("{s:s}", "reason", "hive task retry"));
	if (!rc && flow)
		rc = hive_schedule_pass(txn, hive_json_str(flow, "id"), NULL);
	json_decref(flow);
	json_decref(t);
	return rc;
}

int hive_task_retry(hive_store *s, const char *task_ref, int reset_count, const char *mode)
{
	hive_retry_mode m;
	if (mode && hive_retry_policy_mode_parse(mode, &m) != 0)
		return hive_error_set(HIVE_EINVALID, "retry mode \"%s\": use clean, continue or pristine", mode);
	task_op_ctx c = {.ref = task_ref, .reset_count = reset_count, .mode = mode};
	return hive_store_write(s, retry_txn, &c);
}

int hive_task_retry_txn(hive_txn *txn, const char *task_ref, int reset_count, const char *mode,
			hive_retry_prelude before, void *before_ctx)
{
	task_op_ctx c = {.ref = task_ref, .reset_count = reset_count, .mode = mode, .before = before,
			 .before_ctx = before_ctx};
	return retry_txn(txn, &c);
}
