/*
 * test_projection.c - hive_apply(): a sequence of events gives the
 * expected documents, and an event that would break the state machine is
 * refused with nothing applied, both when a command emits it and when a
 * replay meets it (SPEC sections 2 and 10).
 *
 * What it protects: every field a reader relies on (state, attempts,
 * budget_used, running_attempt, next_attempt_at, blocked_reason,
 * result_commit, the circuit count, the name and key indexes) is set and
 * cleared by the right event; refused events leave neither a log entry nor
 * a changed document; `events verify` reports an illegal transition in the
 * log instead of applying it; and replaying a valid log reproduces the
 * stored projections exactly.
 *
 * The events go through hive_emit() into a real LMDB store in a temp dir,
 * each in its own write transaction, as the commands write them.
 */
#include "engine.h"

#define P_ "b0000000-0000-7000-8000-000000000001"
#define F1 "c0000000-0000-7000-8000-000000000001"
#define F2 "c0000000-0000-7000-8000-000000000002"
#define T1 "d0000000-0000-7000-8000-000000000001"
#define T2 "d0000000-0000-7000-8000-000000000002"
#define A1 "a0000000-0000-7000-8000-000000000001"
#define A2 "a0000000-0000-7000-8000-000000000002"

/* Special expectation: the member (or the whole document) is absent. */
#define ABSENT "<absent>"

typedef struct {
	const char *key, *path, *want;
} want;

typedef struct {
	hive_event_type type;
	const char *flow, *task, *attempt, *payload;
	int rc;        /* 0, or the refusal */
	want w[7];     /* checked after the step */
} step;

#define CANON_RETRY "{\"max_attempts\":3,\"retry_on\":[\"check_failed\",\"runtime_failed\",\"timeout\",\"crashed\"]," \
	"\"backoff\":{\"initial_ms\":0,\"max_ms\":60000,\"coefficient\":2.0,\"jitter\":\"none\"},\"budgets\":[]," \
	"\"mode\":\"clean\",\"on_exhausted\":\"fail\"," \
	"\"context\":{\"max_prior_attempts\":3,\"max_check_output_lines\":50,\"max_diff_lines\":500}}"

static void check_want(eng *e, const want *w)
{
	json_t *doc = eng_get(e, "%s", w->key);
	if (strcmp(w->want, ABSENT) == 0) {
		json_t *v = doc && w->path ? eng_at(doc, w->path) : doc;
		if (v)
			fail_msg("%s%s%s: expected absent", w->key, w->path ? "." : "", w->path ? w->path : "");
	} else {
		if (!doc)
			fail_msg("projection %s is missing", w->key);
		eng_expect(doc, w->key, w->path, w->want);
	}
	json_decref(doc);
}

/* Run steps; a refused step must leave the log and the checked documents
 * as they were. */
static void run_steps(eng *e, const step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const step *s = &steps[i];
		uint64_t before = eng_last_seq(e);
		int rc = eng_emits(e, s->type, s->flow, s->task, s->attempt, s->payload);
		if (rc != s->rc)
			fail_msg("step %zu (%s): rc %d, expected %d: %s", i, hive_event_type_name(s->type), rc, s->rc,
				 hive_error_last());
		assert_int_equal(eng_last_seq(e), rc ? before : before + 1);
		for (size_t j = 0; j < sizeof s->w / sizeof s->w[0] && s->w[j].key; j++)
			check_want(e, &s->w[j]);
	}
}

/* ---- a whole life: created, retried, succeeded ------------------------------------ */

