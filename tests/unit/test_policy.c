/*
 * test_policy.c - the retry rule: outcomes, policy parsing and validation,
 * canonical JSON, backoff, the retry decision (durations: test_duration.c;
 * the circuit breaker: test_circuit.c).
 * Pure functions only: explicit seeds and clocks, no timing, no files.
 */
#include "testutil.h"

#include "core/backoff.h"
#include "core/duration.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/retry.h"
#include "core/rng.h"
#include "events/error.h"

#define BIT(o) HIVE_OUTCOME_BIT(HIVE_OUTCOME_##o)


/* Parse `text` as a task's `retry` on top of `base` (NULL = built-in). */
static int parse_text(const char *text, const hive_retry_policy *base, hive_retry_policy *out)
{
	json_t *v = tu_json(text);
	int rc = hive_retry_policy_parse(v, base, "tasks[0].retry", out);
	json_decref(v);
	return rc;
}

static void assert_backoff_eq(const hive_backoff *a, const hive_backoff *b)
{
	assert_int_equal(a->initial_ms, b->initial_ms);
	assert_int_equal(a->max_ms, b->max_ms);
	assert_true(a->coefficient == b->coefficient);
	assert_int_equal(a->jitter, b->jitter);
}

static void assert_policy_eq(const hive_retry_policy *a, const hive_retry_policy *b)
{
	assert_int_equal(a->max_attempts, b->max_attempts);
	assert_int_equal(a->retry_on, b->retry_on);
	assert_backoff_eq(&a->backoff, &b->backoff);
	assert_int_equal(a->n_budgets, b->n_budgets);
	for (int i = 0; i < a->n_budgets; i++) {
		assert_int_equal(a->budgets[i].on, b->budgets[i].on);
		assert_int_equal(a->budgets[i].max_attempts, b->budgets[i].max_attempts);
		assert_backoff_eq(&a->budgets[i].backoff, &b->budgets[i].backoff);
	}
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->on_exhausted_escalate, b->on_exhausted_escalate);
	assert_int_equal(a->context.max_prior_attempts, b->context.max_prior_attempts);
	assert_int_equal(a->context.max_check_output_lines, b->context.max_check_output_lines);
	assert_int_equal(a->context.max_diff_lines, b->context.max_diff_lines);
	assert_int_equal(a->context.max_bytes, b->context.max_bytes);
	assert_int_equal(a->max_retry_after_ms, b->max_retry_after_ms);
}

/* ------------------------------------------------------------------ */
/* Outcomes and defaults                                              */
/* ------------------------------------------------------------------ */

static void test_outcome_names(void **state)
{
	(void)state;
	static const char *names[] = {"success", "check_failed", "runtime_failed", "timeout",
	                              "crashed", "runtime_unavailable", "aborted", "interrupted"};
	assert_int_equal(HIVE_OUTCOME__COUNT, 8);
	for (int o = 0; o < HIVE_OUTCOME__COUNT; o++) {
		assert_string_equal(hive_outcome_name((hive_outcome)o), names[o]);
		assert_int_equal(hive_outcome_parse(names[o]), o);
	}
	assert_int_equal(hive_outcome_parse("Success"), -1);
	assert_int_equal(hive_outcome_parse(""), -1);
	assert_int_equal(hive_outcome_parse(NULL), -1);
	assert_string_equal(hive_outcome_name(HIVE_OUTCOME__COUNT), "unknown");
	assert_int_equal(HIVE_OUTCOMES_RETRYABLE,
	                 BIT(CHECK_FAILED) | BIT(RUNTIME_FAILED) | BIT(TIMEOUT) | BIT(CRASHED));
}

static void test_policy_defaults(void **state)
{
	(void)state;
	hive_retry_policy p;
	memset(&p, 0x5a, sizeof p);
	hive_retry_policy_default(&p);
	assert_int_equal(p.max_attempts, 3);
	assert_int_equal(p.retry_on, BIT(CHECK_FAILED) | BIT(RUNTIME_FAILED) | BIT(TIMEOUT) | BIT(CRASHED));
	assert_int_equal(p.backoff.initial_ms, 0);
	assert_int_equal(p.backoff.max_ms, 60000);
	assert_true(p.backoff.coefficient == 2.0);
	assert_int_equal(p.backoff.jitter, HIVE_JITTER_NONE);
	assert_int_equal(p.n_budgets, 0);
	assert_int_equal(p.mode, 0);
	assert_int_equal(p.on_exhausted_escalate, 0);
	assert_int_equal(p.context.max_prior_attempts, 3);
	assert_int_equal(p.context.max_check_output_lines, 50);
	assert_int_equal(p.context.max_diff_lines, 500);
	assert_int_equal(p.context.max_bytes, 16384);

	/* No `retry` key and no base: the built-in defaults. */
	hive_retry_policy q;
	assert_int_equal(hive_retry_policy_parse(NULL, NULL, "tasks[0].retry", &q), 0);
	assert_policy_eq(&q, &p);
	json_t *empty = tu_json("{}");
	assert_int_equal(hive_retry_policy_parse(empty, NULL, NULL, &q), 0);
	assert_policy_eq(&q, &p);
	json_decref(empty);
}

/* ------------------------------------------------------------------ */
/* Parsing: overrides and inheritance                                 */
/* ------------------------------------------------------------------ */

