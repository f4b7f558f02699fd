/*
 * test_state.c - the task and flow state machines of core/state.c
 * (SPEC section 2).
 *
 * What it protects: the whole 9 x 9 table of task transitions, written
 * out here from SPEC section 2 (plus "any state that has not ended may be
 * aborted", docs/architecture.md), so adding or losing one transition
 * fails a test; names round-trip; which states are final and which flow
 * states have ended.
 */
#include "testutil.h"

#include "core/state.h"

/* SPEC section 2, one row per `from`, in enum order:
 *            pending ready running verifying success retry failed escalated aborted */
static const int legal[HIVE_TASK__COUNT][HIVE_TASK__COUNT] = {
	[HIVE_TASK_PENDING]   = {0, 1, 0, 0, 0, 0, 0, 0, 1},
	[HIVE_TASK_READY]     = {0, 0, 1, 0, 0, 0, 0, 0, 1},
	[HIVE_TASK_RUNNING]   = {0, 0, 0, 1, 0, 1, 1, 0, 1},
	[HIVE_TASK_VERIFYING] = {0, 0, 0, 0, 1, 1, 1, 0, 1},
	[HIVE_TASK_SUCCESS]   = {0, 0, 0, 0, 0, 0, 0, 0, 0},
	/* -> success from retry, failed, escalated: `task accept` (SPEC 12) */
	[HIVE_TASK_RETRY]     = {1, 0, 1, 0, 1, 0, 0, 0, 1},
	[HIVE_TASK_FAILED]    = {1, 0, 0, 0, 1, 0, 0, 1, 0},
	[HIVE_TASK_ESCALATED] = {1, 0, 0, 0, 1, 0, 0, 0, 0},
	[HIVE_TASK_ABORTED]   = {1, 0, 0, 0, 0, 0, 0, 0, 0}, /* joining a new flow (SPEC 12) */
};

static void test_transition_table(void **state)
{
	(void)state;
	int n_legal = 0;
	for (int f = 0; f < HIVE_TASK__COUNT; f++)
		for (int t = 0; t < HIVE_TASK__COUNT; t++) {
			int got = hive_task_transition_legal((hive_task_state)f, (hive_task_state)t);
			if (got != legal[f][t])
				fail_msg("%s -> %s: legal=%d, expected %d", hive_task_state_name((hive_task_state)f),
					 hive_task_state_name((hive_task_state)t), got, legal[f][t]);
			n_legal += got;
		}
	assert_int_equal(n_legal, 22);
}

/* Out-of-range states are never legal (a corrupted document cannot slip by). */
static void test_transition_out_of_range(void **state)
{
	(void)state;
	assert_false(hive_task_transition_legal((hive_task_state)-1, HIVE_TASK_READY));
	assert_false(hive_task_transition_legal(HIVE_TASK_PENDING, (hive_task_state)-1));
	assert_false(hive_task_transition_legal(HIVE_TASK__COUNT, HIVE_TASK_READY));
	assert_false(hive_task_transition_legal(HIVE_TASK_PENDING, HIVE_TASK__COUNT));
}

/* Every task that has not ended may be aborted; no ended one may. */
static void test_abort_rule(void **state)
{
	(void)state;
	for (int s = 0; s < HIVE_TASK__COUNT; s++) {
		int final = hive_task_state_final((hive_task_state)s);
		assert_int_equal(hive_task_transition_legal((hive_task_state)s, HIVE_TASK_ABORTED), !final);
	}
}

static void test_task_names(void **state)
{
	(void)state;
	static const char *const names[HIVE_TASK__COUNT] = {
		"pending", "ready", "running", "verifying", "success", "retry", "failed", "escalated", "aborted",
	};
	for (int s = 0; s < HIVE_TASK__COUNT; s++) {
		assert_string_equal(hive_task_state_name((hive_task_state)s), names[s]);
		assert_int_equal(hive_task_state_parse(names[s]), s);
	}
	assert_string_equal(hive_task_state_name(HIVE_TASK__COUNT), "unknown");
	assert_string_equal(hive_task_state_name((hive_task_state)-3), "unknown");
	assert_int_equal(hive_task_state_parse(NULL), -1);
	assert_int_equal(hive_task_state_parse(""), -1);
	assert_int_equal(hive_task_state_parse("Pending"), -1);
	assert_int_equal(hive_task_state_parse("blocked"), -1); /* blocked is a note, not a state */
}

static void test_final_states(void **state)
{
	(void)state;
	static const struct {
		hive_task_state s;
		int final;
	} table[] = {
		{HIVE_TASK_PENDING, 0}, {HIVE_TASK_READY, 0},  {HIVE_TASK_RUNNING, 0},
		{HIVE_TASK_VERIFYING, 0}, {HIVE_TASK_SUCCESS, 1}, {HIVE_TASK_RETRY, 0},
		{HIVE_TASK_FAILED, 1},  {HIVE_TASK_ESCALATED, 1}, {HIVE_TASK_ABORTED, 1},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		assert_int_equal(hive_task_state_final(table[i].s), table[i].final);
}

static void test_flow_states(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int ended;
	} table[HIVE_FLOW__COUNT] = {
		{"created", 0}, {"running", 0}, {"paused", 0}, {"completed", 1}, {"failed", 0}, {"aborted", 1},
	};
	for (int s = 0; s < HIVE_FLOW__COUNT; s++) {
		assert_string_equal(hive_flow_state_name((hive_flow_state)s), table[s].name);
		assert_int_equal(hive_flow_state_parse(table[s].name), s);
		/* "ended" = completed or aborted: a failed flow can run again (SPEC 12) */
		assert_int_equal(hive_flow_state_ended((hive_flow_state)s), table[s].ended);
	}
	assert_string_equal(hive_flow_state_name(HIVE_FLOW__COUNT), "unknown");
	assert_int_equal(hive_flow_state_parse("done"), -1);
	assert_int_equal(hive_flow_state_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_table),
		cmocka_unit_test(test_transition_out_of_range),
		cmocka_unit_test(test_abort_rule),
		cmocka_unit_test(test_task_names),
		cmocka_unit_test(test_final_states),
		cmocka_unit_test(test_flow_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
