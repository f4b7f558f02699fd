/*
 * test_circuit.c - core/circuit.h: the circuit breaker's pure state machine
 * and configuration.  Explicit clocks, no timing, no files.
 *
 * What it protects: closed → open at the threshold-th consecutive failure;
 * open refuses until reset_timeout, then exactly one half-open probe whose
 * outcome closes or re-opens it; which outcomes count (the one rule shared
 * with the projection: runtime_failed, timeout, runtime_unavailable fail;
 * success, check_failed, crashed reset; aborted is ignored); an open
 * circuit counts nothing.
 */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>

#include "core/circuit.h"
#include "core/outcome.h"
#include "core/projection.h"
#include "events/event.h"
#include "events/error.h"



/* ------------------------------------------------------------------ */
/* Circuit breaker                                                    */
/* ------------------------------------------------------------------ */

static const hive_circuit_config CB = {.enabled = 1, .failure_threshold = 3, .reset_timeout_ms = 60000};

/* A circuit driven open at t=1000 by three runtime failures. */
static hive_circuit opened(void)
{
	hive_circuit c = {0};
	int t;
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 10, &t);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_TIMEOUT, 20, &t);
	assert_int_equal(t, -1);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_UNAVAILABLE, 1000, &t);
	assert_int_equal(t, HIVE_CIRCUIT_OPEN);
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	assert_int_equal(c.opened_at_ms, 1000);
	return c;
}

static void test_circuit_opens_and_refuses(void **state)
{
	(void)state;
	hive_circuit c = opened();
	int t;
	assert_int_equal(hive_circuit_allow(&c, &CB, 1000, &t), 0);
	assert_int_equal(hive_circuit_allow(&c, &CB, 60999, &t), 0);
	assert_int_equal(t, -1);
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	assert_string_equal(hive_circuit_state_name(c.state), "open");
	/* Late results from attempts started before it opened change nothing. */
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_SUCCESS, 2000, &t);
	assert_int_equal(t, -1);
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	/* A clock that went backwards never half-opens it. */
	assert_int_equal(hive_circuit_allow(&c, &CB, -5, NULL), 0);
}

static void test_circuit_half_open_one_probe(void **state)
{
	(void)state;
	hive_circuit c = opened();
	int t;
	assert_int_equal(hive_circuit_allow(&c, &CB, 61000, &t), 1);
	assert_int_equal(t, HIVE_CIRCUIT_HALF_OPEN);
	assert_string_equal(hive_circuit_state_name(c.state), "half_open");
	assert_int_equal(hive_circuit_allow(&c, &CB, 61001, &t), 0); /* only one probe */
	assert_int_equal(t, -1);
	assert_int_equal(hive_circuit_allow(&c, &CB, 999999, &t), 0);
	/* An aborted probe frees the slot without deciding anything. */
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_ABORTED, 62000, &t);
	assert_int_equal(t, -1);
	assert_int_equal(c.state, HIVE_CIRCUIT_HALF_OPEN);
	assert_int_equal(hive_circuit_allow(&c, &CB, 62001, &t), 1);
	assert_int_equal(t, -1);
	assert_int_equal(hive_circuit_allow(&c, &CB, 62002, &t), 0);
}

static void test_circuit_probe_failure_reopens(void **state)
{
	(void)state;
	hive_circuit c = opened();
	int t;
	assert_int_equal(hive_circuit_allow(&c, &CB, 70000, &t), 1);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_TIMEOUT, 75000, &t);
	assert_int_equal(t, HIVE_CIRCUIT_OPEN);
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	assert_int_equal(c.opened_at_ms, 75000); /* the timer restarts */
	assert_int_equal(hive_circuit_allow(&c, &CB, 134999, &t), 0);
	assert_int_equal(hive_circuit_allow(&c, &CB, 135000, &t), 1);
	assert_int_equal(t, HIVE_CIRCUIT_HALF_OPEN);
}

static void test_circuit_probe_success_closes(void **state)
{
	(void)state;
	static const hive_outcome ok[] = {HIVE_OUTCOME_SUCCESS, HIVE_OUTCOME_CHECK_FAILED};
	for (size_t i = 0; i < 2; i++) {
		hive_circuit c = opened();
		int t;
		assert_int_equal(hive_circuit_allow(&c, &CB, 70000, &t), 1);
		hive_circuit_record(&c, &CB, ok[i], 71000, &t);
		assert_int_equal(t, HIVE_CIRCUIT_CLOSED);
		assert_int_equal(c.state, HIVE_CIRCUIT_CLOSED);
		assert_int_equal(c.consecutive_failures, 0);
		assert_int_equal(c.probe_in_flight, 0);
		assert_int_equal(hive_circuit_allow(&c, &CB, 71001, &t), 1);
		assert_int_equal(hive_circuit_allow(&c, &CB, 71002, &t), 1); /* no probe limit now */
		assert_int_equal(t, -1);
	}
}

