/*
 * test_context.c - the retry context (SPEC section 6).
 *
 * What it protects: attempt N is told, from events and blobs only, what
 * attempts 1..N-1 did: how the runtime ended, what changed, which checks
 * failed with the lines a fixer needs (the failing assertion of a long
 * pytest run), the mechanical patterns across attempts and the last diff;
 * older attempts shrink to one line; the text stays under its byte budget;
 * crashed and never-started attempts read right; the payload matches the
 * text (sha256, byte count); and the same events give the same bytes.
 *
 * Each test writes synthetic events for one task into a fresh store in a
 * temp dir (no projections needed: the task document is built here).
 */
#include "testutil.h"

#include <jansson.h>

#include "core/context.h"
#include "core/policy.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/event.h"
#include "events/sha256.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-000000000001"
#define FID "0194a1b2-0000-7000-8000-000000000002"
#define TID "0194a1b2-0000-7000-8000-000000000003"
#define OTHER_TID "0194a1b2-0000-7000-8000-000000000004"

/* ------------------------------------------------------------------ */
/* A script of events and blobs, written in one transaction           */
/* ------------------------------------------------------------------ */

typedef struct {
	json_t *events;     /* [{type, task, attempt, payload}] */
	hive_buf *blobs;
	size_t n_blobs;
} script;

static void sc_init(script *sc)
{
	memset(sc, 0, sizeof *sc);
	sc->events = json_array();
}

static void sc_dispose(script *sc)
{
	json_decref(sc->events);
	for (size_t i = 0; i < sc->n_blobs; i++)
		hive_buf_dispose(&sc->blobs[i]);
	free(sc->blobs);
}

/* The id of attempt n of the test task (fixed, so two stores agree). */
static const char *aid(int n)
{
	static char ids[16][HIVE_ID_LEN + 1];
	snprintf(ids[n], sizeof ids[n], "0194a1b2-0000-7000-8000-0000000001%02d", n);
	return ids[n];
}

static void sc_event(script *sc, hive_event_type type, const char *task, int n, json_t *payload)
{
	json_array_append_new(sc->events, json_pack("{s:i,s:s,s:s,s:o}", "type", (int)type, "task", task,
						     "attempt", aid(n), "payload", payload));
}

/* Store text as a blob (when the script is written); its hash as JSON. */
static json_t *sc_blob(script *sc, const char *data, size_t len)
{
	sc->blobs = hive_xrealloc(sc->blobs, (sc->n_blobs + 1) * sizeof *sc->blobs);
	sc->blobs[sc->n_blobs] = (hive_buf){0};
	hive_buf_append(&sc->blobs[sc->n_blobs++], data, len);
	char hex[65];
	hive_sha256_hex(data, len, hex);
	return json_string(hex);
}

static int write_script(hive_txn *txn, void *vctx)
{
	script *sc = vctx;
	char hex[65];
	for (size_t i = 0; i < sc->n_blobs; i++)
		assert_int_equal(hive_txn_blob_put(txn, sc->blobs[i].data, sc->blobs[i].len, hex), 0);
	size_t i;
	json_t *e;
	json_array_foreach(sc->events, i, e) {
		hive_event ev;
		hive_event_init(&ev, (hive_event_type)json_integer_value(json_object_get(e, "type")),
				json_incref(json_object_get(e, "payload")));
		hive_event_correlate(&ev, PID, FID, json_string_value(json_object_get(e, "task")),
				     json_string_value(json_object_get(e, "attempt")));
		assert_int_equal(hive_txn_append(txn, &ev), 0);
		hive_event_dispose(&ev);
	}
	return 0;
}

/* ---- event helpers: one per event type an attempt may have ---- */

static void ev_started(script *sc, int n)
{
	sc_event(sc, HIVE_EV_ATTEMPT_STARTED, TID, n,
		 json_pack("{s:i,s:s,s:s,s:s,s:n}", "attempt_number", n, "runtime", "exec", "worktree", "/wt",
			   "base_commit", "0123456789abcdef0123456789abcdef01234567", "context_sha256"));
	sc_event(sc, HIVE_EV_RUNTIME_STARTED, TID, n,
		 json_pack("{s:s,s:[s],s:s,s:i,s:i}", "adapter", "exec", "argv", "./agent.sh", "prompt_sha256",
			   "00", "pid", 100 + n, "pgid", 100 + n));
}

/* verdict: stolen, may be NULL. */
static void ev_exited(script *sc, int n, int exit_code, const char *why, int duration_ms, json_t *verdict)
{
	json_t *p = json_pack("{s:i,s:i,s:i,s:s,s:o,s:n,s:n}", "exit_code", exit_code, "signal", 0, "duration_ms",
			      duration_ms, "termination_reason", why, "verdict", verdict ? verdict : json_null(),
			      "stdout_blob", "stderr_blob");
	if (strcmp(why, "signal") == 0 || strcmp(why, "timeout") == 0) {
		json_object_set_new(p, "exit_code", json_null());
		json_object_set_new(p, "signal", json_integer(strcmp(why, "signal") == 0 ? exit_code : 9));
	}
	sc_event(sc, HIVE_EV_RUNTIME_EXITED, TID, n, p);
}

