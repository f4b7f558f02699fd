/*
 * bench_verify.c - `events verify` against the floor it cannot beat:
 * parsing every event of the same log with jansson alone.  Side by side in
 * one run, in a fresh temp dir (docs/benchmarks.md quotes the figures).
 * Prints; never fails on a number (only on an error).
 *
 *   jansson only       json_loadb of every stored event, nothing else
 *   events verify      hive_projection_verify: the log, the indexes, the
 *                      blobs, and a replay compared with the projections
 *   ratio              verify speed as a share of jansson-only speed
 *
 * Two logs: attempts of five events each (runtime, checks: the bulk of a
 * real log), and the same number of check events all for one attempt that
 * has no attempt_started (the case that was quadratic).  Each at N and 2N
 * events, so a per-event time that stays flat shows time linear in the log.
 *
 * Times are CPU time of this process (the best of 3 runs), so other load
 * on a shared machine moves them less than wall-clock time.
 *
 * Usage: bench_verify [N]   (default 10000)
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/projection.h"
#include "events/error.h"
#include "events/event.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-0000000000aa"
#define FID "f0000000-0000-7000-8000-000000000000"
#define TID "71000000-0000-7000-8000-000000000001"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_verify: %s: %s\n", what, hive_error_last());
	exit(1);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

typedef struct {
	uint64_t first, n; /* event numbers [first, first + n) */
	int one_attempt;   /* every event for one attempt */
} fill_ctx;

static json_t *payload_for(hive_event_type t, uint64_t k)
{
	switch (t) {
	case HIVE_EV_RUNTIME_STARTED:
		return json_pack("{s:s,s:[s,s],s:s}", "adapter", "exec", "argv", "./agent.sh", "--fix",
				 "prompt_sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	case HIVE_EV_RUNTIME_EXITED:
		return json_pack("{s:i,s:n,s:I,s:s}", "exit_code", 0, "signal", "duration_ms",
				 (json_int_t)(k % 90000), "termination_reason", "exited");
	case HIVE_EV_CHECK_STARTED:
		return json_pack("{s:s,s:I}", "name", "unit", "pid", (json_int_t)(1000 + k % 30000));
	default:
		return json_pack("{s:s,s:b,s:b,s:i,s:b,s:I,s:s,s:i}", "name", "unit", "required", 1,
				 "passed", (int)(k % 3 != 0), "exit_code", (int)(k % 3 == 0), "timed_out", 0,
				 "duration_ms", (json_int_t)(k % 5000), "output_excerpt",
				 "FAIL test_login: expected 200, got 401\n[... 120 lines omitted]\nok 41 tests",
				 "output_lines", 161);
	}
}

static int fill_fn(hive_txn *txn, void *vctx)
{
	static const hive_event_type cycle[5] = {HIVE_EV_RUNTIME_STARTED, HIVE_EV_RUNTIME_EXITED,
						 HIVE_EV_CHECK_STARTED, HIVE_EV_CHECK_COMPLETED,
						 HIVE_EV_CHECK_COMPLETED};
	fill_ctx *c = vctx;
	for (uint64_t k = c->first; k < c->first + c->n; k++) {
		hive_event_type t = c->one_attempt ? HIVE_EV_CHECK_COMPLETED : cycle[k % 5];
		char attempt[HIVE_ID_LEN + 1];
		snprintf(attempt, sizeof attempt, "a1000000-0000-7000-8000-%012llx",
			 (c->one_attempt ? 1ULL : (unsigned long long)(k / 5)) & 0xffffffffffffULL);
		hive_event ev;
		hive_event_init(&ev, t, payload_for(t, k));
		hive_event_correlate(&ev, PID, FID, TID, attempt);
		int rc = hive_txn_append(txn, &ev);
		hive_event_dispose(&ev);
		if (rc)
			return rc;
	}
	return 0;
}

/* Make the stored projections equal the replay, so verify's figures are
 * those of a healthy store (its compare step included). */
static int rebuild_fn(hive_txn *txn, void *ctx)
{
	(void)ctx;
	uint64_t problems;
	return hive_projection_rebuild(txn, &problems);
}

static int parse_one(uint64_t seq, hive_slice raw, void *ctx)
{
	json_t *o = json_loadb(raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return hive_error_set(HIVE_EINVALID, "event %llu does not parse", (unsigned long long)seq);
	(*(uint64_t *)ctx)++;
	json_decref(o);
	return 0;
}

static int parse_fn(hive_txn *txn, void *ctx)
{
	hive_event_filter all = {0};
	return hive_txn_scan(txn, &all, parse_one, ctx);
}

typedef struct {
	uint64_t events, problems;
} verify_out;

static int verify_fn(hive_txn *txn, void *ctx)
{
	verify_out *v = ctx;
	return hive_projection_verify(txn, NULL, NULL, &v->events, &v->problems);
}

static double best_of(int runs, hive_store *s, hive_write_fn fn, void *ctx)
{
	double best = 1e30;
	for (int i = 0; i < runs; i++) {
		double t0 = now_ms();
		if (hive_store_read(s, fn, ctx))
			die("read");
		double t = now_ms() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static void bench_log(const char *base, const char *name, uint64_t n, int one_attempt)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/%s-%llu", base, name, (unsigned long long)n);
	hive_store *s;
	if (hive_store_open(dir, NULL, &s))
		die(dir);
	for (uint64_t done = 0; done < n; done += 1000) {
		fill_ctx c = {done, n - done < 1000 ? n - done : 1000, one_attempt};
		if (hive_store_write(s, fill_fn, &c))
			die("append");
	}
	if (hive_store_write(s, rebuild_fn, NULL))
		die("rebuild");
	uint64_t parsed = 0;
	double tj = best_of(3, s, parse_fn, &parsed);
	verify_out v = {0};
	double tv = best_of(3, s, verify_fn, &v);
	if (v.problems)
		fprintf(stderr, "bench_verify: %s: verify found %llu problems\n", dir, (unsigned long long)v.problems);
	printf("%-12s %6llu events (CPU): jansson only %7.1f ms (%5.2f us/event)  verify %7.1f ms (%5.2f us/event)"
	       "  verify at %3.0f%% of jansson-only speed\n",
	       name, (unsigned long long)v.events, tj, tj * 1e3 / (double)(parsed / 3), tv, tv * 1e3 / (double)v.events,
	       100.0 * tj / tv);
	hive_store_close(s);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000;
	if (n < 10) {
		fprintf(stderr, "usage: bench_verify [N >= 10]\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	char base[4096];
	snprintf(base, sizeof base, "%s/hive-bench-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		fprintf(stderr, "bench_verify: cannot create a temp dir under %s: %s\n", base, strerror(errno));
		return 1;
	}
	bench_log(base, "attempts", n, 0);
	bench_log(base, "attempts", 2 * n, 0);
	bench_log(base, "one-attempt", n, 1);
	bench_log(base, "one-attempt", 2 * n, 1);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("verify: peak RSS of this process %ld MB (every log above, projections included)\n",
	       ru.ru_maxrss / 1024);
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
