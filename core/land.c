/*
 * land.c - getting a flow's result out (`hive flow land`) and moving bases
 * to the repository's new HEAD (`hive task retry --rebase`, `hive flow
 * rebase`); core/land.h, docs/lifecycle.md.
 *
 * Each command reads what it needs in one read transaction, does its git
 * work outside any transaction (merges write objects only; the landed
 * branch is the one ref it moves), and records the result in one write
 * transaction that checks again that nothing it read has changed.  The
 * user's checkout -- HEAD, index, files, current branch -- is never
 * touched: merges run in memory (hive_git_merge_reduced).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/emit.h"
#include "core/gitws.h"
#include "core/hive.h"
#include "core/lock.h"
#include "core/manage_task.h"
#include "core/policy.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/state.h"
#include "core/steer.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"
#include "events/strv.h"

#define LAND_KEY "landed"

/* The flow document of a reference and its project's repository (new). */
static int load_flow(hive_txn *txn, const char *ref, json_t **flow, char **repo)
{
	hive_id id;
	*flow = NULL;
	*repo = NULL;
	int rc = hive_resolve(txn, HIVE_REF_FLOW, ref, &id);
	if (rc)
		return rc;
	if (!(*flow = hive_proj_flow(txn, id.s)))
		return hive_error_set(HIVE_ESYSTEM, "flow %s has no projection; run hive events verify", id.s);
	json_t *p = hive_proj_project(txn, hive_json_str(*flow, "project_id"));
	const char *r = hive_json_str(p, "repo");
	*repo = r ? hive_xstrdup(r) : NULL;
	json_decref(p);
	if (!*repo)
		return hive_error_set(HIVE_ESYSTEM, "flow %s: its project has no repository; run hive events verify",
				      hive_json_str(*flow, "name"));
	return 0;
}

/* A task's result: the successful checkpoint, else its last one (a task a
 * person accepted), else NULL (it changed nothing). */
static const char *result_of(const json_t *t)
{
	const char *c = hive_json_str(t, "result_commit");
	return c ? c : hive_json_str(t, "last_commit");
}

/* ================================================================ land */

typedef struct {
	const char *ref;
	json_t *flow;   /* the flow document (new) */
	char *repo;
	json_t *leaves; /* [{task_id, key, commit}] in the flow's task order */
} land_plan;

static void land_plan_dispose(land_plan *p)
{
	json_decref(p->flow);
	json_decref(p->leaves);
	free(p->repo);
	memset(p, 0, sizeof *p);
}

/* 1 when some task of the flow depends on task id. */
static int depended_on(hive_txn *txn, const json_t *ids, const char *id)
{
	size_t i, j;
	json_t *v, *d;
	int found = 0;
	json_array_foreach(ids, i, v) {
		json_t *t = hive_proj_task(txn, json_string_value(v));
		json_array_foreach(json_object_get(t, "depends_on"), j, d)
			found |= json_is_string(d) && strcmp(json_string_value(d), id) == 0;
		json_decref(t);
		if (found)
			break;
	}
	return found;
}

static int refuse_unfinished(const json_t *flow)
{
	hive_flow_state st = hive_proj_flow_state(flow);
	const char *name = hive_json_str(flow, "name");
	hive_error_set(HIVE_ECONFLICT, "flow %s is %s; only a completed flow can be landed (its result is the "
		       "results of all its tasks): finish it first, or take one task's result from its branch "
		       "hive/%s/<key> (hive flow status %s lists them)", name, hive_flow_state_name(st), name, name);
	return HIVE_ECONFLICT;
}

