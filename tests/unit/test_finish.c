/*
 * test_finish.c - the end of an attempt (hive_finish_attempt): the outcome
 * recorded, the retry decision taken and written as events (SPEC sections
 * 3 and 4), and the circuit breaker fed.
 *
 * What it protects: for each outcome the task goes where the policy says
 * (success; retry with the right delay; failed; escalated when the budget
 * is spent and on_exhausted is "escalate", never for an outcome that is
 * not retried or a runtime's retryable:false); explicit budgets count only
 * the outcomes they route; the reason a person reads; the circuit opening
 * after the threshold; and an attempt that already ended (a person aborted
 * it) is left alone.
 *
 * Each row runs a sequence of attempts on one task of a real store: the
 * task is moved running (and verifying when the runtime exited 0, as the
 * runner does), an attempt is started, and hive_finish_attempt records it.
 */
#include "engine.h"

#include "core/finish.h"
#include "core/state.h"

#define FLOW "c0000000-0000-7000-8000-000000000001"
#define TASK "d0000000-0000-7000-8000-000000000001"

enum { S = HIVE_OUTCOME_SUCCESS, CF = HIVE_OUTCOME_CHECK_FAILED, RF = HIVE_OUTCOME_RUNTIME_FAILED,
       TO = HIVE_OUTCOME_TIMEOUT, CR = HIVE_OUTCOME_CRASHED, RU = HIVE_OUTCOME_RUNTIME_UNAVAILABLE,
       IN = HIVE_OUTCOME_INTERRUPTED, END = -1 };

typedef struct {
	const char *name;
	const char *retry;        /* user-form policy, NULL = defaults */
	int outcomes[6];          /* one attempt each, END-terminated */
	const char *verdict;      /* JSON for the last attempt, or NULL */
	const char *states;       /* the task's state after each attempt, space separated */
	const char *delays;       /* delay_ms of each retry scheduled, space separated ("" = none) */
	const char *reason;       /* the last state change's reason */
} row;

static const row rows[] = {
	{"success at once", NULL, {S, END}, NULL, "success", "", "all required checks passed"},
	{"default budget: three check failures", NULL, {CF, CF, CF, END}, NULL, "retry retry failed", "0 0",
	 "budget exhausted: 3 of 3 attempts used"},
	{"a retry that then succeeds", NULL, {RF, S, END}, NULL, "retry success", "0", "all required checks passed"},
	{"timeout and crash are retried by default", NULL, {TO, CR, TO, END}, NULL, "retry retry failed", "0 0",
	 "budget exhausted: 3 of 3 attempts used"},
	{"runtime_unavailable is never retried", NULL, {RU, END}, NULL, "failed", "",
	 "outcome runtime_unavailable is never retried"},
	{"escalate when the budget is spent", "{\"max_attempts\":2,\"on_exhausted\":\"escalate\"}", {RF, RF, END}, NULL,
	 "retry escalated", "0", "retry budget exhausted; a person must decide"},
	{"no escalation for an outcome never retried", "{\"on_exhausted\":\"escalate\"}", {RU, END}, NULL, "failed", "",
	 "outcome runtime_unavailable is never retried"},
	{"no escalation for a runtime's retryable:false", "{\"on_exhausted\":\"escalate\"}", {RF, END},
	 "{\"retryable\":false}", "failed", "", "runtime verdict retryable:false"},
	{"retry_on leaves check failures out", "{\"retry_on\":[\"timeout\"]}", {CF, END}, NULL, "failed", "",
	 "outcome check_failed is not in retry_on"},
	{"max_attempts 1: no retry at all", "{\"max_attempts\":1}", {CF, END}, NULL, "failed", "",
	 "budget exhausted: 1 of 1 attempts used"},
	{"backoff doubles", "{\"max_attempts\":4,\"backoff\":{\"initial\":\"1s\",\"coefficient\":2}}", {CF, CF, CF, CF, END},
	 NULL, "retry retry retry failed", "1000 2000 4000", "budget exhausted: 4 of 4 attempts used"},
	{"backoff is capped by max", "{\"max_attempts\":4,\"backoff\":{\"initial\":\"1s\",\"coefficient\":10,\"max\":\"5s\"}}",
	 {CF, CF, CF, END}, NULL, "retry retry retry", "1000 5000 5000", "retrying: 3 of 4 attempts used"},
	{"a verdict's retry_after raises the delay", NULL, {RF, END}, "{\"retry_after_ms\":7000}", "retry", "7000",
	 "retrying: 1 of 3 attempts used"},
	{"budgets count only their outcomes",
	 "{\"budgets\":[{\"on\":[\"timeout\"],\"max_attempts\":2},{\"on\":[\"check_failed\"],\"max_attempts\":2}]}",
	 {TO, CF, TO, END}, NULL, "retry retry failed", "0 0", "budgets[0] exhausted: 2 of 2 attempts used"},
	{"an outcome outside every budget fails", "{\"budgets\":[{\"on\":[\"timeout\"],\"max_attempts\":5}]}", {CF, END},
	 NULL, "failed", "", "outcome check_failed matches no budget"},
	{"a budget's own exhaustion escalates",
	 "{\"on_exhausted\":\"escalate\",\"budgets\":[{\"on\":[\"crashed\"],\"max_attempts\":1}]}", {CR, END}, NULL,
	 "escalated", "", "retry budget exhausted; a person must decide"},
	/* SPEC 12: a signal to the runner is never charged to a budget and is
	 * retried with no delay, whatever the policy says */
	{"interrupted: retried at once, never charged",
	 "{\"max_attempts\":1,\"backoff\":{\"initial\":\"10s\"},\"retry_on\":[]}", {IN, IN, S, END}, NULL,
	 "retry retry success", "0 0", "all required checks passed"},
	{"interrupted does not spend what is left", "{\"max_attempts\":2}", {RF, IN, RF, END}, NULL,
	 "retry retry failed", "0 0", "budget exhausted: 2 of 2 attempts used"},
};