/* The task's keys override the flow defaults; absent keys inherit them. */
static void test_parse_overrides_base(void **state)
{
	(void)state;
	hive_retry_policy flow, task;
	assert_int_equal(parse_text("{\"mode\": \"continue\", \"on_exhausted\": \"escalate\","
	                            " \"backoff\": {\"jitter\": \"full\", \"max\": \"5m\"},"
	                            " \"context\": {\"max_diff_lines\": 100}}", NULL, &flow), 0);
	assert_int_equal(parse_text("{\"max_attempts\": 4, \"retry_on\": [\"timeout\", \"crashed\"],"
	                            " \"backoff\": {\"initial\": \"2s\", \"coefficient\": 1.5},"
	                            " \"context\": {\"max_prior_attempts\": 1}}", &flow, &task), 0);
	assert_int_equal(task.max_attempts, 4);
	assert_int_equal(task.retry_on, BIT(TIMEOUT) | BIT(CRASHED));
	assert_int_equal(task.backoff.initial_ms, 2000);
	assert_int_equal(task.backoff.max_ms, 300000);     /* from the flow */
	assert_true(task.backoff.coefficient == 1.5);
	assert_int_equal(task.backoff.jitter, HIVE_JITTER_FULL); /* from the flow */
	assert_int_equal(task.mode, 1);
	assert_int_equal(task.on_exhausted_escalate, 1);
	assert_int_equal(task.context.max_prior_attempts, 1);
	assert_int_equal(task.context.max_check_output_lines, 50); /* built-in */
	assert_int_equal(task.context.max_diff_lines, 100);        /* from the flow */

	/* An empty retry_on is legal: never retry. */
	assert_int_equal(parse_text("{\"retry_on\": []}", NULL, &task), 0);
	assert_int_equal(task.retry_on, 0);

	/* out may alias base. */
	assert_int_equal(parse_text("{\"max_attempts\": 9}", &flow, &flow), 0);
	assert_int_equal(flow.max_attempts, 9);
	assert_int_equal(flow.mode, 1);
}

/* Missing budget fields inherit the resolved policy's values, field by field. */
static void test_parse_budget_inheritance(void **state)
{
	(void)state;
	hive_retry_policy p;
	assert_int_equal(parse_text(
		"{\"max_attempts\": 4,"
		" \"backoff\": {\"initial\": \"1s\", \"jitter\": \"equal\", \"coefficient\": 3},"
		" \"budgets\": ["
		"   {\"on\": [\"timeout\", \"crashed\"], \"max_attempts\": 5, \"backoff\": {\"initial\": \"10s\"}},"
		"   {\"on\": [\"check_failed\"]}]}", NULL, &p), 0);
	assert_int_equal(p.n_budgets, 2);
	assert_int_equal(p.budgets[0].on, BIT(TIMEOUT) | BIT(CRASHED));
	assert_int_equal(p.budgets[0].max_attempts, 5);
	assert_int_equal(p.budgets[0].backoff.initial_ms, 10000);
	assert_int_equal(p.budgets[0].backoff.max_ms, 60000);
	assert_true(p.budgets[0].backoff.coefficient == 3.0);
	assert_int_equal(p.budgets[0].backoff.jitter, HIVE_JITTER_EQUAL);
	assert_int_equal(p.budgets[1].on, BIT(CHECK_FAILED));
	assert_int_equal(p.budgets[1].max_attempts, 4);
	assert_backoff_eq(&p.budgets[1].backoff, &p.backoff);

	/* A task without `budgets` keeps the flow's list as resolved there... */
	hive_retry_policy task;
	assert_int_equal(parse_text("{\"max_attempts\": 7}", &p, &task), 0);
	assert_int_equal(task.n_budgets, 2);
	assert_int_equal(task.budgets[1].max_attempts, 4);
	/* ...a task's own list replaces it, and [] removes it. */
	assert_int_equal(parse_text("{\"budgets\": [{\"on\": [\"runtime_failed\"]}]}", &p, &task), 0);
	assert_int_equal(task.n_budgets, 1);
	assert_int_equal(task.budgets[0].on, BIT(RUNTIME_FAILED));
	assert_int_equal(task.budgets[0].max_attempts, 4);
	assert_int_equal(parse_text("{\"budgets\": []}", &p, &task), 0);
	assert_int_equal(task.n_budgets, 0);
}

/* ------------------------------------------------------------------ */
/* Parsing: validation                                                */
/* ------------------------------------------------------------------ */

