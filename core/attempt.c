/*
 * attempt.c - running one attempt: the runtime through its adapter, the
 * checkpoint commit and diff, the checks, and the retry decision.  A step
 * is committed where a program starts (runtime_started, check_started: a
 * later runner must find it) and where the attempt ends; the steps in
 * between go into the next of these transactions (the queue below), so
 * followers see progress in order and a crash leaves a prefix of the
 * attempt's events.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/attempt.h"
#include "core/datadir.h"

#include "core/adapter.h"
#include "core/emit.h"
#include "core/excerpt.h"
#include "core/finish.h"
#include "core/gitws.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/proc.h"
#include "core/projection.h"
#include "core/redact.h"
#include "core/state.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/json.h"
#include "events/strv.h"


void hive_pick_dispose(hive_pick *p)
{
	json_decref(p->task);
	json_decref(p->context);
	json_decref(p->spare);
	free(p->worktree);
	free(p->repo);
	free(p->attempt_dir);
	free(p->branch);
	free(p->fail_reason);
	free(p->error);
	memset(p, 0, sizeof *p);
}

/* ---- steps and the transactions that carry them --------------------------------- */

/*
 * A step recorded but not yet written.  Only what a later runner or a
 * follower needs while it lasts is committed on its own: runtime_started
 * (the runtime runs), each check_started (the check runs) and the end of
 * the attempt.  Every other step (runtime_exited, changes_recorded, the move
 * to verifying, check_completed, check_flaky) waits in the attempt's queue
 * and goes into its next write transaction, in order, before that
 * transaction's own events.  Followers see the same events in the same
 * order; a crash loses only steps of an attempt the next runner records as
 * crashed anyway (docs/events.md, "Transactions of an attempt").
 */
#define STEP_VERIFYING (-1) /* not an event: the task's move to verifying */

typedef struct {
	int type;                  /* an event type, or STEP_VERIFYING */
	json_t *payload;           /* owned; copied into each try of the transaction */
	const char *blob_field[3];
	hive_buf blob[3];          /* owned; stored as blobs, their hashes under blob_field */
} step;

typedef struct {
	step *v;
	size_t n, cap;
} step_queue;

/* Queue a step; steals payload (blobs move in with step_blob). */
static step *queue_push(step_queue *q, int type, json_t *payload)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 8;
		q->v = hive_xrealloc(q->v, q->cap * sizeof *q->v);
	}
	step *st = &q->v[q->n++];
	memset(st, 0, sizeof *st);
	st->type = type;
	st->payload = payload;
	return st;
}

/* Move *b into the step's blob slot i, stored under field. */
static void step_blob(step *st, int i, const char *field, hive_buf *b)
{
	st->blob_field[i] = field;
	st->blob[i] = *b;
	memset(b, 0, sizeof *b);
}

static void queue_clear(step_queue *q)
{
	for (size_t i = 0; i < q->n; i++) {
		json_decref(q->v[i].payload);
		for (int b = 0; b < 3; b++)
			hive_buf_dispose(&q->v[i].blob[b]);
	}
	q->n = 0;
}

static void queue_dispose(step_queue *q)
{
	queue_clear(q);
	free(q->v);
	memset(q, 0, sizeof *q);
}

static int emit_verifying(hive_txn *txn, const hive_pick *p)
{
	json_t *t = hive_proj_task(txn, p->task_id.s);
	int rc = t ? hive_emit_task_state(txn, t, HIVE_TASK_VERIFYING, "runtime exited 0; running checks")
		   : HIVE_ENOTFOUND;
	json_decref(t);
	return rc;
}

static int emit_queued(hive_txn *txn, const hive_pick *p, const step *st)
{
	if (st->type == STEP_VERIFYING)
		return emit_verifying(txn, p);
	json_t *pl = json_deep_copy(st->payload); /* the transaction may run again (map resize) */
	for (int i = 0; i < 3 && st->blob_field[i]; i++) {
		char hex[65];
		const hive_buf *b = &st->blob[i];
		int rc = hive_txn_blob_put(txn, b->data ? b->data : "", b->len, hex);
		if (rc) {
			json_decref(pl);
			return rc;
		}
		json_object_set_new(pl, st->blob_field[i], json_string(hex));
	}
	return hive_emit_for_task(txn, p->task, (hive_event_type)st->type, pl, p->attempt_id.s);
}