static void ev_not_started(script *sc, int n, const char *error)
{
	sc_event(sc, HIVE_EV_RUNTIME_EXITED, TID, n,
		 json_pack("{s:n,s:i,s:i,s:s,s:n,s:n,s:n,s:s}", "exit_code", "signal", 0, "duration_ms", 0,
			   "termination_reason", "not_started", "verdict", "stdout_blob", "stderr_blob", "error", error));
}

/* diff NULL or "" = nothing changed; paths: NULL-terminated. */
static void ev_changes(script *sc, int n, const char *diff, const char *const *paths)
{
	json_t *pa = json_array();
	size_t np = 0;
	for (; paths && paths[np]; np++)
		json_array_append_new(pa, json_string(paths[np]));
	long ins = 0, del = 0, lines = 0;
	for (const char *s = diff; s && *s; s++)
		if (s == diff || s[-1] == '\n') {
			lines++;
			ins += s[0] == '+' && s[1] != '+';
			del += s[0] == '-' && s[1] != '-';
		}
	json_t *blob = diff && *diff ? sc_blob(sc, diff, strlen(diff)) : json_null();
	sc_event(sc, HIVE_EV_CHANGES_RECORDED, TID, n,
		 json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:o,s:i}", "commit", "c1", "start_commit", "c0",
			   "files_created", 0, "files_modified", (int)np, "files_deleted", 0, "insertions", (int)ins,
			   "deletions", (int)del, "paths", pa, "diff_blob", blob, "diff_lines", (int)lines));
}

/* output: len bytes, any bytes at all (NULs, invalid UTF-8). */
static void ev_check_raw(script *sc, int n, const char *name, int required, int exit_code, int timed_out,
			 const char *output, size_t len)
{
	sc_event(sc, HIVE_EV_CHECK_STARTED, TID, n,
		 json_pack("{s:s,s:b,s:s}", "name", name, "required", required, "command", "make test"));
	sc_event(sc, HIVE_EV_CHECK_COMPLETED, TID, n,
		 json_pack("{s:s,s:b,s:b,s:i,s:b,s:i,s:s,s:i,s:i,s:o}", "name", name, "required", required,
			   "passed", exit_code == 0 && !timed_out, "exit_code", exit_code, "timed_out", timed_out,
			   "duration_ms", 120000, "output_excerpt", "(event excerpt)", "output_lines", 1,
			   "omitted_lines", 0, "output_blob", sc_blob(sc, output, len)));
}

static void ev_check(script *sc, int n, const char *name, int required, int exit_code, int timed_out,
		     const char *output)
{
	ev_check_raw(sc, n, name, required, exit_code, timed_out, output, strlen(output));
}

/* failed: the required checks that failed (a comma list, "" for none). */
static void ev_completed(script *sc, int n, const char *outcome, const char *failed)
{
	json_t *fc = json_array();
	char buf[256];
	snprintf(buf, sizeof buf, "%s", failed);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(fc, json_string(t));
	sc_event(sc, HIVE_EV_ATTEMPT_COMPLETED, TID, n,
		 json_pack("{s:s,s:i,s:i,s:o,s:n}", "outcome", outcome, "duration_ms", 5000, "attempt_number", n,
			   "failed_checks", fc, "summary"));
}

/* ---- realistic outputs ---- */

/* A long pytest run: 300 passing tests, one failure in the middle with its
 * assertion, the short summary and verdict at the end. */
static char *pytest_output(void)
{
	hive_buf b = {0};
	hive_buf_puts(&b, "============================= test session starts ==============================\n");
	for (int i = 0; i < 150; i++)
		hive_buf_printf(&b, "tests/test_models.py::test_model_%03d PASSED\n", i);
	hive_buf_puts(&b, "tests/test_auth.py::test_login FAILED\n");
	for (int i = 150; i < 300; i++)
		hive_buf_printf(&b, "tests/test_views.py::test_view_%03d PASSED\n", i);
	hive_buf_puts(&b, "=================================== FAILURES ===================================\n"
			  "__________________________________ test_login __________________________________\n"
			  "    def test_login():\n"
			  "        resp = client.post('/login', data={'user': 'a', 'pw': 'b'})\n"
			  ">       assert resp.status_code == 200\n"
			  "E       assert 401 == 200\n"
			  "\n"
			  "tests/test_auth.py:14: AssertionError\n"
			  "=========================== short test summary info ============================\n"
			  "FAILED tests/test_auth.py::test_login - assert 401 == 200\n"
			  "======================== 1 failed, 299 passed in 3.21s =========================\n");
	return hive_buf_detach(&b);
}

#define DIFF_AUTH \
	"diff --git a/src/auth.c b/src/auth.c\n" \
	"--- a/src/auth.c\n" \
	"+++ b/src/auth.c\n" \
	"@@ -10,4 +10,6 @@ int login(const char *user, const char *pw)\n" \
	" {\n" \
	"-\treturn check(user, pw) ? 401 : 200;\n" \
	"+\tif (!user || !pw)\n" \
	"+\t\treturn 400;\n" \
	"+\treturn check(user, pw) ? 200 : 401;\n" \
	" }\n"

/* ------------------------------------------------------------------ */
/* Fixture                                                            */
/* ------------------------------------------------------------------ */