static void test_parse_invalid(void **state)
{
	(void)state;
	static const struct { const char *json; const char *prefix; } cases[] = {
		{"[]", "tasks[0].retry: must be an object"},
		{"\"3\"", "tasks[0].retry: must be an object"},
		{"{\"max_atempts\": 3}", "tasks[0].retry.max_atempts: unknown key (allowed: max_attempts,"},
		{"{\"max_attempts\": 0}", "tasks[0].retry.max_attempts: must be from 1 to"},
		{"{\"max_attempts\": -2}", "tasks[0].retry.max_attempts:"},
		{"{\"max_attempts\": \"3\"}", "tasks[0].retry.max_attempts: must be an integer"},
		{"{\"max_attempts\": 2.5}", "tasks[0].retry.max_attempts: must be an integer"},
		{"{\"max_attempts\": 99999999999}", "tasks[0].retry.max_attempts:"},
		{"{\"max_attempts\": null}", "tasks[0].retry.max_attempts:"},
		{"{\"retry_on\": \"timeout\"}", "tasks[0].retry.retry_on: must be an array"},
		{"{\"retry_on\": [\"timeout\", \"success\"]}", "tasks[0].retry.retry_on[1]: outcome \"success\" is never retried"},
		{"{\"retry_on\": [\"aborted\"]}", "tasks[0].retry.retry_on[0]: outcome \"aborted\" is never retried"},
		{"{\"retry_on\": [\"runtime_unavailable\"]}", "tasks[0].retry.retry_on[0]: outcome \"runtime_unavailable\""},
		{"{\"retry_on\": [\"timeouts\"]}", "tasks[0].retry.retry_on[0]: unknown outcome \"timeouts\""},
		{"{\"retry_on\": [3]}", "tasks[0].retry.retry_on[0]: must be an outcome name"},
		{"{\"backoff\": {\"initial\": \"5x\"}}",
		 "tasks[0].retry.backoff.initial: invalid duration \"5x\" (use e.g. 500ms, 2s, 1m, 1h)"},
		{"{\"backoff\": {\"initial\": 500}}", "tasks[0].retry.backoff.initial: must be a duration string"},
		{"{\"backoff\": {\"max\": \"-1s\"}}", "tasks[0].retry.backoff.max: invalid duration \"-1s\""},
		{"{\"backoff\": {\"coefficient\": 0.5}}", "tasks[0].retry.backoff.coefficient: must be a number >= 1"},
		{"{\"backoff\": {\"coefficient\": \"2\"}}", "tasks[0].retry.backoff.coefficient:"},
		{"{\"backoff\": {\"jitter\": \"some\"}}",
		 "tasks[0].retry.backoff.jitter: must be one of none, full, equal, got \"some\""},
		{"{\"backoff\": {\"jitter\": true}}", "tasks[0].retry.backoff.jitter: must be one of"},
		{"{\"backoff\": {\"delay\": \"1s\"}}", "tasks[0].retry.backoff.delay: unknown key"},
		{"{\"backoff\": \"1s\"}", "tasks[0].retry.backoff: must be an object"},
		{"{\"mode\": \"dirty\"}", "tasks[0].retry.mode: must be one of clean, continue"},
		{"{\"mode\": 1}", "tasks[0].retry.mode:"},
		{"{\"on_exhausted\": \"retry\"}", "tasks[0].retry.on_exhausted: must be one of fail, escalate"},
		{"{\"context\": {\"max_diff_lines\": -1}}", "tasks[0].retry.context.max_diff_lines:"},
		{"{\"context\": {\"lines\": 3}}", "tasks[0].retry.context.lines: unknown key"},
		{"{\"context\": {\"max_bytes\": 65537}}",
		 "tasks[0].retry.context.max_bytes: must be from 1024 to 65536, got 65537"},
		{"{\"context\": {\"max_bytes\": 512}}", "tasks[0].retry.context.max_bytes: must be from 1024 to 65536"},
		{"{\"context\": {\"max_bytes\": \"16KiB\"}}", "tasks[0].retry.context.max_bytes: must be an integer"},
		{"{\"context\": []}", "tasks[0].retry.context: must be an object"},
		{"{\"budgets\": {}}", "tasks[0].retry.budgets: must be an array"},
		{"{\"budgets\": [1]}", "tasks[0].retry.budgets[0]: must be an object"},
		{"{\"budgets\": [{\"max_attempts\": 2}]}", "tasks[0].retry.budgets[0].on: missing"},
		{"{\"budgets\": [{\"on\": []}]}", "tasks[0].retry.budgets[0].on: must not be empty"},
		{"{\"budgets\": [{\"on\": [\"timeout\"]}, {\"on\": [\"success\"]}]}",
		 "tasks[0].retry.budgets[1].on[0]: outcome \"success\" is never retried"},
		{"{\"budgets\": [{\"on\": [\"timeout\"], \"max_attempts\": 0}]}",
		 "tasks[0].retry.budgets[0].max_attempts:"},
		{"{\"budgets\": [{\"on\": [\"timeout\"], \"backoff\": {\"initial\": \"x\"}}]}",
		 "tasks[0].retry.budgets[0].backoff.initial: invalid duration \"x\""},
		{"{\"budgets\": [{\"on\": [\"timeout\"], \"tries\": 2}]}",
		 "tasks[0].retry.budgets[0].tries: unknown key (allowed: on, max_attempts, backoff)"},
		{"{\"max_attempts\": 2, \"bad\\nkey\": 1}", "tasks[0].retry.bad?key: unknown key"},
	};
	hive_retry_policy out, sentinel;
	hive_retry_policy_default(&sentinel);
	sentinel.max_attempts = 77;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out = sentinel;
		hive_error_clear();
		int rc = parse_text(cases[i].json, NULL, &out);
		if (rc != HIVE_EINVALID)
			fail_msg("%s: rc %d, want HIVE_EINVALID", cases[i].json, rc);
		assert_int_equal(hive_error_last_code(), HIVE_EINVALID);
		if (strncmp(hive_error_last(), cases[i].prefix, strlen(cases[i].prefix)) != 0)
			fail_msg("%s:\n  got  \"%s\"\n  want \"%s...\"", cases[i].json, hive_error_last(),
			         cases[i].prefix);
		assert_null(strchr(hive_error_last(), '\n'));
		assert_int_equal(out.max_attempts, 77); /* untouched on error */
	}
	/* The brief's example, exactly. */
	parse_text("{\"backoff\": {\"initial\": \"5x\"}}", NULL, &out);
	assert_string_equal(hive_error_last(),
	                    "tasks[0].retry.backoff.initial: invalid duration \"5x\" (use e.g. 500ms, 2s, 1m, 1h)");
}

static void test_parse_too_many_budgets(void **state)
{
	(void)state;
	json_t *budgets = json_array();
	for (int i = 0; i <= HIVE_MAX_BUDGETS; i++)
		json_array_append_new(budgets, tu_json("{\"on\": [\"timeout\"]}"));
	json_t *retry = json_pack("{s:o}", "budgets", budgets);
	hive_retry_policy p;
	assert_int_equal(hive_retry_policy_parse(retry, NULL, "defaults.retry", &p), HIVE_EINVALID);
	assert_string_equal(hive_error_last(),
	                    "defaults.retry.budgets: 17 budgets, at most 16 allowed (merge budgets that share limits)");
	/* Exactly the limit passes the count; sixteen budgets on one outcome
	 * are then refused because all but the first can never apply. */
	json_array_remove(budgets, 0);
	assert_int_equal(hive_retry_policy_parse(retry, NULL, "defaults.retry", &p), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "defaults.retry.budgets[1].on: timeout already taken"));
	json_decref(retry);
}

