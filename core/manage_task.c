/*
 * manage_task.c - a person's commands on one task: `hive task abort`,
 * `retry` (with a note), `edit` and `accept` (SPEC section 12; core/steer.h).
 * Each sets its actor for the call, so every event it appends carries it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/emit.h"
#include "core/gitws.h"
#include "core/hive.h"
#include "core/lifecycle.h"
#include "core/lock.h"
#include "core/manage_task.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/proc.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/schedule.h"
#include "core/spec.h"
#include "core/state.h"
#include "core/steer.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

typedef struct {
	const char *ref, *reason, *mode, *note;
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

int hive_task_abort(hive_store *s, const char *task_ref, const hive_act_opts *who)
{
	const char *actor = who ? who->actor : NULL;
	int rc = hive_steer_actor_check(actor);
	if (rc)
		return rc;
	task_op_ctx c = {.ref = task_ref, .reason = who ? who->reason : NULL};
	hive_emit_actor_begin(actor);
	rc = hive_store_write(s, abort_txn, &c);
	hive_emit_actor_end();
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
	if (c->note)
		json_object_set_new(p, "note", json_string(c->note));
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

int hive_task_retry_opts_check(const hive_task_retry_opts *o)
{
	hive_retry_mode m;
	if (o->mode && hive_retry_policy_mode_parse(o->mode, &m) != 0)
		return hive_error_set(HIVE_EINVALID, "retry mode \"%s\": use clean, continue or pristine", o->mode);
	int rc = hive_steer_actor_check(o->actor);
	if (!rc && o->note)
		rc = hive_steer_note_check(o->note, "the note");
	return rc;
}

int hive_task_retry(hive_store *s, const char *task_ref, const hive_task_retry_opts *o)
{
	hive_task_retry_opts none = {0};
	if (!o)
		o = &none;
	int rc = hive_task_retry_opts_check(o);
	if (rc)
		return rc;
	task_op_ctx c = {.ref = task_ref, .reset_count = o->reset_count, .mode = o->mode, .note = o->note};
	hive_emit_actor_begin(o->actor);
	rc = hive_store_write(s, retry_txn, &c);
	hive_emit_actor_end();
	return rc;
}

/* ---- hive task edit ------------------------------------------------------------- */

typedef struct {
	const char *ref;
	const hive_task_edit_opts *o;
} edit_ctx;

/* A stored check back in the spec's syntax (timeout_ms -> "timeout": "<n>ms"),
 * so the edited list is validated by the spec's own rules.  New reference. */
static json_t *check_raw(const json_t *c)
{
	json_t *raw = json_object(), *v;
	const char *k;
	json_object_foreach((json_t *)c, k, v) {
		if (strcmp(k, "timeout_ms") == 0) {
			char d[32];
			snprintf(d, sizeof d, "%lldms", (long long)json_integer_value(v));
			json_object_set_new(raw, "timeout", json_string(d));
		} else {
			json_object_set(raw, k, v);
		}
	}
	return raw;
}

static json_t *check_find(json_t *list, const char *name, size_t *at)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *n = hive_json_str(c, "name");
		if (n && name && strcmp(n, name) == 0) {
			*at = i;
			return c;
		}
	}
	return NULL;
}

static int check_missing(const json_t *task, const char *name)
{
	hive_buf names = {0};
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(task, "checks"), i, c)
		hive_buf_printf(&names, "%s%s", i ? ", " : "", hive_json_str(c, "name"));
	int rc = hive_error_set(HIVE_ENOTFOUND, "task edit: task %s has no check named \"%s\" to remove (its checks: %s)",
				hive_json_str(task, "key"), name, names.len ? names.data : "none");
	hive_buf_dispose(&names);
	return rc;
}

/* The task's checks after the edit, in the spec's syntax: cleared, then
 * the removals, then each set check replacing its namesake in place
 * (what it leaves out is kept) or added at the end. */