/* Emit every queued step, in order, inside txn. */
static int queue_emit(hive_txn *txn, const hive_pick *p, const step_queue *q)
{
	int rc = 0;
	for (size_t i = 0; i < q->n && !rc; i++)
		rc = emit_queued(txn, p, &q->v[i]);
	return rc;
}

typedef struct {
	const hive_pick *p;
	const step_queue *q;
} queue_ctx;

static int queue_txn(hive_txn *txn, void *vctx)
{
	queue_ctx *c = vctx;
	return queue_emit(txn, c->p, c->q);
}

/* Write the queue in one transaction, then empty it: written, or refused
 * with it (a person ended the attempt: its steps are refused anyway). */
static int queue_write(hive_store *s, const hive_pick *p, step_queue *q)
{
	queue_ctx c = {p, q};
	int rc = q->n ? hive_store_write(s, queue_txn, &c) : 0;
	queue_clear(q);
	return rc;
}

/* One event in its own transaction, with whatever the queue holds before
 * it.  Steals payload. */
static int emit_step(hive_store *s, hive_pick *p, step_queue *q, int type, json_t *payload)
{
	queue_push(q, type, payload);
	return queue_write(s, p, q);
}

/* The output limit (HIVE_MAX_OUTPUT_BYTES, checked when the run began). */
static size_t output_limit(void)
{
	size_t max;
	return hive_capture_limit("HIVE_MAX_OUTPUT_BYTES", HIVE_OUTPUT_MAX_DEFAULT, &max) ? 0 : max;
}

/* The diff limit (HIVE_MAX_DIFF_BYTES, checked when the run began). */
static size_t diff_limit(void)
{
	size_t max;
	return hive_capture_limit("HIVE_MAX_DIFF_BYTES", HIVE_GIT_DIFF_MAX_DEFAULT, &max) ? 0 : max;
}

/* Sizes of a kept output in an event payload: the real totals, and
 * whether the stored text left bytes out. */
static void put_output_sizes(json_t *pl, const char *prefix, const hive_output *o)
{
	char key[64];
	snprintf(key, sizeof key, "%s_bytes", prefix);
	json_object_set_new(pl, key, json_integer((json_int_t)o->total_bytes));
	snprintf(key, sizeof key, "%s_truncated", prefix);
	json_object_set_new(pl, key, json_boolean(o->truncated));
}

/* A stored log's absolute path under `key` (nothing when unknown): the
 * next attempt's prompt names it (issue 10); hive itself reads the blob. */
static void put_path(json_t *pl, const char *key, const char *path)
{
	char *abs = path ? hive_fs_absolute(path) : NULL;
	if (abs)
		json_object_set_new(pl, key, hive_json_string_repaired(abs));
	free(abs);
}

/* ---- the runtime ------------------------------------------------------------- */

typedef struct {
	hive_store *s;
	hive_pick *p;
	step_queue *q;
	const char *adapter;
	int rc; /* recording runtime_started failed: the attempt fails its step */
} started_ctx;

static void on_started(void *vctx, pid_t pid, pid_t pgid, const char *const *argv, const char *prompt_sha)
{
	started_ctx *c = vctx;
	json_t *a = json_array();
	for (size_t i = 0; argv && argv[i]; i++)
		json_array_append_new(a, json_string(argv[i]));
	c->rc = emit_step(c->s, c->p, c->q, HIVE_EV_RUNTIME_STARTED,
		  hive_json_pack("{s:s,s:o,s:s,s:i,s:i}", "adapter", c->adapter, "argv", a, "prompt_sha256",
			    prompt_sha ? prompt_sha : "", "pid", (int)pid, "pgid", (int)pgid));
}

