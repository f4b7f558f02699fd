/*
 * runner.c - `hive flow tick` and `hive flow run`.
 *
 * A tick: take the flow's lock; record attempts a dead runner left as
 * crashed (killing their process groups); run the scheduling pass; pick
 * up to max_parallel startable tasks in the flow's task order (ready ones,
 * retries that are due, runtimes whose circuit allows it); prepare their
 * git worktrees; commit each start; run the attempts on threads; run the
 * scheduling pass again.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/attempt.h"
#include "core/capture.h"
#include "core/circuit.h"
#include "core/context.h"
#include "core/datadir.h"
#include "core/duration.h"
#include "core/emit.h"
#include "core/finish.h"
#include "core/flowindex.h"
#include "core/gitws.h"
#include "core/lifecycle.h"
#include "core/lock.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/proc.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/schedule.h"
#include "core/state.h"
#include "core/wake.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"
#include "events/strv.h"

char *hive_attempt_dir(const hive_store *s, const char *attempt_id)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s/attempts/%s", hive_store_dir(s), attempt_id);
	return hive_buf_detach(&b);
}

char *hive_worktree_dir(const hive_store *s, const char *flow_name, const char *task_key)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s/worktrees/%s/%s", hive_store_dir(s), flow_name, task_key);
	return hive_buf_detach(&b);
}

static void say(const hive_run_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const hive_run_opts *o, const char *fmt, ...)
{
	if (!o->progress)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	o->progress(line, o->progress_ctx);
}

/* A note with its narration line: to on_note when the front end takes
 * notes, else the line to progress. */