/* Build the flow with one task under `retry` and start it; the task is ready. */
static void build(eng *e, const char *retry, const char *defaults)
{
	eng_project(e, "p");
	eng_task(e, TASK, "t", NULL, retry);
	const char *list[] = {TASK, NULL};
	eng_flow(e, FLOW, "f", list, defaults);
	eng_flow_start(e, FLOW);
	eng_move(e, FLOW, TASK, "ready", (const char *)NULL);
}

typedef struct {
	const char *attempt;
	int outcome;
	json_t *verdict;
	uint64_t seed;
} finish_ctx;

static int finish_fn(hive_txn *txn, void *vctx)
{
	finish_ctx *c = vctx;
	return hive_finish_attempt(txn, TASK, c->attempt, c->outcome, 10, NULL, c->verdict,
				   c->outcome == S ? NULL : "it broke", c->seed);
}

/* One attempt: to running (and verifying when the runtime exited 0), start,
 * finish.  Returns the finish's rc. */
static int one_attempt(eng *e, int n, int outcome, json_t *verdict)
{
	json_t *t = eng_get(e, "task/%s", TASK);
	int st = hive_task_state_parse(eng_str(t, "state"));
	json_decref(t);
	if (st != HIVE_TASK_RUNNING)
		eng_move(e, FLOW, TASK, "running", (const char *)NULL);
	const char *aid = eng_id('a', (unsigned)n);
	eng_attempt(e, FLOW, TASK, aid, n);
	if (outcome == S || outcome == CF)
		eng_move(e, FLOW, TASK, "verifying", (const char *)NULL);
	finish_ctx c = {aid, outcome, verdict, 42};
	return hive_store_write(e->s, finish_fn, &c);
}