static int edit_checks(const json_t *task, const hive_task_edit_opts *o, json_t **out)
{
	json_t *list = json_array(), *c;
	size_t i, at;
	if (!o->clear_checks)
		json_array_foreach(json_object_get(task, "checks"), i, c)
			json_array_append_new(list, check_raw(c));
	int rc = 0;
	for (i = 0; i < o->n_remove_checks && !rc; i++) {
		if (check_find(list, o->remove_checks[i], &at))
			json_array_remove(list, at);
		else
			rc = check_missing(task, o->remove_checks[i]);
	}
	json_array_foreach(o->set_checks, i, c) {
		if (rc)
			break;
		if (!json_is_object(c) || !hive_json_str(c, "name")) {
			rc = hive_error_set(HIVE_EINVALID, "task edit: checks[%zu] must be an object with a name", i);
			break;
		}
		json_t *old = check_find(list, hive_json_str(c, "name"), &at);
		if (old)
			json_object_update(old, c);
		else
			json_array_append_new(list, json_deep_copy(c));
	}
	if (rc)
		json_decref(list);
	else
		*out = list;
	return rc;
}

/* The task as the edit leaves it, validated and normalized as a task
 * definition: the runtime and retry given are merged over the task's own
 * (they are passed as its defaults).  New reference in *out. */
static int edit_def(const json_t *task, const hive_task_edit_opts *o, json_t **out)
{
	if (!o->adapters)
		return hive_error_set(HIVE_EINVALID, "task edit: no runtime adapters given to validate the task with");
	json_t *checks = NULL;
	int rc = edit_checks(task, o, &checks);
	if (rc)
		return rc;
	const char *desc = o->description ? o->description : hive_json_str(task, "description");
	json_t *raw = hive_json_pack("{s:s,s:s,s:s,s:o}", "key", hive_json_str(task, "key"), "title",
				     o->title ? o->title : hive_json_str(task, "title"), "description", desc ? desc : "",
				     "checks", checks);
	if (!raw)
		return hive_error_set(HIVE_EINVALID, "task edit: the title and description must be UTF-8 text");
	if (o->runtime)
		json_object_set(raw, "runtime", (json_t *)o->runtime);
	if (o->retry)
		json_object_set(raw, "retry", (json_t *)o->retry);
	json_t *defaults = hive_json_pack("{s:O,s:O}", "runtime", json_object_get(task, "runtime"), "retry",
					  json_object_get(task, "retry"));
	hive_spec_opts so = {.adapters = o->adapters};
	rc = defaults ? hive_task_def_normalize(raw, defaults, hive_json_str(task, "key"), &so, out) : HIVE_EFAILED;
	if (rc)
		hive_error_prefix("task edit");
	json_decref(raw);
	json_decref(defaults);
	return rc;
}

/* changes[field] = {before, after} when the edit touched field and changed it. */
static void add_change(json_t *changes, const char *field, int touched, const json_t *task, const json_t *def)
{
	json_t *before = json_object_get(task, field), *after = json_object_get(def, field);
	if (!touched || !after || (before && json_equal(before, after)))
		return;
	json_object_set_new(changes, field, json_pack("{s:O,s:O}", "before", before ? before : json_null(), "after", after));
}

static int edit_state_check(const json_t *t)
{
	hive_task_state st = hive_proj_task_state(t);
	if (st == HIVE_TASK_RUNNING || st == HIVE_TASK_VERIFYING)
		return hive_error_set(HIVE_ECONFLICT, "task %s is %s (attempt %lld); edit it once the attempt has ended, "
				      "or abort it first", hive_json_str(t, "key"), hive_task_state_name(st),
				      (long long)json_integer_value(json_object_get(t, "attempts")));
	if (st == HIVE_TASK_SUCCESS)
		return hive_error_set(HIVE_ECONFLICT, "task %s has succeeded; it runs no more attempts an edit could change",
				      hive_json_str(t, "key"));
	return 0;
}

static int edit_txn(hive_txn *txn, void *vctx)
{
	edit_ctx *c = vctx;
	const hive_task_edit_opts *o = c->o;
	int rc;
	json_t *t = load_task(txn, c->ref, &rc), *def = NULL, *changes = json_object();
	if (t && !(rc = edit_state_check(t)))
		rc = edit_def(t, o, &def);
	if (!rc) {
		int checks = o->clear_checks || o->n_remove_checks || json_array_size(o->set_checks);
		add_change(changes, "title", o->title != NULL, t, def);
		add_change(changes, "description", o->description != NULL, t, def);
		add_change(changes, "checks", checks, t, def);
		add_change(changes, "runtime", o->runtime != NULL, t, def);
		add_change(changes, "retry", o->retry != NULL, t, def);
		if (json_object_size(changes) == 0)
			rc = hive_error_set(HIVE_EINVALID, "task edit: nothing changes: task %s already has every value given",
					    hive_json_str(t, "key"));
	}
	if (!rc) {
		json_t *p = hive_json_pack("{s:O,s:I}", "changes", changes, "after_attempt",
					   json_integer_value(json_object_get(t, "attempts")));
		if (p && o->reason)
			json_object_set_new(p, "reason", json_string(o->reason));
		rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_EDITED, p, NULL);
	}
	json_decref(changes);
	json_decref(def);
	json_decref(t);
	return rc;
}

