/*
 * bench_sqlite.c - hive's event log next to SQLite, side by side in one run
 * (issue 9): the same events (check_completed-sized, JSON envelope encoded
 * by hive_event_encode, a fresh UUIDv7 id and timestamp each) with the same
 * indexes (flow, task, attempt, type; each ordered by seq).
 *
 *   batched append, 1000 events per transaction    events/s
 *   single durable commit, 1 event per transaction median latency
 *
 * Both run in one process, interleaved (see main), three rounds.  The
 * single commits also run on a second hive store in HIVE_DURABILITY=relaxed
 * (for information: relaxed may lose the last commits on a power loss,
 * which SQLite's synchronous=FULL does not, so it is not the goal's
 * comparison).
 *
 * SQLite runs in WAL mode with synchronous=FULL (every commit durable, as
 * hive's "durable" mode).  Built and run by `make bench` only when SQLite's
 * headers are present; SQLite is never a dependency of hive itself.
 * Prints figures; never fails on a number.
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events/error.h"
#include "events/event.h"
#include "events/id.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-0000000000aa"
#define TASK "71000000-0000-7000-8000-000000000001"
#define ATTEMPT "a1000000-0000-7000-8000-000000000001"
#define BATCH 1000

static const char *const FLOWS[4] = {
	"f0000000-0000-7000-8000-000000000000", "f1000000-0000-7000-8000-000000000001",
	"f2000000-0000-7000-8000-000000000002", "f3000000-0000-7000-8000-000000000003",
};

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "bench_sqlite: %s: %s\n", what, why);
	exit(1);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Event number k, as bench_store.c makes it. */
static void make_event(hive_event *ev, uint64_t k)
{
	hive_event_init(ev, HIVE_EV_CHECK_COMPLETED,
			json_pack("{s:s,s:b,s:b,s:i,s:b,s:I,s:s,s:i}", "name", "unit", "required", 1,
				  "passed", (int)(k % 3 != 0), "exit_code", (int)(k % 3 == 0), "timed_out", 0,
				  "duration_ms", (json_int_t)(k % 5000), "output_excerpt",
				  "FAIL test_login: expected 200, got 401\n[... 120 lines omitted]\nok 41 tests",
				  "output_lines", 161));
	hive_event_correlate(ev, PID, FLOWS[k % 4], TASK, ATTEMPT);
}

/* ---------------------------------------------------------------- hive */

typedef struct {
	int n;
	uint64_t counter;
} hive_ctx;

static int hive_append(hive_txn *txn, void *vctx)
{
	hive_ctx *c = vctx;
	for (int i = 0; i < c->n; i++) {
		hive_event ev;
		make_event(&ev, c->counter++);
		int rc = hive_txn_append(txn, &ev);
		hive_event_dispose(&ev);
		if (rc)
			return rc;
	}
	return 0;
}

/* Batched: n_batches transactions of BATCH events; events/s. */
static double hive_batches(hive_store *s, hive_ctx *c, int n_batches, double *cpu)
{
	c->n = BATCH;
	double t0 = now_ms(), c0 = cpu_ms();
	for (int i = 0; i < n_batches; i++)
		if (hive_store_write(s, hive_append, c))
			die("hive batch append", hive_error_last());
	*cpu = cpu_ms() - c0;
	return n_batches * (double)BATCH / ((now_ms() - t0) / 1e3);
}

/* One single-event durable commit; its latency in ms. */
static double hive_single(hive_store *s, hive_ctx *c)
{
	c->n = 1;
	double a = now_ms();
	if (hive_store_write(s, hive_append, c))
		die("hive append", hive_error_last());
	return now_ms() - a;
}

/* -------------------------------------------------------------- sqlite */

static void sql_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die(sql, err ? err : sqlite3_errmsg(db));
}