typedef struct {
	char *dir;
	hive_store *s;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_tmpdir();
	assert_int_equal(hive_store_open(f->dir, NULL, &f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	hive_store_close(f->s);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void commit(fixture *f, script *sc)
{
	assert_int_equal(hive_store_write(f->s, write_script, sc), 0);
}

/* The task document: retry policy parsed from retry_json (NULL = defaults). */
static json_t *make_task(const char *retry_json, json_t *budget_used)
{
	hive_retry_policy p;
	json_t *obj = retry_json ? json_loads(retry_json, 0, NULL) : NULL;
	if (retry_json)
		assert_non_null(obj);
	assert_int_equal(hive_retry_policy_parse(obj, NULL, NULL, &p), 0);
	json_decref(obj);
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:[]}", "id", TID, "key", "fix", "title", "Fix the login bug",
			 "retry", hive_retry_policy_to_json(&p), "budget_used", budget_used ? budget_used : json_array(),
			 "attempt_ids");
}

typedef struct {
	const json_t *task;
	int number, max;
	json_t *payload;
	int rc;
} assemble_ctx;

static int assemble_txn(hive_txn *txn, void *vctx)
{
	assemble_ctx *c = vctx;
	c->rc = hive_context_assemble(txn, c->task, c->number, c->max, &c->payload);
	return 0;
}

/* Assemble in a read snapshot; the payload is checked for the invariants
 * every context keeps (sha256, byte count, budget) before it is returned.
 * With $HIVE_TEST_SHOW_CONTEXT set, the text is printed. */
static json_t *assemble(fixture *f, const json_t *task, int number, int max)
{
	assemble_ctx c = {task, number, max, NULL, 0};
	assert_int_equal(hive_store_read(f->s, assemble_txn, &c), 0);
	if (c.rc)
		fail_msg("assemble: %s", hive_error_last());
	const char *text = json_string_value(json_object_get(c.payload, "context"));
	assert_non_null(text);
	char hex[65];
	hive_sha256_hex(text, strlen(text), hex);
	assert_string_equal(json_string_value(json_object_get(c.payload, "context_sha256")), hex);
	assert_int_equal(json_integer_value(json_object_get(c.payload, "context_bytes")), strlen(text));
	assert_true(strlen(text) <= HIVE_CONTEXT_MAX_BYTES);
	if (getenv("HIVE_TEST_SHOW_CONTEXT"))
		printf("----- context -----\n%s----- end -----\n", text);
	return c.payload;
}

static const char *ctx_text(const json_t *payload)
{
	return json_string_value(json_object_get(payload, "context"));
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("context lacks \"%s\":\n%s", want, text);
}

static void assert_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted))
		fail_msg("context has \"%s\":\n%s", unwanted, text);
}

/* Attempt n: check_failed, "unit" failing with the pytest output, an
 * optional lint failure, and a change to paths with diff. */
static void failed_attempt(script *sc, int n, const char *diff, const char *const *paths, int lint)
{
	char *out = pytest_output();
	ev_started(sc, n);
	ev_exited(sc, n, 0, "exited", 4200, NULL);
	ev_changes(sc, n, diff, paths);
	ev_check(sc, n, "unit", 1, 1, 0, out);
	if (lint)
		ev_check(sc, n, "lint", 0, 2, 0, "src/auth.c:12:5: warning: unused variable 'x'\n");
	ev_completed(sc, n, "check_failed", "unit");
	free(out);
}

static const char *const AUTH_ONLY[] = {"src/auth.c", NULL};
static const char *const AUTH_AND_DB[] = {"src/auth.c", "src/db.c", NULL};