/* ------------------------------------------------------------------ */
/* Canonical JSON                                                     */
/* ------------------------------------------------------------------ */

static void test_canonical_round_trip(void **state)
{
	(void)state;
	hive_retry_policy p, back;
	assert_int_equal(parse_text(
		"{\"max_attempts\": 6, \"retry_on\": [\"crashed\", \"check_failed\"],"
		" \"backoff\": {\"initial\": \"1.5s\", \"max\": \"2h\", \"coefficient\": 1.1, \"jitter\": \"full\"},"
		" \"budgets\": [{\"on\": [\"timeout\"], \"max_attempts\": 2, \"backoff\": {\"jitter\": \"equal\"}},"
		"               {\"on\": [\"check_failed\", \"runtime_failed\"]}],"
		" \"mode\": \"continue\", \"on_exhausted\": \"escalate\","
		" \"context\": {\"max_prior_attempts\": 0, \"max_check_output_lines\": 10, \"max_diff_lines\": 7,"
		"              \"max_bytes\": 65536}}",
		NULL, &p), 0);
	json_t *j = hive_retry_policy_to_json(&p);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	json_t *again = tu_json(text); /* through text, as it would be stored */
	assert_int_equal(hive_retry_policy_from_json(again, &back), 0);
	assert_policy_eq(&back, &p);
	assert_true(back.backoff.coefficient == 1.1);
	assert_non_null(strstr(text, "\"initial_ms\":1500"));
	assert_non_null(strstr(text, "\"max_ms\":7200000"));
	assert_non_null(strstr(text, "\"retry_on\":[\"check_failed\",\"crashed\"]"));
	assert_non_null(strstr(text, "\"mode\":\"continue\""));
	assert_int_equal(back.context.max_bytes, 65536);
	free(text);

	/* A canonical form stored before context.max_bytes existed still reads,
	 * with the default budget. */
	json_object_del(json_object_get(again, "context"), "max_bytes");
	assert_int_equal(hive_retry_policy_from_json(again, &back), 0);
	assert_int_equal(back.context.max_bytes, 16384);

	/* Strict: a missing field or a user-form key is rejected, naming it. */
	json_object_del(json_object_get(again, "backoff"), "max_ms");
	assert_int_equal(hive_retry_policy_from_json(again, &back), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "retry.backoff.max_ms: missing (the canonical form lists every field)");
	json_object_set_new(json_object_get(again, "backoff"), "max", json_string("1s"));
	assert_int_equal(hive_retry_policy_from_json(again, &back), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "retry.backoff.max: unknown key"));
	json_decref(again);

	assert_int_equal(hive_retry_policy_from_json(NULL, &back), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "retry: must be an object, got nothing");

	/* Defaults round-trip too, with an empty budget list. */
	hive_retry_policy_default(&p);
	j = hive_retry_policy_to_json(&p);
	assert_int_equal(json_array_size(json_object_get(j, "budgets")), 0);
	assert_int_equal(hive_retry_policy_from_json(j, &back), 0);
	assert_policy_eq(&back, &p);
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* Randomness and backoff                                             */
/* ------------------------------------------------------------------ */

static void test_rng_deterministic(void **state)
{
	(void)state;
	hive_rng a, b, c;
	hive_rng_seed(&a, 42);
	hive_rng_seed(&b, 42);
	hive_rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = hive_rng_next(&a);
		assert_int_equal(x, hive_rng_next(&b));
		differ |= x != hive_rng_next(&c);
	}
	assert_true(differ);
	/* splitmix64's published first output for seed 0. */
	hive_rng_seed(&a, 0);
	assert_int_equal(hive_rng_next(&a), 0xe220a8397b1dcdafULL);
	for (int i = 0; i < 10000; i++) {
		double u = hive_rng_unit(&a);
		assert_true(u >= 0.0 && u < 1.0);
		assert_true(hive_rng_below(&a, 7) < 7);
	}
	assert_int_equal(hive_rng_below(&a, 0), 0);
	assert_int_equal(hive_rng_below(&a, 1), 0);
}

static void test_backoff_none_exact(void **state)
{
	(void)state;
	hive_backoff b = {.initial_ms = 1000, .max_ms = 10000, .coefficient = 2.0, .jitter = HIVE_JITTER_NONE};
	static const int64_t want[] = {1000, 2000, 4000, 8000, 10000, 10000};
	for (int n = 1; n <= 6; n++)
		assert_int_equal(hive_backoff_delay(&b, n, NULL), want[n - 1]);
	assert_int_equal(hive_backoff_delay(&b, 0, NULL), 1000);       /* n < 1 acts as 1 */
	assert_int_equal(hive_backoff_delay(&b, INT32_MAX, NULL), 10000); /* no overflow */

	b = (hive_backoff){.initial_ms = 1000, .max_ms = 60000, .coefficient = 1.5};
	static const int64_t want15[] = {1000, 1500, 2250, 3375, 5063};
	for (int n = 1; n <= 5; n++)
		assert_int_equal(hive_backoff_delay(&b, n, NULL), want15[n - 1]);

	b = (hive_backoff){.initial_ms = 0, .max_ms = 60000, .coefficient = 2.0};
	assert_int_equal(hive_backoff_delay(&b, 5, NULL), 0); /* default: retry at once */
	assert_int_equal(hive_backoff_delay(&b, INT32_MAX, NULL), 0); /* not 0 × inf */

	b = (hive_backoff){.initial_ms = HIVE_DURATION_MAX_MS, .max_ms = HIVE_DURATION_MAX_MS, .coefficient = 1e300};
	assert_int_equal(hive_backoff_delay(&b, 1000, NULL), HIVE_DURATION_MAX_MS); /* inf clamps */

	b = (hive_backoff){.initial_ms = 5000, .max_ms = 2000, .coefficient = 2.0};
	assert_int_equal(hive_backoff_delay(&b, 1, NULL), 2000); /* initial above max: max */
}