static json_t *task_input(const json_t *task)
{
	return json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?}", "id", json_object_get(task, "id"), "key",
			 json_object_get(task, "key"), "title", json_object_get(task, "title"), "description",
			 json_object_get(task, "description"), "checks", json_object_get(task, "checks"));
}

static int run_runtime(hive_store *s, hive_pick *p, step_queue *q, const hive_run_opts *o, hive_exec_result *res)
{
	const json_t *runtime = json_object_get(p->task, "runtime");
	const char *name = hive_json_str(runtime, "adapter");
	const hive_adapter *ad = o->adapters ? hive_adapter_registry_find(o->adapters, name) : NULL;
	memset(res, 0, sizeof *res);
	if (!ad) {
		res->exit_code = -1;
		snprintf(res->termination_reason, sizeof res->termination_reason, "not_started");
		hive_buf b = {0};
		hive_buf_printf(&b, "no runtime adapter named \"%s\"", name ? name : "");
		res->error = hive_buf_detach(&b);
		return 0;
	}
	json_t *input = task_input(p->task);
	started_ctx sc = {s, p, q, ad->name, 0};
	const char *ctx_text = p->context ? hive_json_str(p->context, "context") : NULL;
	json_t *prior = p->context ? json_object_get(p->context, "prior_attempts") : NULL;
	json_t *empty = json_array();
	hive_exec_request req = {
		.task = input, .attempt_number = p->number, .max_attempts = p->max_attempts,
		.context = ctx_text, .prior_attempts = prior ? prior : empty, .runtime = runtime,
		.task_id = p->task_id.s, .attempt_id = p->attempt_id.s, .worktree = p->worktree,
		.attempt_dir = p->attempt_dir, .cancel = (volatile int *)o->stop,
		.max_output_bytes = output_limit(),
		.on_started = on_started, .on_started_ctx = &sc,
		.guidance = p->context ? json_object_get(p->context, "guidance") : NULL,
	};
	int rc = ad->execute(ad, &req, res);
	json_decref(input);
	json_decref(empty);
	return rc ? rc : sc.rc;
}

/* Queue runtime_exited: it is written with the next step (docs/events.md). */
static void record_exit(step_queue *q, hive_pick *p, hive_exec_result *res)
{
	json_t *pl = hive_json_pack("{s:o,s:i,s:I,s:s,s:O}",
			       "exit_code", res->started && res->exit_code >= 0 ? json_integer(res->exit_code) : json_null(),
			       "signal", res->signal, "duration_ms", (json_int_t)res->duration_ms,
			       "termination_reason", res->termination_reason,
			       "verdict", res->verdict ? res->verdict : json_null());
	if (pl && res->error)
		json_object_set_new(pl, "error", json_string(res->error));
	hive_redact rd; /* env_passthrough values never reach the log nor stay in the attempt dir */
	hive_redact_init(&rd, json_object_get(p->task, "runtime"));
	hive_redact_json(&rd, res->verdict); /* before it is stored, summarised or put in a context */
	if (res->started) {
		hive_redact_buf(&rd, &res->stdout_kept.text);
		hive_redact_buf(&rd, &res->stderr_kept.text);
		if (hive_datadir_check_dir(p->attempt_dir) == 0) { /* never rewrite through a planted symlink */
			hive_redact_file(&rd, res->stdout_path);
			hive_redact_file(&rd, res->stderr_path);
			hive_buf verdict_file = {0};
			hive_buf_printf(&verdict_file, "%s/result.json", p->attempt_dir);
			hive_redact_file(&rd, verdict_file.data);
			hive_buf_dispose(&verdict_file);
		}
		if (pl) {
			put_output_sizes(pl, "stdout", &res->stdout_kept);
			put_output_sizes(pl, "stderr", &res->stderr_kept);
			put_path(pl, "stdout_path", res->stdout_path); /* named in the next prompt */
			put_path(pl, "stderr_path", res->stderr_path);
		}
	}
	hive_redact_dispose(&rd);
	step *st = queue_push(q, HIVE_EV_RUNTIME_EXITED, pl); /* a NULL payload fails the write, as hive_emit says */
	if (res->started) { /* the kept outputs move into the step */
		step_blob(st, 0, "stdout_blob", &res->stdout_kept.text);
		step_blob(st, 1, "stderr_blob", &res->stderr_kept.text);
	}
}