/* Two failed attempts, the second with a slightly different change. */
static void two_failed_attempts(script *sc)
{
	failed_attempt(sc, 1, DIFF_AUTH, AUTH_ONLY, 1);
	failed_attempt(sc, 2, DIFF_AUTH "diff --git a/src/db.c b/src/db.c\n+x\n", AUTH_AND_DB, 0);
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

/* The rendered text of two check failures: header, each attempt's section
 * with the runtime line, the changes line and the check excerpts (the
 * failing assertion kept from deep inside a long run, gaps marked),
 * the patterns and the last diff. */
static void test_two_check_failures_render(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 3, 3);
	const char *t = ctx_text(p);

	assert_true(strncmp(t, "## Retry context\nThis is attempt 3 of 3 for task \"Fix the login bug\" (fix).\n", 76) == 0);
	assert_has(t, "\n### Attempt 1 failed: check_failed\nRuntime exited with code 0 after 4.2s.\n"
		      "Changes: 1 file modified (+3 -1): src/auth.c\nRequired check \"unit\" failed (exit 1):\n    ");
	assert_has(t, "\n### Attempt 2 failed: check_failed\n");
	assert_has(t, "Changes: 2 files modified (+4 -1): src/auth.c, src/db.c\n");
	assert_has(t, "\n    E       assert 401 == 200\n");
	assert_has(t, "\n    FAILED tests/test_auth.py::test_login - assert 401 == 200\n");
	assert_has(t, " lines omitted]\n");
	assert_has(t, "Optional check \"lint\" failed (exit 2):\n    src/auth.c:12:5: warning: unused variable 'x'\n");
	assert_has(t, "\n### Observed patterns\n- check unit failed in attempts 1, 2\n"
		      "- attempts 1 and 2 modified the same files: src/auth.c\n");
	assert_has(t, "\n### Changes made by attempt 2\n```diff\ndiff --git a/src/auth.c b/src/auth.c\n");
	assert_has(t, "+\t\treturn 400;\n");
	assert_true(strlen(t) > 4 && strcmp(t + strlen(t) - 4, "```\n") == 0);
	/* lint failed only in attempt 1: reported there, not as a pattern */
	assert_lacks(t, "check lint failed in");

	/* the payload agrees with the text */
	json_t *ids = json_object_get(p, "prior_attempt_ids");
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 0)), aid(1));
	json_t *req = json_object_get(p, "required_check_failures");
	assert_int_equal(json_array_size(req), 1);
	json_t *unit = json_array_get(req, 0);
	assert_string_equal(json_string_value(json_object_get(unit, "name")), "unit");
	assert_int_equal(json_integer_value(json_object_get(unit, "exit_code")), 1);
	assert_true(json_integer_value(json_object_get(unit, "omitted_lines")) > 200);
	assert_non_null(strstr(json_string_value(json_object_get(unit, "output_excerpt")), "E       assert 401 == 200"));
	/* the latest attempt (2) had no lint failure */
	assert_int_equal(json_array_size(json_object_get(p, "optional_check_failures")), 0);
	assert_int_equal(json_integer_value(json_object_get(p, "runtime_exit_code")), 0);
	assert_string_equal(json_string_value(json_object_get(p, "runtime_termination_reason")), "exited");
	json_t *a1 = json_array_get(json_object_get(p, "prior_attempts"), 0);
	assert_string_equal(json_string_value(json_object_get(a1, "outcome")), "check_failed");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a1, "changes"), "insertions")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a1, "failed_checks"), 0)), "unit");
	assert_int_equal(json_integer_value(json_object_get(p, "diff_omitted_lines")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(p, "last_diff_excerpt")), "+x"));
	assert_null(json_object_get(p, "budget")); /* no explicit budgets */
	assert_int_equal(json_array_size(json_object_get(p, "patterns")), 2);

	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* An attempt whose recorded changes are empty is called out, shows
 * "Changes: none", and leaves no diff section (the last attempt had none). */
static void test_changed_nothing(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	failed_attempt(&sc, 1, DIFF_AUTH, AUTH_ONLY, 0);
	ev_started(&sc, 2);
	ev_exited(&sc, 2, 3, "exited", 1500, NULL);
	ev_changes(&sc, 2, NULL, NULL);
	ev_completed(&sc, 2, "runtime_failed", "");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 3, 3);
	const char *t = ctx_text(p);

	assert_has(t, "\n### Attempt 2 failed: runtime_failed\nRuntime exited with code 3 after 1.5s.\nChanges: none\n");
	assert_has(t, "- attempt 2 changed nothing\n");
	assert_lacks(t, "### Changes made by");
	assert_true(json_is_null(json_object_get(p, "last_diff_excerpt")));
	assert_int_equal(json_integer_value(json_object_get(p, "runtime_exit_code")), 3);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Same events, same bytes: twice on one store, and once more on a second
 * store written at another time (envelope ids, times and seqs differ). */
static void test_deterministic(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p1 = assemble(f, task, 3, 3), *p2 = assemble(f, task, 3, 3);

	fixture *g;
	setup((void **)&g);
	script unrelated;
	sc_init(&unrelated);
	sc_event(&unrelated, HIVE_EV_ATTEMPT_STARTED, OTHER_TID, 9, json_pack("{s:i}", "attempt_number", 1));
	commit(g, &unrelated); /* shifts every seq of the second store */
	commit(g, &sc);
	json_t *p3 = assemble(g, task, 3, 3);

	char *s1 = json_dumps(p1, JSON_COMPACT), *s2 = json_dumps(p2, JSON_COMPACT), *s3 = json_dumps(p3, JSON_COMPACT);
	assert_string_equal(s1, s2);
	assert_string_equal(s1, s3);
	assert_string_equal(json_string_value(json_object_get(p1, "context_sha256")),
			    json_string_value(json_object_get(p3, "context_sha256")));
	free(s1);
	free(s2);
	free(s3);
	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	sc_dispose(&unrelated);
	teardown((void **)&g);
	json_decref(task);
	sc_dispose(&sc);
}

/* max_prior_attempts = 1 with three prior attempts: the two older ones get
 * one line each, only the latest its full section; the patterns still see
 * all three. */