static void test_circuit_counter_resets(void **state)
{
	(void)state;
	hive_circuit c = {0};
	int t;
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 1, &t);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 2, &t);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_CHECK_FAILED, 3, &t); /* the runtime worked */
	assert_int_equal(c.consecutive_failures, 0);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 4, &t);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 5, &t);
	assert_int_equal(c.state, HIVE_CIRCUIT_CLOSED);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_ABORTED, 6, &t); /* changes nothing */
	assert_int_equal(c.consecutive_failures, 2);
	assert_int_equal(t, -1);
	hive_circuit_record(&c, &CB, HIVE_OUTCOME_RUNTIME_FAILED, 7, NULL);
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	assert_string_equal(hive_circuit_state_name(HIVE_CIRCUIT_CLOSED), "closed");
}

static void test_circuit_config(void **state)
{
	(void)state;
	hive_circuit_config c, back;
	assert_int_equal(hive_circuit_config_parse(NULL, NULL, &c), 0);
	assert_int_equal(c.failure_threshold, 5);
	assert_int_equal(c.reset_timeout_ms, 60000);

	json_t *v = tu_json("{\"failure_threshold\": 2, \"reset_timeout\": \"90s\"}");
	assert_int_equal(hive_circuit_config_parse(v, "defaults.circuit_breaker", &c), 0);
	assert_int_equal(c.failure_threshold, 2);
	assert_int_equal(c.reset_timeout_ms, 90000);
	json_decref(v);

	json_t *j = hive_circuit_config_to_json(&c);
	assert_int_equal(hive_circuit_config_from_json(j, &back), 0);
	assert_int_equal(back.failure_threshold, 2);
	assert_int_equal(back.reset_timeout_ms, 90000);
	json_decref(j);

	static const struct { const char *json; const char *msg; } bad[] = {
		{"{\"failure_threshold\": 0}", "defaults.circuit_breaker.failure_threshold: must be from 1 to"},
		{"{\"reset_timeout\": \"soon\"}", "defaults.circuit_breaker.reset_timeout: invalid duration \"soon\""},
		{"{\"reset_timeout\": 60}", "defaults.circuit_breaker.reset_timeout: must be a duration string"},
		{"{\"threshold\": 3}", "defaults.circuit_breaker.threshold: unknown key (allowed: failure_threshold, reset_timeout)"},
		{"true", "defaults.circuit_breaker: must be an object, got true"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c.failure_threshold = 77;
		v = tu_json(bad[i].json);
		assert_int_equal(hive_circuit_config_parse(v, "defaults.circuit_breaker", &c), HIVE_EINVALID);
		json_decref(v);
		if (strncmp(hive_error_last(), bad[i].msg, strlen(bad[i].msg)) != 0)
			fail_msg("%s: got \"%s\"", bad[i].json, hive_error_last());
		assert_int_equal(c.failure_threshold, 77);
	}
}

/* The one circuit-failure rule, outcome by outcome. */
static void test_circuit_classify(void **state)
{
	(void)state;
	static const struct { hive_outcome o; hive_circuit_verdict v; } cases[] = {
		{HIVE_OUTCOME_RUNTIME_FAILED, HIVE_CIRCUIT_FAILURE},
		{HIVE_OUTCOME_TIMEOUT, HIVE_CIRCUIT_FAILURE},
		{HIVE_OUTCOME_RUNTIME_UNAVAILABLE, HIVE_CIRCUIT_FAILURE},
		{HIVE_OUTCOME_SUCCESS, HIVE_CIRCUIT_SUCCESS},
		{HIVE_OUTCOME_CHECK_FAILED, HIVE_CIRCUIT_SUCCESS},
		{HIVE_OUTCOME_CRASHED, HIVE_CIRCUIT_SUCCESS},
		{HIVE_OUTCOME_ABORTED, HIVE_CIRCUIT_IGNORED},
		{HIVE_OUTCOME_INTERRUPTED, HIVE_CIRCUIT_IGNORED},
		{HIVE_OUTCOME__COUNT, HIVE_CIRCUIT_IGNORED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (hive_circuit_classify(cases[i].o) != cases[i].v)
			fail_msg("%s: got %d, want %d", hive_outcome_name(cases[i].o),
				 hive_circuit_classify(cases[i].o), cases[i].v);
}

/* The count the projection keeps: the policy's reading, so an open circuit
 * counts nothing (the old projection rule counted late results). */
static void test_circuit_failures_after(void **state)
{
	(void)state;
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_CLOSED, 2, HIVE_OUTCOME_TIMEOUT), 3);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_CLOSED, 2, HIVE_OUTCOME_CRASHED), 0);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_CLOSED, 2, HIVE_OUTCOME_ABORTED), 2);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_HALF_OPEN, 5,
						     HIVE_OUTCOME_RUNTIME_FAILED), 6);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_HALF_OPEN, 5, HIVE_OUTCOME_SUCCESS), 0);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_OPEN, 5, HIVE_OUTCOME_SUCCESS), 5);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_OPEN, 5, HIVE_OUTCOME_TIMEOUT), 5);
	assert_int_equal(hive_circuit_failures_after(HIVE_CIRCUIT_CLOSED, INT_MAX, HIVE_OUTCOME_TIMEOUT),
			 INT_MAX); /* saturates */
}