static int land_plan_txn(hive_txn *txn, void *vctx)
{
	land_plan *p = vctx;
	json_decref(p->flow);
	free(p->repo);
	json_decref(p->leaves);
	p->leaves = json_array();
	int rc = load_flow(txn, p->ref, &p->flow, &p->repo);
	if (rc)
		return rc;
	if (hive_proj_flow_state(p->flow) != HIVE_FLOW_COMPLETED)
		return refuse_unfinished(p->flow);
	const json_t *ids = json_object_get(p->flow, "task_ids");
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		json_t *t = hive_proj_task(txn, json_string_value(v));
		const char *key = hive_json_str(t, "key");
		if (key && strcmp(key, LAND_KEY) == 0)
			rc = hive_error_set(HIVE_ECONFLICT, "flow %s has a task with key \"%s\", whose result branch is "
					    "hive/%s/%s: hive will not land over it; merge the tasks' branches yourself",
					    hive_json_str(p->flow, "name"), LAND_KEY, hive_json_str(p->flow, "name"), LAND_KEY);
		else if (key && !depended_on(txn, ids, json_string_value(v))) {
			const char *c = result_of(t);
			json_array_append_new(p->leaves, json_pack("{s:s,s:s,s:o}", "task_id", json_string_value(v), "key",
								   key, "commit", c ? json_string(c) : json_null()));
		}
		json_decref(t);
		if (rc)
			return rc;
	}
	return 0;
}

/* "hive: land flow F\n\nKEY COMMIT\n..." */
static char *land_message(const land_plan *p)
{
	hive_buf b = {0};
	size_t i;
	json_t *l;
	hive_buf_printf(&b, "hive: land flow %s\n\n", hive_json_str(p->flow, "name"));
	json_array_foreach(p->leaves, i, l)
		if (hive_json_str(l, "commit"))
			hive_buf_printf(&b, "%s %s\n", hive_json_str(l, "key"), hive_json_str(l, "commit"));
	return hive_buf_detach(&b);
}

/* The flow's base merged with its leaves' results (conflict: refused). */
static int land_merge(const land_plan *p, char out[HIVE_GIT_OID_HEXSZ + 1])
{
	const char *base = hive_json_str(p->flow, "base_commit");
	hive_strv v = {0};
	size_t i;
	json_t *l;
	if (base)
		hive_strv_push(&v, base);
	json_array_foreach(p->leaves, i, l)
		if (hive_json_str(l, "commit"))
			hive_strv_push(&v, hive_json_str(l, "commit"));
	if (v.n == 0)
		return hive_error_set(HIVE_ECONFLICT, "flow %s has no base commit and no result to land",
				      hive_json_str(p->flow, "name"));
	char *msg = land_message(p);
	char **conflicts = NULL;
	int rc = hive_git_merge_reduced(p->repo, (const char *const *)v.v, v.n, msg, out, &conflicts);
	if (rc == HIVE_ECONFLICT)
		rc = hive_error_prefix("flow %s cannot be landed: its tasks' results conflict; nothing was changed; "
				       "merge the branches hive/%s/<key> yourself", hive_json_str(p->flow, "name"),
				       hive_json_str(p->flow, "name"));
	hive_strv_free(conflicts);
	free(msg);
	hive_strv_free(v.v);
	return rc;
}

typedef struct {
	const land_plan *p;
	const char *branch, *commit;
} land_rec;

static int land_record_txn(hive_txn *txn, void *vctx)
{
	land_rec *r = vctx;
	json_t *f = hive_proj_flow(txn, hive_json_str(r->p->flow, "id"));
	int rc = 0;
	if (hive_proj_flow_state(f) != HIVE_FLOW_COMPLETED)
		rc = refuse_unfinished(f);
	else
		rc = hive_emit_for_flow(txn, f, HIVE_EV_FLOW_LANDED,
					hive_json_pack("{s:s,s:s,s:s,s:O}", "branch", r->branch, "commit", r->commit,
						       "base_commit", hive_json_str(f, "base_commit") ?
						       hive_json_str(f, "base_commit") : "", "leaves", r->p->leaves));
	json_decref(f);
	return rc;
}

/* What is at the landed branch now: 0 nothing (it is made), 1 this flow's
 * landed commit (nothing to do), else refused -- a branch hive did not put
 * there, or one a person moved since, is never moved (it may hold their
 * commits). */
