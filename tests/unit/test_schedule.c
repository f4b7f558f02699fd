/*
 * test_schedule.c - the scheduling pass (hive_schedule_pass, SPEC section 2):
 * readiness, blocking chains and the end of a flow.
 *
 * What it protects: a task is made ready exactly when every dependency
 * succeeded; a task whose dependency ended failed/escalated/aborted is
 * reported blocked with the reason, and blocking propagates along a chain
 * whatever the order of the flow's tasks; the flow ends failed (with a
 * reason naming the tasks) once nothing can run, completed when all
 * succeeded, and stays running while anything is active; a second pass
 * emits nothing new; a flow that is not running is left alone.
 *
 * The pass reads the flow's scheduling index (core/flowindex.h) instead of
 * every task; test_same_as_full_sweep runs random DAGs through it and
 * through the sweep over every task it replaced (kept below as the
 * reference) and requires the same events, and the index to equal a
 * replay of the log.
 *
 * Each scenario is a table row: tasks with their dependencies and the
 * state they are put in (through legal task_state_changed events on a real
 * store), then one pass, then the expected states, blocked reasons and
 * flow state.
 */
#include "engine.h"

#include <lmdb.h>

#include "core/emit.h"
#include "core/flowindex.h"
#include "core/rng.h"
#include "core/schedule.h"
#include "core/state.h"
#include "core/upgrade.h"
#include "events/buf.h"
#include "events/json.h"

#define FLOW "c0000000-0000-7000-8000-000000000001"

typedef struct {
	const char *key;
	const char *deps;         /* keys, space separated */
	const char *state;        /* put in this state before the pass */
	const char *want_state;   /* after the pass */
	const char *want_blocked; /* blocked_reason after the pass; NULL = none */
} tdef;

typedef struct {
	const char *name;
	tdef t[6];
	const char *flow_state;  /* after the pass */
	const char *flow_reason; /* NULL = none */
} scenario;

static const scenario scenarios[] = {
	{"first pass: roots become ready, dependants wait",
	 {{"a", "", "pending", "ready", NULL}, {"b", "a", "pending", "pending", NULL}, {"c", "b", "pending", "pending", NULL}},
	 "running", NULL},
	{"chain a->b->c, a failed: b and c blocked, flow failed",
	 {{"a", "", "failed", "failed", NULL},
	  {"b", "a", "pending", "pending", "dependency a ended failed"},
	  {"c", "b", "pending", "pending", "dependency b is blocked"}},
	 "failed", "a failed; b blocked; c blocked"},
	{"the same chain listed backwards still blocks all the way",
	 {{"c", "b", "pending", "pending", "dependency b is blocked"},
	  {"b", "a", "pending", "pending", "dependency a ended failed"},
	  {"a", "", "failed", "failed", NULL}},
	 "failed", "c blocked; b blocked; a failed"},
	{"escalated and aborted dependencies block too",
	 {{"a", "", "escalated", "escalated", NULL}, {"b", "a", "pending", "pending", "dependency a ended escalated"},
	  {"x", "", "aborted", "aborted", NULL}, {"y", "x", "pending", "pending", "dependency x ended aborted"}},
	 "failed", "a escalated; b blocked; x aborted; y blocked"},
	{"diamond: a succeeded, b and c ready, d waits unblocked",
	 {{"a", "", "success", "success", NULL}, {"b", "a", "pending", "ready", NULL}, {"c", "a", "pending", "ready", NULL},
	  {"d", "b c", "pending", "pending", NULL}},
	 "running", NULL},
	{"diamond: one side escalated blocks the join",
	 {{"a", "", "success", "success", NULL}, {"b", "a", "success", "success", NULL},
	  {"c", "a", "escalated", "escalated", NULL}, {"d", "b c", "pending", "pending", "dependency c ended escalated"}},
	 "failed", "c escalated; d blocked"},
	{"diamond: both sides succeeded, the join is ready",
	 {{"a", "", "success", "success", NULL}, {"b", "a", "success", "success", NULL},
	  {"c", "a", "success", "success", NULL}, {"d", "b c", "pending", "ready", NULL}},
	 "running", NULL},
	{"a blocked task while another still runs: the flow goes on",
	 {{"a", "", "failed", "failed", NULL}, {"b", "a", "pending", "pending", "dependency a ended failed"},
	  {"x", "", "running", "running", NULL}},
	 "running", NULL},
	{"a task waiting for its retry keeps the flow running",
	 {{"a", "", "retry", "retry", NULL}, {"b", "a", "pending", "pending", NULL}},
	 "running", NULL},
	{"every task succeeded: completed",
	 {{"a", "", "success", "success", NULL}, {"b", "a", "success", "success", NULL}},
	 "completed", NULL},
	{"a failed task alone: the flow fails, naming it",
	 {{"a", "", "failed", "failed", NULL}},
	 "failed", "a failed"},
};