static void test_backoff_jitter_bounds(void **state)
{
	(void)state;
	hive_backoff full = {.initial_ms = 1000, .max_ms = 8000, .coefficient = 2.0, .jitter = HIVE_JITTER_FULL};
	hive_backoff equal = full;
	equal.jitter = HIVE_JITTER_EQUAL;
	hive_rng rng;
	hive_rng_seed(&rng, 2024);
	for (int n = 1; n <= 6; n++) {
		int64_t d = hive_backoff_delay(&(hive_backoff){1000, 8000, 2.0, HIVE_JITTER_NONE}, n, NULL);
		int64_t lo_full = INT64_MAX, hi_full = -1;
		for (int i = 0; i < 2000; i++) {
			int64_t f = hive_backoff_delay(&full, n, &rng);
			int64_t e = hive_backoff_delay(&equal, n, &rng);
			assert_true(f >= 0 && f <= d);
			assert_true(e >= d / 2 && e <= d);
			lo_full = f < lo_full ? f : lo_full;
			hi_full = f > hi_full ? f : hi_full;
		}
		assert_true(hi_full - lo_full > d / 2); /* it really spreads */
	}
	/* Both ends are reachable: full jitter hits 0 and d; with an odd d,
	 * equal jitter still reaches d itself. */
	for (int j = HIVE_JITTER_FULL; j <= HIVE_JITTER_EQUAL; j++) {
		hive_backoff one = {.initial_ms = 1, .max_ms = 1, .coefficient = 1.0, .jitter = (hive_jitter)j};
		int seen[2] = {0, 0};
		for (int i = 0; i < 200; i++)
			seen[hive_backoff_delay(&one, 1, &rng)]++;
		assert_true(seen[0] > 0 && seen[1] > 0);
	}
}

static void test_backoff_same_seed_same_sequence(void **state)
{
	(void)state;
	hive_backoff b = {.initial_ms = 500, .max_ms = 60000, .coefficient = 3.0, .jitter = HIVE_JITTER_FULL};
	hive_rng r1, r2, r3;
	hive_rng_seed(&r1, 99);
	hive_rng_seed(&r2, 99);
	hive_rng_seed(&r3, 100);
	int differ = 0;
	for (int n = 1; n <= 20; n++) {
		int64_t a = hive_backoff_delay(&b, n, &r1);
		assert_int_equal(a, hive_backoff_delay(&b, n, &r2));
		differ |= a != hive_backoff_delay(&b, n, &r3);
	}
	assert_true(differ);
}

/* ------------------------------------------------------------------ */
/* The retry decision                                                 */
/* ------------------------------------------------------------------ */

static hive_retry_input input(hive_outcome o)
{
	hive_retry_input in;
	memset(&in, 0, sizeof in);
	in.outcome = o;
	in.verdict_retryable = 1;
	return in;
}

/* Run one attempt through the rule and count it the way a caller must. */
static hive_retry_decision step(const hive_retry_policy *p, hive_retry_input *in, hive_outcome o)
{
	hive_retry_decision d;
	in->outcome = o;
	hive_retry_decide(p, in, NULL, &d);
	if (d.budget >= 0)
		in->budget_used[d.budget]++;
	return d;
}

static void test_decide_implicit_budget(void **state)
{
	(void)state;
	hive_retry_policy p;
	assert_int_equal(parse_text("{\"backoff\": {\"initial\": \"1s\"}}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_CHECK_FAILED);
	hive_retry_decision d = step(&p, &in, HIVE_OUTCOME_CHECK_FAILED);
	assert_int_equal(d.retry, 1);
	assert_int_equal(d.exhausted, 0);
	assert_int_equal(d.budget, 0);
	assert_int_equal(d.used, 1);
	assert_int_equal(d.max, 3);
	assert_int_equal(d.delay_ms, 1000);
	assert_string_equal(d.reason, "retrying: 1 of 3 attempts used");

	d = step(&p, &in, HIVE_OUTCOME_TIMEOUT); /* every attempt counts */
	assert_int_equal(d.retry, 1);
	assert_int_equal(d.used, 2);
	assert_int_equal(d.delay_ms, 2000);

	d = step(&p, &in, HIVE_OUTCOME_CRASHED);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 1);
	assert_int_equal(d.used, 3);
	assert_int_equal(d.max, 3);
	assert_int_equal(d.delay_ms, 0);
	assert_string_equal(d.reason, "budget exhausted: 3 of 3 attempts used");

	/* max_attempts 1 = never retry, yet counts as exhausted. */
	assert_int_equal(parse_text("{\"max_attempts\": 1}", NULL, &p), 0);
	in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	d = step(&p, &in, HIVE_OUTCOME_RUNTIME_FAILED);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 1);
}

/* Timeouts and check failures each spend their own budget, with their own
 * backoff, and the total may exceed the top-level max_attempts. */
