/*
 * bench_store.c - figures for the event log, side by side in one run, in
 * a fresh temp dir (docs/benchmarks.md quotes them).  Prints; never fails
 * on a number (only on an error).
 *
 *   append (durable, 1 event/txn)     latency median / p99 of single-event commits
 *   append (relaxed, 1 event/txn)     the same with the relaxed durability option
 *   append (durable|relaxed, 1000 events/txn)   throughput in events/s
 *   follow wake                       commit in one process -> hive_store_wait returns in another
 *   scan                              reading the whole log, and one flow through its index
 *
 * Usage: bench_store [N_SINGLE [N_BATCHES]]   (defaults 200 and 20)
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/error.h"
#include "events/event.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-0000000000aa"

static const char *const FLOWS[10] = {
	"f0000000-0000-7000-8000-000000000000", "f1000000-0000-7000-8000-000000000001",
	"f2000000-0000-7000-8000-000000000002", "f3000000-0000-7000-8000-000000000003",
	"f4000000-0000-7000-8000-000000000004", "f5000000-0000-7000-8000-000000000005",
	"f6000000-0000-7000-8000-000000000006", "f7000000-0000-7000-8000-000000000007",
	"f8000000-0000-7000-8000-000000000008", "f9000000-0000-7000-8000-000000000009",
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, hive_error_last());
	exit(1);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* A check_completed-sized event (about 400 bytes stored). */
typedef struct {
	int n;
	uint64_t counter;
} append_ctx;

static int append_fn(hive_txn *txn, void *vctx)
{
	append_ctx *c = vctx;
	for (int i = 0; i < c->n; i++) {
		uint64_t k = c->counter + (uint64_t)i;
		hive_event ev;
		hive_event_init(&ev, HIVE_EV_CHECK_COMPLETED,
				json_pack("{s:s,s:b,s:b,s:i,s:b,s:I,s:s,s:i}", "name", "unit", "required", 1,
					  "passed", (int)(k % 3 != 0), "exit_code", (int)(k % 3 == 0), "timed_out", 0,
					  "duration_ms", (json_int_t)(k % 5000), "output_excerpt",
					  "FAIL test_login: expected 200, got 401\n[... 120 lines omitted]\nok 41 tests",
					  "output_lines", 161));
		hive_event_correlate(&ev, PID, FLOWS[k % 10], "71000000-0000-7000-8000-000000000001",
				     "a1000000-0000-7000-8000-000000000001");
		int rc = hive_txn_append(txn, &ev);
		hive_event_dispose(&ev);
		if (rc)
			return rc;
	}
	c->counter += (uint64_t)c->n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static hive_store *open_mode(const char *base, const char *mode)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/%s", base, mode);
	hive_store_opts o = HIVE_STORE_OPTS_INIT;
	if (hive_store_durability_parse(mode, &o.durability))
		die(mode);
	hive_store *s;
	if (hive_store_open(dir, &o, &s))
		die(dir);
	return s;
}

static void bench_single(const char *base, const char *mode, int n)
{
	hive_store *s = open_mode(base, mode);
	append_ctx c = {1, 0};
	for (int i = 0; i < 10; i++) /* warm-up: file growth, first pages */
		if (hive_store_write(s, append_fn, &c))
			die("append");
	double *lat = malloc(sizeof *lat * (size_t)n);
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		double a = now_ms();
		if (hive_store_write(s, append_fn, &c))
			die("append");
		lat[i] = now_ms() - a;
	}
	double total = now_ms() - t0;
	qsort(lat, (size_t)n, sizeof *lat, cmp_double);
	printf("append (%s, 1 event/txn):%*s median %.3f ms, p99 %.3f ms, max %.3f ms  (%.0f commits/s, n=%d)\n",
	       mode, (int)(8 - strlen(mode)), "", pct(lat, n, 0.5), pct(lat, n, 0.99), lat[n - 1],
	       n / (total / 1e3), n);
	free(lat);
	hive_store_close(s);
}

static void bench_batched(const char *base, const char *mode, int batches)
{
	hive_store *s = open_mode(base, mode);
	append_ctx c = {1000, 0};
	uint64_t before;
	hive_store_last_seq(s, &before);
	double t0 = now_ms(), worst = 0;
	for (int i = 0; i < batches; i++) {
		double a = now_ms();
		if (hive_store_write(s, append_fn, &c))
			die("batch append");
		double d = now_ms() - a;
		worst = d > worst ? d : worst;
	}
	double total = now_ms() - t0;
	printf("append (%s, 1000 events/txn):%*s %.0f events/s  (%d txns, %.1f ms per txn, slowest %.1f ms)\n",
	       mode, (int)(8 - strlen(mode)), "", batches * 1000.0 / (total / 1e3), batches, total / batches,
	       worst);
	hive_store_close(s);
}