static int landed_branch_state(const land_plan *p, const char *branch)
{
	const char *was = hive_json_str(json_object_get(p->flow, "landed"), "commit");
	char now[HIVE_GIT_OID_HEXSZ + 1];
	int rc = hive_git_branch_commit(p->repo, branch, now);
	if (rc == HIVE_ENOTFOUND) {
		hive_error_clear();
		return 0;
	}
	if (rc)
		return rc;
	if (was && strcmp(was, now) == 0)
		return 1;
	return hive_error_set(HIVE_ECONFLICT, "branch %s exists at %.12s, which is not where hive landed flow %s; "
			      "hive will not move it: merge or rename it (git branch -m), then land again",
			      branch, now, hive_json_str(p->flow, "name"));
}

static json_t *land_doc(const land_plan *p, const char *branch, const char *commit, int again)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b}", "flow", hive_json_str(p->flow, "name"), "branch", branch,
			 "commit", commit, "base_commit", hive_json_str(p->flow, "base_commit") ?
			 hive_json_str(p->flow, "base_commit") : "", "repo", p->repo, "leaves", p->leaves,
			 "already_landed", again);
}

int hive_flow_land(hive_store *s, const char *flow_ref, const hive_act_opts *who, json_t **out)
{
	land_plan p = {.ref = flow_ref};
	int rc = hive_steer_actor_check(who ? who->actor : NULL);
	if (!rc)
		rc = hive_store_read(s, land_plan_txn, &p);
	hive_buf branch = {0};
	char commit[HIVE_GIT_OID_HEXSZ + 1] = "";
	if (!rc)
		hive_buf_printf(&branch, "hive/%s/%s", hive_json_str(p.flow, "name"), LAND_KEY);
	int there = rc ? 0 : landed_branch_state(&p, branch.data);
	if (there == 1) {
		snprintf(commit, sizeof commit, "%s", hive_json_str(json_object_get(p.flow, "landed"), "commit"));
		*out = land_doc(&p, branch.data, commit, 1);
		goto done;
	}
	if (!rc)
		rc = there;
	if (!rc)
		rc = land_merge(&p, commit);
	if (!rc)
		rc = hive_git_branch_set(p.repo, branch.data, commit);
	land_rec r = {.p = &p, .branch = branch.data, .commit = commit};
	hive_emit_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = hive_store_write(s, land_record_txn, &r);
	hive_emit_actor_end();
	if (!rc)
		*out = land_doc(&p, branch.data, commit, 0);
done:
	hive_buf_dispose(&branch);
	land_plan_dispose(&p);
	return rc;
}

/* ============================================================== rebase */

/* One task's move: planned outside, applied in the write transaction. */
typedef struct {
	char task_id[HIVE_ID_LEN + 1];
	char *key;
	hive_task_state state;
	json_int_t attempts;
	char from[HIVE_GIT_OID_HEXSZ + 1]; /* its base before ("" = none yet) */
	char to[HIVE_GIT_OID_HEXSZ + 1];   /* its new base ("" = follows its dependencies) */
	json_t *deps;                      /* result commits of its dependencies merged in */
	const char *note;                  /* why it is left as it is (static) */
} rb_task;

typedef struct {
	const char *ref;         /* task (task retry) or flow (flow rebase) */
	int whole_flow, reset_count;
	const char *mode;
	const hive_task_retry_opts *opts; /* task retry --rebase: its note and actor too */
	json_t *flow;
	char *repo;
	char head[HIVE_GIT_OID_HEXSZ + 1];
	rb_task *tasks;
	size_t n;
	int retried;
} rb_plan;

static void rb_plan_dispose(rb_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->tasks[i].key);
		json_decref(p->tasks[i].deps);
	}
	free(p->tasks);
	json_decref(p->flow);
	free(p->repo);
	p->tasks = NULL;
	p->n = 0;
	p->flow = NULL;
	p->repo = NULL;
}