static void test_older_attempts_one_line(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	failed_attempt(&sc, 3, DIFF_AUTH, AUTH_ONLY, 0);
	commit(f, &sc);
	json_t *task = make_task("{\"context\": {\"max_prior_attempts\": 1}}", NULL);
	json_t *p = assemble(f, task, 4, 5);
	const char *t = ctx_text(p);

	assert_has(t, "\n### Earlier attempts\n"
		      "- Attempt 1: check_failed (check unit failed), 1 file modified\n"
		      "- Attempt 2: check_failed (check unit failed), 2 files modified\n"
		      "\n### Attempt 3 failed: check_failed\n");
	assert_lacks(t, "### Attempt 1 failed");
	assert_lacks(t, "### Attempt 2 failed");
	assert_has(t, "- check unit failed in attempts 1, 2, 3\n");
	assert_has(t, "- attempts 1, 2 and 3 modified the same files: src/auth.c\n");
	assert_int_equal(json_array_size(json_object_get(p, "prior_attempts")), 3);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* A diff far over the budget (max_diff_lines raised to the limit): the text
 * stays within HIVE_CONTEXT_MAX_BYTES by shortening the diff, which says how
 * much it left out, while the check failures are kept whole. */
static void test_byte_budget_huge_diff(void **state)
{
	fixture *f = *state;
	hive_buf diff = {0};
	hive_buf_puts(&diff, "diff --git a/data.txt b/data.txt\n--- a/data.txt\n+++ b/data.txt\n@@ -0,0 +1,20000 @@\n");
	for (int i = 0; i < 20000; i++)
		hive_buf_printf(&diff, "+row %05d: the quick brown fox jumps over the lazy dog, again and again\n", i);
	script sc;
	sc_init(&sc);
	failed_attempt(&sc, 1, DIFF_AUTH, AUTH_ONLY, 1);
	failed_attempt(&sc, 2, diff.data, AUTH_ONLY, 1);
	commit(f, &sc);
	json_t *task = make_task("{\"context\": {\"max_diff_lines\": 1000000, \"max_bytes\": 65536}}", NULL);
	json_t *p = assemble(f, task, 3, 3);
	const char *t = ctx_text(p);

	assert_true(strlen(t) <= HIVE_CONTEXT_MAX_BYTES);
	assert_true(strlen(t) > HIVE_CONTEXT_MAX_BYTES / 2); /* shrunk, not dropped */
	assert_has(t, "### Changes made by attempt 2\n```diff\ndiff --git a/data.txt b/data.txt\n--- a/data.txt\n");
	assert_has(t, "+row 00000: the quick");
	json_int_t omitted = json_integer_value(json_object_get(p, "diff_omitted_lines"));
	assert_true(omitted > 10000 && omitted < 20004);
	char marker[64];
	snprintf(marker, sizeof marker, "\n[... %lld lines omitted]\n```\n", (long long)omitted);
	assert_has(t, marker);
	/* both attempts keep their detail and their assertion line */
	assert_has(t, "### Attempt 1 failed: check_failed");
	assert_has(t, "### Attempt 2 failed: check_failed");
	assert_has(t, "    E       assert 401 == 200\n");
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
	hive_buf_dispose(&diff);
}

/* Many huge check outputs over three attempts: after the diff, older
 * attempts lose their detail first; the latest keeps its own, and the
 * assertion line survives the excerpt shrinking. */
static void test_byte_budget_many_outputs(void **state)
{
	fixture *f = *state;
	hive_buf big = {0};
	for (int i = 0; i < 5000; i++)
		hive_buf_printf(&big, "ERROR: step %04d failed: %s\n", i, "x-------------------------------------------x");
	hive_buf_puts(&big, "E       assert 401 == 200\n");
	script sc;
	sc_init(&sc);
	for (int n = 1; n <= 3; n++) {
		ev_started(&sc, n);
		ev_exited(&sc, n, 0, "exited", 1000, NULL);
		ev_changes(&sc, n, DIFF_AUTH, AUTH_ONLY);
		for (int k = 0; k < 4; k++) {
			char name[24];
			snprintf(name, sizeof name, "suite%d", k);
			ev_check(&sc, n, name, 1, 1, 0, big.data);
		}
		ev_completed(&sc, n, "check_failed", "suite0,suite1,suite2,suite3");
	}
	commit(f, &sc);
	json_t *task = make_task("{\"context\": {\"max_check_output_lines\": 2000}}", NULL);
	json_t *p = assemble(f, task, 4, 5);
	const char *t = ctx_text(p);

	assert_true(strlen(t) <= HIVE_CONTEXT_MAX_BYTES);
	assert_has(t, "### Attempt 3 failed: check_failed\n");
	assert_has(t, "- Attempt 1: check_failed (checks suite0, suite1, suite2, suite3 failed), 1 file modified\n");
	assert_lacks(t, "### Attempt 1 failed");
	assert_has(t, "Required check \"suite3\" failed (exit 1):\n");
	assert_has(t, "    E       assert 401 == 200\n");
	json_t *req = json_object_get(p, "required_check_failures");
	assert_int_equal(json_array_size(req), 4);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
	hive_buf_dispose(&big);
}

/* A runner that died: no runtime_exited, no changes; the attempt reads as
 * crashed and its structured fields are null, not made up. */
static void test_crashed_attempt(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	sc_event(&sc, HIVE_EV_ATTEMPT_CRASHED, TID, 1,
		 json_pack("{s:s,s:i,s:b}", "reason", "runner died", "pgid", 101, "killed", 1));
	ev_completed(&sc, 1, "crashed", "");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);

	assert_has(t, "\n### Attempt 1 failed: crashed\nThe runner died during the attempt (crashed).\n"
		      "Changes: not recorded\n");
	assert_lacks(t, "### Observed patterns");
	assert_lacks(t, "### Changes made by");
	assert_true(json_is_null(json_object_get(p, "runtime_exit_code")));
	assert_true(json_is_null(json_object_get(p, "runtime_termination_reason")));
	json_t *a1 = json_array_get(json_object_get(p, "prior_attempts"), 0);
	assert_true(json_is_null(json_object_get(a1, "changes")));
	assert_true(json_is_null(json_object_get(a1, "exit_code")));
	assert_int_equal(json_integer_value(json_object_get(a1, "duration_ms")), 5000);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* A runtime that could not start says why; it changed nothing. */
static void test_runtime_unavailable(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	ev_not_started(&sc, 1, "exec ./agent.sh: No such file or directory");
	ev_completed(&sc, 1, "runtime_unavailable", "");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);

	assert_has(t, "\n### Attempt 1 failed: runtime_unavailable\n"
		      "Runtime could not start: exec ./agent.sh: No such file or directory.\nChanges: none\n");
	assert_lacks(t, "changed nothing"); /* it never ran: not a pattern */
	assert_string_equal(json_string_value(json_object_get(p, "runtime_termination_reason")), "not_started");
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Timeouts (runtime and check), a signal, and a runtime's own verdict. */
static void test_timeouts_signal_verdict(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	ev_exited(&sc, 1, 0, "timeout", 600000, NULL);
	ev_changes(&sc, 1, DIFF_AUTH, AUTH_ONLY);
	ev_completed(&sc, 1, "timeout", "");
	ev_started(&sc, 2);
	ev_exited(&sc, 2, 0, "timeout", 600000, json_pack("{s:s}", "summary", "ran out of time\nreading the repo"));
	ev_changes(&sc, 2, NULL, NULL);
	ev_completed(&sc, 2, "timeout", "");
	ev_started(&sc, 3);
	ev_exited(&sc, 3, 9, "signal", 1200, NULL);
	ev_changes(&sc, 3, DIFF_AUTH, AUTH_ONLY);
	ev_check(&sc, 3, "unit", 1, 124, 1, "collecting ...\n");
	ev_completed(&sc, 3, "crashed", "unit");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 4, 5);
	const char *t = ctx_text(p);

	assert_has(t, "### Attempt 1 failed: timeout\nRuntime timed out after 10m.\n");
	assert_has(t, "Runtime's verdict: ran out of time reading the repo\n");
	assert_has(t, "### Attempt 3 failed: crashed\nRuntime was killed by signal 9 after 1.2s.\n");
	assert_has(t, "Required check \"unit\" timed out after 2m:\n    collecting ...\n");
	assert_has(t, "- attempts 1 and 3 modified the same files: src/auth.c\n"
		      "- attempt 2 changed nothing\n"
		      "- check unit timed out in attempt 3\n"
		      "- runtime timed out in attempts 1, 2\n"
		      "- runtime verdict of attempt 2: ran out of time reading the repo\n");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(p, "required_check_failures"), 0),
						 "timed_out")));
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* With explicit budgets the payload says which budget the latest outcome
 * used and how much of it is spent. */