/* ---- changes ------------------------------------------------------------------ */

static int count_lines(const char *s)
{
	int n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* hive's own failure during an attempt (git, the attempt dir; not the
 * store): a new string "<what>: <the error>", for attempt_crashed. */
static char *own_failure(const char *what)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s: %s", what, hive_error_last());
	return hive_buf_detach(&b);
}

/* The checkpoint commit and its diff.  A git failure (a runtime that broke
 * or switched its worktree, a full disk) is hive's own: it goes into
 * *failure and nothing is queued.  Otherwise changes_recorded is queued
 * and, with `verify`, the task's move to verifying after it: both are
 * written with the next step (the first check_started, or the end). */
static void record_changes(step_queue *q, hive_pick *p, int verify, char **failure)
{
	char commit[41];
	char msg[256];
	snprintf(msg, sizeof msg, "hive: checkpoint of attempt %d of task %s", p->number, hive_json_str(p->task, "key"));
	int rc = hive_git_checkpoint(p->worktree, p->branch, msg, commit, NULL);
	hive_diff_stats st;
	char *patch = NULL;
	if (!rc)
		rc = hive_git_diff(p->repo, p->start_commit, commit, diff_limit(), &st, &patch);
	if (rc) {
		*failure = own_failure("the checkpoint commit failed");
		return;
	}
	json_t *paths = json_array();
	for (size_t i = 0; i < st.n_paths; i++)
		json_array_append_new(paths, hive_json_string_repaired(st.paths[i])); /* file names need not be UTF-8 */
	json_t *pl = hive_json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:i}", "commit", commit, "start_commit",
			       p->start_commit, "files_created", st.files_created, "files_modified", st.files_modified,
			       "files_deleted", st.files_deleted, "insertions", st.insertions, "deletions",
			       st.deletions, "paths", paths, "diff_lines", count_lines(patch));
	json_object_set_new(pl, "diff_bytes", json_integer((json_int_t)st.patch_bytes));
	json_object_set_new(pl, "diff_truncated", json_boolean(st.patch_truncated));
	hive_buf diff = {0};
	hive_buf_puts(&diff, patch ? patch : "");
	if (!diff.len)
		json_object_set_new(pl, "diff_blob", json_null());
	step *sp = queue_push(q, HIVE_EV_CHANGES_RECORDED, pl);
	if (diff.len)
		step_blob(sp, 0, "diff_blob", &diff);
	if (verify)
		queue_push(q, STEP_VERIFYING, NULL);
	hive_buf_dispose(&diff);
	free(patch);
	hive_diff_stats_dispose(&st);
}

/* ---- checks ------------------------------------------------------------------- */

static int check_lines_limit(const json_t *task)
{
	hive_retry_policy pol;
	hive_retry_policy_of(task, &pol);
	return pol.context.max_check_output_lines;
}

/* Spawn the check, then record check_started with its process group (so
 * a later runner can kill it if this one dies), with the queued steps
 * before it in the same transaction, then wait for it. */
static int spawn_check(hive_store *s, hive_pick *p, step_queue *q, const hive_proc_spec *spec, const char *name, int required,
		       const char *cmd, int run, hive_proc_result *r, int *write_rc)
{
	hive_proc proc;
	int rc = spec->stdout_capture ? hive_proc_spawn(spec, &proc) : HIVE_ESYSTEM;
	json_t *pl = hive_json_pack("{s:s,s:b,s:s}", "name", name, "required", required, "command", cmd);
	if (pl && run > 0) /* checks[].retries: which run this is */
		json_object_set_new(pl, "run", json_integer(run));
	if (!rc) {
		json_object_set_new(pl, "pid", json_integer(proc.pid));
		json_object_set_new(pl, "pgid", json_integer(proc.pgid));
	}
	*write_rc = emit_step(s, p, q, HIVE_EV_CHECK_STARTED, pl);
	if (rc) {
		r->exit_code = -1;
		return rc;
	}
	return hive_proc_wait(&proc, spec, r);
}