static void test_decide_per_outcome_budgets(void **state)
{
	(void)state;
	hive_retry_policy p;
	assert_int_equal(parse_text(
		"{\"max_attempts\": 3, \"backoff\": {\"initial\": \"1s\"},"
		" \"budgets\": [{\"on\": [\"timeout\", \"crashed\"], \"max_attempts\": 3, \"backoff\": {\"initial\": \"10s\"}},"
		"               {\"on\": [\"check_failed\"]}]}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_TIMEOUT);
	static const struct {
		hive_outcome o;
		int retry, exhausted, budget, used, max;
		int64_t delay;
	} seq[] = {
		{HIVE_OUTCOME_TIMEOUT, 1, 0, 0, 1, 3, 10000},
		{HIVE_OUTCOME_CHECK_FAILED, 1, 0, 1, 1, 3, 1000},
		{HIVE_OUTCOME_CHECK_FAILED, 1, 0, 1, 2, 3, 2000},
		{HIVE_OUTCOME_CRASHED, 1, 0, 0, 2, 3, 20000}, /* 4th attempt, still retried */
		{HIVE_OUTCOME_TIMEOUT, 0, 1, 0, 3, 3, 0},
	};
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		hive_retry_decision d = step(&p, &in, seq[i].o);
		assert_int_equal(d.retry, seq[i].retry);
		assert_int_equal(d.exhausted, seq[i].exhausted);
		assert_int_equal(d.budget, seq[i].budget);
		assert_int_equal(d.used, seq[i].used);
		assert_int_equal(d.max, seq[i].max);
		assert_int_equal(d.delay_ms, seq[i].delay);
	}
	assert_int_equal(in.budget_used[0], 3);
	assert_int_equal(in.budget_used[1], 2);

	/* The check_failed budget is separate: its third use exhausts it. */
	in = input(HIVE_OUTCOME_CHECK_FAILED);
	in.budget_used[0] = 3;
	in.budget_used[1] = 2;
	hive_retry_decision d;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.exhausted, 1);
	assert_string_equal(d.reason, "budgets[1] exhausted: 3 of 3 attempts used");
}

static void test_decide_unmatched_outcome(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	assert_int_equal(parse_text("{\"budgets\": [{\"on\": [\"timeout\"]}]}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 0);
	assert_int_equal(d.budget, -1);
	assert_string_equal(d.reason, "outcome runtime_failed matches no budget");

	assert_int_equal(parse_text("{\"retry_on\": [\"timeout\"]}", NULL, &p), 0);
	in = input(HIVE_OUTCOME_CHECK_FAILED);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 0);
	assert_int_equal(d.budget, -1);
	assert_string_equal(d.reason, "outcome check_failed is not in retry_on");

	in = input(HIVE_OUTCOME_SUCCESS);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 0);
	assert_string_equal(d.reason, "attempt succeeded");
}

static void test_decide_retry_after(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	assert_int_equal(parse_text("{\"backoff\": {\"initial\": \"1s\", \"max\": \"5s\"}}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	in.verdict_retry_after_ms = 30000; /* raises above backoff.max, too */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 1);
	assert_int_equal(d.delay_ms, 30000);
	assert_int_equal(d.retry_after_capped, 0);
	in.verdict_retry_after_ms = 500; /* below the backoff: backoff wins */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.delay_ms, 1000);
	assert_int_equal(d.retry_after_capped, 0);
}

/* retry_after is bounded by max_retry_after (default 1h, SPEC 12): a
 * runtime cannot park a task for years; the decision says it was capped. */
static void test_decide_retry_after_capped(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	hive_retry_policy_default(&p);
	assert_int_equal(p.max_retry_after_ms, 3600000);
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	in.verdict_retry_after_ms = (int64_t)2000000000 * 3600000; /* "2000000000h" */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 1);
	assert_int_equal(d.delay_ms, 3600000);
	assert_int_equal(d.retry_after_capped, 1);
	assert_int_equal(d.retry_after_requested_ms, (int64_t)2000000000 * 3600000);
	in.verdict_retry_after_ms = 3600000; /* exactly the cap: not capped */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.delay_ms, 3600000);
	assert_int_equal(d.retry_after_capped, 0);

	/* a policy's own bound; a backoff above it is not cut (it has backoff.max) */
	assert_int_equal(parse_text("{\"max_retry_after\": \"5s\", \"backoff\": {\"initial\": \"10s\"}}", NULL, &p), 0);
	assert_int_equal(p.max_retry_after_ms, 5000);
	in.verdict_retry_after_ms = 60000;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.delay_ms, 10000);
	assert_int_equal(d.retry_after_capped, 1);
	assert_int_equal(d.retry_after_requested_ms, 60000);

	assert_int_equal(parse_text("{\"max_retry_after\": \"soon\"}", NULL, &p), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "max_retry_after"));
}

/* A canonical policy stored before max_retry_after existed still reads
 * (with the default); a current one must carry it like every field. */
static void test_canonical_without_max_retry_after(void **state)
{
	(void)state;
	hive_retry_policy p, back;
	hive_retry_policy_default(&p);
	p.max_retry_after_ms = 5000;
	json_t *j = hive_retry_policy_to_json(&p);
	assert_int_equal(json_integer_value(json_object_get(j, "max_retry_after_ms")), 5000);
	assert_int_equal(hive_retry_policy_from_json(j, &back), 0);
	assert_int_equal(back.max_retry_after_ms, 5000);
	json_object_del(j, "max_retry_after_ms");
	assert_int_equal(hive_retry_policy_from_json(j, &back), 0);
	assert_int_equal(back.max_retry_after_ms, 3600000);
	json_object_set_new(j, "max_retry_after", json_string("1s"));
	assert_int_equal(hive_retry_policy_from_json(j, &back), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "retry.max_retry_after: unknown key"));
	json_decref(j);
}

/* ------------------------------------------------------------------ */
/* Honest policy: what can never take effect is refused (issue 10)    */
/* ------------------------------------------------------------------ */