static sqlite3 *sql_open(const char *path, sqlite3_stmt **ins)
{
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	sql_exec(db, "PRAGMA journal_mode=WAL");
	sql_exec(db, "PRAGMA synchronous=FULL");
	sql_exec(db, "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, "
		     "type TEXT NOT NULL, flow_id TEXT, task_id TEXT, attempt_id TEXT, json TEXT NOT NULL)");
	sql_exec(db, "CREATE INDEX idx_flow ON events (flow_id, seq)");
	sql_exec(db, "CREATE INDEX idx_task ON events (task_id, seq)");
	sql_exec(db, "CREATE INDEX idx_attempt ON events (attempt_id, seq)");
	sql_exec(db, "CREATE INDEX idx_type ON events (type, seq)");
	if (sqlite3_prepare_v2(db, "INSERT INTO events (seq, id, type, flow_id, task_id, attempt_id, json) "
			       "VALUES (?, ?, ?, ?, ?, ?, ?)", -1, ins, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	return db;
}

/* Append n events in one transaction, encoded as hive encodes them. */
static void sql_append(sqlite3 *db, sqlite3_stmt *ins, int n, uint64_t *seq)
{
	sql_exec(db, "BEGIN IMMEDIATE");
	for (int i = 0; i < n; i++) {
		hive_event ev;
		make_event(&ev, *seq);
		ev.seq = ++*seq;
		hive_id_new(&ev.id);
		hive_time_now(ev.time, sizeof ev.time);
		char *json = hive_event_encode(&ev);
		sqlite3_bind_int64(ins, 1, (sqlite3_int64)ev.seq);
		sqlite3_bind_text(ins, 2, ev.id.s, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, ev.type_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, ev.flow_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, ev.task_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 6, ev.attempt_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 7, json, -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("insert", sqlite3_errmsg(db));
		sqlite3_reset(ins);
		free(json);
		hive_event_dispose(&ev);
	}
	sql_exec(db, "COMMIT");
}

static double sql_batches(sqlite3 *db, sqlite3_stmt *ins, uint64_t *seq, int n_batches, double *cpu)
{
	double t0 = now_ms(), c0 = cpu_ms();
	for (int i = 0; i < n_batches; i++)
		sql_append(db, ins, BATCH, seq);
	*cpu = cpu_ms() - c0;
	return n_batches * (double)BATCH / ((now_ms() - t0) / 1e3);
}

static double sql_single(sqlite3 *db, sqlite3_stmt *ins, uint64_t *seq)
{
	double a = now_ms();
	sql_append(db, ins, 1, seq);
	return now_ms() - a;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/*
 * Side by side: ROUNDS rounds, each 20 hive batches then 20 SQLite
 * batches, then 200 single commits alternating hive, SQLite, hive, ...
 * (so both see the same disk and the same load).  Each round gives a
 * ratio; the median of the rounds is reported with the spread.
 */
#define ROUNDS 3

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[4096], dir[4200], db[4200];
	snprintf(base, sizeof base, "%s/hive-bench-sqlite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		die("mkdtemp", strerror(errno));
	snprintf(dir, sizeof dir, "%s/hive", base);
	snprintf(db, sizeof db, "%s/events.sqlite", base);
	hive_store *s, *rs;
	hive_store_opts o = HIVE_STORE_OPTS_INIT; /* durable */
	if (hive_store_open(dir, &o, &s))
		die(dir, hive_error_last());
	char rdir[4300];
	snprintf(rdir, sizeof rdir, "%s/hive-relaxed", base);
	hive_store_opts ro = HIVE_STORE_OPTS_INIT;
	ro.durability = HIVE_RELAXED;
	if (hive_store_open(rdir, &ro, &rs))
		die(rdir, hive_error_last());
	sqlite3_stmt *ins;
	sqlite3 *q = sql_open(db, &ins);
	hive_ctx hc = {0, 0}, rhc = {0, 0};
	uint64_t qseq = 0;
	enum { BATCHES = 20, SINGLES = 200 };
	double h_cpu[ROUNDS], q_cpu[ROUNDS], h_eps[ROUNDS], q_eps[ROUNDS], b_ratio[ROUNDS], h_med[ROUNDS], q_med[ROUNDS],
		s_ratio[ROUNDS], r_med[ROUNDS], r_ratio[ROUNDS];
	double *hl = malloc(sizeof *hl * SINGLES), *ql = malloc(sizeof *ql * SINGLES), *rl = malloc(sizeof *rl * SINGLES);
	for (int r = 0; r < ROUNDS; r++) {
		h_eps[r] = hive_batches(s, &hc, BATCHES, &h_cpu[r]);
		q_eps[r] = sql_batches(q, ins, &qseq, BATCHES, &q_cpu[r]);
		b_ratio[r] = h_eps[r] / q_eps[r];
		double ignored;
		hive_batches(rs, &rhc, BATCHES, &ignored); /* the relaxed log as large as the durable one */
		for (int i = 0; i < SINGLES; i++) {
			hl[i] = hive_single(s, &hc);
			ql[i] = sql_single(q, ins, &qseq);
			rl[i] = hive_single(rs, &rhc);
		}
		h_med[r] = median(hl, SINGLES);
		q_med[r] = median(ql, SINGLES);
		r_med[r] = median(rl, SINGLES);
		s_ratio[r] = h_med[r] / q_med[r];
		r_ratio[r] = r_med[r] / q_med[r];
	}
	free(hl);
	free(ql);
	free(rl);
	hive_store_close(rs);
	sqlite3_finalize(ins);
	sqlite3_close(q);
	hive_store_close(s);
	printf("event log vs SQLite %s (WAL, synchronous=FULL), same events and indexes, %d rounds side by side:\n",
	       sqlite3_libversion(), ROUNDS);
	for (int r = 0; r < ROUNDS; r++)
		printf("  round %d: batched hive %.0f / SQLite %.0f events/s = %.2fx (CPU %.0f / %.0f ms); "
		       "single commit hive %.3f / SQLite %.3f ms = %.2fx (hive relaxed %.3f ms = %.2fx)\n",
		       r + 1, h_eps[r], q_eps[r], b_ratio[r], h_cpu[r], q_cpu[r], h_med[r], q_med[r], s_ratio[r], r_med[r],
		       r_ratio[r]);
	double br = median(b_ratio, ROUNDS), sr = median(s_ratio, ROUNDS), rr = median(r_ratio, ROUNDS);
	printf("  batched append (%d events/txn): hive/SQLite median %.2fx, range %.2f-%.2fx (goal >= 2.5x)\n", BATCH, br,
	       b_ratio[0], b_ratio[ROUNDS - 1]);
	printf("  single durable commit (1 event): hive/SQLite median %.2fx, range %.2f-%.2fx (goal <= 1.0x)\n", sr,
	       s_ratio[0], s_ratio[ROUNDS - 1]);
	printf("  single commit, hive relaxed (meta page not synced) / SQLite FULL: median %.2fx, range %.2f-%.2fx "
	       "(information only: not the same promise)\n", rr, r_ratio[0], r_ratio[ROUNDS - 1]);
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