/* One run of a check (checks[].retries: run k of 1 + retries).  `more`:
 * another run follows if this one fails; its check_completed then says
 * "retrying" (the context does not count it as a failure).  A failed
 * run is appended to `failures` ({run, exit_code, timed_out}).  Returns 1
 * when it passed, 0 when not, or the store's error.  Its output is stored
 * whole as a blob and excerpted into check_completed, which is queued:
 * written with the next check_started or the end of the attempt. */
static int run_check(hive_store *s, hive_pick *p, step_queue *q, const json_t *check, int idx, int run, int more,
		     const hive_run_opts *o, json_t *failures)
{
	const char *name = hive_json_str(check, "name"), *cmd = hive_json_str(check, "command");
	int required = !json_is_false(json_object_get(check, "required"));
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/check-%d-%s", p->attempt_dir, idx, name);
	if (run > 1)
		hive_buf_printf(&path, ".run%d", run);
	hive_buf_puts(&path, ".log");
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	/* checks carry the attempt's tag too, so an abort or a later runner
	 * can find and kill them (hive_proc_kill_tagged) */
	hive_buf tag[3] = {{0}, {0}, {0}};
	hive_buf_printf(&tag[0], "HIVE_ATTEMPT_ID=%s", p->attempt_id.s);
	hive_buf_printf(&tag[1], "HIVE_TASK_ID=%s", p->task_id.s);
	hive_buf_printf(&tag[2], "HIVE_WORKTREE=%s", p->worktree);
	char *extra[] = {tag[0].data, tag[1].data, tag[2].data, NULL};
	char **env = hive_env_scrubbed(extra);
	for (int t = 0; t < 3; t++)
		hive_buf_dispose(&tag[t]);
	/* one pipe for stdout and stderr, read by hive (capture.h) */
	hive_capture cap;
	/* the runtime may have replaced its attempt dir with a symlink: never
	 * create the check's log through it (it is dead by now, so this check
	 * cannot race with it) */
	int cap_ok = hive_datadir_check_dir(p->attempt_dir) == 0 &&
		     hive_capture_init(&cap, path.data, output_limit()) == 0;
	if (!cap_ok)
		memset(&cap, 0, sizeof cap);
	hive_proc_spec spec = {.argv = argv, .cwd = p->worktree, .envp = env,
			       .stdout_capture = cap_ok ? &cap : NULL, .stderr_capture = cap_ok ? &cap : NULL,
			       .timeout_ms = (long)json_integer_value(json_object_get(check, "timeout_ms")),
			       .cancel = (volatile int *)o->stop};
	hive_proc_result r = {0};
	int write_rc = 0;
	int retries = (int)json_integer_value(json_object_get(check, "retries"));
	int rc = spawn_check(s, p, q, &spec, name, required, cmd, retries > 0 ? run : 0, &r, &write_rc);
	char *start_error = rc ? hive_xstrdup(hive_error_last()) : NULL;
	hive_strv_free(env);
	hive_output out = {0};
	hive_capture_finish(&cap, &out);
	hive_capture_dispose(&cap);
	hive_redact rd; /* a check may print a secret too (it read it from a file, say) */
	hive_redact_init(&rd, json_object_get(p->task, "runtime"));
	hive_redact_buf(&rd, &out.text);
	if (cap_ok && hive_datadir_check_dir(p->attempt_dir) == 0)
		hive_redact_file(&rd, path.data);
	hive_redact_dispose(&rd);
	hive_excerpt ex;
	hive_excerpt_opts eo = {.max_lines = (size_t)check_lines_limit(p->task)};
	hive_excerpt_make(hive_buf_str(&out.text), out.text.len, &eo, &ex);
	/* the excerpt saw the kept text; the counts are of the whole output */
	size_t kept = ex.kept_lines < out.lines ? ex.kept_lines : (size_t)out.lines;
	int passed = rc == 0 && r.exit_code == 0 && !r.timed_out && !r.cancelled;
	json_t *pl = hive_json_pack("{s:s,s:b,s:b,s:o,s:b,s:I,s:s,s:I,s:I}", "name", name, "required", required,
			       "passed", passed, "exit_code", r.exit_code >= 0 ? json_integer(r.exit_code) : json_null(),
			       "timed_out", r.timed_out, "duration_ms", (json_int_t)r.duration_ms, "output_excerpt",
			       ex.text, "output_lines", (json_int_t)out.lines, "omitted_lines",
			       (json_int_t)(out.lines - kept));
	put_output_sizes(pl, "output", &out);
	if (cap_ok) /* where the full log is, for the next attempt's prompt */
		put_path(pl, "output_path", path.data);
	hive_buf_dispose(&path);
	if (retries > 0)
		json_object_set_new(pl, "run", json_integer(run));
	if (!passed && more && !r.cancelled && !start_error)
		json_object_set_new(pl, "retrying", json_true());
	if (!passed && !r.cancelled)
		json_array_append_new(failures, json_pack("{s:i,s:o,s:b}", "run", run, "exit_code",
							  r.exit_code >= 0 ? json_integer(r.exit_code) : json_null(),
							  "timed_out", r.timed_out));
	if (start_error) /* it never ran: say why, not just "failed" */
		json_object_set_new(pl, "error", json_string(start_error));
	free(start_error);
	hive_excerpt_dispose(&ex);
	if (r.cancelled)
		json_object_set_new(pl, "cancelled", json_true()); /* the runner was stopped */
	if (!write_rc) /* check_completed only after its check_started */
		step_blob(queue_push(q, HIVE_EV_CHECK_COMPLETED, pl), 0, "output_blob", &out.text);
	else
		json_decref(pl);
	hive_output_dispose(&out);
	return write_rc ? write_rc : passed;
}