static void test_budget(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	commit(f, &sc);
	json_t *task = make_task("{\"budgets\": [{\"on\": [\"timeout\", \"crashed\"], \"max_attempts\": 5},"
				 "{\"on\": [\"check_failed\"], \"max_attempts\": 4}]}",
				 json_pack("[i,i]", 0, 2));
	json_t *p = assemble(f, task, 3, 4);
	json_t *b = json_object_get(p, "budget");
	assert_non_null(b);
	assert_int_equal(json_array_size(json_object_get(b, "on")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "on"), 0)), "check_failed");
	assert_int_equal(json_integer_value(json_object_get(b, "used")), 2);
	assert_int_equal(json_integer_value(json_object_get(b, "max")), 4);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Which attempts are prior: finished ones with a lower number, whatever
 * their budget (numbers keep increasing after --reset-count); not the
 * attempt being started, not an unfinished one, not another task's. */
static void test_prior_selection(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	ev_started(&sc, 3); /* started, never finished (its runner still owns it) */
	sc_event(&sc, HIVE_EV_ATTEMPT_STARTED, OTHER_TID, 5, json_pack("{s:i}", "attempt_number", 1));
	sc_event(&sc, HIVE_EV_ATTEMPT_COMPLETED, OTHER_TID, 5, json_pack("{s:s}", "outcome", "timeout"));
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 4, 3);
	json_t *ids = json_object_get(p, "prior_attempt_ids");
	assert_int_equal(json_array_size(ids), 2);
	assert_string_equal(json_string_value(json_array_get(ids, 1)), aid(2));
	assert_has(ctx_text(p), "This is attempt 4 of 3 for task");
	json_decref(p);

	p = assemble(f, task, 2, 3); /* only attempt 1 is before 2 */
	assert_int_equal(json_array_size(json_object_get(p, "prior_attempt_ids")), 1);
	assert_lacks(ctx_text(p), "### Attempt 2");
	json_decref(p);

	p = assemble(f, task, 1, 3); /* nothing before: says so */
	assert_int_equal(json_array_size(json_object_get(p, "prior_attempts")), 0);
	assert_has(ctx_text(p), "No earlier attempt of this task has finished.\n");
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Without the full output blob, the event's own excerpt is used; a diff
 * holding a code fence gets a longer fence around it. */
