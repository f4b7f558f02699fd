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
 * Each scenario is a table row: tasks with their dependencies and the
 * state they are put in (through legal task_state_changed events on a real
 * store), then one pass, then the expected states, blocked reasons and
 * flow state.
 */
#include "engine.h"

#include "core/schedule.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test_setup_teardown(test_chain_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_ready_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_unblocked_after_retry, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_not_running_is_left_alone, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_abort_tasks, eng_setup, eng_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