static int edit_opts_check(const hive_task_edit_opts *o)
{
	int rc = hive_steer_actor_check(o->actor);
	if (rc)
		return rc;
	if (!o->title && !o->description && !o->clear_checks && !o->n_remove_checks && !json_array_size(o->set_checks) &&
	    !o->runtime && !o->retry)
		return hive_error_set(HIVE_EINVALID, "task edit: nothing to change; give a title, description, checks, "
				      "runtime or retry policy");
	if (o->set_checks && !json_is_array(o->set_checks))
		return hive_error_set(HIVE_EINVALID, "task edit: checks must be an array of check objects");
	if (o->runtime && !json_is_object(o->runtime))
		return hive_error_set(HIVE_EINVALID, "task edit: runtime must be an object (as in a flow spec)");
	if (o->retry && !json_is_object(o->retry))
		return hive_error_set(HIVE_EINVALID, "task edit: retry must be a retry policy object (docs/spec.md)");
	if (o->reason && hive_steer_note_check(o->reason, "the reason"))
		return HIVE_EINVALID;
	return 0;
}

int hive_task_edit(hive_store *s, const char *task_ref, const hive_task_edit_opts *o)
{
	if (!o)
		return hive_error_set(HIVE_EINVALID, "task edit: nothing to change; give a title, description, checks, "
				      "runtime or retry policy");
	int rc = edit_opts_check(o);
	if (rc)
		return rc;
	edit_ctx c = {.ref = task_ref, .o = o};
	hive_emit_actor_begin(o->actor);
	rc = hive_store_write(s, edit_txn, &c);
	hive_emit_actor_end();
	return rc;
}

/* ---- hive task accept ----------------------------------------------------------- */

typedef struct {
	const char *ref;
	const hive_task_accept_opts *o;
	hive_task_accept_result res;
	char task_id[HIVE_ID_LEN + 1], flow_id[HIVE_ID_LEN + 1];
	char key[HIVE_NAME_MAX + 1], flow_name[256];
	char *repo;
	int was_retry;
	int flow_ended;
} accept_ctx;

/* The attempt to accept: number o->attempt, else the latest completed one
 * with a checkpoint commit, among the attempts of the task's current flow.
 * New reference, or NULL with the error set. */
static json_t *accept_pick(hive_txn *txn, const json_t *t, int number)
{
	const char *key = hive_json_str(t, "key"), *fid = hive_json_str(t, "flow_id");
	json_t *best = NULL, *id;
	size_t i;
	int elsewhere = 0;
	json_array_foreach(json_object_get(t, "attempt_ids"), i, id) {
		json_t *a = hive_proj_attempt(txn, json_string_value(id));
		int n = (int)json_integer_value(json_object_get(a, "attempt_number"));
		int here = a && strcmp(hive_json_str(a, "flow_id") ? hive_json_str(a, "flow_id") : "", fid) == 0;
		int has_commit = hive_json_str(json_object_get(a, "changes"), "commit") && !hive_proj_attempt_running(a);
		if (number && n == number && !here)
			elsewhere = 1;
		if (here && (number ? n == number : has_commit)) {
			json_decref(best);
			best = json_incref(a);
		}
		json_decref(a);
	}
	if (!best && number && elsewhere)
		hive_error_set(HIVE_ECONFLICT, "attempt %d of task %s ran in an earlier flow; accept an attempt of its "
			       "current flow", number, key);
	else if (!best && number)
		hive_error_set(HIVE_ENOTFOUND, "task %s has no attempt %d (it has %lld)", key, number,
			       (long long)json_integer_value(json_object_get(t, "attempts")));
	else if (!best)
		hive_error_set(HIVE_ECONFLICT, "task %s has no completed attempt with a checkpoint commit to accept", key);
	else if (hive_proj_attempt_running(best) || !hive_json_str(json_object_get(best, "changes"), "commit")) {
		hive_error_set(HIVE_ECONFLICT, "attempt %d of task %s has no checkpoint commit (%s); accept another attempt",
			       number, key, hive_proj_attempt_running(best) ? "it has not ended" : "it ended before hive "
			       "could commit its worktree");
		json_decref(best);
		best = NULL;
	}
	return best;
}