/* The legal path from pending to each state a scenario uses. */
static void put_state(eng *e, const char *task, const char *st)
{
	static const struct {
		const char *state;
		const char *path[5];
	} paths[] = {
		{"pending", {NULL}},
		{"ready", {"ready", NULL}},
		{"running", {"ready", "running", NULL}},
		{"retry", {"ready", "running", "retry", NULL}},
		{"success", {"ready", "running", "verifying", "success", NULL}},
		{"failed", {"ready", "running", "failed", NULL}},
		{"escalated", {"ready", "running", "failed", "escalated", NULL}},
		{"aborted", {"aborted", NULL}},
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		if (strcmp(paths[i].state, st) != 0)
			continue;
		for (size_t j = 0; paths[i].path[j]; j++)
			eng_move(e, FLOW, task, paths[i].path[j], (const char *)NULL);
		return;
	}
	fail_msg("no path to %s", st);
}

typedef struct {
	const char *flow;
	int ended;
} pass_ctx;

static int pass_fn(hive_txn *txn, void *vctx)
{
	pass_ctx *c = vctx;
	return hive_schedule_pass(txn, c->flow, &c->ended);
}

static int pass(eng *e, int *ended)
{
	pass_ctx c = {FLOW, -1};
	int rc = hive_store_write(e->s, pass_fn, &c);
	*ended = c.ended;
	return rc;
}

static int key_index(const scenario *sc, const char *key)
{
	for (int i = 0; i < 6 && sc->t[i].key; i++)
		if (strcmp(sc->t[i].key, key) == 0)
			return i;
	fail_msg("%s: unknown key %s", sc->name, key);
	return -1;
}

/* Create the scenario's tasks (ids d...1, d...2, ... in table order), the
 * flow, start it and put each task in its state. */
static void build(eng *e, const scenario *sc, char ids[6][HIVE_ID_LEN + 1])
{
	eng_project(e, "p");
	int n = 0;
	while (n < 6 && sc->t[n].key)
		n++;
	for (int i = 0; i < n; i++)
		snprintf(ids[i], HIVE_ID_LEN + 1, "%s", eng_id('d', (unsigned)i + 1));
	const char *list[7] = {0};
	for (int i = 0; i < n; i++) {
		const char *deps[6] = {0};
		char buf[64];
		snprintf(buf, sizeof buf, "%s", sc->t[i].deps);
		int nd = 0;
		for (char *save = NULL, *k = strtok_r(buf, " ", &save); k; k = strtok_r(NULL, " ", &save))
			deps[nd++] = ids[key_index(sc, k)];
		eng_task(e, ids[i], sc->t[i].key, deps, NULL);
		list[i] = ids[i];
	}
	eng_flow(e, FLOW, "f", list, NULL);
	eng_flow_start(e, FLOW);
	for (int i = 0; i < n; i++)
		put_state(e, ids[i], sc->t[i].state);
}