/* Wake latency across processes: a child commits, waits for our ack,
 * commits again; we wait in hive_store_wait and compare our wake time
 * with the commit-returned time the child sends (CLOCK_MONOTONIC is
 * system-wide).  A wake can precede the child's timestamp: counted as 0. */
static void bench_follow(const char *base, int rounds)
{
	hive_store *s = open_mode(base, "durable");
	append_ctx c = {1, 0};
	if (hive_store_write(s, append_fn, &c))
		die("append");
	uint64_t after;
	if (hive_store_last_seq(s, &after))
		die("last seq");
	int times[2], ack[2];
	if (pipe(times) || pipe(ack))
		die("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		hive_store *w;
		if (hive_store_open(hive_store_dir(s), NULL, &w))
			_exit(1);
		append_ctx wc = {1, 1000000};
		for (int i = 0; i < rounds; i++) {
			struct timespec pause = {0, 2 * 1000 * 1000}; /* let the waiter sleep */
			nanosleep(&pause, NULL);
			if (hive_store_write(w, append_fn, &wc))
				_exit(2);
			double t = now_ms();
			char b;
			if (write(times[1], &t, sizeof t) != sizeof t || read(ack[0], &b, 1) != 1)
				_exit(3);
		}
		hive_store_close(w);
		_exit(0);
	}
	double *lat = malloc(sizeof *lat * (size_t)rounds);
	for (int i = 0; i < rounds; i++) {
		if (hive_store_wait(s, after, 10000, -1) != 1)
			die("no wake within 10 s");
		double woke = now_ms(), committed;
		if (read(times[0], &committed, sizeof committed) != sizeof committed)
			die("read");
		lat[i] = woke > committed ? woke - committed : 0;
		after++;
		if (write(ack[1], "a", 1) != 1)
			die("ack");
	}
	int st;
	waitpid(pid, &st, 0);
	qsort(lat, (size_t)rounds, sizeof *lat, cmp_double);
	printf("follow wake (commit in another process -> hive_store_wait returns): median %.3f ms, p99 %.3f ms, "
	       "max %.3f ms  (n=%d; spec: within 50 ms)\n",
	       pct(lat, rounds, 0.5), pct(lat, rounds, 0.99), lat[rounds - 1], rounds);
	free(lat);
	hive_store_close(s);
}

static int count_fn(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq; (void)raw;
	(*(uint64_t *)ctx)++;
	return 0;
}

typedef struct {
	hive_event_filter f;
	uint64_t n;
} scan_ctx;

static int scan_txn(hive_txn *txn, void *ctx)
{
	scan_ctx *sc = ctx;
	return hive_txn_scan(txn, &sc->f, count_fn, &sc->n);
}

static void bench_scan(const char *base)
{
	hive_store *s = open_mode(base, "durable"); /* holds the batched events */
	scan_ctx all = {{0}, 0}, one = {{.flow_id = FLOWS[3]}, 0};
	double t0 = now_ms();
	if (hive_store_read(s, scan_txn, &all))
		die("scan");
	double t1 = now_ms();
	if (hive_store_read(s, scan_txn, &one))
		die("scan");
	double t2 = now_ms();
	printf("scan: whole log %llu events in %.1f ms; one flow via idx_flow %llu events in %.1f ms\n",
	       (unsigned long long)all.n, t1 - t0, (unsigned long long)one.n, t2 - t1);
	hive_store_close(s);
}

int main(int argc, char **argv)
{
	int n_single = argc > 1 ? atoi(argv[1]) : 200;
	int n_batches = argc > 2 ? atoi(argv[2]) : 20;
	if (n_single < 1 || n_batches < 1) {
		fprintf(stderr, "usage: bench_store [N_SINGLE [N_BATCHES]]\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR");
	char base[4096];
	snprintf(base, sizeof base, "%s/hive-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		fprintf(stderr, "bench_store: cannot create a temp dir under %s: %s\n", base, strerror(errno));
		return 1;
	}
	printf("bench_store: event log in %s (fsync cost depends on that filesystem; set TMPDIR to move it)\n",
	       base);
	bench_single(base, "durable", n_single);
	bench_single(base, "relaxed", n_single);
	bench_batched(base, "durable", n_batches);
	bench_batched(base, "relaxed", n_batches);
	bench_follow(base, 100);
	bench_scan(base);
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