static void test_missing_blob_and_fence(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	ev_exited(&sc, 1, 0, "exited", 100, NULL);
	ev_changes(&sc, 1, "diff --git a/README.md b/README.md\n+```sh\n+make\n+```\n", (const char *const[]){"README.md", NULL});
	sc_event(&sc, HIVE_EV_CHECK_COMPLETED, TID, 1,
		 json_pack("{s:s,s:b,s:b,s:i,s:b,s:s,s:i,s:s}", "name", "unit", "required", 1, "passed", 0,
			   "exit_code", 2, "timed_out", 0, "output_excerpt", "make: *** [test] Error 2", "omitted_lines",
			   7, "output_blob", "00000000000000000000000000000000000000000000000000000000deadbeef"));
	ev_completed(&sc, 1, "check_failed", "unit");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);
	assert_has(t, "Required check \"unit\" failed (exit 2):\n    make: *** [test] Error 2\n");
	assert_has(t, "\n````diff\ndiff --git a/README.md b/README.md\n+```sh\n+make\n+```\n````\n");
	json_t *unit = json_array_get(json_object_get(p, "required_check_failures"), 0);
	assert_int_equal(json_integer_value(json_object_get(unit, "omitted_lines")), 7);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Attempts 1 and 2 failed with byte-identical check output (the same blob):
 * attempt 3's context shows it once and says so for attempt 2; the
 * payload tells which attempt it repeats.  A lower context.max_bytes is
 * honoured. */
static void test_identical_output_said_once(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	two_failed_attempts(&sc);
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 3, 3);
	const char *t = ctx_text(p);
	const char *a2 = strstr(t, "### Attempt 2 failed");
	assert_non_null(a2);
	assert_has(a2, "Required check \"unit\" failed (exit 1): identical to attempt 1's output.\n");
	assert_has(t, "### Attempt 1 failed: check_failed\n");
	char *a1 = strndup(t, (size_t)(a2 - t));
	assert_has(a1, "Required check \"unit\" failed (exit 1):\n    ");
	free(a1);
	json_t *unit = json_array_get(json_object_get(p, "required_check_failures"), 0);
	assert_int_equal(json_integer_value(json_object_get(unit, "identical_to_attempt")), 1);
	/* the optional lint check of attempt 1 differs from nothing shown before */
	json_decref(p);

	/* context.max_bytes 2048: the same history fits 2 KiB */
	json_decref(task);
	task = make_task("{\"context\": {\"max_bytes\": 2048}}", NULL);
	p = assemble(f, task, 3, 3);
	assert_true(strlen(ctx_text(p)) <= 2048);
	assert_int_equal(json_integer_value(json_object_get(p, "context_bytes")), strlen(ctx_text(p)));
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* Hundreds of failing checks in the latest attempt: once nothing else
 * can shrink, the text is cut at a line end with a marker, and still
 * within its budget. */
static void test_byte_budget_last_resort(void **state)
{
	fixture *f = *state;
	hive_buf out = {0};
	for (int i = 0; i < 40; i++)
		hive_buf_printf(&out, "error: something went wrong in step %d of the build\n", i);
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	ev_exited(&sc, 1, 0, "exited", 1000, NULL);
	for (int k = 0; k < 600; k++) {
		char name[32];
		snprintf(name, sizeof name, "check-%03d", k);
		ev_check(&sc, 1, name, 1, 1, 0, out.data);
	}
	ev_completed(&sc, 1, "check_failed", "check-000");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);
	size_t len = strlen(t);
	/* the default budget, context.max_bytes 16 KiB */
	assert_true(len <= HIVE_CONTEXT_BYTES_DEFAULT && len > HIVE_CONTEXT_BYTES_DEFAULT - 1024);
	assert_has(t, "Required check \"check-000\" failed (exit 1):\n");
	assert_true(strcmp(t + len - strlen("[... retry context cut to fit its byte budget]\n"),
			   "[... retry context cut to fit its byte budget]\n") == 0);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
	hive_buf_dispose(&out);
}

/* Bytes from outside (titles, check output, diffs, errors) reach the text
 * as valid UTF-8 without terminal escapes or NULs. */