static void check(eng *e, const scenario *sc, char ids[6][HIVE_ID_LEN + 1])
{
	for (int i = 0; i < 6 && sc->t[i].key; i++) {
		json_t *t = eng_get(e, "task/%s", ids[i]);
		const char *blocked = json_string_value(json_object_get(t, "blocked_reason"));
		if (strcmp(eng_str(t, "state"), sc->t[i].want_state) != 0)
			fail_msg("%s: task %s is %s, expected %s", sc->name, sc->t[i].key, eng_str(t, "state"),
				 sc->t[i].want_state);
		if (!sc->t[i].want_blocked != !blocked ||
		    (blocked && strcmp(blocked, sc->t[i].want_blocked) != 0))
			fail_msg("%s: task %s blocked_reason \"%s\", expected \"%s\"", sc->name, sc->t[i].key,
				 blocked ? blocked : "(none)", sc->t[i].want_blocked ? sc->t[i].want_blocked : "(none)");
		json_decref(t);
	}
	json_t *f = eng_get(e, "flow/%s", FLOW);
	const char *reason = json_string_value(json_object_get(f, "reason"));
	if (strcmp(eng_str(f, "state"), sc->flow_state) != 0)
		fail_msg("%s: flow is %s, expected %s", sc->name, eng_str(f, "state"), sc->flow_state);
	if (!sc->flow_reason != !reason || (reason && strcmp(reason, sc->flow_reason) != 0))
		fail_msg("%s: flow reason \"%s\", expected \"%s\"", sc->name, reason ? reason : "(none)",
			 sc->flow_reason ? sc->flow_reason : "(none)");
	json_decref(f);
}

static void test_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const scenario *sc = &scenarios[i];
		eng e;
		eng_open(&e);
		char ids[6][HIVE_ID_LEN + 1];
		build(&e, sc, ids);
		int ended;
		assert_int_equal(pass(&e, &ended), 0);
		check(&e, sc, ids);
		int want_ended = strcmp(sc->flow_state, "running") != 0;
		if (ended != want_ended)
			fail_msg("%s: ended=%d, expected %d", sc->name, ended, want_ended);
		/* a second pass finds nothing new to say */
		uint64_t seq = eng_last_seq(&e);
		assert_int_equal(pass(&e, &ended), 0);
		assert_int_equal(ended, 0);
		char got[512];
		if (eng_last_seq(&e) != seq)
			fail_msg("%s: a second pass emitted %s", sc->name, eng_types_after(&e, seq, NULL, got, sizeof got));
		check(&e, sc, ids);
		eng_close(&e);
	}
}

/* The exact events of one pass over the chain: a blocked note per task,
 * then the flow's end, all in one transaction. */
static void test_chain_events(void **state)
{
	eng *e = *state;
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &scenarios[1], ids);
	uint64_t seq = eng_last_seq(e);
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	char got[512];
	assert_string_equal(eng_types_after(e, seq, "reason", got, sizeof got),
			    "task_blocked:dependency a ended failed task_blocked:dependency b is blocked "
			    "flow_failed:a failed; b blocked; c blocked");
}

/* Readiness is announced as a state change and a task_ready note. */
static void test_ready_events(void **state)
{
	eng *e = *state;
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &scenarios[4], ids);
	uint64_t seq = eng_last_seq(e);
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	char got[512];
	assert_string_equal(eng_types_after(e, seq, "to", got, sizeof got),
			    "task_state_changed:ready task_ready task_state_changed:ready task_ready");
}

/* Once the failed root is retried by a person (failed -> pending), the
 * blocked chain is no longer reported failed: the root becomes ready and
 * the flow runs again. */
static void test_unblocked_after_retry(void **state)
{
	eng *e = *state;
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &scenarios[7], ids); /* a failed, b blocked, x running */
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	eng_move(e, FLOW, ids[0], "pending", (const char *)NULL);
	assert_int_equal(pass(e, &ended), 0);
	json_t *a = eng_get(e, "task/%s", ids[0]);
	assert_string_equal(eng_str(a, "state"), "ready");
	json_decref(a);
	json_t *f = eng_get(e, "flow/%s", FLOW);
	assert_string_equal(eng_str(f, "state"), "running");
	json_decref(f);
}

/* Only a running flow is scheduled: created and paused flows are left alone. */
static void test_not_running_is_left_alone(void **state)
{
	eng *e = *state;
	const char *t1 = "d0000000-0000-7000-8000-000000000001";
	eng_project(e, "p");
	eng_task(e, t1, "a", NULL, NULL);
	const char *list[] = {t1, NULL};
	eng_flow(e, FLOW, "f", list, NULL);
	uint64_t seq = eng_last_seq(e);
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	assert_int_equal(ended, 0);
	assert_int_equal(eng_last_seq(e), seq);
	eng_flow_start(e, FLOW);
	assert_int_equal(eng_emits(e, HIVE_EV_FLOW_PAUSED, FLOW, NULL, NULL, "{}"), 0);
	seq = eng_last_seq(e);
	assert_int_equal(pass(e, &ended), 0);
	assert_int_equal(eng_last_seq(e), seq);
	/* an unknown flow is an error, not a silent no-op */
	pass_ctx c = {"c0000000-0000-7000-8000-0000000000ff", 0};
	assert_int_equal(hive_store_write(e->s, pass_fn, &c), HIVE_ENOTFOUND);
}