/* The state machine and the count agree over a whole run. */
static void test_circuit_machine_matches_count(void **state)
{
	(void)state;
	static const hive_outcome run[] = {
		HIVE_OUTCOME_TIMEOUT, HIVE_OUTCOME_ABORTED, HIVE_OUTCOME_RUNTIME_FAILED,
		HIVE_OUTCOME_CRASHED, HIVE_OUTCOME_RUNTIME_UNAVAILABLE, HIVE_OUTCOME_TIMEOUT,
		HIVE_OUTCOME_RUNTIME_FAILED, /* opens (threshold 3) */
		HIVE_OUTCOME_SUCCESS, HIVE_OUTCOME_TIMEOUT, /* late results while open */
	};
	hive_circuit c = {0};
	int count = 0;
	for (size_t i = 0; i < sizeof run / sizeof run[0]; i++) {
		count = hive_circuit_failures_after(c.state, count, run[i]);
		hive_circuit_record(&c, &CB, run[i], (int64_t)i, NULL);
		assert_int_equal(c.consecutive_failures, count);
	}
	assert_int_equal(c.state, HIVE_CIRCUIT_OPEN);
	assert_int_equal(c.opened_at_ms, 6);
	assert_int_equal(count, 3);
}

static void test_circuit_state_names(void **state)
{
	(void)state;
	for (int s = HIVE_CIRCUIT_CLOSED; s <= HIVE_CIRCUIT_HALF_OPEN; s++)
		assert_int_equal(hive_circuit_state_parse(hive_circuit_state_name((hive_circuit_state)s)), s);
	assert_int_equal(hive_circuit_state_parse(NULL), HIVE_CIRCUIT_CLOSED);
	assert_int_equal(hive_circuit_state_parse("ajar"), HIVE_CIRCUIT_CLOSED);
	assert_string_equal(hive_circuit_state_name((hive_circuit_state)9), "unknown");
}

/* The projection keeps the same count as the machine: an attempt that
 * started before the circuit opened and succeeds late leaves the count of
 * an open circuit alone (the old projection rule reset it to 0). */
static int count_after_late_outcome(const char *outcome)
{
	json_t *mem = tu_json("{\"task/T\": {\"id\": \"T\", \"state\": \"running\", \"budget_used\": []},"
			" \"attempt/A\": {\"id\": \"A\", \"state\": \"running\", \"runtime\": \"exec\"},"
			" \"circuit/F/exec\": {\"adapter\": \"exec\", \"state\": \"open\","
			" \"consecutive_failures\": 3}}");
	hive_kv kv;
	hive_kv_memory(&kv, mem);
	hive_event ev;
	hive_event_init(&ev, HIVE_EV_ATTEMPT_COMPLETED,
			json_pack("{s:s,s:i,s:i}", "outcome", outcome, "duration_ms", 5, "attempt_number", 1));
	hive_event_correlate(&ev, "P", "F", "T", "A");
	if (hive_apply(&kv, &ev) != 0)
		fail_msg("apply: %s", hive_error_last());
	hive_event_dispose(&ev);
	json_t *c = json_object_get(mem, "circuit/F/exec");
	int n = (int)json_integer_value(json_object_get(c, "consecutive_failures"));
	assert_string_equal(json_string_value(json_object_get(c, "state")), "open");
	json_decref(mem);
	return n;
}