/* The results of t's dependencies, or NULL when one has not succeeded (then
 * t's base will be made from their results once they have). */
static json_t *dep_results(hive_txn *txn, const json_t *t)
{
	json_t *out = json_array(), *d;
	size_t i;
	json_array_foreach(json_object_get(t, "depends_on"), i, d) {
		json_t *dep = hive_proj_task(txn, json_string_value(d));
		const char *c = result_of(dep);
		int ok = hive_proj_task_state(dep) == HIVE_TASK_SUCCESS;
		if (ok && c)
			json_array_append_new(out, json_string(c));
		json_decref(dep);
		if (!ok) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static void rb_add(hive_txn *txn, rb_plan *p, const json_t *t)
{
	rb_task *r = &p->tasks[p->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->task_id, sizeof r->task_id, "%s", hive_json_str(t, "id"));
	r->key = hive_xstrdup(hive_json_str(t, "key") ? hive_json_str(t, "key") : r->task_id);
	r->state = hive_proj_task_state(t);
	r->attempts = json_integer_value(json_object_get(t, "attempts"));
	snprintf(r->from, sizeof r->from, "%s", hive_json_str(t, "base_commit") ? hive_json_str(t, "base_commit") : "");
	if (r->state == HIVE_TASK_ABORTED)
		r->note = "aborted: it does not run again in this flow";
	else if (!(r->deps = dep_results(txn, t)))
		r->note = "follows its dependencies: its base is made from their results when they succeed";
}

static int refuse_flow_state(const json_t *flow)
{
	hive_flow_state st = hive_proj_flow_state(flow);
	const char *name = hive_json_str(flow, "name");
	if (st == HIVE_FLOW_CREATED)
		return hive_error_set(HIVE_ECONFLICT, "flow %s has not started; hive flow start takes the repository's "
				      "HEAD as its base then", name);
	if (st == HIVE_FLOW_COMPLETED)
		return hive_error_set(HIVE_ECONFLICT, "flow %s is completed: every task succeeded and nothing is left to "
				      "rebase; land it with hive flow land %s", name, name);
	return hive_error_set(HIVE_ECONFLICT, "flow %s is %s and never runs again; put its tasks in a new flow "
			      "(hive flow create PROJECT --task T), which starts from the repository's HEAD",
			      name, hive_flow_state_name(st));
}

/* The retry states `task retry` accepts (its own checks run again in the
 * write transaction; this only decides what flow rebase does). */
static int retryable(hive_task_state st)
{
	return st == HIVE_TASK_FAILED || st == HIVE_TASK_RETRY || st == HIVE_TASK_ESCALATED;
}

static int rb_plan_txn(hive_txn *txn, void *vctx)
{
	rb_plan *p = vctx;
	rb_plan_dispose(p);
	hive_id id;
	json_t *t = NULL;
	int rc;
	if (p->whole_flow) {
		if ((rc = load_flow(txn, p->ref, &p->flow, &p->repo)))
			return rc;
		hive_flow_state st = hive_proj_flow_state(p->flow);
		if (st != HIVE_FLOW_RUNNING && st != HIVE_FLOW_PAUSED && st != HIVE_FLOW_FAILED)
			return refuse_flow_state(p->flow);
	} else {
		if ((rc = hive_resolve(txn, HIVE_REF_TASK, p->ref, &id)))
			return rc;
		t = hive_proj_task(txn, id.s);
		const char *fid = hive_json_str(t, "flow_id");
		if (!fid) {
			json_decref(t);
			return hive_error_set(HIVE_ECONFLICT, "task %s has never run in a flow", p->ref);
		}
		if ((rc = load_flow(txn, fid, &p->flow, &p->repo))) {
			json_decref(t);
			return rc;
		}
	}
	const json_t *ids = json_object_get(p->flow, "task_ids");
	p->tasks = hive_xcalloc(json_array_size(ids) + 1, sizeof *p->tasks);
	if (t) {
		rb_add(txn, p, t);
		json_decref(t);
		return 0;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		json_t *ft = hive_proj_task(txn, json_string_value(v));
		if (ft && hive_proj_task_state(ft) != HIVE_TASK_SUCCESS)
			rb_add(txn, p, ft);
		json_decref(ft);
	}
	return 0;
}

/* The new base of r: HEAD merged with its dependencies' results. */
static int rb_merge(rb_plan *p, rb_task *r)
{
	hive_strv v = {0};
	size_t i;
	json_t *c;
	hive_strv_push(&v, p->head);
	json_array_foreach(r->deps, i, c)
		hive_strv_push(&v, json_string_value(c));
	hive_buf msg = {0};
	hive_buf_printf(&msg, "hive: base of task %s: HEAD %.12s with its dependencies' results", r->key, p->head);
	char **conflicts = NULL;
	int rc = hive_git_merge_reduced(p->repo, (const char *const *)v.v, v.n, msg.data, r->to, &conflicts);
	if (rc == HIVE_ECONFLICT)
		rc = hive_error_prefix("task %s cannot be rebased: the repository's HEAD %.12s and the results of its "
				       "dependencies conflict; nothing was changed; make HEAD agree with them and run "
				       "again", r->key, p->head);
	hive_strv_free(conflicts);
	hive_buf_dispose(&msg);
	hive_strv_free(v.v);
	return rc;
}

static int rb_merge_all(rb_plan *p)
{
	int rc = hive_git_head(p->repo, p->head);
	for (size_t i = 0; !rc && i < p->n; i++)
		if (p->tasks[i].deps)
			rc = rb_merge(p, &p->tasks[i]);
	return rc;
}

/* ---- applying (write transaction) ---- */

/* The task as planned: same attempts and base, so the merge still holds. */
static int rb_still(const rb_task *r, const json_t *t)
{
	const char *base = hive_json_str(t, "base_commit");
	if (json_integer_value(json_object_get(t, "attempts")) == r->attempts &&
	    strcmp(base ? base : "", r->from) == 0)
		return 0;
	return hive_error_set(HIVE_ECONFLICT, "task %s changed while its new base was computed (an attempt ran); "
			      "run the command again", r->key);
}

static int rb_emit(hive_txn *txn, const rb_plan *p, const rb_task *r, const json_t *t)
{
	int rc = rb_still(r, t);
	if (rc || !r->to[0] || strcmp(r->to, r->from) == 0)
		return rc; /* already there: nothing moves */
	json_t *pl = hive_json_pack("{s:o,s:s,s:s,s:O,s:s}", "from", r->from[0] ? json_string(r->from) : json_null(),
				    "to", r->to, "head", p->head, "dependencies", r->deps,
				    "reason", p->whole_flow ? "hive flow rebase" : "hive task retry --rebase");
	return hive_emit_for_task(txn, t, HIVE_EV_TASK_REBASED, pl, NULL);
}

/* hive_task_retry_txn's hook: the base moves after retry's own checks
 * passed and before task_retry_requested. */
static int rb_before_retry(hive_txn *txn, const json_t *t, void *vctx)
{
	void **a = vctx;
	return rb_emit(txn, a[0], a[1], t);
}

static int rb_apply_one(hive_txn *txn, rb_plan *p, rb_task *r)
{
	void *a[2] = {p, r};
	if (!p->whole_flow || retryable(r->state)) {
		p->retried++;
		hive_task_retry_opts o = {.reset_count = p->reset_count, .mode = p->mode};
		int rc = hive_task_retry_txn(txn, r->task_id, p->opts ? p->opts : &o, rb_before_retry, a);
		return rc && p->whole_flow ? hive_error_prefix("task %s", r->key) : rc;
	}
	json_t *t = hive_proj_task(txn, r->task_id);
	int rc = t ? rb_emit(txn, p, r, t) : hive_error_set(HIVE_ESYSTEM, "task %s has no projection", r->task_id);
	json_decref(t);
	return rc;
}

static int rb_apply_txn(hive_txn *txn, void *vctx)
{
	rb_plan *p = vctx;
	int rc = 0;
	p->retried = 0;
	for (size_t i = 0; !rc && i < p->n; i++)
		if (!p->tasks[i].note || !p->whole_flow)
			rc = rb_apply_one(txn, p, &p->tasks[i]);
	if (rc || !p->whole_flow)
		return rc;
	json_t *f = hive_proj_flow(txn, hive_json_str(p->flow, "id"));
	const char *from = hive_json_str(f, "base_commit");
	json_t *keys = json_array();
	for (size_t i = 0; i < p->n; i++)
		if (!p->tasks[i].note)
			json_array_append_new(keys, json_string(p->tasks[i].key));
	if (!from || strcmp(from, p->head) != 0)
		rc = hive_emit_for_flow(txn, f, HIVE_EV_FLOW_REBASED,
					hive_json_pack("{s:o,s:s,s:o}", "from", from ? json_string(from) : json_null(),
						       "to", p->head, "tasks", keys));
	else
		json_decref(keys);
	json_decref(f);
	return rc;
}

/* ---- the commands ---- */

static json_t *rb_doc(const rb_plan *p)
{
	json_t *tasks = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const rb_task *r = &p->tasks[i];
		json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "task_id", r->task_id, "key", r->key, "from",
				      r->from[0] ? json_string(r->from) : json_null(), "to",
				      r->to[0] ? json_string(r->to) : json_null());
		json_object_set_new(o, "moved", json_boolean(r->to[0] && strcmp(r->to, r->from) != 0));
		json_object_set_new(o, "retried", json_boolean(!r->note && (!p->whole_flow || retryable(r->state))));
		if (r->note)
			json_object_set_new(o, "note", json_string(r->note));
		json_array_append_new(tasks, o);
	}
	return json_pack("{s:s,s:s,s:o}", "flow", hive_json_str(p->flow, "name"), "head", p->head, "tasks", tasks);
}

