/*
 * progress.c - flow run's plain lines and live status block (progress.h).
 *
 * The runner calls the note and line callbacks on its own thread; the live
 * block is redrawn by a second thread.  One mutex orders everything written
 * to stdout, so a line never lands inside the block.  The block's facts
 * that the notes do not carry (an attempt's current step) come from
 * hive_attempt_show, one read transaction each, outside the mutex.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/progress.h"
#include "core/duration.h"
#include "events/buf.h"
#include "events/error.h"

#define MAX_RUNNING 64
#define REDRAW_MS 500

typedef struct {
	char key[80], id[40];
	int number, max;
	int64_t started_ms; /* monotonic */
	char step[96];      /* "runtime", "check unit", ... */
} running;

struct cli_progress {
	hive_cli *cli;
	hive_store *s;
	const char *flow_ref;
	int live, quiet;
	pthread_mutex_t mu;
	pthread_t th;
	int thread_on, stop;
	running run[MAX_RUNNING];
	int n_run;
	int64_t wait_due_ms;  /* epoch ms; 0 = not waiting */
	char wait_for[16], wait_what[80];
	int drawn;            /* lines of the block on the screen now */
	int64_t t0;           /* monotonic ms at the start */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A span a person reads at a glance, in whole seconds ("3s", "1m5s",
 * "1h"): rounded up for a countdown (it never says 0s early), down for
 * time elapsed (a clock); an elapsed span under a second as such ("40ms"). */
static void span_of(int64_t ms, int up, char *out, size_t n)
{
	if (ms <= 0)
		ms = 0;
	else if (up)
		ms = (ms + 999) / 1000 * 1000;
	else if (ms >= 1000)
		ms = ms / 1000 * 1000;
	hive_duration_format(ms, out, n);
}

static void span(int64_t ms, char *out, size_t n) { span_of(ms, 0, out, n); }
static void countdown(int64_t ms, char *out, size_t n) { span_of(ms, 1, out, n); }

/* ---- the live block (called with mu held) ------------------------------------- */

static void erase_block(cli_progress *p)
{
	for (int i = 0; i < p->drawn; i++)
		fputs("\033[1A\r\033[2K", stdout); /* up one line, clear it */
	p->drawn = 0;
}

/* Runs on the redraw thread too: it prints only what was made safe when
 * stored (never hive_safe here: its thread-local buffers would leak when
 * the thread ends). */
static void draw_block(cli_progress *p)
{
	char t[HIVE_DURATION_FMT_MAX];
	int64_t now = mono_ms();
	for (int i = 0; i < p->n_run; i++) {
		running *r = &p->run[i];
		span_of((now - r->started_ms) / 1000 * 1000, 0, t, sizeof t);
		printf("  %s%-16s%s attempt %d/%d  %-24s %s\n", cli_color(p->cli, "\033[1m"), r->key,
		       cli_color(p->cli, "\033[0m"), r->number, r->max, r->step[0] ? r->step : "starting", t);
		p->drawn++;
	}
	if (p->wait_due_ms && p->n_run == 0) {
		countdown(p->wait_due_ms - wall_ms(), t, sizeof t);
		if (strcmp(p->wait_for, "circuit") == 0)
			printf("  waiting: circuit %s open for %s more\n", p->wait_what, t);
		else
			printf("  waiting: retry of %s in %s\n", p->wait_what, t);
		p->drawn++;
	}
	fflush(stdout);
}

/* Print one line above the block (or alone, when not live). */
static void put_line(cli_progress *p, const char *line)
{
	if (p->quiet)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->live)
		erase_block(p);
	printf("%s\n", hive_safe(line)); /* it quotes keys, paths, errors */
	if (p->live)
		draw_block(p);
	fflush(stdout);
	pthread_mutex_unlock(&p->mu);
}

/* "check unit" while a check runs, "runtime" while the runtime does, ...
 * Made safe with a buffer of its own: hive_safe's thread-local buffers
 * would outlive the redraw thread. */