static void run_row(const row *r)
{
	eng e;
	eng_open(&e);
	build(&e, r->retry, NULL);
	char states[128] = "", delays[128] = "";
	size_t sl = 0, dl = 0;
	for (int i = 0; r->outcomes[i] != END; i++) {
		int last = r->outcomes[i + 1] == END;
		json_t *verdict = last && r->verdict ? json_loads(r->verdict, 0, NULL) : NULL;
		uint64_t seq = eng_last_seq(&e);
		int rc = one_attempt(&e, i + 1, r->outcomes[i], verdict);
		json_decref(verdict);
		if (rc)
			fail_msg("%s: attempt %d: rc %d: %s", r->name, i + 1, rc, hive_error_last());
		json_t *t = eng_get(&e, "task/%s", TASK);
		sl += (size_t)snprintf(states + sl, sizeof states - sl, "%s%s", i ? " " : "", eng_str(t, "state"));
		if (last && strcmp(eng_str(t, "reason"), r->reason) != 0)
			fail_msg("%s: reason \"%s\", expected \"%s\"", r->name, eng_str(t, "reason"), r->reason);
		json_decref(t);
		json_t *evs = eng_events_after(&e, seq), *ev;
		size_t j;
		json_array_foreach(evs, j, ev) {
			json_t *p = json_object_get(ev, "payload");
			if (strcmp(eng_str(ev, "type"), "task_retry_scheduled") == 0)
				dl += (size_t)snprintf(delays + dl, sizeof delays - dl, "%s%lld", dl ? " " : "",
						       (long long)json_integer_value(json_object_get(p, "delay_ms")));
			if (strcmp(eng_str(ev, "type"), "attempt_completed") == 0 &&
			    strcmp(eng_str(p, "outcome"), hive_outcome_name((hive_outcome)r->outcomes[i])) != 0)
				fail_msg("%s: attempt %d completed %s", r->name, i + 1, eng_str(p, "outcome"));
		}
		json_decref(evs);
	}
	if (strcmp(states, r->states) != 0)
		fail_msg("%s: states \"%s\", expected \"%s\"", r->name, states, r->states);
	if (strcmp(delays, r->delays) != 0)
		fail_msg("%s: delays \"%s\", expected \"%s\"", r->name, delays, r->delays);
	eng_close(&e);
}

static void test_decisions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i]);
}

/* The events of one retry decision, in order, with what they carry. */
static void test_retry_events(void **state)
{
	eng *e = *state;
	build(e, "{\"max_attempts\":2}", NULL);
	uint64_t seq = eng_last_seq(e);
	assert_int_equal(one_attempt(e, 1, RF, NULL), 0);
	json_t *evs = eng_events_after(e, seq);
	char got[512];
	assert_string_equal(eng_types_after(e, seq, "to", got, sizeof got),
			    "task_state_changed:running attempt_started attempt_completed "
			    "task_state_changed:retry task_retry_scheduled");
	json_t *sched = json_array_get(evs, 4);
	eng_expect(sched, "retry_scheduled", "payload.next_attempt", "2");
	eng_expect(sched, "retry_scheduled", "payload.outcome", "\"runtime_failed\"");
	eng_expect(sched, "retry_scheduled", "payload.budget",
		   "{\"index\":0,\"on\":[\"check_failed\",\"runtime_failed\",\"timeout\",\"crashed\"],\"used\":1,\"max\":2}");
	json_t *done = json_array_get(evs, 2);
	eng_expect(done, "attempt_completed", "payload.summary", "\"it broke\"");
	eng_expect(done, "attempt_completed", "payload.failed_checks", "[]");
	eng_expect(done, "attempt_completed", "payload.attempt_number", "1");
	json_decref(evs);
	json_t *t = eng_get(e, "task/%s", TASK);
	eng_expect(t, "task", "budget_used", "[1]");
	eng_expect(t, "task", "running_attempt", "null");
	json_decref(t);
	/* the second failure spends the budget: failed, no further schedule */
	seq = eng_last_seq(e);
	assert_int_equal(one_attempt(e, 2, RF, NULL), 0);
	assert_string_equal(eng_types_after(e, seq, "to", got, sizeof got),
			    "task_state_changed:running attempt_started attempt_completed task_state_changed:failed");
}

/* Escalation: failed, then escalated, then the task_escalated note. */
static void test_escalation_events(void **state)
{
	eng *e = *state;
	build(e, "{\"max_attempts\":1,\"on_exhausted\":\"escalate\"}", NULL);
	uint64_t seq = eng_last_seq(e);
	assert_int_equal(one_attempt(e, 1, CF, NULL), 0);
	char got[512];
	assert_string_equal(eng_types_after(e, seq, "to", got, sizeof got),
			    "task_state_changed:running attempt_started task_state_changed:verifying attempt_completed "
			    "task_state_changed:failed task_state_changed:escalated task_escalated");
	json_t *t = eng_get(e, "task/%s", TASK);
	eng_expect(t, "task", "escalated.reason", "\"budget exhausted: 1 of 1 attempts used\"");
	json_decref(t);
}