static void note(const hive_run_opts *o, hive_run_note *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(const hive_run_opts *o, hive_run_note *n, const char *fmt, ...)
{
	if (!o->progress && !o->on_note)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	n->line = line;
	if (o->on_note)
		o->on_note(n, o->progress_ctx);
	else
		o->progress(line, o->progress_ctx);
}

/* ---- the flow --------------------------------------------------------------- */

typedef struct {
	const char *ref;
	hive_id id;
	char name[80];
	char state[16];
	char *repo;
	/* orphans were looked for and none can have appeared since: the lock
	 * keeps other runners out, so only an attempt of ours that ended
	 * without an outcome (a store error) leaves one (start_and_run) */
	int orphans_checked;
	/* the last seq when a scheduling pass had nothing left to do: while
	 * the log still ends there, another pass would find the same */
	uint64_t passed_at;
} flow_info;

static int flow_info_txn(hive_txn *txn, void *vctx)
{
	flow_info *fi = vctx;
	int rc = hive_resolve(txn, HIVE_REF_FLOW, fi->ref, &fi->id);
	if (rc)
		return rc;
	json_t *f = hive_proj_flow_head(txn, fi->id.s);
	json_t *p = f ? hive_proj_project(txn, hive_json_str(f, "project_id")) : NULL;
	snprintf(fi->name, sizeof fi->name, "%s", f ? hive_json_str(f, "name") : "?");
	snprintf(fi->state, sizeof fi->state, "%s", f ? hive_json_str(f, "state") : "?");
	free(fi->repo);
	fi->repo = p && hive_json_str(p, "repo") ? hive_xstrdup(hive_json_str(p, "repo")) : NULL;
	json_decref(p);
	json_decref(f);
	return 0;
}

/* ---- crash recovery ------------------------------------------------------------- */

typedef struct {
	const char *flow_id;
	json_t *orphans; /* [{task_id, attempt_id, pgid}] */
} orphan_ctx;

static int find_orphans_txn(hive_txn *txn, void *vctx)
{
	orphan_ctx *c = vctx;
	json_t *f = hive_proj_flow(txn, c->flow_id), *id;
	size_t i;
	json_array_foreach(json_object_get(f, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		const char *running = hive_json_str(t, "running_attempt");
		if (running) {
			json_t *a = hive_proj_attempt(txn, running);
			/* the groups go into attempt_crashed for the record; killing
			 * goes by the attempt's tag (recover) */
			json_int_t pgid = json_integer_value(json_object_get(json_object_get(a, "runtime_started"), "pgid"));
			json_int_t check_pgid = json_integer_value(json_object_get(json_object_get(a, "current_check"), "pgid"));
			json_array_append_new(c->orphans, json_pack("{s:s,s:s,s:I,s:I}", "task_id", json_string_value(id),
								    "attempt_id", running, "pgid", pgid,
								    "check_pgid", check_pgid));
			json_decref(a);
		}
		json_decref(t);
	}
	json_decref(f);
	return 0;
}

typedef struct {
	json_t *orphan;
	int killed;
	uint64_t seed;
} crash_ctx;

static int record_crash_txn(hive_txn *txn, void *vctx)
{
	crash_ctx *c = vctx;
	const char *task_id = hive_json_str(c->orphan, "task_id"), *attempt_id = hive_json_str(c->orphan, "attempt_id");
	json_t *t = hive_proj_task(txn, task_id);
	if (!t)
		return 0;
	int rc = hive_emit_for_task(txn, t, HIVE_EV_ATTEMPT_CRASHED,
				    hive_json_pack("{s:s,s:O,s:O,s:b}", "reason", "the runner died during the attempt",
					      "pgid", json_object_get(c->orphan, "pgid"), "check_pgid",
					      json_object_get(c->orphan, "check_pgid"), "killed", c->killed),
				    attempt_id);
	json_decref(t);
	json_t *a = rc ? NULL : hive_proj_attempt(txn, attempt_id);
	int64_t age = hive_attempt_age_ms(a);
	json_decref(a);
	if (!rc)
		rc = hive_finish_attempt(txn, task_id, attempt_id, HIVE_OUTCOME_CRASHED, age, NULL, NULL,
					 "the runner died during the attempt", c->seed);
	return rc;
}

static int recover(hive_store *s, const char *flow_id, const hive_run_opts *o, hive_run_result *r)
{
	orphan_ctx oc = {.flow_id = flow_id, .orphans = json_array()};
	int rc = hive_store_read(s, find_orphans_txn, &oc);
	size_t i;
	json_t *orphan;
	json_array_foreach(oc.orphans, i, orphan) {
		if (rc)
			break;
		/* by the attempt's tag, not by the recorded pgid: a group number
		 * may since belong to someone else, and a runtime started just
		 * before the runner died has no pgid in the log at all */
		int killed = hive_proc_kill_tagged("HIVE_ATTEMPT_ID", hive_json_str(orphan, "attempt_id"), 2000) > 0;
		say(o, "attempt %s was left running by a runner that died%s; recording it as crashed",
		    hive_json_str(orphan, "attempt_id"), killed ? " (killed its processes)" : "");
		crash_ctx cc = {orphan, killed, o->seed};
		rc = hive_store_write(s, record_crash_txn, &cc);
		r->attempts_failed++;
	}
	json_decref(oc.orphans);
	return rc;
}

/* ---- picking ------------------------------------------------------------------ */

typedef struct {
	const char *flow_id;
	const char *flow_name;
	const char *repo;
	const hive_store *s;
	int max;
	hive_pick *picks;
	int n;
	int64_t now_ms, next_due_ms;
	char probe_taken[8][HIVE_CIRCUIT_KEY_LEN];
	int n_probes;
	/* what next_due_ms waits for, for flow run's "retry of fix in 3s" */
	const char *due_for;   /* "retry" | "circuit" (static) */
	char due_what[80];     /* the task's key or the runtime */
	int64_t due_since_ms;  /* an open circuit: when it opened */
} pick_ctx;

static void note_due(pick_ctx *c, int64_t when, const char *why, const char *what, int64_t since)
{
	if (when > 0 && (c->next_due_ms == 0 || when < c->next_due_ms)) {
		c->next_due_ms = when;
		c->due_for = why;
		snprintf(c->due_what, sizeof c->due_what, "%s", what ? what : "?");
		c->due_since_ms = since;
	}
}

/* 1 when the task's runtime circuit lets an attempt start now. */
static int circuit_allows(hive_txn *txn, pick_ctx *c, const json_t *task)
{
	const json_t *runtime = json_object_get(task, "runtime");
	if (!hive_json_str(runtime, "adapter"))
		return 1;
	char key[HIVE_CIRCUIT_KEY_LEN];
	hive_circuit_key(runtime, key);
	for (int i = 0; i < c->n_probes; i++)
		if (strcmp(c->probe_taken[i], key) == 0)
			return 0;
	hive_circuit circ;
	hive_circuit_config cfg;
	hive_circuit_load(txn, c->flow_id, key, &circ, &cfg);
	int transition = -1;
	if (hive_circuit_allow(&circ, &cfg, c->now_ms, &transition)) {
		/* one half-open probe per circuit: later picks in this tick wait */
		if (transition == HIVE_CIRCUIT_HALF_OPEN && c->n_probes < 8)
			snprintf(c->probe_taken[c->n_probes++], sizeof c->probe_taken[0], "%s", key);
		return 1;
	}
	if (circ.state == HIVE_CIRCUIT_OPEN) {
		hive_buf what = {0}; /* "exec ./agent.sh --fast": the runtime the circuit is for */
		size_t i;
		json_t *w;
		hive_buf_puts(&what, hive_json_str(runtime, "adapter"));
		json_array_foreach(json_object_get(runtime, "command"), i, w)
			hive_buf_printf(&what, " %s", json_string_value(w));
		note_due(c, circ.opened_at_ms + cfg.reset_timeout_ms, "circuit", hive_buf_str(&what), circ.opened_at_ms);
		hive_buf_dispose(&what);
	}
	return 0;
}

/* Shown as "attempt N of M" (and HIVE_MAX_ATTEMPTS): the most attempts
 * the task can still reach.  Without budgets: the attempts made plus what
 * is left of max_attempts.  With budgets each failure spends one budget,
 * so the most is the attempts made plus what is left of all of them — an
 * upper bound that never tells an agent it is the last try when it is not,
 * and that stays put from one attempt to the next.  After --reset-count
 * the numbers go on and M grows with them. */
static int display_max(const json_t *task, int number)
{
	hive_retry_policy pol;
	hive_retry_policy_of(task, &pol);
	const json_t *used = json_object_get(task, "budget_used");
	int left = 0;
	if (pol.n_budgets == 0) {
		left = pol.max_attempts - (int)json_integer_value(json_array_get(used, 0));
	} else {
		for (int b = 0; b < pol.n_budgets; b++) {
			int l = pol.budgets[b].max_attempts - (int)json_integer_value(json_array_get(used, (size_t)b));
			left += l > 0 ? l : 0;
		}
	}
	int m = number - 1 + left;
	return m < number ? number : m;
}

/* Where this attempt starts: the task's base for a first or clean attempt,
 * the previous checkpoint in continue mode, or (first time) the base
 * computed from dependencies, marked by an empty start_commit. */
static void choose_start(hive_txn *txn, hive_pick *p, const json_t *flow)
{
	const char *base = hive_json_str(p->task, "base_commit"), *last = hive_json_str(p->task, "last_commit");
	if (base && last && p->number > 1 && hive_retry_policy_mode_of(p->task) == HIVE_RETRY_MODE_CONTINUE)
		snprintf(p->start_commit, sizeof p->start_commit, "%s", last);
	else if (base)
		snprintf(p->start_commit, sizeof p->start_commit, "%s", base);
	else
		p->start_commit[0] = '\0';
	(void)txn;
	(void)flow;
}

static void add_pick(hive_txn *txn, pick_ctx *c, json_t *task, const json_t *flow)
{
	hive_pick *p = &c->picks[c->n++];
	memset(p, 0, sizeof *p);
	snprintf(p->task_id.s, sizeof p->task_id.s, "%s", hive_json_str(task, "id"));
	hive_id_new(&p->attempt_id);
	p->task = json_incref(task);
	p->number = (int)json_integer_value(json_object_get(task, "attempts")) + 1;
	p->max_attempts = display_max(task, p->number);
	p->worktree = hive_worktree_dir(c->s, c->flow_name, hive_json_str(task, "key"));
	hive_buf branch = {0};
	hive_buf_printf(&branch, "hive/%s/%s", c->flow_name, hive_json_str(task, "key"));
	p->branch = hive_buf_detach(&branch);
	p->repo = hive_xstrdup(c->repo);
	p->attempt_dir = hive_attempt_dir(c->s, p->attempt_id.s);
	choose_start(txn, p, flow);
}

/* The startable tasks in the flow's order, from the index's set of ready
 * and retry tasks (core/flowindex.h): the pick reads those, never the
 * flow's other tasks. */
static int pick_txn(hive_txn *txn, void *vctx)
{
	pick_ctx *c = vctx;
	json_t *f = hive_proj_flow_head(txn, c->flow_id);
	if (!f || hive_proj_flow_state(f) != HIVE_FLOW_RUNNING) {
		json_decref(f);
		return 0;
	}
	int64_t pos = -1;
	char id[HIVE_ID_LEN + 1];
	int rc = 0;
	while (c->n < c->max && (rc = hive_flowindex_next(txn, c->flow_id, HIVE_FLOWINDEX_START, pos, &pos, id)) == 0) {
		json_t *t = hive_proj_task(txn, id);
		hive_task_state st = hive_proj_task_state(t);
		int64_t due = json_integer_value(json_object_get(t, "next_attempt_at_ms"));
		int startable = st == HIVE_TASK_READY || (st == HIVE_TASK_RETRY && due <= c->now_ms);
		if (st == HIVE_TASK_RETRY && due > c->now_ms)
			note_due(c, due, "retry", hive_json_str(t, "key"), 0);
		if (startable && circuit_allows(txn, c, t))
			add_pick(txn, c, t, f);
		json_decref(t);
	}
	json_decref(f);
	return rc == HIVE_ENOTFOUND ? 0 : rc;
}

/* ---- preparing worktrees (git, outside any transaction) ---------------------------- */

typedef struct {
	const json_t *task;
	json_t *commits; /* dependency result commits */
	char flow_base[41];
} base_ctx;

static int base_txn(hive_txn *txn, void *vctx)
{
	base_ctx *c = vctx;
	json_t *f = hive_proj_flow_head(txn, hive_json_str(c->task, "flow_id")), *d;
	snprintf(c->flow_base, sizeof c->flow_base, "%s", f && hive_json_str(f, "base_commit") ? hive_json_str(f, "base_commit") : "");
	json_decref(f);
	size_t i;
	json_array_foreach(json_object_get(c->task, "depends_on"), i, d) {
		json_t *t = hive_proj_task(txn, json_string_value(d));
		const char *rc = hive_json_str(t, "result_commit");
		json_array_append_new(c->commits, json_string(rc ? rc : c->flow_base));
		json_decref(t);
	}
	return 0;
}

/* First attempt of a task: its base is the flow's base commit, its single
 * dependency's result, or a merge of its dependencies' results. */
static int compute_base(hive_store *s, hive_pick *p)
{
	base_ctx c = {.task = p->task, .commits = json_array()};
	int rc = hive_store_read(s, base_txn, &c);
	size_t n = json_array_size(c.commits);
	if (!rc && n == 0) {
		snprintf(p->start_commit, sizeof p->start_commit, "%s", c.flow_base);
	} else if (!rc) {
		const char **v = hive_xcalloc(n, sizeof *v);
		for (size_t i = 0; i < n; i++)
			v[i] = json_string_value(json_array_get(c.commits, i));
		char **conflicts = NULL;
		rc = hive_git_merge(p->repo, v, n, p->start_commit, &conflicts);
		if (rc == HIVE_ECONFLICT) {
			hive_buf b = {0};
			hive_buf_printf(&b, "merging its dependencies failed: %s", hive_error_last());
			p->fail_reason = hive_buf_detach(&b);
			rc = 0;
		}
		hive_strv_free(conflicts);
		free(v);
	}
	json_decref(c.commits);
	return rc;
}

/* A new worktree for the task: one of the flow's spares when there is
 * one (reset to exactly the start commit; docs/lifecycle.md), else a fresh
 * checkout.  A spare that cannot be adopted only costs the fresh checkout;
 * attempt_started's "spare" records either way. */
static int adopt_or_create(hive_store *s, hive_pick *p, const char *flow_id)
{
	char *spare = NULL, *why = NULL;
	int adopted = hive_lifecycle_adopt(s, flow_id, p->repo, p->worktree, p->branch, p->start_commit, &spare, &why);
	if (spare)
		p->spare = why ? json_pack("{s:s,s:b,s:s}", "path", spare, "adopted", 0, "error", why)
			       : json_pack("{s:s,s:b}", "path", spare, "adopted", 1);
	free(spare);
	free(why);
	return adopted ? 0 : hive_git_worktree_create(p->repo, p->worktree, p->branch, p->start_commit);
}

static int prepare_worktree(hive_store *s, hive_pick *p, const char *flow_id, const char *flow_name)
{
	int rc = 0;
	if (!p->start_commit[0] && (rc = compute_base(s, p)))
		return rc;
	if (p->fail_reason)
		return 0;
	struct stat st;
	hive_buf rel = {0};
	hive_buf_printf(&rel, "worktrees/%s", flow_name);
	rc = hive_datadir_mkdirs(hive_store_dir(s), rel.data);
	if (!rc)
		rc = hive_datadir_mkdirs(hive_store_dir(s), "attempts");
	if (!rc)
		rc = hive_datadir_check_dir(p->worktree);
	hive_buf_dispose(&rel);
	/* a runner killed while creating it left a directory git cannot open
	 * (found by tests/crash); it holds nothing committed: start afresh */
	if (!rc)
		hive_git_worktree_drop_debris(p->worktree);
	if (!rc && stat(p->worktree, &st) == 0) {
		rc = hive_git_worktree_reset(p->worktree, p->branch, p->start_commit,
					     hive_retry_policy_mode_of(p->task) == HIVE_RETRY_MODE_PRISTINE);
	} else if (!rc) {
		rc = adopt_or_create(s, p, flow_id);
	}
	if (!rc && mkdir(p->attempt_dir, 0700) != 0)
		rc = hive_error_set(HIVE_ESYSTEM, "cannot create %s: %s", p->attempt_dir, strerror(errno));
	if (rc) {
		p->fail_reason = hive_xstrdup(hive_error_last());
		rc = 0;
	}
	return rc;
}

/* ---- starting ------------------------------------------------------------------- */

typedef struct {
	hive_pick *p;
	const char *flow_id;
	int64_t now_ms;
} start_ctx;

/* retry.deadline (SPEC 12): the first attempt since the last reset
 * records the instant the deadline ends in its attempt_started. */
static void note_deadline(const json_t *task, int64_t now_ms, json_t *payload)
{
	hive_retry_policy pol;
	hive_retry_policy_of(task, &pol);
	if (!payload || pol.deadline_ms <= 0 || json_object_get(task, "deadline_at_ms"))
		return;
	char at[40];
	hive_time_format_ms(now_ms + pol.deadline_ms, at, sizeof at);
	json_object_set_new(payload, "deadline_at", json_string(at));
	json_object_set_new(payload, "deadline_at_ms", json_integer((json_int_t)(now_ms + pol.deadline_ms)));
}

static int start_txn(hive_txn *txn, void *vctx)
{
	start_ctx *c = vctx;
	hive_pick *p = c->p;
	json_t *t = hive_proj_task(txn, p->task_id.s);
	json_t *f = hive_proj_flow_head(txn, c->flow_id);
	hive_task_state st = hive_proj_task_state(t);
	int rc = 0;
	if (!f || hive_proj_flow_state(f) != HIVE_FLOW_RUNNING ||
	    (st != HIVE_TASK_READY && st != HIVE_TASK_RETRY) ||
	    (int)json_integer_value(json_object_get(t, "attempts")) + 1 != p->number) {
		rc = HIVE_ECONFLICT; /* changed since the pick (a person acted): skip it */
		goto out;
	}
	/* A probe's circuit_half_opened comes first, so the task's own events
	 * keep the order SPEC section 6 promises (retry->running,
	 * retry_context_assembled, attempt_started, ...).  Not for a start that
	 * fails while preparing: no probe would ever run to decide the circuit. */
	const char *adapter = hive_json_str(json_object_get(t, "runtime"), "adapter");
	if (!p->fail_reason && adapter && (rc = hive_circuit_note_start(txn, t, p->attempt_id.s, c->now_ms)))
		goto out;
	char reason[64];
	snprintf(reason, sizeof reason, "attempt %d", p->number);
	if ((rc = hive_emit_task_state(txn, t, HIVE_TASK_RUNNING, p->fail_reason ? "preparing the worktree" : reason)))
		goto out;
	if (p->fail_reason) {
		json_object_set_new(t, "state", json_string("running"));
		rc = hive_emit_task_state(txn, t, HIVE_TASK_FAILED, p->fail_reason);
		goto out;
	}
	json_decref(p->context);
	p->context = NULL;
	if (p->number > 1) {
		if ((rc = hive_context_assemble(txn, t, p->number, p->max_attempts, &p->context)))
			goto out;
		rc = hive_emit_for_task(txn, t, HIVE_EV_RETRY_CONTEXT_ASSEMBLED, json_incref(p->context),
					p->attempt_id.s);
		if (rc)
			goto out;
	}
	json_t *pl = hive_json_pack("{s:i,s:i,s:s,s:s,s:s,s:o}", "attempt_number", p->number, "max_attempts",
			       p->max_attempts, "runtime", adapter ? adapter : "exec", "worktree", p->worktree,
			       "base_commit", p->start_commit, "context_sha256",
			       p->context ? json_incref(json_object_get(p->context, "context_sha256")) : json_null());
	if (!hive_json_str(t, "base_commit"))
		json_object_set_new(pl, "task_base_commit", json_string(p->start_commit));
	note_deadline(t, c->now_ms, pl);
	if (p->spare)
		json_object_set(pl, "spare", p->spare);
	char circuit[HIVE_CIRCUIT_KEY_LEN]; /* the circuit its outcome counts for */
	hive_circuit_key(json_object_get(t, "runtime"), circuit);
	json_object_set_new(pl, "circuit", json_string(circuit));
	rc = hive_emit_for_task(txn, t, HIVE_EV_ATTEMPT_STARTED, pl, p->attempt_id.s);
	if (!rc) { /* the task as it starts: a person's `task edit` since the pick applies */
		json_decref(p->task);
		p->task = json_incref(t);
	}
out:
	json_decref(t);
	json_decref(f);
	return rc;
}

typedef struct {
	hive_store *s;
	hive_pick *p;
	const hive_run_opts *o;
	int rc;
} attempt_arg;

static void *attempt_thread(void *arg)
{
	attempt_arg *a = arg;
	a->rc = hive_attempt_run(a->s, a->p, a->o);
	return NULL;
}

/* SPEC section 12: an attempt a full or failing disk stopped (it ended
 * interrupted, uncharged) stops the run with exit 5, saying why. */
static int stop_on_storage_failure(const attempt_arg *args, pick_ctx *pc)
{
	for (int i = 0; i < pc->n; i++)
		if (pc->picks[i].started && args[i].rc == HIVE_ESYSTEM && pc->picks[i].outcome >= 0)
			return hive_error_set(HIVE_ESYSTEM, "task %s: %s; free space, then run the flow again (the "
					      "attempt is retried uncharged)",
					      hive_json_str(pc->picks[i].task, "key"), pc->picks[i].error);
	return 0;
}

static int start_and_run(hive_store *s, flow_info *fi, pick_ctx *pc, const hive_run_opts *o, hive_run_result *r)
{
	pthread_t *th = hive_xcalloc((size_t)pc->n, sizeof *th);
	attempt_arg *args = hive_xcalloc((size_t)pc->n, sizeof *args);
	int rc = 0;
	for (int i = 0; i < pc->n && !rc; i++) {
		hive_pick *p = &pc->picks[i];
		if ((rc = prepare_worktree(s, p, fi->id.s, fi->name)))
			break;
		start_ctx sc = {p, fi->id.s, pc->now_ms};
		int src = hive_store_write(s, start_txn, &sc);
		if (src == HIVE_ECONFLICT || (src == 0 && p->fail_reason)) {
			if (src == 0 && p->fail_reason) {
				say(o, "task %s failed: %s", hive_json_str(p->task, "key"), p->fail_reason);
				r->attempts_failed++;
				r->tasks_changed++;
			}
			continue;
		}
		if ((rc = src))
			break;
		p->started = 1;
		r->attempts_started++;
		hive_run_note n = {.kind = HIVE_RUN_NOTE_STARTED, .task_key = hive_json_str(p->task, "key"),
				   .attempt_id = p->attempt_id.s, .number = p->number, .max_attempts = p->max_attempts};
		note(o, &n, "task %s: attempt %d of %d started%s", n.task_key, p->number, p->max_attempts,
		     p->context ? " with a retry context" : "");
		args[i] = (attempt_arg){s, p, o, 0};
		if (pthread_create(&th[i], NULL, attempt_thread, &args[i]) != 0) {
			attempt_thread(&args[i]);
			p->started = 2; /* ran inline, nothing to join */
		}
	}
	for (int i = 0; i < pc->n; i++) {
		hive_pick *p = &pc->picks[i];
		if (p->started == 1)
			pthread_join(th[i], NULL);
		if (!p->started)
			continue;
		hive_run_note n = {.kind = HIVE_RUN_NOTE_ENDED, .task_key = hive_json_str(p->task, "key"),
				   .attempt_id = p->attempt_id.s, .number = p->number, .max_attempts = p->max_attempts,
				   .outcome = p->outcome < 0 ? NULL : hive_outcome_name((hive_outcome)p->outcome),
				   .error = p->error};
		if (p->outcome < 0)
			fi->orphans_checked = 0; /* still running in the log: the next tick records it */
		if (p->outcome < 0)
			note(o, &n, "task %s: attempt %d stopped without an outcome: %s", n.task_key, p->number,
			     p->error ? p->error : "unknown error");
		else
			note(o, &n, "task %s: attempt %d ended %s%s%s", n.task_key, p->number, n.outcome,
			     p->error ? ": " : "", p->error ? p->error : "");
		/* a person's abort is not the work failing */
		if (p->outcome != HIVE_OUTCOME_SUCCESS && p->outcome != HIVE_OUTCOME_ABORTED)
			r->attempts_failed++;
	}
	if (!rc)
		rc = stop_on_storage_failure(args, pc);
	free(th);
	free(args);
	return rc;
}

/* ---- tick and run ------------------------------------------------------------------ */

typedef struct {
	const char *flow_id;
} pass_ctx;

static int pass_txn(hive_txn *txn, void *vctx)
{
	return hive_schedule_pass(txn, ((pass_ctx *)vctx)->flow_id, NULL);
}

/* Worktrees of the tick's tasks that succeeded, or all when the flow
 * ended (core/lifecycle.h).  Up to the run's parallelism + 1 of them are
 * kept as spares, so the next tick's tasks adopt one instead of a fresh
 * checkout (each tick starts at most max_parallel).  A worktree git
 * cannot remove stays for a later tick or `hive gc`: that is said, not a
 * failed run. */
static void release_worktrees(hive_store *s, flow_info *fi, pick_ctx *pc, const hive_run_opts *o)
{
	const char **ids = hive_xcalloc((size_t)pc->n + 1, sizeof *ids);
	for (int i = 0; i < pc->n; i++)
		ids[i] = pc->picks[i].task_id.s;
	int released = 0;
	int spares = (o->max_parallel > 0 ? o->max_parallel : 1) + 1;
	if (hive_lifecycle_release_keep(s, fi->id.s, ids, (size_t)pc->n, spares, &released))
		say(o, "flow %s: a worktree was kept: %s", fi->name, hive_error_last());
	else if (released)
		say(o, "flow %s: %d worktree%s released", fi->name, released, released == 1 ? "" : "s");
	free(ids);
}

static int tick_locked(hive_store *s, flow_info *fi, const hive_run_opts *o, hive_run_result *r)
{
	/* recovery reads every task of the flow: once per run, not per tick */
	int rc = fi->orphans_checked ? 0 : recover(s, fi->id.s, o, r);
	if (!rc)
		fi->orphans_checked = 1;
	pass_ctx pass = {fi->id.s};
	uint64_t seq = 0;
	if (!rc && fi->passed_at)
		rc = hive_store_last_seq(s, &seq);
	if (!rc && !(fi->passed_at && seq == fi->passed_at)) /* else nothing happened since the last pass */
		rc = hive_store_write(s, pass_txn, &pass);
	pick_ctx pc = {.flow_id = fi->id.s, .flow_name = fi->name, .repo = fi->repo ? fi->repo : "", .s = s,
		       .max = o->max_parallel > 0 ? o->max_parallel : 1, .now_ms = hive_time_now_ms()};
	pc.picks = hive_xcalloc((size_t)pc.max, sizeof *pc.picks);
	if (!rc)
		rc = hive_store_read(s, pick_txn, &pc);
	if (!rc)
		rc = start_and_run(s, fi, &pc, o, r);
	if (!rc)
		rc = hive_store_write(s, pass_txn, &pass);
	if (!rc)
		release_worktrees(s, fi, &pc, o);
	/* release_worktrees changes no task's state, so the pass still holds */
	if (!rc && hive_store_last_seq(s, &seq) == 0)
		fi->passed_at = seq;
	r->next_due_ms = pc.next_due_ms;
	if (pc.next_due_ms) {
		r->due_for = pc.due_for;
		snprintf(r->due_what, sizeof r->due_what, "%s", pc.due_what);
		r->due_since_ms = pc.due_since_ms;
	}
	for (int i = 0; i < pc.n; i++)
		hive_pick_dispose(&pc.picks[i]);
	free(pc.picks);
	if (!rc)
		rc = hive_store_read(s, flow_info_txn, fi);
	snprintf(r->flow_state, sizeof r->flow_state, "%s", fi->state);
	/* a long run would otherwise keep every page of the log it ever read
	 * resident (peak RSS grew with the log: 23 MB at 1000 tasks) */
	hive_store_trim(s);
	return rc;
}

static int with_lock(hive_store *s, const char *ref, const char *what, flow_info *fi, int *fd)
{
	fi->ref = ref;
	size_t limit;
	int rc = hive_capture_limit("HIVE_MAX_OUTPUT_BYTES", 0, &limit);
	if (!rc)
		rc = hive_capture_limit("HIVE_MAX_DIFF_BYTES", 0, &limit);
	if (!rc)
		rc = hive_store_read(s, flow_info_txn, fi);
	if (rc)
		return rc;
	if (strcmp(fi->state, "created") == 0)
		return hive_error_set(HIVE_ECONFLICT, "flow %s has not been started; run hive flow start %s first",
				      fi->name, fi->name);
	return hive_lock_acquire(s, fi->id.s, fi->name, what, fd);
}

int hive_flow_tick(hive_store *s, const char *ref, const hive_run_opts *o, hive_run_result *r)
{
	memset(r, 0, sizeof *r);
	flow_info fi = {0};
	int fd = -1;
	int rc = with_lock(s, ref, "tick", &fi, &fd);
	if (!rc && strcmp(fi.state, "aborted") == 0) /* as flow run says (exit 4) */
		rc = hive_error_set(HIVE_ECONFLICT, "flow %s was aborted; it does not run again", fi.name);
	if (!rc)
		rc = tick_locked(s, &fi, o, r);
	hive_lock_release(fd);
	free(fi.repo);
	if (!rc && r->attempts_failed)
		rc = hive_error_set(HIVE_EFAILED, "flow %s: %d attempt%s failed in this tick (flow is %s)", fi.name,
				    r->attempts_failed, r->attempts_failed == 1 ? "" : "s", r->flow_state);
	return rc;
}

/* "waiting: retry of fix in 3s" / "waiting: circuit exec open for 42s":
 * what the wait is for and how long, relative (a person reads it now). */
static void say_waiting(const hive_run_opts *o, const hive_run_result *step)
{
	char left[40];
	int64_t ms = step->next_due_ms - hive_time_now_ms();
	hive_duration_format(ms > 0 ? (ms + 999) / 1000 * 1000 : 0, left, sizeof left); /* whole seconds */
	hive_run_note n = {.kind = HIVE_RUN_NOTE_WAITING, .due_ms = step->next_due_ms,
			   .waiting_for = step->due_for ? step->due_for : "retry", .what = step->due_what,
			   .since_ms = step->due_since_ms};
	if (strcmp(n.waiting_for, "circuit") == 0)
		note(o, &n, "waiting: circuit %s open for %s more", n.what, left);
	else
		note(o, &n, "waiting: retry of %s in %s", n.what, left);
}

int hive_flow_run(hive_store *s, const char *ref, const hive_run_opts *o, hive_run_result *r)
{
	memset(r, 0, sizeof *r);
	flow_info fi = {0};
	int fd = -1;
	int rc = with_lock(s, ref, "run", &fi, &fd);
	int64_t said_due = 0;
	while (!rc && strcmp(fi.state, "running") == 0 && !(o->stop && *o->stop)) {
		hive_run_result step = {0};
		uint64_t seen = 0; /* before the tick: a steering event during it still wakes the wait */
		rc = hive_wake_mark(s, &seen);
		if (!rc)
			rc = tick_locked(s, &fi, o, &step);
		r->attempts_started += step.attempts_started;
		r->attempts_failed += step.attempts_failed;
		r->tasks_changed += step.tasks_changed;
		r->next_due_ms = step.next_due_ms;
		if (rc || strcmp(fi.state, "running") != 0)
			break;
		if (step.tasks_changed) {
			continue; /* progress without an attempt: tick again at once */
		} else if (step.attempts_started == 0 && step.next_due_ms) {
			if (step.next_due_ms != said_due)
				say_waiting(o, &step);
			said_due = step.next_due_ms;
			/* any event for the flow (abort, pause, task retry) ends the wait: tick again */
			int woke = hive_wake_wait(s, fi.id.s, seen, step.next_due_ms, o->stop);
			rc = woke < 0 ? woke : 0;
		} else if (step.attempts_started == 0) {
			rc = hive_error_set(HIVE_ESYSTEM, "flow %s is running but nothing can start or wait; run hive flow status %s",
					    fi.name, fi.name);
		}
	}
	hive_lock_release(fd);
	snprintf(r->flow_state, sizeof r->flow_state, "%s", fi.state);
	if (!rc && o->stop && *o->stop && strcmp(fi.state, "running") == 0)
		rc = hive_error_set(HIVE_EFAILED, "flow %s: stopped by a signal; it is still running — hive flow run %s continues it",
				    fi.name, fi.name);
	else if (!rc && strcmp(fi.state, "failed") == 0)
		rc = hive_error_set(HIVE_EFAILED, "flow %s failed; see hive flow status %s", fi.name, fi.name);
	else if (!rc && strcmp(fi.state, "paused") == 0)
		rc = hive_error_set(HIVE_ECONFLICT, "flow %s is paused; hive flow resume %s, then run it again",
				    fi.name, fi.name);
	else if (!rc && strcmp(fi.state, "aborted") == 0)
		rc = hive_error_set(HIVE_ECONFLICT, "flow %s was aborted; it does not run again", fi.name);
	free(fi.repo);
	return rc;
}