static void test_projection_open_counts_nothing(void **state)
{
	(void)state;
	assert_int_equal(count_after_late_outcome("success"), 3);
	assert_int_equal(count_after_late_outcome("timeout"), 3);
}

/* SPEC 12: a breaker that is not configured never opens nor refuses. */
static void test_circuit_disabled_never_opens(void **state)
{
	(void)state;
	hive_circuit_config off = CB;
	off.enabled = 0;
	hive_circuit c = {0};
	int t = 0;
	for (int i = 0; i < 100; i++) {
		hive_circuit_record(&c, &off, HIVE_OUTCOME_RUNTIME_FAILED, 10 + i, &t);
		assert_int_equal(t, -1);
		assert_int_equal(hive_circuit_allow(&c, &off, 20 + i, &t), 1);
	}
	assert_int_equal(c.state, HIVE_CIRCUIT_CLOSED);
	assert_int_equal(c.consecutive_failures, 0);
	/* even a circuit stored open (an older flow) lets work start when off */
	c.state = HIVE_CIRCUIT_OPEN;
	assert_int_equal(hive_circuit_allow(&c, &off, 0, NULL), 1);
	/* parsing a configured object enables it */
	hive_circuit_config cfg;
	json_t *v = json_loads("{}", 0, NULL);
	assert_int_equal(hive_circuit_config_parse(v, NULL, &cfg), 0);
	assert_int_equal(cfg.enabled, 1);
	json_decref(v);
}

/* SPEC 12: keyed on adapter + full command + model; env and timeouts do
 * not split a circuit. */
static void test_circuit_key(void **state)
{
	(void)state;
	static const char *const same[] = {
		"{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [], \"model\": null,"
		" \"timeout_ms\": 600000, \"env\": {\"A\": \"1\"}}",
		"{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [], \"model\": null,"
		" \"timeout_ms\": 5000, \"env\": {\"A\": \"2\"}, \"stall_timeout_ms\": 1000}",
	};
	static const char *const other[] = {
		"{\"adapter\": \"exec\", \"command\": [\"./agent.sh\"], \"args\": [], \"model\": null}",
		"{\"adapter\": \"exec\", \"command\": [\"./agent.sh\", \"--slow\"], \"args\": [], \"model\": null}",
		"{\"adapter\": \"claude-code\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [], \"model\": null}",
		"{\"adapter\": \"claude-code\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [], \"model\": \"opus\"}",
		"{\"adapter\": \"claude-code\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [], \"model\": \"sonnet\"}",
		"{\"adapter\": \"claude-code\", \"command\": [\"./agent.sh\", \"--fast\"], \"args\": [\"-v\"], \"model\": \"sonnet\"}",
	};
	char k0[HIVE_CIRCUIT_KEY_LEN], k1[HIVE_CIRCUIT_KEY_LEN], keys[6][HIVE_CIRCUIT_KEY_LEN];
	json_t *a = json_loads(same[0], 0, NULL), *b = json_loads(same[1], 0, NULL);
	hive_circuit_key(a, k0);
	hive_circuit_key(b, k1);
	assert_string_equal(k0, k1);
	assert_int_equal(strlen(k0), strlen("exec-") + 16);
	assert_memory_equal(k0, "exec-", 5);
	json_decref(a);
	json_decref(b);
	for (int i = 0; i < 6; i++) {
		json_t *r = json_loads(other[i], 0, NULL);
		hive_circuit_key(r, keys[i]);
		json_decref(r);
		assert_string_not_equal(keys[i], k0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
	}
	assert_memory_equal(keys[3], "claude-code-", 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_circuit_opens_and_refuses),
		cmocka_unit_test(test_circuit_half_open_one_probe),
		cmocka_unit_test(test_circuit_probe_failure_reopens),
		cmocka_unit_test(test_circuit_probe_success_closes),
		cmocka_unit_test(test_circuit_counter_resets),
		cmocka_unit_test(test_circuit_config),
		cmocka_unit_test(test_circuit_classify),
		cmocka_unit_test(test_circuit_failures_after),
		cmocka_unit_test(test_circuit_machine_matches_count),
		cmocka_unit_test(test_circuit_state_names),
		cmocka_unit_test(test_projection_open_counts_nothing),
		cmocka_unit_test(test_circuit_disabled_never_opens),
		cmocka_unit_test(test_circuit_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