/* The flow's circuit breaker opens at its threshold of runtime failures
 * (check failures do not count: the runtime itself worked). */
static void test_circuit_opens(void **state)
{
	eng *e = *state;
	build(e, "{\"max_attempts\":5}",
	      "{\"circuit_breaker\":{\"failure_threshold\":2,\"reset_timeout_ms\":60000}}");
	assert_int_equal(one_attempt(e, 1, RF, NULL), 0);
	assert_int_equal(one_attempt(e, 2, CF, NULL), 0);
	json_t *c = eng_get(e, "circuit/%s/exec", FLOW);
	eng_expect(c, "circuit", "consecutive_failures", "0");
	json_decref(c);
	assert_int_equal(one_attempt(e, 3, RF, NULL), 0);
	uint64_t seq = eng_last_seq(e);
	assert_int_equal(one_attempt(e, 4, TO, NULL), 0);
	char got[512];
	const char *types = eng_types_after(e, seq, NULL, got, sizeof got);
	assert_non_null(strstr(types, "attempt_completed circuit_opened task_state_changed task_retry_scheduled"));
	c = eng_get(e, "circuit/%s/exec", FLOW);
	eng_expect(c, "circuit", "state", "\"open\"");
	eng_expect(c, "circuit", "failures", "2");
	eng_expect(c, "circuit", "reset_timeout_ms", "60000");
	json_decref(c);
}

/* An attempt a person already ended is not recorded twice. */
static void test_ended_attempt_left_alone(void **state)
{
	eng *e = *state;
	build(e, NULL, NULL);
	eng_move(e, FLOW, TASK, "running", (const char *)NULL);
	const char *aid = "a0000000-0000-7000-8000-000000000001";
	eng_attempt(e, FLOW, TASK, aid, 1);
	assert_int_equal(eng_emits(e, HIVE_EV_ATTEMPT_COMPLETED, FLOW, TASK, aid,
				   "{\"outcome\":\"aborted\",\"attempt_number\":1}"), 0);
	eng_move(e, FLOW, TASK, "aborted", (const char *)NULL);
	uint64_t seq = eng_last_seq(e);
	finish_ctx c = {aid, RF, NULL, 1};
	assert_int_equal(hive_store_write(e->s, finish_fn, &c), 0);
	assert_int_equal(eng_last_seq(e), seq);
	/* nor an attempt or task that does not exist */
	finish_ctx none = {"a0000000-0000-7000-8000-0000000000ff", RF, NULL, 1};
	assert_int_equal(hive_store_write(e->s, finish_fn, &none), 0);
	assert_int_equal(eng_last_seq(e), seq);
}

/* With full jitter the delay is drawn once (the seed is mixed with the
 * clock, so only its bounds are fixed) and stays within the backoff. */
static void test_jitter_within_backoff(void **state)
{
	(void)state;
	int64_t delays[2];
	for (int k = 0; k < 2; k++) {
		eng e;
		eng_open(&e);
		build(&e, "{\"backoff\":{\"initial\":\"10s\",\"jitter\":\"full\"}}", NULL);
		uint64_t seq = eng_last_seq(&e);
		assert_int_equal(one_attempt(&e, 1, RF, NULL), 0);
		json_t *evs = eng_events_after(&e, seq);
		json_t *last = json_array_get(evs, json_array_size(evs) - 1);
		assert_string_equal(eng_str(last, "type"), "task_retry_scheduled");
		delays[k] = json_integer_value(eng_at(last, "payload.delay_ms"));
		json_decref(evs);
		eng_close(&e);
	}
	assert_true(delays[0] >= 0 && delays[0] <= 10000);
	assert_true(delays[1] >= 0 && delays[1] <= 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test_setup_teardown(test_retry_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_escalation_events, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_circuit_opens, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_ended_attempt_left_alone, eng_setup, eng_teardown),
		cmocka_unit_test(test_jitter_within_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