static void test_parse_never_applies(void **state)
{
	(void)state;
	static const struct { const char *json, *msg; } cases[] = {
		{"{\"backoff\": {\"initial\": \"2m\"}}",
		 "tasks[0].retry.backoff.initial: 2m is more than backoff.max 1m; the first delay cannot exceed the"
		 " longest (lower initial or raise max)"},
		{"{\"backoff\": {\"initial\": \"10s\", \"max\": \"5s\"}}",
		 "tasks[0].retry.backoff.initial: 10s is more than backoff.max 5s; the first delay cannot exceed the"
		 " longest (lower initial or raise max)"},
		{"{\"budgets\": [{\"on\": [\"timeout\"], \"backoff\": {\"initial\": \"90s\"}}]}",
		 "tasks[0].retry.budgets[0].backoff.initial: 1m30s is more than backoff.max 1m; the first delay"
		 " cannot exceed the longest (lower initial or raise max)"},
		{"{\"budgets\": [{\"on\": [\"timeout\", \"crashed\"]}, {\"on\": [\"crashed\"], \"max_attempts\": 9}]}",
		 "tasks[0].retry.budgets[1].on: crashed already taken by an earlier budget (the first match applies),"
		 " so this budget can never apply; remove it or merge it into the earlier one"},
		{"{\"budgets\": [{\"on\": [\"timeout\"]}, {\"on\": [\"check_failed\"]}, {\"on\": [\"timeout\", \"check_failed\"]}]}",
		 "tasks[0].retry.budgets[2].on: check_failed, timeout already taken by an earlier budget"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hive_retry_policy out;
		hive_retry_policy_default(&out);
		out.max_attempts = 77;
		if (parse_text(cases[i].json, NULL, &out) != HIVE_EINVALID)
			fail_msg("%s: accepted", cases[i].json);
		if (strncmp(hive_error_last(), cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", cases[i].json, hive_error_last(), cases[i].msg);
		assert_int_equal(out.max_attempts, 77); /* untouched */
	}
	/* max below an inherited initial names max, the key written here */
	hive_retry_policy flow, task;
	assert_int_equal(parse_text("{\"backoff\": {\"initial\": \"10s\"}}", NULL, &flow), 0);
	assert_int_equal(parse_text("{\"backoff\": {\"max\": \"5s\"}}", &flow, &task), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "tasks[0].retry.backoff.max: 5s is less than backoff.initial 10s;"
	                    " the longest delay cannot be shorter than the first (raise max or lower initial)");
	/* accepted: equal bounds; a budget overlapping but adding an outcome;
	 * a budget larger than the top-level max_attempts (with budgets that is
	 * only their default, SPEC section 4's own example) */
	assert_int_equal(parse_text("{\"backoff\": {\"initial\": \"5s\", \"max\": \"5s\"}}", NULL, &task), 0);
	assert_int_equal(parse_text("{\"budgets\": [{\"on\": [\"timeout\"]}, {\"on\": [\"timeout\", \"crashed\"]}]}",
	                            NULL, &task), 0);
	assert_int_equal(parse_text("{\"max_attempts\": 3, \"budgets\": [{\"on\": [\"timeout\", \"crashed\"],"
	                            " \"max_attempts\": 5, \"backoff\": {\"initial\": \"10s\"}}]}", NULL, &task), 0);
	assert_int_equal(task.budgets[0].max_attempts, 5);
	/* a stored canonical form is read as it was accepted */
	hive_retry_policy_default(&task);
	task.backoff.initial_ms = 120000;
	json_t *j = hive_retry_policy_to_json(&task);
	assert_int_equal(hive_retry_policy_from_json(j, &flow), 0);
	assert_int_equal(flow.backoff.initial_ms, 120000);
	json_decref(j);
}

/* retry.deadline: a duration, canonical deadline_ms, optional when stored
 * before it existed. */
static void test_deadline_parse(void **state)
{
	(void)state;
	hive_retry_policy p, back;
	assert_int_equal(parse_text("{}", NULL, &p), 0);
	assert_int_equal(p.deadline_ms, 0);
	assert_int_equal(parse_text("{\"deadline\": \"90s\"}", NULL, &p), 0);
	assert_int_equal(p.deadline_ms, 90000);
	json_t *j = hive_retry_policy_to_json(&p);
	assert_int_equal(json_integer_value(json_object_get(j, "deadline_ms")), 90000);
	assert_int_equal(hive_retry_policy_from_json(j, &back), 0);
	assert_int_equal(back.deadline_ms, 90000);
	json_object_del(j, "deadline_ms");
	assert_int_equal(hive_retry_policy_from_json(j, &back), 0);
	assert_int_equal(back.deadline_ms, 0);
	json_object_del(j, "mode"); /* the older keys stay required */
	assert_int_equal(hive_retry_policy_from_json(j, &back), HIVE_EINVALID);
	assert_string_equal(hive_error_last(), "retry.mode: missing (the canonical form lists every field)");
	json_decref(j);
	assert_int_equal(parse_text("{\"deadline\": \"later\"}", NULL, &p), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "tasks[0].retry.deadline: invalid duration \"later\""));
	assert_int_equal(parse_text("{\"deadline\": 60}", NULL, &p), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "tasks[0].retry.deadline: must be a duration string"));
}

/* Rule 7: a retry that could not start before the deadline is not made;
 * the task is exhausted (on_exhausted applies) with the reason. */
static void test_decide_deadline(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	assert_int_equal(parse_text("{\"max_attempts\": 10, \"deadline\": \"10s\","
	                            " \"backoff\": {\"initial\": \"2s\", \"max\": \"2s\"}}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	int64_t first = 1800000000000; /* 2027-01-15T08:00:00Z */
	in.deadline_at_ms = first + 10000;
	in.now_ms = first + 7999; /* due at +9999: still before the deadline */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 1);
	assert_int_equal(d.delay_ms, 2000);
	assert_int_equal(d.deadline_exceeded, 0);
	in.now_ms = first + 8000; /* due exactly at the deadline: too late */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 1);
	assert_int_equal(d.deadline_exceeded, 1);
	assert_int_equal(d.delay_ms, 0);
	assert_string_equal(d.reason, "retry.deadline exceeded: the next attempt would start after"
	                    " 2027-01-15T08:00:10.000Z (10s since the first attempt)");
	in.now_ms = first + 12000; /* already past */
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_string_equal(d.reason, "retry.deadline exceeded: 10s since the first attempt passed at"
	                    " 2027-01-15T08:00:10.000Z");
	/* no deadline recorded: the budget alone decides */
	in.deadline_at_ms = 0;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 1);
	/* a verdict's retry_after counts: it can push the retry past the deadline */
	in.deadline_at_ms = first + 10000;
	in.now_ms = first;
	in.verdict_retry_after_ms = 30000;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.deadline_exceeded, 1);
	assert_int_equal(d.retry_after_capped, 0);
	/* a spent budget is reported as such, not as the deadline */
	in.verdict_retry_after_ms = 0;
	in.budget_used[0] = 9;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.exhausted, 1);
	assert_int_equal(d.deadline_exceeded, 0);
}