/* 1 while the attempt is still running: a person may have aborted it. */
static int still_running_txn(hive_txn *txn, void *vctx)
{
	hive_pick *p = vctx;
	json_t *a = hive_proj_attempt(txn, p->attempt_id.s);
	int running = hive_proj_attempt_running(a);
	json_decref(a);
	return running ? 0 : HIVE_ECONFLICT;
}

/* checks[].retries (issue 10): a failed check runs again, up to `retries`
 * more times, without the runtime running again; the last run decides.  A
 * pass after a failure is recorded as check_flaky and does not fail the
 * attempt.  Returns as run_check (the last run's result). */
static int run_check_retried(hive_store *s, hive_pick *p, step_queue *q, const json_t *ch, int idx,
			     const hive_run_opts *o)
{
	int retries = (int)json_integer_value(json_object_get(ch, "retries"));
	json_t *failures = json_array();
	int passed = 0, run = 1;
	for (;; run++) {
		int more = run <= retries;
		passed = run_check(s, p, q, ch, idx, run, more, o, failures);
		if (passed != 0 || !more || (o->stop && *o->stop) || hive_store_read(s, still_running_txn, p) != 0)
			break;
	}
	if (passed == 1 && json_array_size(failures) > 0) /* queued after the passing run's check_completed */
		queue_push(q, HIVE_EV_CHECK_FLAKY,
			   hive_json_pack("{s:s,s:b,s:i,s:i,s:O}", "name", hive_json_str(ch, "name"), "required",
					  !json_is_false(json_object_get(ch, "required")), "passed_run", run,
					  "retries", retries, "failures", failures));
	json_decref(failures);
	return passed;
}

/* 1 when every required check passed, 0 when one failed, -1 when the
 * attempt stopped (interrupted, or *rc: its events could not be recorded). */