typedef struct {
	hive_kill_list kill;
} abort_ctx;

static int abort_fn(hive_txn *txn, void *vctx)
{
	abort_ctx *c = vctx;
	json_t *f = hive_proj_flow(txn, FLOW);
	int rc = hive_schedule_abort_tasks(txn, f, "stop it", &c->kill);
	json_decref(f);
	return rc;
}

/* Aborting a flow's tasks: every task that has not ended becomes aborted
 * with the reason, a running attempt ends with outcome aborted and is
 * handed to the kill list (the implicit budget counts it, as it counts
 * every attempt started; the circuit does not); tasks that ended are left
 * alone. */
static void test_abort_tasks(void **state)
{
	eng *e = *state;
	/* only the tasks and their states are used here */
	static const scenario sc = {"abort", {{"done", "", "success", NULL, NULL}, {"run", "", "running", NULL, NULL},
					      {"wait", "done", "pending", NULL, NULL}, {"gone", "", "failed", NULL, NULL}},
				    "running", NULL};
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &sc, ids);
	const char *att = "a0000000-0000-7000-8000-000000000001";
	eng_attempt(e, FLOW, ids[1], att, 1);
	uint64_t seq = eng_last_seq(e);
	abort_ctx c = {{0}};
	assert_int_equal(hive_store_write(e->s, abort_fn, &c), 0);
	assert_int_equal(c.kill.n, 1);
	assert_string_equal(c.kill.ids[0], att);
	hive_kill_list_dispose(&c.kill);
	char got[512];
	assert_string_equal(eng_types_after(e, seq, "to", got, sizeof got),
			    "attempt_completed task_aborted task_state_changed:aborted "
			    "task_aborted task_state_changed:aborted");
	static const char *const want[] = {"success", "aborted", "aborted", "failed"};
	for (int i = 0; i < 4; i++) {
		json_t *t = eng_get(e, "task/%s", ids[i]);
		assert_string_equal(eng_str(t, "state"), want[i]);
		if (i == 1 || i == 2)
			assert_string_equal(eng_str(t, "reason"), "stop it");
		json_decref(t);
	}
	json_t *a = eng_get(e, "attempt/%s", att);
	assert_string_equal(eng_str(a, "outcome"), "aborted");
	assert_string_equal(eng_str(a, "summary"), "stop it");
	json_decref(a);
	json_t *t = eng_get(e, "task/%s", ids[1]);
	eng_expect(t, "task", "budget_used", "[1]");
	eng_expect(t, "task", "running_attempt", "null");
	json_decref(t);
	assert_null(eng_get(e, "circuit/%s/exec", FLOW));
	/* a second abort finds nothing left to do */
	seq = eng_last_seq(e);
	abort_ctx again = {{0}};
	assert_int_equal(hive_store_write(e->s, abort_fn, &again), 0);
	assert_int_equal(again.kill.n, 0);
	assert_int_equal(eng_last_seq(e), seq);
	hive_kill_list_dispose(&again.kill);
}

static int verify_fn(hive_txn *txn, void *vctx)
{
	uint64_t *problems = vctx, events;
	return hive_projection_verify(txn, NULL, NULL, &events, problems);
}

static void verify_clean(eng *e, const char *what)
{
	uint64_t problems = 0;
	int rc = hive_store_read(e->s, verify_fn, &problems);
	if (rc || problems)
		fail_msg("%s: events verify: rc %d, %llu problems", what, rc, (unsigned long long)problems);
}

/* Set the store's schema_version (the store closed), as an older hive left it. */
static void set_schema(const char *dir, const char *version)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	MDB_val k = {14, "schema_version"}, v = {strlen(version), (void *)version};
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* ---- the reference: the pass as it was, a sweep over every task ---------- */