static void test_untrusted_bytes(void **state)
{
	fixture *f = *state;
	static const char junk[] = "ok\x1b[31m red\x1b[0m\n\xff\xfe bad \0 nul\r\nE   assert \xc3\x28 == 1\n";
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	ev_exited(&sc, 1, 0, "exited", 10, json_pack("{s:s}", "summary", "gave up \x1b[2J"));
	ev_changes(&sc, 1, "diff --git a/x b/x\n+\xe2\x82 half\x07\n", (const char *const[]){"x", NULL});
	ev_check_raw(&sc, 1, "unit\ttab", 1, 1, 0, junk, sizeof junk - 1);
	ev_completed(&sc, 1, "check_failed", "unit");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_object_set_new(task, "title", json_string("Fix \x1b]0;pwned\x07 it"));
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);
	for (const char *c = t; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t')
			fail_msg("control byte 0x%02x in context:\n%s", (unsigned char)*c, t);
	assert_has(t, "\xef\xbf\xbd"); /* U+FFFD stands in for what was dropped */
	assert_has(t, "Required check \"unit tab\" failed (exit 1):\n");
	assert_has(t, " nul\n");
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

/* A task document without an id, or a non-positive attempt number, is
 * refused with a message; nothing is returned. */
static void test_invalid_input(void **state)
{
	fixture *f = *state;
	json_t *task = json_pack("{s:s}", "key", "fix");
	assemble_ctx c = {task, 2, 3, NULL, 0};
	assert_int_equal(hive_store_read(f->s, assemble_txn, &c), 0);
	assert_int_equal(c.rc, HIVE_EINVALID);
	assert_null(c.payload);
	assert_non_null(strstr(hive_error_last(), "no id"));
	json_decref(task);
	task = make_task(NULL, NULL);
	c = (assemble_ctx){task, 0, 3, NULL, 0};
	assert_int_equal(hive_store_read(f->s, assemble_txn, &c), 0);
	assert_int_equal(c.rc, HIVE_EINVALID);
	assert_null(c.payload);
	json_decref(task);
}

/* checks[].retries: a failed run a re-run followed is not a failure of
 * the attempt; a check_flaky is a pattern; the last run's failure says how
 * many runs failed; the stored logs are named, a truncated one marked. */
static void test_flaky_and_logs(void **state)
{
	fixture *f = *state;
	script sc;
	sc_init(&sc);
	ev_started(&sc, 1);
	json_t *x = json_pack("{s:i,s:i,s:i,s:s,s:n,s:n,s:n,s:s,s:s,s:i,s:i,s:b}", "exit_code", 0, "signal", 0,
			      "duration_ms", 900, "termination_reason", "exited", "verdict", "stdout_blob", "stderr_blob",
			      "stdout_path", "/data/attempts/a1/stdout.log", "stderr_path", "/data/attempts/a1/stderr.log",
			      "stdout_bytes", 0, "stderr_bytes", 9000000, "stderr_truncated", 1);
	sc_event(&sc, HIVE_EV_RUNTIME_EXITED, TID, 1, x);
	ev_changes(&sc, 1, NULL, NULL);
	/* flaky: run 1 fails (retrying), run 2 passes, then check_flaky */
	sc_event(&sc, HIVE_EV_CHECK_COMPLETED, TID, 1,
		 json_pack("{s:s,s:b,s:b,s:i,s:b,s:i,s:s,s:i,s:i,s:o,s:b}", "name", "flaky", "required", 1, "passed", 0,
			   "exit_code", 1, "timed_out", 0, "run", 1, "output_excerpt", "connection reset", "output_lines", 1,
			   "omitted_lines", 0, "output_blob", sc_blob(&sc, "FAIL connection reset\n", 22), "retrying", 1));
	ev_check(&sc, 1, "flaky", 1, 0, 0, "ok\n");
	sc_event(&sc, HIVE_EV_CHECK_FLAKY, TID, 1,
		 json_pack("{s:s,s:b,s:i,s:i,s:[{s:i,s:i,s:b}]}", "name", "flaky", "required", 1, "passed_run", 2,
			   "retries", 1, "failures", "run", 1, "exit_code", 1, "timed_out", 0));
	/* unit: every run failed; the last one decides */
	for (int run = 1; run <= 3; run++) {
		json_t *c = json_pack("{s:s,s:b,s:b,s:i,s:b,s:i,s:s,s:i,s:i,s:o,s:s}", "name", "unit", "required", 1,
				      "passed", 0, "exit_code", 2, "timed_out", 0, "run", run, "output_excerpt", "x",
				      "output_lines", 1, "omitted_lines", 0, "output_blob",
				      sc_blob(&sc, "FAIL: test_login\n", 17), "output_path",
				      run == 3 ? "/data/attempts/a1/check-1-unit.run3.log" : "/data/attempts/a1/check-1-unit.log");
		if (run < 3)
			json_object_set_new(c, "retrying", json_true());
		sc_event(&sc, HIVE_EV_CHECK_COMPLETED, TID, 1, c);
	}
	ev_completed(&sc, 1, "check_failed", "unit");
	commit(f, &sc);
	json_t *task = make_task(NULL, NULL);
	json_t *p = assemble(f, task, 2, 3);
	const char *t = ctx_text(p);
	assert_has(t, "Required check \"unit\" failed (exit 2) in all 3 runs:\n    FAIL: test_login\n");
	assert_lacks(t, "check \"flaky\" failed");
	assert_lacks(t, "connection reset");
	assert_has(t, "\nFull logs:\n"
		      "    runtime stderr: /data/attempts/a1/stderr.log (truncated: 9000000 bytes written, the file keeps"
		      " the head and the tail)\n"
		      "    check \"unit\": /data/attempts/a1/check-1-unit.run3.log\n");
	assert_lacks(t, "runtime stdout:"); /* it wrote nothing */
	assert_has(t, "- check flaky is flaky: it failed, then passed when re-run (checks[].retries), in attempt 1;"
		      " it did not fail the attempt\n");
	json_t *logs = json_object_get(json_array_get(json_object_get(p, "prior_attempts"), 0), "logs");
	assert_string_equal(json_string_value(json_object_get(logs, "stderr")), "/data/attempts/a1/stderr.log");
	assert_string_equal(json_string_value(json_object_get(json_object_get(logs, "checks"), "unit")),
			    "/data/attempts/a1/check-1-unit.run3.log");
	json_t *req = json_object_get(p, "required_check_failures");
	assert_int_equal(json_array_size(req), 1);
	json_decref(p);
	json_decref(task);
	sc_dispose(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_check_failures_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_attempts_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_budget_huge_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_budget_many_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crashed_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts_signal_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prior_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_blob_and_fence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_budget_last_resort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identical_output_said_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flaky_and_logs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