static const step life[] = {
	{HIVE_EV_PROJECT_CREATED, NULL, NULL, NULL, "{\"name\":\"p\",\"repo\":\"/r\",\"description\":\"\"}", 0,
	 {{"project/" P_, "name", "\"p\""}, {"project/" P_, "id", "\"" P_ "\""}, {"name/project/p", "id", "\"" P_ "\""}}},
	{HIVE_EV_TASK_CREATED, NULL, T1, NULL, "{\"key\":\"a\",\"title\":\"A\",\"depends_on\":[],\"retry\":" CANON_RETRY "}", 0,
	 {{"task/" T1, "state", "\"pending\""}, {"task/" T1, "attempts", "0"}, {"task/" T1, "attempt_ids", "[]"},
	  {"task/" T1, "budget_used", "[]"}, {"task/" T1, "flow_id", "null"}, {"task/" T1, "project_id", "\"" P_ "\""},
	  {"taskkey/a/" T1, NULL, "{}"}}},
	{HIVE_EV_TASK_CREATED, NULL, T2, NULL, "{\"key\":\"b\",\"title\":\"B\",\"depends_on\":[\"" T1 "\"],\"retry\":" CANON_RETRY "}", 0,
	 {{"task/" T2, "depends_on", "[\"" T1 "\"]"}}},
	{HIVE_EV_FLOW_CREATED, F1, NULL, NULL, "{\"name\":\"f1\",\"task_ids\":[\"" T1 "\",\"" T2 "\"],\"defaults\":{\"circuit_breaker\":{\"failure_threshold\":5,\"reset_timeout_ms\":60000}}}", 0,
	 {{"flow/" F1, "state", "\"created\""}, {"flowtasks/" F1, "task_ids.1", "\"" T2 "\""}, {"name/flow/f1", "id", "\"" F1 "\""},
	  {"task/" T1, "flow_id", "\"" F1 "\""}, {"task/" T2, "flow_id", "\"" F1 "\""}}},
	{HIVE_EV_FLOW_STARTED, F1, NULL, NULL, "{\"base_commit\":\"abc\"}", 0,
	 {{"flow/" F1, "state", "\"running\""}, {"flow/" F1, "base_commit", "\"abc\""}}},
	{HIVE_EV_TASK_BLOCKED, F1, T2, NULL, "{\"reason\":\"dependency a is late\"}", 0,
	 {{"task/" T2, "blocked_reason", "\"dependency a is late\""}, {"task/" T2, "last_blocked.reason", "\"dependency a is late\""},
	  {"task/" T2, "state", "\"pending\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"pending\",\"to\":\"ready\",\"reason\":\"dependencies succeeded\"}", 0,
	 {{"task/" T1, "state", "\"ready\""}, {"task/" T1, "reason", "\"dependencies succeeded\""}}},
	{HIVE_EV_TASK_READY, F1, T1, NULL, "{}", 0, {{"task/" T1, "last_ready", "{}"}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"ready\",\"to\":\"running\"}", 0,
	 {{"task/" T1, "state", "\"running\""}, {"task/" T1, "reason", "null"}}},
	{HIVE_EV_ATTEMPT_STARTED, F1, T1, A1, "{\"attempt_number\":1,\"runtime\":\"exec\",\"task_base_commit\":\"base1\"}", 0,
	 {{"attempt/" A1, "state", "\"running\""}, {"attempt/" A1, "task_id", "\"" T1 "\""}, {"attempt/" A1, "checks", "[]"},
	  {"task/" T1, "attempts", "1"}, {"task/" T1, "attempt_ids", "[\"" A1 "\"]"}, {"task/" T1, "running_attempt", "\"" A1 "\""},
	  {"task/" T1, "base_commit", "\"base1\""}}},
	{HIVE_EV_RUNTIME_EXITED, F1, T1, A1, "{\"exit_code\":1}", 0, {{"attempt/" A1, "runtime_exited.exit_code", "1"}}},
	{HIVE_EV_CHECK_STARTED, F1, T1, A1, "{\"name\":\"t\"}", 0, {{"attempt/" A1, "current_check.name", "\"t\""}}},
	{HIVE_EV_CHECK_COMPLETED, F1, T1, A1, "{\"name\":\"t\",\"passed\":false}", 0,
	 {{"attempt/" A1, "checks.0.passed", "false"}, {"attempt/" A1, "current_check", ABSENT}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A1, "{\"outcome\":\"runtime_failed\",\"attempt_number\":1}", 0,
	 {{"attempt/" A1, "state", "\"completed\""}, {"attempt/" A1, "outcome", "\"runtime_failed\""},
	  {"task/" T1, "last_outcome", "\"runtime_failed\""}, {"task/" T1, "running_attempt", "null"},
	  {"task/" T1, "budget_used", "[1]"}, {"circuit/" F1 "/exec", "consecutive_failures", "1"},
	  {"circuit/" F1 "/exec", "state", "\"closed\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"running\",\"to\":\"retry\",\"reason\":\"retrying\"}", 0,
	 {{"task/" T1, "state", "\"retry\""}}},
	{HIVE_EV_TASK_RETRY_SCHEDULED, F1, T1, NULL,
	 "{\"next_attempt\":2,\"not_before\":\"2026-01-01T00:00:05.000Z\",\"not_before_ms\":5000}", 0,
	 {{"task/" T1, "next_attempt_at_ms", "5000"}, {"task/" T1, "next_attempt_at", "\"2026-01-01T00:00:05.000Z\""},
	  {"task/" T1, "retry_scheduled.next_attempt", "2"}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"retry\",\"to\":\"running\"}", 0,
	 {{"task/" T1, "next_attempt_at", ABSENT}, {"task/" T1, "next_attempt_at_ms", ABSENT}}},
	{HIVE_EV_ATTEMPT_STARTED, F1, T1, A2, "{\"attempt_number\":2,\"runtime\":\"exec\",\"task_base_commit\":\"base2\"}", 0,
	 {{"task/" T1, "attempts", "2"}, {"task/" T1, "attempt_ids", "[\"" A1 "\",\"" A2 "\"]"},
	  {"task/" T1, "last_attempt_id", "\"" A2 "\""}, {"task/" T1, "base_commit", "\"base1\""}}},
	{HIVE_EV_CHANGES_RECORDED, F1, T1, A2, "{\"commit\":\"c2\",\"files_changed\":1}", 0,
	 {{"attempt/" A2, "changes.commit", "\"c2\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"running\",\"to\":\"verifying\"}", 0, {{"task/" T1, "state", "\"verifying\""}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A2, "{\"outcome\":\"success\",\"attempt_number\":2}", 0,
	 {{"task/" T1, "result_commit", "\"c2\""}, {"task/" T1, "last_commit", "\"c2\""}, {"task/" T1, "budget_used", "[1]"},
	  {"task/" T1, "last_outcome", "\"success\""}, {"circuit/" F1 "/exec", "consecutive_failures", "0"}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"verifying\",\"to\":\"success\"}", 0, {{"task/" T1, "state", "\"success\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"ready\"}", 0,
	 {{"task/" T2, "blocked_reason", ABSENT}, {"task/" T2, "state", "\"ready\""}}},
	{HIVE_EV_CIRCUIT_OPENED, F1, NULL, NULL, "{\"adapter\":\"exec\",\"failures\":5,\"opened_at_ms\":7}", 0,
	 {{"circuit/" F1 "/exec", "state", "\"open\""}, {"circuit/" F1 "/exec", "opened_at_ms", "7"}}},
	{HIVE_EV_CIRCUIT_HALF_OPENED, F1, NULL, NULL, "{\"adapter\":\"exec\",\"probe_attempt\":\"" A2 "\"}", 0,
	 {{"circuit/" F1 "/exec", "state", "\"half_open\""}, {"circuit/" F1 "/exec", "probe_attempt", "\"" A2 "\""}}},
	{HIVE_EV_CIRCUIT_CLOSED, F1, NULL, NULL, "{\"adapter\":\"exec\"}", 0,
	 {{"circuit/" F1 "/exec", "state", "\"closed\""}, {"circuit/" F1 "/exec", "consecutive_failures", "0"}}},
	{HIVE_EV_FLOW_PAUSED, F1, NULL, NULL, "{\"reason\":\"lunch\"}", 0,
	 {{"flow/" F1, "state", "\"paused\""}, {"flow/" F1, "reason", "\"lunch\""}}},
	{HIVE_EV_FLOW_RESUMED, F1, NULL, NULL, "{}", 0, {{"flow/" F1, "state", "\"running\""}, {"flow/" F1, "reason", ABSENT}}},
	{HIVE_EV_FLOW_COMPLETED, F1, NULL, NULL, "{}", 0, {{"flow/" F1, "state", "\"completed\""}}},
	/* an ended flow's task may join a new flow; its success keeps the result */
	{HIVE_EV_FLOW_CREATED, F2, NULL, NULL, "{\"name\":\"f2\",\"task_ids\":[\"" T1 "\"],\"defaults\":{}}", 0,
	 {{"task/" T1, "flow_id", "\"" F2 "\""}, {"task/" T1, "result_commit", "\"c2\""}, {"name/flow/f2", "id", "\"" F2 "\""}}},
	{HIVE_EV_FLOW_ABORTED, F2, NULL, NULL, "{\"reason\":\"no\"}", 0, {{"flow/" F2, "state", "\"aborted\""}}},
};

static void test_life_of_a_task(void **state)
{
	eng *e = *state;
	run_steps(e, life, sizeof life / sizeof life[0]);
}

/* ---- task_retry_requested and task_aborted ---------------------------------------- */

static const step retry_requested[] = {
	{HIVE_EV_PROJECT_CREATED, NULL, NULL, NULL, "{\"name\":\"p\",\"repo\":\"/r\",\"description\":\"\"}", 0, {{0}}},
	{HIVE_EV_TASK_CREATED, NULL, T1, NULL, "{\"key\":\"a\",\"title\":\"A\",\"depends_on\":[],\"retry\":" CANON_RETRY "}", 0, {{0}}},
	{HIVE_EV_TASK_CREATED, NULL, T2, NULL, "{\"key\":\"b\",\"title\":\"B\",\"depends_on\":[],\"retry\":" CANON_RETRY "}", 0, {{0}}},
	{HIVE_EV_FLOW_CREATED, F1, NULL, NULL, "{\"name\":\"f1\",\"task_ids\":[\"" T1 "\",\"" T2 "\"],\"defaults\":{\"circuit_breaker\":{\"failure_threshold\":5,\"reset_timeout_ms\":60000}}}", 0, {{0}}},
	{HIVE_EV_FLOW_STARTED, F1, NULL, NULL, "{}", 0, {{0}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"pending\",\"to\":\"ready\"}", 0, {{0}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"ready\",\"to\":\"running\"}", 0, {{0}}},
	{HIVE_EV_ATTEMPT_STARTED, F1, T1, A1, "{\"attempt_number\":1,\"runtime\":\"exec\"}", 0, {{0}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A1, "{\"outcome\":\"timeout\",\"attempt_number\":1}", 0,
	 {{"task/" T1, "budget_used", "[1]"}, {"circuit/" F1 "/exec", "consecutive_failures", "1"}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"running\",\"to\":\"failed\",\"reason\":\"spent\"}", 0,
	 {{"task/" T1, "state", "\"failed\""}, {"task/" T1, "reason", "\"spent\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"failed\",\"to\":\"escalated\"}", 0, {{"task/" T1, "state", "\"escalated\""}}},
	{HIVE_EV_TASK_ESCALATED, F1, T1, NULL, "{\"reason\":\"spent\"}", 0, {{"task/" T1, "escalated.reason", "\"spent\""}}},
	{HIVE_EV_TASK_RETRY_REQUESTED, F1, T1, NULL, "{\"reset_count\":true,\"mode\":\"continue\"}", 0,
	 {{"task/" T1, "budget_used", "[]"}, {"task/" T1, "mode", "\"continue\""}, {"task/" T1, "retry_requests", "1"}}},
	{HIVE_EV_TASK_RETRY_REQUESTED, F1, T1, NULL, "{\"reset_count\":false}", 0,
	 {{"task/" T1, "retry_requests", "2"}, {"task/" T1, "mode", "\"continue\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"escalated\",\"to\":\"pending\"}", 0,
	 {{"task/" T1, "state", "\"pending\""}, {"task/" T1, "attempts", "1"}}},
	{HIVE_EV_TASK_ABORTED, F1, T2, NULL, "{\"reason\":\"not needed\"}", 0, {{"task/" T2, "aborted.reason", "\"not needed\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"aborted\",\"reason\":\"not needed\"}", 0,
	 {{"task/" T2, "state", "\"aborted\""}}},
	{HIVE_EV_FLOW_FAILED, F1, NULL, NULL, "{\"reason\":\"b aborted\"}", 0,
	 {{"flow/" F1, "state", "\"failed\""}, {"flow/" F1, "reason", "\"b aborted\""}}},
	/* a failed flow can run again (task retry revives it) */
	{HIVE_EV_FLOW_RESUMED, F1, NULL, NULL, "{}", 0, {{"flow/" F1, "state", "\"running\""}}},
};

static void test_retry_requested_and_abort(void **state)
{
	run_steps(*state, retry_requested, sizeof retry_requested / sizeof retry_requested[0]);
}

/* ---- refusals: nothing applied --------------------------------------------------------- */

/* A running flow f1 {T1 running, its attempt A1 completed; T2 pending};
 * each refusal below is tried against it: run_steps asserts the log did
 * not grow, and the wants assert the documents did not change. */
static const step setup_for_refusals[] = {
	{HIVE_EV_PROJECT_CREATED, NULL, NULL, NULL, "{\"name\":\"p\",\"repo\":\"/r\",\"description\":\"\"}", 0, {{0}}},
	{HIVE_EV_TASK_CREATED, NULL, T1, NULL, "{\"key\":\"a\",\"title\":\"A\",\"depends_on\":[],\"retry\":" CANON_RETRY "}", 0, {{0}}},
	{HIVE_EV_TASK_CREATED, NULL, T2, NULL, "{\"key\":\"b\",\"title\":\"B\",\"depends_on\":[],\"retry\":" CANON_RETRY "}", 0, {{0}}},
	{HIVE_EV_FLOW_CREATED, F1, NULL, NULL, "{\"name\":\"f1\",\"task_ids\":[\"" T1 "\",\"" T2 "\"],\"defaults\":{}}", 0, {{0}}},
	{HIVE_EV_FLOW_STARTED, F1, NULL, NULL, "{}", 0, {{0}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"pending\",\"to\":\"ready\"}", 0, {{0}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"ready\",\"to\":\"running\"}", 0, {{0}}},
	{HIVE_EV_ATTEMPT_STARTED, F1, T1, A1, "{\"attempt_number\":1,\"runtime\":\"exec\"}", 0, {{0}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A1, "{\"outcome\":\"check_failed\",\"attempt_number\":1}", 0, {{0}}},
};

#define ECONF HIVE_ECONFLICT
static const step refusals[] = {
	/* illegal task transitions, and events that lie about the current state */
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"running\"}", ECONF,
	 {{"task/" T2, "state", "\"pending\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"success\"}", ECONF,
	 {{"task/" T2, "state", "\"pending\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"ready\",\"to\":\"running\"}", ECONF,
	 {{"task/" T2, "state", "\"pending\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"bogus\"}", ECONF,
	 {{"task/" T2, "state", "\"pending\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, T1, NULL, "{\"from\":\"running\",\"to\":\"success\"}", ECONF,
	 {{"task/" T1, "state", "\"running\""}}},
	{HIVE_EV_TASK_STATE_CHANGED, F1, "d0000000-0000-7000-8000-0000000000ff", NULL, "{\"from\":\"pending\",\"to\":\"ready\"}", ECONF,
	 {{"task/d0000000-0000-7000-8000-0000000000ff", NULL, ABSENT}}},
	/* an attempt of a task that is not running */
	{HIVE_EV_ATTEMPT_STARTED, F1, T2, A2, "{\"attempt_number\":1,\"runtime\":\"exec\"}", ECONF,
	 {{"attempt/" A2, NULL, ABSENT}, {"task/" T2, "attempts", "0"}}},
	/* a completed attempt is immutable */
	{HIVE_EV_CHECK_COMPLETED, F1, T1, A1, "{\"name\":\"late\",\"passed\":true}", ECONF, {{"attempt/" A1, "checks", "[]"}}},
	{HIVE_EV_RUNTIME_EXITED, F1, T1, A1, "{\"exit_code\":0}", ECONF, {{"attempt/" A1, "runtime_exited", ABSENT}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A1, "{\"outcome\":\"success\",\"attempt_number\":1}", ECONF,
	 {{"attempt/" A1, "outcome", "\"check_failed\""}, {"task/" T1, "budget_used", "[1]"}}},
	/* a completion must name a known outcome */
	{HIVE_EV_ATTEMPT_STARTED, F1, T1, A2, "{\"attempt_number\":2,\"runtime\":\"exec\"}", 0, {{"task/" T1, "attempts", "2"}}},
	{HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A2, "{\"outcome\":\"melted\",\"attempt_number\":2}", ECONF,
	 {{"attempt/" A2, "state", "\"running\""}, {"task/" T1, "running_attempt", "\"" A2 "\""}}},
	/* flow transitions */
	{HIVE_EV_FLOW_STARTED, F1, NULL, NULL, "{}", ECONF, {{"flow/" F1, "state", "\"running\""}}},
	{HIVE_EV_FLOW_RESUMED, F1, NULL, NULL, "{}", ECONF, {{"flow/" F1, "state", "\"running\""}}},
	{HIVE_EV_FLOW_STARTED, F2, NULL, NULL, "{}", ECONF, {{"flow/" F2, NULL, ABSENT}}},
	/* names are unique, and a task is in one flow that has not ended */
	{HIVE_EV_PROJECT_CREATED, NULL, NULL, NULL, "{\"name\":\"p\",\"repo\":\"/other\",\"description\":\"\"}", ECONF,
	 {{"name/project/p", "id", "\"" P_ "\""}}},
	{HIVE_EV_FLOW_CREATED, F2, NULL, NULL, "{\"name\":\"f1\",\"task_ids\":[],\"defaults\":{}}", ECONF,
	 {{"name/flow/f1", "id", "\"" F1 "\""}, {"flow/" F2, NULL, ABSENT}}},
	{HIVE_EV_FLOW_CREATED, F2, NULL, NULL, "{\"name\":\"f2\",\"task_ids\":[\"" T2 "\"],\"defaults\":{}}", ECONF,
	 {{"task/" T2, "flow_id", "\"" F1 "\""}, {"name/flow/f2", NULL, ABSENT}}},
	/* the flow is still usable after every refusal */
	{HIVE_EV_FLOW_ABORTED, F1, NULL, NULL, "{\"reason\":\"done testing\"}", 0, {{"flow/" F1, "state", "\"aborted\""}}},
	{HIVE_EV_FLOW_ABORTED, F1, NULL, NULL, "{}", ECONF, {{"flow/" F1, "reason", "\"done testing\""}}},
	{HIVE_EV_FLOW_COMPLETED, F1, NULL, NULL, "{}", ECONF, {{"flow/" F1, "state", "\"aborted\""}}},
	/* SPEC 12: the name of a flow that has ended can be reused; it then names the newest */
	{HIVE_EV_FLOW_CREATED, F2, NULL, NULL, "{\"name\":\"f1\",\"task_ids\":[],\"defaults\":{}}", 0,
	 {{"name/flow/f1", "id", "\"" F2 "\""}, {"flow/" F2, "name", "\"f1\""}}},
};

static void test_refused_events_apply_nothing(void **state)
{
	eng *e = *state;
	run_steps(e, setup_for_refusals, sizeof setup_for_refusals / sizeof setup_for_refusals[0]);
	run_steps(e, refusals, sizeof refusals / sizeof refusals[0]);
}

/* The refusal names the task and both states, so a user can act on it. */
static void test_illegal_transition_message(void **state)
{
	eng *e = *state;
	run_steps(e, setup_for_refusals, sizeof setup_for_refusals / sizeof setup_for_refusals[0]);
	assert_int_equal(eng_emits(e, HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"pending\",\"to\":\"running\"}"),
			 HIVE_ECONFLICT);
	const char *msg = hive_error_last();
	assert_non_null(strstr(msg, T2));
	assert_non_null(strstr(msg, "illegal transition pending -> running"));
	assert_int_equal(eng_emits(e, HIVE_EV_TASK_STATE_CHANGED, F1, T2, NULL, "{\"from\":\"ready\",\"to\":\"running\"}"),
			 HIVE_ECONFLICT);
	assert_non_null(strstr(hive_error_last(), "is pending, not ready"));
	/* the flow's refusal names its current state (it was read after release once) */
	assert_int_equal(eng_emits(e, HIVE_EV_FLOW_STARTED, F1, NULL, NULL, "{}"), HIVE_ECONFLICT);
	assert_string_equal(hive_error_last(), "flow " F1 " is running; it cannot become running");
}

/* ---- replay --------------------------------------------------------------------------------- */

typedef struct {
	int n;
	char first[512];
} reports;

static void collect(const char *msg, void *ctx)
{
	reports *r = ctx;
	if (r->n++ == 0)
		snprintf(r->first, sizeof r->first, "%s", msg);
}

typedef struct {
	reports r;
	uint64_t problems;
} verify_ctx;

static int verify_fn(hive_txn *txn, void *vctx)
{
	verify_ctx *c = vctx;
	uint64_t events;
	return hive_projection_verify(txn, collect, &c->r, &events, &c->problems);
}

static uint64_t verify(eng *e, reports *r)
{
	verify_ctx c = {0};
	assert_int_equal(hive_store_read(e->s, verify_fn, &c), 0);
	*r = c.r;
	return c.problems;
}

/* A valid log replays to exactly the stored documents. */
static void test_replay_reproduces_projections(void **state)
{
	eng *e = *state;
	run_steps(e, life, sizeof life / sizeof life[0]);
	reports r;
	assert_int_equal(verify(e, &r), 0);
	assert_int_equal(r.n, 0);
}

typedef struct {
	const char *key;
	char *bytes;
} raw_put;

static int raw_put_fn(hive_txn *txn, void *ctx)
{
	raw_put *p = ctx;
	return hive_txn_put(txn, p->key, p->bytes, strlen(p->bytes));
}

/* Store doc under key encoded with flags, as a writer other than txn_put
 * (or a damaged page) would leave it. */
static void put_encoded(eng *e, const char *key, json_t *doc, size_t flags)
{
	raw_put p = {key, json_dumps(doc, flags)};
	assert_non_null(p.bytes);
	assert_int_equal(hive_store_write(e->s, raw_put_fn, &p), 0);
	free(p.bytes);
}

/* verify compares projections by content: a stored document laid out
 * otherwise (indented, keys unsorted) is the same document, and one that
 * differs by a single value (in a string with escapes, or an integer) is
 * reported, naming the projection. */
static void test_replay_compares_stored_documents(void **state)
{
	eng *e = *state;
	run_steps(e, life, sizeof life / sizeof life[0]);
	reports r;
	json_t *a = eng_get(e, "attempt/" A1);
	assert_non_null(a);
	put_encoded(e, "attempt/" A1, a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_int_equal(verify(e, &r), 0);
	json_t *odd = json_deep_copy(a);
	json_object_set_new(odd, "task_id", json_string("tab\there \"quoted\"\n\x01"));
	put_encoded(e, "attempt/" A1, odd, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(verify(e, &r), 1);
	assert_non_null(strstr(r.first, "projection attempt/" A1 " differs from a replay of the log"));
	json_object_set_new(odd, "task_id", json_incref(json_object_get(a, "task_id")));
	json_object_set_new(odd, "attempt_number", json_integer(7));
	put_encoded(e, "attempt/" A1, odd, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(verify(e, &r), 1);
	put_encoded(e, "attempt/" A1, a, JSON_COMPACT | JSON_SORT_KEYS);
	assert_int_equal(verify(e, &r), 0);
	json_decref(odd);
	json_decref(a);
}

/* A log that holds an illegal transition (written by a broken writer) is
 * reported by the replay, never silently applied. */
static void test_replay_reports_illegal_transition(void **state)
{
	eng *e = *state;
	run_steps(e, setup_for_refusals, sizeof setup_for_refusals / sizeof setup_for_refusals[0]);
	eng_append_raw(e, HIVE_EV_TASK_STATE_CHANGED, F1, T2, json_pack("{s:s,s:s}", "from", "pending", "to", "success"));
	reports r;
	assert_true(verify(e, &r) >= 1);
	assert_non_null(strstr(r.first, "replay: event 10"));
	assert_non_null(strstr(r.first, "illegal transition pending -> success"));
	json_t *t = eng_get(e, "task/" T2);
	assert_string_equal(eng_str(t, "state"), "pending");
	json_decref(t);
}

static int apply_mem(hive_kv *kv, hive_event_type type, json_t *payload, uint64_t seq)
{
	hive_event ev;
	hive_event_init(&ev, type, payload);
	hive_event_correlate(&ev, P_, F1, T1, NULL);
	ev.seq = seq;
	int rc = hive_apply(kv, &ev);
	hive_event_dispose(&ev);
	return rc;
}

/* `task accept` (SPEC 12): failed -> success only right after a
 * task_accepted, which sets the result commit; a second such change
 * without a new acceptance is refused again. */
static void test_accept_allows_one_success(void **state)
{
	(void)state;
	json_t *mem = json_object();
	json_object_set_new(mem, "task/" T1, json_pack("{s:s,s:s}", "id", T1, "state", "escalated"));
	hive_kv kv;
	hive_kv_memory(&kv, mem);
	assert_int_equal(apply_mem(&kv, HIVE_EV_TASK_STATE_CHANGED, json_pack("{s:s,s:s}", "from", "escalated", "to", "success"), 1),
			 HIVE_ECONFLICT);
	assert_int_equal(apply_mem(&kv, HIVE_EV_TASK_ACCEPTED, json_pack("{s:s,s:i,s:s}", "commit", "abc", "attempt_number", 1,
									  "reason", "fine"), 2), 0);
	assert_int_equal(apply_mem(&kv, HIVE_EV_TASK_STATE_CHANGED, json_pack("{s:s,s:s}", "from", "escalated", "to", "success"), 3),
			 0);
	json_t *t = json_object_get(mem, "task/" T1);
	assert_string_equal(eng_str(t, "state"), "success");
	assert_string_equal(eng_str(t, "result_commit"), "abc");
	assert_null(json_object_get(t, "accepting"));
	/* accepted again from success: refused by the event itself */
	assert_int_equal(apply_mem(&kv, HIVE_EV_TASK_ACCEPTED, json_pack("{s:s,s:i,s:s}", "commit", "def", "attempt_number", 2,
									  "reason", "x"), 4), HIVE_ECONFLICT);
	json_decref(mem);
}

/* hive_apply on memory refuses the same event and leaves memory as it was. */
static void test_apply_in_memory_refuses_without_change(void **state)
{
	(void)state;
	json_t *mem = json_object();
	json_object_set_new(mem, "task/" T1, json_pack("{s:s,s:s}", "id", T1, "state", "failed"));
	json_t *before = json_deep_copy(mem);
	hive_kv kv;
	hive_kv_memory(&kv, mem);
	static const struct {
		const char *from, *to;
		int rc;
	} table[] = {
		{"failed", "success", HIVE_ECONFLICT}, {"failed", "running", HIVE_ECONFLICT},
		{"failed", "aborted", HIVE_ECONFLICT}, {"retry", "pending", HIVE_ECONFLICT},
		{"failed", "failed", HIVE_ECONFLICT},  {"failed", "escalated", 0},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		hive_event ev;
		hive_event_init(&ev, HIVE_EV_TASK_STATE_CHANGED, json_pack("{s:s,s:s}", "from", table[i].from, "to", table[i].to));
		hive_event_correlate(&ev, P_, F1, T1, NULL);
		ev.seq = 100 + i;
		int rc = hive_apply(&kv, &ev);
		hive_event_dispose(&ev);
		if (rc != table[i].rc)
			fail_msg("%s -> %s: rc %d, expected %d", table[i].from, table[i].to, rc, table[i].rc);
		if (rc)
			assert_true(json_equal(mem, before));
	}
	assert_string_equal(eng_str(json_object_get(mem, "task/" T1), "state"), "escalated");
	json_decref(before);
	json_decref(mem);
}

/* Unknown event types are kept in the log and change no document. */
static void test_unknown_type_changes_nothing(void **state)
{
	(void)state;
	json_t *mem = json_object();
	hive_kv kv;
	hive_kv_memory(&kv, mem);
	hive_event ev;
	hive_event_init(&ev, HIVE_EV_UNKNOWN, json_pack("{s:i}", "spin", 1));
	snprintf(ev.type_name, sizeof ev.type_name, "future_type");
	assert_int_equal(hive_apply(&kv, &ev), 0);
	hive_event_dispose(&ev);
	assert_int_equal(json_object_size(mem), 0);
	json_decref(mem);
}

/* The typed accessors read what hive_apply wrote, and say "unknown"
 * (never crash) for a missing document or field. */
static void test_typed_accessors(void **state)
{
	eng *e = *state;
	run_steps(e, setup_for_refusals, sizeof setup_for_refusals / sizeof setup_for_refusals[0]);
	json_t *t1 = eng_get(e, "task/" T1), *t2 = eng_get(e, "task/" T2), *f = eng_get(e, "flow/" F1);
	json_t *a = eng_get(e, "attempt/" A1);
	assert_int_equal(hive_proj_task_state(t1), HIVE_TASK_RUNNING);
	assert_int_equal(hive_proj_task_state(t2), HIVE_TASK_PENDING);
	assert_int_equal(hive_proj_flow_state(f), HIVE_FLOW_RUNNING);
	assert_false(hive_proj_attempt_running(a));
	assert_int_equal(hive_proj_attempt_outcome(a), HIVE_OUTCOME_CHECK_FAILED);
	assert_int_equal(hive_proj_task_last_outcome(t1), HIVE_OUTCOME_CHECK_FAILED);
	assert_int_equal(hive_proj_task_last_outcome(t2), -1);
	assert_int_equal(hive_proj_task_state(NULL), HIVE_TASK_UNKNOWN);
	assert_int_equal(hive_proj_flow_state(NULL), HIVE_FLOW_UNKNOWN);
	assert_int_equal(hive_proj_attempt_outcome(NULL), -1);
	assert_false(hive_proj_attempt_running(NULL));
	json_t *odd = json_pack("{s:s}", "state", "sideways");
	assert_int_equal(hive_proj_task_state(odd), HIVE_TASK_UNKNOWN);
	assert_int_equal(hive_proj_flow_state(odd), HIVE_FLOW_UNKNOWN);
	json_decref(odd);
	json_decref(a);
	json_decref(f);
	json_decref(t2);
	json_decref(t1);
	assert_int_equal(eng_emits(e, HIVE_EV_ATTEMPT_STARTED, F1, T1, A2, "{\"attempt_number\":2,\"runtime\":\"exec\"}"), 0);
	a = eng_get(e, "attempt/" A2);
	assert_true(hive_proj_attempt_running(a));
	assert_int_equal(hive_proj_attempt_outcome(a), -1);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_life_of_a_task, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_retry_requested_and_abort, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_refused_events_apply_nothing, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_illegal_transition_message, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_replay_reproduces_projections, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_replay_reports_illegal_transition, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_replay_compares_stored_documents, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_typed_accessors, eng_setup, eng_teardown),
		cmocka_unit_test(test_apply_in_memory_refuses_without_change),
		cmocka_unit_test(test_accept_allows_one_success),
		cmocka_unit_test(test_unknown_type_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