static int ref_dead(hive_task_state st)
{
	return st == HIVE_TASK_FAILED || st == HIVE_TASK_ESCALATED || st == HIVE_TASK_ABORTED;
}

static void ref_dep_status(hive_txn *txn, const json_t *task, hive_buf *why, int *all_done)
{
	json_t *d;
	size_t i;
	*all_done = 1;
	json_array_foreach(json_object_get(task, "depends_on"), i, d) {
		json_t *dep = hive_proj_task(txn, json_string_value(d));
		hive_task_state st = hive_proj_task_state(dep);
		if (st != HIVE_TASK_SUCCESS)
			*all_done = 0;
		if (dep && ref_dead(st) && !why->len)
			hive_buf_printf(why, "dependency %s ended %s", hive_json_str(dep, "key"), hive_task_state_name(st));
		else if (dep && st == HIVE_TASK_PENDING && hive_json_str(dep, "blocked_reason") && !why->len)
			hive_buf_printf(why, "dependency %s is blocked", hive_json_str(dep, "key"));
		json_decref(dep);
	}
}

static int ref_sweep(hive_txn *txn, json_t *ids, int *changed, int *active, int *all_success)
{
	size_t i;
	json_t *id;
	*active = 0;
	*all_success = 1;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		hive_task_state st = hive_proj_task_state(t);
		int rc = 0;
		if (st != HIVE_TASK_SUCCESS)
			*all_success = 0;
		if (st == HIVE_TASK_PENDING) {
			hive_buf why = {0};
			int done;
			ref_dep_status(txn, t, &why, &done);
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

static int ref_pass(hive_txn *txn, const char *flow_id)
{
	json_t *flow = hive_proj_flow(txn, flow_id);
	int rc = 0;
	if (hive_proj_flow_state(flow) != HIVE_FLOW_RUNNING)
		goto out;
	json_t *ids = json_object_get(flow, "task_ids");
	int changed, active = 0, all_success = 0;
	size_t rounds = 0;
	do {
		changed = 0;
		rc = ref_sweep(txn, ids, &changed, &active, &all_success);
	} while (!rc && changed && ++rounds <= json_array_size(ids) + 1);
	if (rc)
		goto out;
	if (all_success) {
		rc = hive_emit_for_flow(txn, flow, HIVE_EV_FLOW_COMPLETED, json_object());
	} else if (active == 0) {
		hive_buf why = {0};
		json_t *id;
		size_t i;
		json_array_foreach(ids, i, id) {
			json_t *t = hive_proj_task(txn, json_string_value(id));
			hive_task_state st = hive_proj_task_state(t);
			if (ref_dead(st) || (st == HIVE_TASK_PENDING && hive_json_str(t, "blocked_reason")))
				hive_buf_printf(&why, "%s%s %s", why.len ? "; " : "", hive_json_str(t, "key"),
						st == HIVE_TASK_PENDING ? "blocked" : hive_task_state_name(st));
			json_decref(t);
		}
		rc = hive_emit_for_flow(txn, flow, HIVE_EV_FLOW_FAILED,
					hive_json_pack("{s:s}", "reason", why.len ? why.data : "no task can run"));
		hive_buf_dispose(&why);
	}
out:
	json_decref(flow);
	return rc;
}

/* What a pass emitted after seq, one "type task reason/to" line each. */
typedef struct {
	hive_buf *out;
} said_ctx;

static int said_one(uint64_t seq, hive_slice raw, void *vctx)
{
	(void)seq;
	said_ctx *c = vctx;
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev) != 0)
		return 0;
	const char *reason = json_string_value(json_object_get(ev.payload, "reason"));
	const char *to = json_string_value(json_object_get(ev.payload, "to"));
	hive_buf_printf(c->out, "%s %s %s %s\n", ev.type_name, ev.task_id, reason ? reason : "", to ? to : "");
	hive_event_dispose(&ev);
	return 0;
}

typedef struct {
	const char *flow;
	uint64_t after;
	hive_buf said;
	int reference; /* 1: the reference pass, then abort */
} cmp_ctx;