static int accept_state_check(hive_txn *txn, const json_t *t)
{
	hive_task_state st = hive_proj_task_state(t);
	const char *key = hive_json_str(t, "key");
	if (st != HIVE_TASK_FAILED && st != HIVE_TASK_ESCALATED && st != HIVE_TASK_RETRY)
		return hive_error_set(HIVE_ECONFLICT, "task %s is %s; only a failed, escalated or retry task can be accepted",
				      key, hive_task_state_name(st));
	json_t *f = hive_proj_flow(txn, hive_json_str(t, "flow_id"));
	int rc = 0;
	if (!f)
		rc = hive_error_set(HIVE_ECONFLICT, "task %s has never run in a flow", key);
	else if (hive_proj_flow_state(f) == HIVE_FLOW_ABORTED)
		rc = hive_error_set(HIVE_ECONFLICT, "task %s cannot be accepted in flow %s, which was aborted", key,
				    hive_json_str(f, "name"));
	json_decref(f);
	return rc;
}

/* What the git step after the transaction needs. */
static void accept_note(hive_txn *txn, accept_ctx *c, const json_t *t, const json_t *a)
{
	json_t *f = hive_proj_flow(txn, hive_json_str(t, "flow_id"));
	json_t *p = hive_proj_project(txn, hive_json_str(t, "project_id"));
	snprintf(c->task_id, sizeof c->task_id, "%s", hive_json_str(t, "id"));
	snprintf(c->flow_id, sizeof c->flow_id, "%s", hive_json_str(f, "id"));
	snprintf(c->key, sizeof c->key, "%s", hive_json_str(t, "key"));
	snprintf(c->flow_name, sizeof c->flow_name, "%s", hive_json_str(f, "name"));
	free(c->repo);
	c->repo = hive_xstrdup(hive_json_str(p, "repo") ? hive_json_str(p, "repo") : "");
	c->res.attempt = (int)json_integer_value(json_object_get(a, "attempt_number"));
	snprintf(c->res.commit, sizeof c->res.commit, "%s", hive_json_str(json_object_get(a, "changes"), "commit"));
	snprintf(c->res.branch, sizeof c->res.branch, "hive/%s/%s", c->flow_name, c->key);
	c->was_retry = hive_proj_task_state(t) == HIVE_TASK_RETRY;
	json_decref(f);
	json_decref(p);
}

/* A failed flow runs again; the pass makes dependants ready (or ends
 * the flow completed when this was the last task). */
static int accept_flow(hive_txn *txn, accept_ctx *c)
{
	json_t *flow = hive_proj_flow(txn, c->flow_id);
	int rc = 0, ended = 0;
	c->res.flow_resumed = hive_proj_flow_state(flow) == HIVE_FLOW_FAILED;
	if (c->res.flow_resumed)
		rc = hive_emit_for_flow(txn, flow, HIVE_EV_FLOW_RESUMED, hive_json_pack("{s:s}", "reason", "hive task accept"));
	if (!rc)
		rc = hive_schedule_pass(txn, c->flow_id, &ended);
	c->flow_ended = ended;
	json_decref(flow);
	return rc;
}

static int accept_txn(hive_txn *txn, void *vctx)
{
	accept_ctx *c = vctx;
	int rc;
	json_t *t = load_task(txn, c->ref, &rc), *a = NULL;
	if (t && !(rc = accept_state_check(txn, t)) && !(a = accept_pick(txn, t, c->o->attempt)))
		rc = hive_error_last_code();
	if (!rc) {
		accept_note(txn, c, t, a);
		json_t *p = hive_json_pack("{s:s,s:i,s:s,s:s,s:s}", "attempt_id", hive_json_str(a, "id"), "attempt_number",
					   c->res.attempt, "commit", c->res.commit, "outcome",
					   hive_json_str(a, "outcome") ? hive_json_str(a, "outcome") : "unknown", "reason",
					   c->o->reason);
		rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_ACCEPTED, p, hive_json_str(a, "id"));
	}
	if (!rc) {
		char why[96];
		snprintf(why, sizeof why, "attempt %d accepted by a person (hive task accept)", c->res.attempt);
		rc = hive_emit_task_state(txn, t, HIVE_TASK_SUCCESS, why);
	}
	if (!rc)
		rc = accept_flow(txn, c);
	json_decref(a);
	json_decref(t);
	return rc;
}