static void test_decide_jitter_is_seeded(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d1, d2;
	assert_int_equal(parse_text("{\"backoff\": {\"initial\": \"10s\", \"jitter\": \"full\"}}", NULL, &p), 0);
	hive_retry_input in = input(HIVE_OUTCOME_TIMEOUT);
	in.budget_used[0] = 1;
	hive_rng r1, r2;
	hive_rng_seed(&r1, 5);
	hive_rng_seed(&r2, 5);
	hive_retry_decide(&p, &in, &r1, &d1);
	hive_retry_decide(&p, &in, &r2, &d2);
	assert_int_equal(d1.retry, 1);
	assert_true(d1.delay_ms >= 0 && d1.delay_ms <= 20000);
	assert_int_equal(d1.delay_ms, d2.delay_ms);
}

static void test_decide_verdict_not_retryable(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	hive_retry_policy_default(&p);
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_FAILED);
	in.verdict_retryable = 0;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 0);
	assert_int_equal(d.budget, 0);
	assert_int_equal(d.used, 1);
	assert_string_equal(d.reason, "runtime verdict retryable:false");
	/* It wins over an exhausted budget: final, not escalated. */
	in.budget_used[0] = 2;
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.exhausted, 0);
}

/* runtime_unavailable and aborted never retry, even when a hand-built policy
 * (bypassing the parser) lists them. */
static void test_decide_never_retried(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_decision d;
	hive_retry_policy_default(&p);
	p.retry_on = ~0u;
	p.max_attempts = 10;
	hive_retry_input in = input(HIVE_OUTCOME_RUNTIME_UNAVAILABLE);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(d.exhausted, 0);
	assert_int_equal(d.budget, -1);
	assert_string_equal(d.reason, "outcome runtime_unavailable is never retried");
	in = input(HIVE_OUTCOME_ABORTED);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_string_equal(d.reason, "outcome aborted is never retried");
	p.n_budgets = 1;
	p.budgets[0] = (hive_budget){.on = ~0u, .max_attempts = 10, .backoff = p.backoff};
	in = input(HIVE_OUTCOME_RUNTIME_UNAVAILABLE);
	hive_retry_decide(&p, &in, NULL, &d);
	assert_int_equal(d.retry, 0);
	assert_int_equal(hive_retry_policy_budget_for(&p, HIVE_OUTCOME_RUNTIME_UNAVAILABLE), -1);
	assert_int_equal(hive_retry_policy_budget_for(&p, HIVE_OUTCOME_TIMEOUT), 0);
}
/* The effective mode: a --mode override recorded on the task wins, else
 * the policy's (one helper for the runner and task retry). */
static void test_effective_mode(void **state)
{
	(void)state;
	hive_retry_policy p;
	hive_retry_policy_default(&p);
	p.mode = HIVE_RETRY_MODE_CONTINUE;
	json_t *task = json_pack("{s:o}", "retry", hive_retry_policy_to_json(&p));
	assert_int_equal(hive_retry_policy_mode_of(task), 1);
	json_object_set_new(task, "mode", json_string("clean"));
	assert_int_equal(hive_retry_policy_mode_of(task), 0);
	json_object_del(task, "retry"); /* no policy: the override still decides */
	json_object_set_new(task, "mode", json_string("continue"));
	assert_int_equal(hive_retry_policy_mode_of(task), 1);
	json_object_del(task, "mode"); /* neither: the built-in default, clean */
	assert_int_equal(hive_retry_policy_mode_of(task), 0);
	json_decref(task);
	assert_string_equal(hive_retry_policy_mode_name(0), "clean");
	assert_string_equal(hive_retry_policy_mode_name(1), "continue");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_names),
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_parse_overrides_base),
		cmocka_unit_test(test_parse_budget_inheritance),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_too_many_budgets),
		cmocka_unit_test(test_canonical_round_trip),
		cmocka_unit_test(test_effective_mode),
		cmocka_unit_test(test_parse_never_applies),
		cmocka_unit_test(test_deadline_parse),
		cmocka_unit_test(test_decide_deadline),
		cmocka_unit_test(test_rng_deterministic),
		cmocka_unit_test(test_backoff_none_exact),
		cmocka_unit_test(test_backoff_jitter_bounds),
		cmocka_unit_test(test_backoff_same_seed_same_sequence),
		cmocka_unit_test(test_decide_implicit_budget),
		cmocka_unit_test(test_decide_per_outcome_budgets),
		cmocka_unit_test(test_decide_unmatched_outcome),
		cmocka_unit_test(test_decide_retry_after),
		cmocka_unit_test(test_decide_retry_after_capped),
		cmocka_unit_test(test_canonical_without_max_retry_after),
		cmocka_unit_test(test_decide_jitter_is_seeded),
		cmocka_unit_test(test_decide_verdict_not_retryable),
		cmocka_unit_test(test_decide_never_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