static int cmp_fn(hive_txn *txn, void *vctx)
{
	cmp_ctx *c = vctx;
	int rc = c->reference ? ref_pass(txn, c->flow) : hive_schedule_pass(txn, c->flow, NULL);
	hive_event_filter f = {.after = c->after};
	said_ctx sc = {&c->said};
	if (!rc)
		rc = hive_txn_scan(txn, &f, said_one, &sc);
	return rc ? rc : c->reference ? HIVE_ECONFLICT : 0; /* the reference writes nothing */
}

static void open_relaxed(eng *e)
{
	hive_store_opts o = HIVE_STORE_OPTS_INIT;
	o.durability = HIVE_RELAXED; /* hundreds of small transactions */
	e->dir = tu_tmpdir();
	assert_int_equal(hive_store_open(e->dir, &o, &e->s), 0);
}

#define RN 10 /* tasks per random flow */

/* Random legal moves of a few tasks, as runs and people make them. */
static void shake(eng *e, hive_rng *r, char ids[RN][HIVE_ID_LEN + 1], int n)
{
	static const char *const to[] = {"ready", "running", "verifying", "success", "retry", "failed",
					 "escalated", "pending", "aborted"};
	for (int i = 0; i < n; i++) {
		if (hive_rng_below(r, 3) != 0)
			continue;
		json_t *t = eng_get(e, "task/%s", ids[i]);
		hive_task_state from = hive_proj_task_state(t);
		json_decref(t);
		hive_task_state dest = hive_task_state_parse(to[hive_rng_below(r, 9)]);
		if (hive_task_transition_legal(from, dest) && (dest != HIVE_TASK_SUCCESS || from == HIVE_TASK_VERIFYING))
			eng_move(e, FLOW, ids[i], hive_task_state_name(dest), (const char *)NULL);
	}
}

/* One random flow: tasks depend on earlier ones, listed in a shuffled
 * order, put in random states (some pending ones with a blocked_reason,
 * right or stale); then rounds of: the reference pass (aborted) and the
 * real one must emit the same, then random moves. */
static void random_flow(uint64_t seed)
{
	static const char *const states[] = {"pending", "pending", "pending", "pending", "ready", "running",
					     "retry", "success", "success", "success", "failed", "escalated", "aborted"};
	hive_rng r;
	hive_rng_seed(&r, seed);
	eng e;
	open_relaxed(&e);
	eng_project(&e, "p");
	int n = 1 + (int)hive_rng_below(&r, RN);
	char ids[RN][HIVE_ID_LEN + 1], key[RN][16]; /* "k" and any int: gcc -O1 checks */
	const char *order[RN + 1] = {0};
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], sizeof ids[i], "%s", eng_id('d', (unsigned)i + 1));
		snprintf(key[i], sizeof key[i], "k%d", i);
		const char *deps[RN + 1] = {0};
		int nd = 0;
		for (int j = 0; j < i; j++)
			if (hive_rng_below(&r, 3) == 0)
				deps[nd++] = ids[j];
		eng_task(&e, ids[i], key[i], deps, NULL);
		order[i] = ids[i];
	}
	for (int i = n - 1; i > 0; i--) { /* the flow's order: shuffled */
		int j = (int)hive_rng_below(&r, (uint64_t)i + 1);
		const char *x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	eng_flow(&e, FLOW, "f", order, NULL);
	eng_flow_start(&e, FLOW);
	for (int i = 0; i < n; i++) {
		put_state(&e, ids[i], states[hive_rng_below(&r, 13)]);
		json_t *t = eng_get(&e, "task/%s", ids[i]);
		int pending = strcmp(eng_str(t, "state"), "pending") == 0;
		json_decref(t);
		if (pending && i > 0 && hive_rng_below(&r, 3) == 0) {
			char p[96];
			snprintf(p, sizeof p, "{\"reason\":\"dependency k%d %s\"}", (int)hive_rng_below(&r, (uint64_t)i),
				 hive_rng_below(&r, 2) ? "is blocked" : "ended failed");
			assert_int_equal(eng_emits(&e, HIVE_EV_TASK_BLOCKED, FLOW, ids[i], NULL, p), 0);
		}
	}
	for (int round = 0; round < 4; round++) {
		cmp_ctx want = {FLOW, eng_last_seq(&e), {0}, 1}, got = {FLOW, eng_last_seq(&e), {0}, 0};
		assert_int_equal(hive_store_write(e.s, cmp_fn, &want), HIVE_ECONFLICT);
		assert_int_equal(hive_store_write(e.s, cmp_fn, &got), 0);
		if (strcmp(hive_buf_str(&want.said), hive_buf_str(&got.said)) != 0)
			fail_msg("seed %llu round %d: the pass emitted\n%sthe sweep over every task\n%s",
				 (unsigned long long)seed, round, hive_buf_str(&got.said), hive_buf_str(&want.said));
		hive_buf_dispose(&want.said);
		hive_buf_dispose(&got.said);
		json_t *f = eng_get(&e, "flow/%s", FLOW);
		int failed = strcmp(eng_str(f, "state"), "failed") == 0, completed = strcmp(eng_str(f, "state"), "completed") == 0;
		json_decref(f);
		if (completed)
			break;
		if (failed) /* a person's `task retry` revives it */
			assert_int_equal(eng_emits(&e, HIVE_EV_FLOW_RESUMED, FLOW, NULL, NULL, "{}"), 0);
		shake(&e, &r, ids, n);
	}
	char what[64];
	snprintf(what, sizeof what, "seed %llu", (unsigned long long)seed);
	verify_clean(&e, what);
	eng_close(&e);
}