static int rebase(hive_store *s, rb_plan *p, json_t **out)
{
	int rc = hive_store_read(s, rb_plan_txn, p), fd = -1;
	/* No runner may pick a task while its base moves (it would start
	 * from the base it read before): the flow's runner lock. */
	if (!rc)
		rc = hive_lock_acquire(s, hive_json_str(p->flow, "id"), hive_json_str(p->flow, "name"),
				       p->whole_flow ? "flow rebase" : "task retry --rebase", &fd);
	if (!rc)
		rc = rb_merge_all(p);
	if (!rc)
		rc = hive_store_write(s, rb_apply_txn, p);
	hive_lock_release(fd);
	if (!rc && out)
		*out = rb_doc(p);
	return rc;
}

int hive_task_retry_rebase(hive_store *s, const char *task_ref, const hive_task_retry_opts *o, json_t **out)
{
	int rc = hive_task_retry_opts_check(o);
	if (rc)
		return rc;
	rb_plan p = {.ref = task_ref, .reset_count = o->reset_count, .mode = o->mode, .opts = o};
	hive_emit_actor_begin(o->actor);
	rc = rebase(s, &p, out);
	hive_emit_actor_end();
	rb_plan_dispose(&p);
	return rc;
}

int hive_flow_rebase(hive_store *s, const char *flow_ref, int reset_count, const hive_act_opts *who, json_t **out)
{
	rb_plan p = {.ref = flow_ref, .whole_flow = 1, .reset_count = reset_count};
	int rc = hive_steer_actor_check(who ? who->actor : NULL);
	if (rc)
		return rc;
	hive_emit_actor_begin(who ? who->actor : NULL);
	rc = rebase(s, &p, out);
	hive_emit_actor_end();
	rb_plan_dispose(&p);
	return rc;
}