/* The flow's runner lock, unless nothing a runner does can touch this
 * task: a runner starts only ready and retry tasks, so a failed or
 * escalated one is accepted while a runner works on the rest of the flow. */
static int accept_lock(hive_store *s, const char *ref, int *fd)
{
	*fd = -1;
	json_t *t = NULL, *f = NULL;
	if (hive_task_show(s, ref, &t) != 0 || !hive_json_str(t, "flow_id") ||
	    hive_flow_show(s, hive_json_str(t, "flow_id"), &f) != 0) {
		json_decref(t);
		hive_error_clear();
		return 0; /* the transaction reports what is wrong */
	}
	int rc = hive_lock_acquire(s, hive_json_str(f, "id"), hive_json_str(f, "name"), "accept", fd);
	if (rc == HIVE_ECONFLICT && hive_proj_task_state(t) != HIVE_TASK_RETRY) {
		hive_error_clear();
		rc = 0;
	} else if (rc == HIVE_ECONFLICT) {
		hive_error_prefix("task %s waits for a retry that a runner may start now; stop the runner first",
				  hive_json_str(t, "key"));
	}
	json_decref(t);
	json_decref(f);
	return rc;
}

/* After the commit: the result branch points at the accepted commit, and
 * the worktree goes as for any success (a re-created one only to move the
 * branch, when something removed it). */
static int accept_git(hive_store *s, accept_ctx *c)
{
	char *wt = hive_worktree_dir(s, c->flow_name, c->key);
	struct stat st;
	int rc = stat(wt, &st) == 0 ? hive_git_worktree_reset(wt, c->res.branch, c->res.commit, 0)
				    : hive_git_worktree_create(c->repo, wt, c->res.branch, c->res.commit);
	free(wt);
	const char *ids[1] = {c->task_id};
	if (!rc)
		rc = hive_lifecycle_release(s, c->flow_id, c->flow_ended ? NULL : ids, c->flow_ended ? 0 : 1, NULL);
	if (rc) {
		hive_buf why = {0};
		hive_buf_puts(&why, hive_error_last());
		rc = hive_error_set(HIVE_ESYSTEM, "task %s is accepted (its result is commit %.12s), but its branch %s "
				    "could not be moved there: %s", c->key, c->res.commit, c->res.branch, hive_buf_str(&why));
		hive_buf_dispose(&why);
	}
	return rc;
}

int hive_task_accept(hive_store *s, const char *task_ref, const hive_task_accept_opts *o,
		     hive_task_accept_result *out)
{
	if (!o)
		return hive_error_set(HIVE_EINVALID, "task accept: give a reason: why this attempt is good enough");
	int rc = hive_steer_actor_check(o->actor);
	if (!rc && (!o->reason || !*o->reason))
		rc = hive_error_set(HIVE_EINVALID, "task accept: give a reason: why this attempt is good enough");
	if (!rc)
		rc = hive_steer_note_check(o->reason, "the reason");
	if (!rc && o->attempt < 0)
		rc = hive_error_set(HIVE_EINVALID, "task accept: attempt %d: give an attempt number from 1", o->attempt);
	if (rc)
		return rc;
	accept_ctx c = {.ref = task_ref, .o = o};
	int fd = -1;
	hive_emit_actor_begin(o->actor);
	rc = accept_lock(s, task_ref, &fd);
	if (!rc)
		rc = hive_store_write(s, accept_txn, &c);
	if (!rc)
		rc = accept_git(s, &c);
	hive_emit_actor_end();
	hive_lock_release(fd);
	if (!rc && out)
		*out = c.res;
	free(c.repo);
	return rc;
}

int hive_task_retry_txn(hive_txn *txn, const char *task_ref, const hive_task_retry_opts *o,
			hive_retry_prelude before, void *before_ctx)
{
	task_op_ctx c = {.ref = task_ref, .reset_count = o->reset_count, .mode = o->mode, .note = o->note,
			 .before = before, .before_ctx = before_ctx};
	return retry_txn(txn, &c);
}