static int run_checks(hive_store *s, hive_pick *p, step_queue *q, const hive_run_opts *o, json_t *failed, int *rc)
{
	json_t *checks = json_object_get(p->task, "checks"), *ch;
	size_t i;
	int all_required_passed = 1;
	json_array_foreach(checks, i, ch) {
		if ((o->stop && *o->stop) || hive_store_read(s, still_running_txn, p) != 0)
			return -1;
		int passed = run_check_retried(s, p, q, ch, (int)i, o);
		if (passed < 0) {
			*rc = passed;
			return -1;
		}
		if (o->stop && *o->stop)
			return -1; /* interrupted, not failed: the attempt ends interrupted */
		if (!passed && !json_is_false(json_object_get(ch, "required"))) {
			all_required_passed = 0;
			json_array_append(failed, json_object_get(ch, "name"));
		}
	}
	return all_required_passed;
}

/* ---- outcome ------------------------------------------------------------------- */

static hive_outcome outcome_of(const hive_exec_result *r, int checks_ok)
{
	if (!r->started)
		return HIVE_OUTCOME_RUNTIME_UNAVAILABLE;
	if (r->timed_out)
		return HIVE_OUTCOME_TIMEOUT;
	if (r->cancelled)
		return HIVE_OUTCOME_INTERRUPTED; /* only a signal to the runner cancels */
	if (r->signal)
		return HIVE_OUTCOME_CRASHED;
	if (r->exit_code != 0)
		return HIVE_OUTCOME_RUNTIME_FAILED;
	if (checks_ok < 0)
		return HIVE_OUTCOME_INTERRUPTED;
	return checks_ok ? HIVE_OUTCOME_SUCCESS : HIVE_OUTCOME_CHECK_FAILED;
}

typedef struct {
	hive_pick *p;
	hive_outcome outcome;
	int recorded;           /* the outcome the attempt ended with in the log */
	int64_t duration_ms;
	json_t *failed;
	const json_t *verdict;
	const char *summary;
	const char *crash_reason; /* hive's own failure: recorded in attempt_crashed first */
	uint64_t seed;
	const step_queue *q;      /* steps not yet written: they come first */
} finish_ctx;

/* attempt_crashed for hive's own failure, while the attempt still runs. */
static int emit_own_crash(hive_txn *txn, finish_ctx *c)
{
	json_t *a = hive_proj_attempt(txn, c->p->attempt_id.s);
	json_t *t = hive_proj_task(txn, c->p->task_id.s);
	int rc = 0;
	if (t && hive_proj_attempt_running(a))
		rc = hive_emit_for_task(txn, t, HIVE_EV_ATTEMPT_CRASHED,
					hive_json_pack("{s:s,s:s,s:b}", "reason", c->crash_reason, "cause", "hive",
						       "killed", 0),
					c->p->attempt_id.s);
	json_decref(a);
	json_decref(t);
	return rc;
}

/* The queued steps, unless a person ended the attempt first (they would
 * be refused: an attempt is immutable once completed). */
static int emit_last_steps(hive_txn *txn, finish_ctx *c)
{
	json_t *a = hive_proj_attempt(txn, c->p->attempt_id.s);
	int running = hive_proj_attempt_running(a);
	json_decref(a);
	return running ? queue_emit(txn, c->p, c->q) : 0;
}

static int finish_txn(hive_txn *txn, void *vctx)
{
	finish_ctx *c = vctx;
	int rc = emit_last_steps(txn, c);
	if (!rc && c->crash_reason)
		rc = emit_own_crash(txn, c);
	if (rc)
		return rc;
	rc = hive_finish_attempt(txn, c->p->task_id.s, c->p->attempt_id.s, c->outcome, c->duration_ms, c->failed,
				     c->verdict, c->summary, c->seed);
	/* a person may have ended it first (aborted): report what the log says */
	json_t *a = rc ? NULL : hive_proj_attempt(txn, c->p->attempt_id.s);
	c->recorded = hive_proj_attempt_outcome(a);
	json_decref(a);
	return rc;
}

typedef struct {
	hive_pick *p;
	int outcome;
} recorded_ctx;