/* The index-driven pass emits exactly what the sweep over every task
 * emitted (same events, same order, same reasons, same end of the flow)
 * on random DAGs, and the index always equals a replay of the log. */
static void test_same_as_full_sweep(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 60; seed++)
		random_flow(seed);
}

/* A long chain whose root failed: one pass blocks every link, in order,
 * and fails the flow naming them all; the index says so in its counts. */
static void test_long_chain_blocks(void **state)
{
	eng *e = *state;
	enum { N = 40 };
	char ids[N][HIVE_ID_LEN + 1];
	const char *order[N + 1] = {0};
	eng_project(e, "p");
	for (int i = 0; i < N; i++) {
		char key[16]; /* "c" and any int: gcc -O1 checks */
		snprintf(ids[i], sizeof ids[i], "%s", eng_id('d', (unsigned)i + 1));
		snprintf(key, sizeof key, "c%d", i);
		const char *deps[2] = {i ? ids[i - 1] : NULL, NULL};
		eng_task(e, ids[i], key, deps, NULL);
		order[i] = ids[i];
	}
	eng_flow(e, FLOW, "f", order, NULL);
	eng_flow_start(e, FLOW);
	put_state(e, ids[0], "failed");
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	assert_int_equal(ended, 1);
	for (int i = 1; i < N; i++) {
		json_t *t = eng_get(e, "task/%s", ids[i]);
		char want[64];
		if (i == 1)
			snprintf(want, sizeof want, "dependency c0 ended failed");
		else
			snprintf(want, sizeof want, "dependency c%d is blocked", i - 1);
		assert_string_equal(eng_str(t, "blocked_reason"), want);
		json_decref(t);
	}
	json_t *c = eng_get(e, "sched/%s", FLOW);
	eng_expect(c, "sched", "tasks", "40");
	eng_expect(c, "sched", "states.failed", "1");
	eng_expect(c, "sched", "states.pending", "39");
	eng_expect(c, "sched", "pending.blocked", "39");
	eng_expect(c, "sched", "pending.to_block", "0");
	json_decref(c);
	verify_clean(e, "chain");
}

/* The index follows a diamond as it runs: the sets hold exactly the tasks
 * the pass must act on and those that can start, in the flow's order. */