static void step_of(const json_t *a, char *out, size_t n)
{
	const json_t *cur = json_object_get(a, "current_check");
	if (cur) {
		hive_buf b = {0};
		hive_buf_puts(&b, "check ");
		hive_buf_put_safe(&b, cli_jstr(cur, "name"), strlen(cli_jstr(cur, "name")));
		snprintf(out, n, "%s", b.data);
		hive_buf_dispose(&b);
	} else if (json_object_get(a, "runtime_exited")) {
		snprintf(out, n, "%s", json_array_size(json_object_get(a, "checks")) ? "checks" : "recording changes");
	} else if (json_object_get(a, "runtime_started")) {
		snprintf(out, n, "runtime");
	} else {
		snprintf(out, n, "preparing");
	}
}

static void *redraw_thread(void *arg)
{
	cli_progress *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int stop = p->stop, n = p->n_run;
		char ids[MAX_RUNNING][40];
		for (int i = 0; i < n; i++)
			memcpy(ids[i], p->run[i].id, sizeof ids[i]);
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		for (int i = 0; i < n; i++) {
			json_t *a = NULL;
			char step[96];
			if (hive_attempt_show(p->s, ids[i], &a) != 0)
				continue;
			step_of(a, step, sizeof step);
			json_decref(a);
			pthread_mutex_lock(&p->mu);
			for (int j = 0; j < p->n_run; j++)
				if (strcmp(p->run[j].id, ids[i]) == 0)
					snprintf(p->run[j].step, sizeof p->run[j].step, "%s", step);
			pthread_mutex_unlock(&p->mu);
		}
		pthread_mutex_lock(&p->mu);
		erase_block(p);
		draw_block(p);
		pthread_mutex_unlock(&p->mu);
		struct timespec ts = {0, REDRAW_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* ---- notes ------------------------------------------------------------------ */

/* ": check unit failed (exit 1)" for an attempt whose required check
 * failed; "" when none did. */
static void failed_check(cli_progress *p, const char *attempt_id, hive_buf *out)
{
	json_t *a = NULL, *c;
	size_t i;
	if (hive_attempt_show(p->s, attempt_id, &a) != 0)
		return;
	json_array_foreach(json_object_get(a, "checks"), i, c) {
		if (json_is_true(json_object_get(c, "passed")) || json_is_false(json_object_get(c, "required")))
			continue;
		const json_t *code = json_object_get(c, "exit_code");
		if (json_is_true(json_object_get(c, "timed_out")))
			hive_buf_printf(out, " (check %s timed out)", hive_safe(cli_jstr(c, "name")));
		else if (json_is_integer(code))
			hive_buf_printf(out, " (check %s failed, exit %lld)", hive_safe(cli_jstr(c, "name")),
					(long long)json_integer_value(code));
		else
			hive_buf_printf(out, " (check %s failed)", hive_safe(cli_jstr(c, "name")));
		break;
	}
	json_decref(a);
}

static void on_started(cli_progress *p, const hive_run_note *n)
{
	pthread_mutex_lock(&p->mu);
	p->wait_due_ms = 0;
	if (p->n_run < MAX_RUNNING) {
		running *r = &p->run[p->n_run++];
		memset(r, 0, sizeof *r);
		snprintf(r->key, sizeof r->key, "%s", hive_safe(n->task_key)); /* made safe here: see draw_block */
		snprintf(r->id, sizeof r->id, "%s", n->attempt_id);
		r->number = n->number;
		r->max = n->max_attempts;
		r->started_ms = mono_ms();
	}
	pthread_mutex_unlock(&p->mu);
	put_line(p, n->line);
}

static void on_ended(cli_progress *p, const hive_run_note *n)
{
	char took[HIVE_DURATION_FMT_MAX] = "";
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n_run; i++)
		if (strcmp(p->run[i].id, n->attempt_id) == 0) {
			span(mono_ms() - p->run[i].started_ms, took, sizeof took);
			p->run[i] = p->run[--p->n_run];
			break;
		}
	pthread_mutex_unlock(&p->mu);
	hive_buf b = {0};
	hive_buf_puts(&b, n->line);
	if (n->outcome && strcmp(n->outcome, "check_failed") == 0)
		failed_check(p, n->attempt_id, &b);
	if (took[0])
		hive_buf_printf(&b, " after %s", took);
	put_line(p, b.data);
	hive_buf_dispose(&b);
}

static void on_waiting(cli_progress *p, const hive_run_note *n)
{
	pthread_mutex_lock(&p->mu);
	p->wait_due_ms = n->due_ms;
	snprintf(p->wait_for, sizeof p->wait_for, "%s", n->waiting_for);
	snprintf(p->wait_what, sizeof p->wait_what, "%s", hive_safe(n->what ? n->what : "?"));
	pthread_mutex_unlock(&p->mu);
	put_line(p, n->line);
}

static void note_cb(const hive_run_note *n, void *ctx)
{
	cli_progress *p = ctx;
	switch (n->kind) {
	case HIVE_RUN_NOTE_STARTED: on_started(p, n); break;
	case HIVE_RUN_NOTE_ENDED: on_ended(p, n); break;
	case HIVE_RUN_NOTE_WAITING: on_waiting(p, n); break;
	default: put_line(p, n->line); break;
	}
}

static void line_cb(const char *line, void *ctx)
{
	put_line(ctx, line);
}

cli_progress *cli_progress_new(hive_cli *cli, hive_store *s, const char *flow_ref, hive_run_opts *o)
{
	cli_progress *p = hive_xcalloc(1, sizeof *p);
	p->cli = cli;
	p->s = s;
	p->flow_ref = flow_ref;
	p->quiet = cli->json;
	/* TERM=dumb cannot move the cursor: plain lines there */
	const char *term = getenv("TERM");
	p->live = !p->quiet && isatty(1) && !(term && strcmp(term, "dumb") == 0);
	p->t0 = mono_ms();
	pthread_mutex_init(&p->mu, NULL);
	o->progress = line_cb;
	o->on_note = note_cb;
	o->progress_ctx = p;
	if (p->live) {
		/* flow run's signals belong to the threads that wait on them,
		 * never to the redraw thread */
		sigset_t block, old;
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		p->thread_on = pthread_create(&p->th, NULL, redraw_thread, p) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return p;
}

/* "summary: flow f completed in 12s; tasks: 2 success, 1 failed; 3 attempts, 1 failed" */
static void summary(cli_progress *p, const hive_run_result *r)
{
	json_t *counts = NULL;
	char took[HIVE_DURATION_FMT_MAX];
	span(mono_ms() - p->t0, took, sizeof took);
	hive_buf b = {0};
	hive_buf_printf(&b, "summary: flow %s is %s after %s; ", hive_safe(p->flow_ref), r->flow_state, took);
	if (hive_flow_task_counts(p->s, p->flow_ref, &counts) == 0) {
		/* tasks by state, in the order states first appear */
		json_t *v;
		const char *k;
		hive_buf_printf(&b, "tasks:");
		const char *sep = " ";
		json_object_foreach(counts, k, v) {
			hive_buf_printf(&b, "%s%lld %s", sep, (long long)json_integer_value(v), k);
			sep = ", ";
		}
		hive_buf_puts(&b, "; ");
	}
	json_decref(counts);
	hive_buf_printf(&b, "%d attempt%s started, %d failed", r->attempts_started, r->attempts_started == 1 ? "" : "s",
			r->attempts_failed);
	put_line(p, b.data);
	hive_buf_dispose(&b);
}

void cli_progress_finish(cli_progress *p, const hive_run_result *r, int rc)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	p->n_run = 0;
	p->wait_due_ms = 0;
	pthread_mutex_unlock(&p->mu);
	if (p->thread_on) {
		pthread_join(p->th, NULL);
		p->thread_on = 0;
	}
	pthread_mutex_lock(&p->mu);
	erase_block(p);
	fflush(stdout);
	pthread_mutex_unlock(&p->mu);
	if (rc == 0 || rc == HIVE_EFAILED)
		summary(p, r);
}

void cli_progress_free(cli_progress *p)
{
	if (!p)
		return;
	if (p->thread_on) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}