static int recorded_txn(hive_txn *txn, void *vctx)
{
	recorded_ctx *c = vctx;
	json_t *a = hive_proj_attempt(txn, c->p->attempt_id.s);
	c->outcome = hive_proj_attempt_outcome(a);
	json_decref(a);
	return 0;
}

/* The outcome the log records for the attempt, or -1 while it has none. */
static int recorded_outcome(hive_store *s, hive_pick *p)
{
	recorded_ctx c = {p, -1};
	/* A failed read leaves -1 ("none yet"): this runs only after the
	 * attempt already failed, and its caller then returns that error. */
	(void)hive_store_read(s, recorded_txn, &c);
	return c.outcome;
}

int hive_attempt_run(hive_store *s, hive_pick *p, const hive_run_opts *o)
{
	int64_t t0 = hive_clock_monotonic_ms();
	p->outcome = -1;
	hive_exec_result res;
	step_queue q = {0};
	char *failure = NULL; /* hive's own, not the store's: the attempt ends crashed with it */
	int rc = run_runtime(s, p, &q, o, &res);
	json_t *failed = json_array();
	int checks_ok = 1;
	if (rc) {
		failure = own_failure("hive could not run the runtime");
		rc = 0;
	}
	record_exit(&q, p, &res);
	int verify = res.started && res.exit_code == 0 && !res.timed_out && !res.signal && !res.cancelled;
	if (res.started && !failure)
		record_changes(&q, p, verify, &failure);
	if (!failure && verify)
		checks_ok = run_checks(s, p, &q, o, failed, &rc);
	if (rc) {
		/* the store failed mid-attempt or a person ended the attempt:
		 * leave it as the log has it; a running one is recorded as
		 * crashed by the next tick, which retries it. */
		p->error = hive_xstrdup(hive_error_last());
		p->outcome = recorded_outcome(s, p);
		json_decref(failed);
		queue_dispose(&q);
		hive_exec_result_dispose(&res);
		return p->outcome >= 0 ? 0 : rc;
	}
	const char *summary = res.verdict ? json_string_value(json_object_get(res.verdict, "summary")) : NULL;
	finish_ctx fc = {.p = p, .outcome = outcome_of(&res, checks_ok), .duration_ms = hive_clock_monotonic_ms() - t0,
			 .failed = failed, .verdict = res.verdict, .seed = o->seed,
			 .summary = summary ? summary : res.error, .q = &q};
	/* SPEC section 12: a full or failing disk is the machine's failure,
	 * not the work's: the attempt ends interrupted (never charged) and the
	 * runner stops with exit 5 (returned below) */
	int storage = failure && hive_error_is_storage_failure(failure);
	if (storage) {
		fc.outcome = HIVE_OUTCOME_INTERRUPTED;
		fc.summary = failure;
		p->error = hive_xstrdup(failure);
	} else if (failure) {
		/* SPEC section 12: hive's own failure ends the attempt crashed
		 * with the real error, for attempt inspect and the next context */
		fc.outcome = HIVE_OUTCOME_CRASHED;
		fc.summary = fc.crash_reason = failure;
		p->error = hive_xstrdup(failure);
	}
	rc = hive_store_write(s, finish_txn, &fc);
	if (!rc && storage)
		rc = hive_error_set(HIVE_ESYSTEM, "%s", failure);
	if (rc)
		p->error = (free(p->error), hive_xstrdup(hive_error_last()));
	else if (!failure && !res.started && res.error)
		p->error = hive_xstrdup(res.error); /* flow run says why it could not start */
	p->outcome = rc && !storage ? -1 : fc.recorded;
	json_decref(failed);
	queue_dispose(&q);
	free(failure);
	hive_exec_result_dispose(&res);
	return rc;
}

int64_t hive_attempt_age_ms(const json_t *attempt)
{
	const char *at = json_string_value(json_object_get(attempt, "started_at"));
	int64_t started = at ? hive_time_parse_ms(at) : -1;
	int64_t age = started > 0 ? hive_time_now_ms() - started : 0;
	return age > 0 ? age : 0;
}