static void test_index_sets(void **state)
{
	eng *e = *state;
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &scenarios[0], ids); /* a, b <- a, c <- b, all pending */
	json_t *c = eng_get(e, "sched/%s", FLOW);
	eng_expect(c, "sched", "pending.to_ready", "1");
	eng_expect(c, "sched", "pending.waiting", "2");
	json_decref(c);
	json_t *act = eng_get(e, "sched/%s/act/0000000000", FLOW);
	eng_expect(act, "act", "id", "\"" "d0000000-0000-7000-8000-000000000001" "\"");
	json_decref(act);
	assert_null(eng_get(e, "sched/%s/act/0000000001", FLOW));
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	assert_null(eng_get(e, "sched/%s/act/0000000000", FLOW)); /* acted on: a is ready */
	json_t *start = eng_get(e, "sched/%s/start/0000000000", FLOW);
	assert_non_null(start);
	json_decref(start);
	eng_move(e, FLOW, ids[0], "running", "verifying", "success", (const char *)NULL);
	assert_null(eng_get(e, "sched/%s/start/0000000000", FLOW));
	act = eng_get(e, "sched/%s/act/0000000001", FLOW); /* b's dependency succeeded */
	assert_non_null(act);
	json_decref(act);
	json_t *rec = eng_get(e, "sched/%s/task/%s", FLOW, ids[0]);
	eng_expect(rec, "record", "dependants", "[\"d0000000-0000-7000-8000-000000000002\"]");
	eng_expect(rec, "record", "state", "\"success\"");
	json_decref(rec);
	verify_clean(e, "diamond");
}

/* A store as schema 2 laid it out: no sched/ keys, the flow's task_ids
 * inside its document, no flowtasks/ key. */
static int to_v2_fn(hive_txn *txn, void *vctx)
{
	json_t *keys = vctx, *k;
	size_t i;
	json_t *flow = hive_proj_flow(txn, FLOW);
	char *bytes = json_dumps(flow, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = hive_txn_put(txn, "flow/" FLOW, bytes, strlen(bytes));
	free(bytes);
	json_decref(flow);
	if (!rc)
		rc = hive_txn_del(txn, "flowtasks/" FLOW);
	json_array_foreach(keys, i, k) {
		if (!rc)
			rc = hive_txn_del(txn, json_string_value(k));
	}
	return rc;
}

static int collect_key(const char *key, size_t klen, hive_slice val, void *vctx)
{
	(void)val;
	json_array_append_new(vctx, json_stringn(key, klen));
	return 0;
}

static int sched_keys_fn(hive_txn *txn, void *vctx)
{
	return hive_txn_scan_prefix(txn, "sched/", collect_key, vctx);
}

/* Opening a store of schema 2 (written before the index existed, task_ids
 * inside the flow document) rebuilds its projections: the index appears,
 * the task list moves to flowtasks/, all equal to a replay, and the pass
 * uses them. */
static void test_v2_store_upgrades(void **state)
{
	eng *e = *state;
	char ids[6][HIVE_ID_LEN + 1];
	build(e, &scenarios[4], ids); /* diamond: a succeeded, b and c can be made ready */
	json_t *keys = json_array();
	assert_int_equal(hive_store_read(e->s, sched_keys_fn, keys), 0);
	assert_true(json_array_size(keys) > 0);
	assert_int_equal(hive_store_write(e->s, to_v2_fn, keys), 0);
	json_decref(keys);
	hive_store_close(e->s);
	e->s = NULL;
	set_schema(e->dir, "2");
	hive_store *plain = NULL;
	assert_int_equal(hive_store_open(e->dir, NULL, &plain), HIVE_ESYSTEM); /* no upgrade offered: refused */
	hive_store_opts o;
	hive_upgrade_opts_init(&o);
	assert_int_equal(hive_store_open(e->dir, &o, &e->s), 0);
	json_t *c = eng_get(e, "sched/%s", FLOW);
	eng_expect(c, "sched", "pending.to_ready", "2");
	json_decref(c);
	json_t *f = eng_get(e, "flow/%s", FLOW);
	assert_null(json_object_get(f, "task_ids")); /* stored apart again */
	json_decref(f);
	f = eng_get(e, "flowtasks/%s", FLOW);
	eng_expect(f, "flowtasks", "task_ids.3", "\"d0000000-0000-7000-8000-000000000004\"");
	json_decref(f);
	verify_clean(e, "upgraded");
	int ended;
	assert_int_equal(pass(e, &ended), 0);
	check(e, &scenarios[4], ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test_setup_teardown(test_chain_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_ready_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_unblocked_after_retry, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_not_running_is_left_alone, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_abort_tasks, eng_setup, eng_teardown),
		cmocka_unit_test(test_same_as_full_sweep),
		cmocka_unit_test_setup_teardown(test_long_chain_blocks, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_index_sets, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_v2_store_upgrades, eng_setup, eng_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
