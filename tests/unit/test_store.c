/*
 * test_store.c - the LMDB event log (SPEC section 10), on real files in a
 * fresh temp dir per test.
 *
 * What it protects: seq is gapless from 1 across processes and reopen; a
 * write transaction is all or nothing (events, index entries, projection
 * keys); the indexes answer exactly what a full scan would; the map grows
 * by itself, also when two processes grow it at once; concurrent writers
 * lose nothing; a reader never blocks a writer; a killed reader's slot is
 * reclaimed on open; blobs are content-addressed; permissions, schema
 * version and durability setting are enforced; verify finds (and names)
 * corruption.
 *
 * Child processes never call cmocka: they report through their exit
 * status and pipes, so a failing child cannot run the parent's tests.
 */
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "events/error.h"
#include "events/event.h"
#include "events/sha256.h"
#include "events/fs.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-0000000000aa"

/* ---- helpers --------------------------------------------------------------- */

/* Options of the stores these tests open (a test may shrink the map). */
static hive_store_opts test_opts = HIVE_STORE_OPTS_INIT;

static int test_open(const char *dir, hive_store **out) { return hive_store_open(dir, &test_opts, out); }

static hive_store *open_store(const char *dir)
{
	hive_store *s = NULL;
	int rc = test_open(dir, &s);
	if (rc)
		fail_msg("hive_store_open(%s): %d %s", dir, rc, hive_error_last());
	return s;
}

/* One event to append: type name (catalog or not) and correlation. */
typedef struct {
	const char *type;
	const char *flow, *task, *attempt;
	json_t *payload; /* borrowed; NULL = {} */
} ev_spec;

static int append_spec(hive_txn *txn, const ev_spec *e)
{
	hive_event ev;
	hive_event_type t = hive_event_type_from_name(e->type);
	hive_event_init(&ev, t, e->payload ? json_incref(e->payload) : json_object());
	if (t == HIVE_EV_UNKNOWN)
		snprintf(ev.type_name, sizeof ev.type_name, "%s", e->type);
	hive_event_correlate(&ev, PID, e->flow, e->task, e->attempt);
	int rc = hive_txn_append(txn, &ev);
	hive_event_dispose(&ev);
	return rc;
}

typedef struct {
	const ev_spec *v;
	size_t n;
	int calls; /* how many times the write fn ran (map-full retries) */
} batch;

static int batch_fn(hive_txn *txn, void *ctx)
{
	batch *b = ctx;
	b->calls++;
	for (size_t i = 0; i < b->n; i++) {
		int rc = append_spec(txn, &b->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int append_one(hive_store *s, const ev_spec *e)
{
	batch b = {e, 1, 0};
	return hive_store_write(s, batch_fn, &b);
}

static void append_ok(hive_store *s, const char *type, const char *flow, const char *task,
		      const char *attempt)
{
	ev_spec e = {type, flow, task, attempt, NULL};
	int rc = append_one(s, &e);
	if (rc)
		fail_msg("append %s: %s", type, hive_error_last());
}

static uint64_t last_seq(hive_store *s)
{
	uint64_t last = 99999;
	assert_int_equal(hive_store_last_seq(s, &last), 0);
	return last;
}

/* A collected scan: seqs and raw bytes. */
typedef struct {
	uint64_t seq[4096];
	size_t n;
	int bad; /* raw bytes did not decode or carried another seq */
} seqs;

static int collect_fn(uint64_t seq, hive_slice raw, void *ctx)
{
	seqs *c = ctx;
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev) != 0 || ev.seq != seq)
		c->bad++;
	else
		hive_event_dispose(&ev);
	if (c->n < 4096)
		c->seq[c->n++] = seq;
	return 0;
}

typedef struct {
	const hive_event_filter *f;
	seqs *out;
	int rc;
} scan_ctx;

static int scan_txn(hive_txn *txn, void *ctx)
{
	scan_ctx *sc = ctx;
	return hive_txn_scan(txn, sc->f, collect_fn, sc->out);
}

static void scan(hive_store *s, const hive_event_filter *f, seqs *out)
{
	memset(out, 0, sizeof *out);
	scan_ctx sc = {f, out, 0};
	int rc = hive_store_read(s, scan_txn, &sc);
	if (rc)
		fail_msg("scan: %s", hive_error_last());
	assert_int_equal(out->bad, 0);
}

/* Verify through the library; messages are joined into *msgs (caller frees). */
typedef struct {
	uint64_t events, problems;
	char msgs[8192];
} verify_result;

static void verify_report(const char *msg, void *ctx)
{
	verify_result *v = ctx;
	size_t n = strlen(v->msgs);
	snprintf(v->msgs + n, sizeof v->msgs - n, "%s\n", msg);
}

static int verify_txn(hive_txn *txn, void *ctx)
{
	verify_result *v = ctx;
	return hive_txn_verify(txn, verify_report, v, &v->events, &v->problems);
}

static verify_result verify(hive_store *s)
{
	verify_result v;
	memset(&v, 0, sizeof v);
	assert_int_equal(hive_store_read(s, verify_txn, &v), 0);
	return v;
}

static void assert_verify_clean(hive_store *s, uint64_t events)
{
	verify_result v = verify(s);
	if (v.problems)
		fail_msg("verify found %llu problems:\n%s", (unsigned long long)v.problems, v.msgs);
	assert_int_equal(v.events, events);
}

/* Raw LMDB access to the same files, to corrupt or inspect them the way
 * only an outside tool could.  Never open while a hive_store is open in
 * this process (two envs on one file in a process share fcntl locks). */
static MDB_env *raw_open(const char *dir)
{
	MDB_env *env;
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	mdb_env_set_maxreaders(env, 256);
	int rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (rc)
		fail_msg("raw open %s: %s", dir, mdb_strerror(rc));
	return env;
}

static MDB_dbi raw_dbi(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;
	unsigned flags = strncmp(name, "idx_", 4) == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;
	int rc = mdb_dbi_open(txn, name, flags, &dbi);
	if (rc)
		fail_msg("raw dbi %s: %s", name, mdb_strerror(rc));
	return dbi;
}

static void seq_key(uint64_t seq, unsigned char k[8])
{
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char)(seq >> (56 - 8 * i));
}

/* ---- processes ----------------------------------------------------------- */


/* Block until fd has a byte (a hang guard of 30 s, not a timing bound). */
static void wait_byte(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 30000) != 1)
		fail_msg("child did not signal within 30 s");
	char c;
	assert_int_equal(read(fd, &c, 1), 1);
}

static void send_byte(int fd)
{
	if (write(fd, "x", 1) != 1)
		_exit(90);
}

/* ---- fixtures ---------------------------------------------------------------- */

typedef struct {
	char *dir;
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	fx->dir = tu_tmpdir();
	test_opts = (hive_store_opts)HIVE_STORE_OPTS_INIT;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	kill_children();
	fixture *fx = *state;
	tu_rmrf(fx->dir);
	free(fx->dir);
	free(fx);
	test_opts = (hive_store_opts)HIVE_STORE_OPTS_INIT;
	return 0;
}

/* ---- opening ------------------------------------------------------------- */

/* must_exist: a reader's open of a dir without a store (a mistyped --dir)
 * is "not found" with the hint the front end words, and creates nothing,
 * not even the dir; once a store exists the same options open it. */
static void test_must_exist_creates_nothing(void **state)
{
	fixture *fx = *state;
	char *typo = hive_fs_join(fx->dir, "typo");
	test_opts.must_exist = 1;
	hive_store *s = NULL;
	assert_int_equal(test_open(typo, &s), HIVE_ENOTFOUND);
	assert_null(s);
	assert_int_equal(hive_error_last_hint(), HIVE_HINT_NO_STORE);
	assert_non_null(strstr(hive_error_last(), typo));
	struct stat st;
	assert_int_not_equal(stat(typo, &st), 0);
	test_opts.must_exist = 0;
	hive_store_close(open_store(typo));
	test_opts.must_exist = 1;
	hive_store_close(open_store(typo));
	free(typo);
}

/* A NULL payload (json_pack's answer to one NULL string) is refused at
 * append, naming the event, and nothing is written: it is never stored as
 * an empty {} event. */
static int append_null_payload(hive_txn *txn, void *ctx)
{
	(void)ctx;
	hive_event ev;
	hive_event_init(&ev, HIVE_EV_PROJECT_CREATED, NULL);
	hive_event_correlate(&ev, PID, NULL, NULL, NULL);
	int rc = hive_txn_append(txn, &ev);
	hive_event_dispose(&ev);
	return rc;
}

static void test_null_payload_refused(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	assert_int_equal(hive_store_write(s, append_null_payload, NULL), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "cannot append project_created"));
	uint64_t last = 99;
	assert_int_equal(hive_store_last_seq(s, &last), 0);
	assert_int_equal(last, 0);
	hive_store_close(s);
}

/* ---- seq ------------------------------------------------------------------ */

/* seq starts at 1, has no gap across single appends, a batch and a
 * close/reopen, and append fills in seq, id and time. */
static void test_seq_gapless_across_reopen(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	assert_int_equal(last_seq(s), 0);
	for (int i = 0; i < 3; i++)
		append_ok(s, "project_created", NULL, NULL, NULL);
	ev_spec three[3] = {{"flow_created", "f0000000-0000-7000-8000-000000000001", NULL, NULL, NULL},
			    {"flow_started", "f0000000-0000-7000-8000-000000000001", NULL, NULL, NULL},
			    {"flow_paused", "f0000000-0000-7000-8000-000000000001", NULL, NULL, NULL}};
	batch b = {three, 3, 0};
	assert_int_equal(hive_store_write(s, batch_fn, &b), 0);
	assert_int_equal(last_seq(s), 6);
	hive_store_close(s);

	s = open_store(fx->dir);
	assert_int_equal(last_seq(s), 6);
	append_ok(s, "project_created", NULL, NULL, NULL);
	assert_int_equal(last_seq(s), 7);
	hive_event_filter all = {0};
	seqs got;
	scan(s, &all, &got);
	assert_int_equal(got.n, 7);
	for (size_t i = 0; i < got.n; i++)
		assert_int_equal(got.seq[i], i + 1);
	assert_verify_clean(s, 7);
	hive_store_close(s);
}

typedef struct {
	hive_event ev;
	int rc;
} fill_ctx;

static int fill_fn(hive_txn *txn, void *ctx)
{
	fill_ctx *c = ctx;
	c->rc = hive_txn_append(txn, &c->ev);
	return c->rc;
}

typedef struct {
	uint64_t seq;
	char *copy;
} raw_ctx;

static int raw_txn(hive_txn *txn, void *ctx)
{
	raw_ctx *r = ctx;
	hive_slice v;
	int rc = hive_txn_event_raw(txn, r->seq, &v);
	if (!rc)
		r->copy = strndup(v.data, v.len);
	return rc;
}

/* hive_txn_append fills in seq, a UUIDv7 id and a parseable time, and the
 * stored bytes are exactly the encoding of the filled-in event. */
static void test_append_fills_envelope(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	fill_ctx c;
	hive_event_init(&c.ev, HIVE_EV_PROJECT_CREATED, json_pack("{s:s}", "name", "webapp"));
	hive_event_correlate(&c.ev, PID, NULL, NULL, NULL);
	assert_int_equal(hive_store_write(s, fill_fn, &c), 0);
	assert_int_equal(c.ev.seq, 1);
	assert_true(hive_id_valid(c.ev.id.s));
	assert_int_equal(c.ev.id.s[14], '7'); /* version 7 */
	assert_true(hive_time_parse_ms(c.ev.time) > 0);
	raw_ctx r = {1, NULL};
	assert_int_equal(hive_store_read(s, raw_txn, &r), 0);
	char *want = hive_event_encode(&c.ev);
	assert_string_equal(r.copy, want);
	free(want);
	free(r.copy);
	r = (raw_ctx){2, NULL};
	assert_int_equal(hive_store_read(s, raw_txn, &r), HIVE_ENOTFOUND);
	hive_event_dispose(&c.ev);
	hive_store_close(s);
}

/* ---- atomicity -------------------------------------------------------------- */

#define FA "fa000000-0000-7000-8000-000000000001"
#define TA "7a000000-0000-7000-8000-000000000001"
#define AA "aa000000-0000-7000-8000-000000000001"

static int three_then_fail(hive_txn *txn, void *ctx)
{
	(void)ctx;
	ev_spec e[3] = {{"task_ready", FA, TA, NULL, NULL},
			{"attempt_started", FA, TA, AA, NULL},
			{"runtime_started", FA, TA, AA, NULL}};
	for (int i = 0; i < 3; i++) {
		int rc = append_spec(txn, &e[i]);
		if (rc)
			return rc;
	}
	assert_int_equal(hive_txn_last_seq(txn), 4); /* visible inside the txn */
	if (hive_txn_put(txn, "task/" TA "/state", "running", 7))
		return HIVE_ESYSTEM;
	char hex[65];
	if (hive_txn_blob_put(txn, "output", 6, hex))
		return HIVE_ESYSTEM;
	return hive_error_set(HIVE_ECONFLICT, "precondition failed on purpose");
}

typedef struct {
	int proj_rc, blob_rc;
	size_t n_flow_keys;
} after_abort;

static int inspect_after_abort(hive_txn *txn, void *ctx)
{
	after_abort *a = ctx;
	hive_slice v;
	a->proj_rc = hive_txn_get(txn, "task/" TA "/state", &v);
	char hex[65];
	hive_sha256_hex("output", 6, hex);
	a->blob_rc = hive_txn_blob_get(txn, hex, &v);
	char keys[4][HIVE_ID_LEN + 1];
	return hive_txn_index_prefix(txn, HIVE_IDX_FLOW, "fa00", keys, 4, &a->n_flow_keys);
}

/* A write fn that appends 3 events, a projection key and a blob, then
 * fails, leaves nothing at all behind: no event, no index entry, no
 * projection key, no blob; the caller gets the fn's code and message. */
static void test_batch_is_atomic(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	append_ok(s, "project_created", NULL, NULL, NULL);
	int rc = hive_store_write(s, three_then_fail, NULL);
	assert_int_equal(rc, HIVE_ECONFLICT);
	assert_string_equal(hive_error_last(), "precondition failed on purpose");
	assert_int_equal(last_seq(s), 1);

	const char *types[] = {"task_ready", "attempt_started", "runtime_started"};
	hive_event_filter filters[] = {
		{.flow_id = FA}, {.task_id = TA}, {.attempt_id = AA}, {.types = types, .n_types = 3},
		{.after = 1},
	};
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		seqs got;
		scan(s, &filters[i], &got);
		assert_int_equal(got.n, 0);
	}
	after_abort a;
	assert_int_equal(hive_store_read(s, inspect_after_abort, &a), 0);
	assert_int_equal(a.proj_rc, HIVE_ENOTFOUND);
	assert_int_equal(a.blob_rc, HIVE_ENOTFOUND);
	assert_int_equal(a.n_flow_keys, 0);
	assert_verify_clean(s, 1); /* index totals agree with the log */

	/* and the next append takes seq 2: the aborted seqs were not used up */
	append_ok(s, "task_ready", FA, TA, NULL);
	assert_int_equal(last_seq(s), 2);
	hive_store_close(s);
}

/* An event that would not decode (a catalog type missing a correlation
 * field it requires, a non-object payload) is refused at append time with
 * the field named, instead of being written and failing verify later. */
static void test_append_validates_event(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	ev_spec no_flow = {"flow_started", NULL, NULL, NULL, NULL};
	int rc = append_one(s, &no_flow);
	assert_int_equal(rc, HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "\"flow_id\""));
	assert_non_null(strstr(hive_error_last(), "flow_started"));

	json_t *arr = json_array();
	ev_spec bad_payload = {"project_created", NULL, NULL, NULL, arr};
	rc = append_one(s, &bad_payload);
	json_decref(arr);
	assert_int_equal(rc, HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "payload"));

	ev_spec no_name = {"", NULL, NULL, NULL, NULL};
	assert_int_equal(append_one(s, &no_name), HIVE_EINVALID);

	assert_int_equal(last_seq(s), 0);
	assert_verify_clean(s, 0);
	hive_store_close(s);
}

/* A payload nested `levels` deep ({"k": [[...1...]]}; the payload is
 * level 1); a new reference. */
static json_t *nested_payload(int levels)
{
	json_t *deep = json_integer(1);
	for (int level = levels; level > 2; level--) {
		json_t *wrap = json_array();
		json_array_append_new(wrap, deep);
		deep = wrap;
	}
	return json_pack("{s:o}", "k", deep);
}

/* A payload nested deeper than the decoder reads back
 * (HIVE_EVENT_MAX_DEPTH) is refused at append time, nothing written; one
 * exactly at the cap is stored and decodes (verify reads it). */
static void test_append_refuses_too_deep_payload(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	json_t *payload = nested_payload(HIVE_EVENT_MAX_DEPTH + 1);
	ev_spec too_deep = {"project_created", NULL, NULL, NULL, payload};
	assert_int_equal(append_one(s, &too_deep), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "payload nests deeper than 1000 levels"));
	assert_non_null(strstr(hive_error_last(), "project_created"));
	json_decref(payload);
	assert_int_equal(last_seq(s), 0);

	payload = nested_payload(HIVE_EVENT_MAX_DEPTH);
	ev_spec at_cap = {"project_created", NULL, NULL, NULL, payload};
	assert_int_equal(append_one(s, &at_cap), 0);
	json_decref(payload);
	assert_verify_clean(s, 1);
	hive_store_close(s);
}

static int append_in_read(hive_txn *txn, void *ctx)
{
	(void)ctx;
	ev_spec e = {"project_created", NULL, NULL, NULL, NULL};
	return append_spec(txn, &e);
}

/* Appending in a read transaction is refused, not silently dropped. */
static void test_append_needs_write_txn(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	assert_int_not_equal(hive_store_read(s, append_in_read, NULL), 0);
	assert_int_equal(last_seq(s), 0);
	hive_store_close(s);
}

/* ---- indexes ----------------------------------------------------------------- */

/* A deterministic log over 3 flows, 4 tasks, 6 attempts and every type,
 * plus an unknown type from a "newer hive". */
static const char *const FLOWS[] = {"f1000000-0000-7000-8000-000000000001",
				    "f2000000-0000-7000-8000-000000000002",
				    "f3000000-0000-7000-8000-000000000003"};
static const char *const TASKS[] = {"71000000-0000-7000-8000-000000000001",
				    "72000000-0000-7000-8000-000000000002",
				    "73000000-0000-7000-8000-000000000003",
				    "74000000-0000-7000-8000-000000000004"};
static const int TASK_FLOW[] = {0, 0, 1, 2};
static const char *const ATTEMPTS[] = {"a1000000-0000-7000-8000-000000000001",
				       "a2000000-0000-7000-8000-000000000002",
				       "a3000000-0000-7000-8000-000000000003",
				       "a4000000-0000-7000-8000-000000000004",
				       "a5000000-0000-7000-8000-000000000005",
				       "a6000000-0000-7000-8000-000000000006"};
static const int ATTEMPT_TASK[] = {0, 0, 1, 2, 3, 3};
#define MISSING "ffffffff-0000-7000-8000-000000000000"
#define N_LOG 240

typedef struct {
	const char *flow, *task, *attempt, *type;
} logged;

static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

static void build_log(hive_store *s, logged *log)
{
	uint32_t rnd = 42;
	ev_spec specs[N_LOG];
	for (int i = 0; i < N_LOG; i++) {
		int t = 1 + (int)(lcg(&rnd) % (HIVE_EV__COUNT - 1));
		const hive_event_kind *k = hive_event_kind_of((hive_event_type)t);
		int a = (int)(lcg(&rnd) % 6), task = ATTEMPT_TASK[a], flow = TASK_FLOW[task];
		logged *l = &log[i];
		memset(l, 0, sizeof *l);
		if (i % 17 == 5) { /* unknown type with only a flow */
			l->type = "future_event";
			l->flow = FLOWS[flow];
		} else {
			l->type = k->name;
			/* optional correlation is sometimes present too */
			int extra = lcg(&rnd) % 2;
			if ((k->required & HIVE_CORR_FLOW) || extra)
				l->flow = FLOWS[flow];
			if ((k->required & HIVE_CORR_TASK) || ((k->required & HIVE_CORR_FLOW) && extra))
				l->task = TASKS[task];
			if ((k->required & HIVE_CORR_ATTEMPT))
				l->attempt = ATTEMPTS[a];
		}
		specs[i] = (ev_spec){l->type, l->flow, l->task, l->attempt, NULL};
	}
	/* in batches of varying size, like a running flow */
	for (int i = 0; i < N_LOG;) {
		size_t n = 1 + (size_t)(i % 7);
		if (i + (int)n > N_LOG)
			n = (size_t)(N_LOG - i);
		batch b = {specs + i, n, 0};
		assert_int_equal(hive_store_write(s, batch_fn, &b), 0);
		i += (int)n;
	}
}

static int eq_or_any(const char *want, const char *have)
{
	return !want || (have && strcmp(want, have) == 0);
}

/* What a full scan of the log says a filter should return. */
static void oracle(const logged *log, const hive_event_filter *f, seqs *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < N_LOG; i++) {
		const logged *l = &log[i];
		uint64_t seq = (uint64_t)i + 1;
		if (seq <= f->after || !eq_or_any(f->flow_id, l->flow) || !eq_or_any(f->task_id, l->task) ||
		    !eq_or_any(f->attempt_id, l->attempt))
			continue;
		int type_ok = f->n_types == 0;
		for (size_t j = 0; j < f->n_types; j++)
			type_ok |= strcmp(f->types[j], l->type) == 0;
		if (type_ok)
			out->seq[out->n++] = seq;
	}
	if (f->tail && out->n > f->tail) {
		memmove(out->seq, out->seq + (out->n - f->tail), f->tail * sizeof out->seq[0]);
		out->n = f->tail;
	}
	if (f->limit && out->n > f->limit)
		out->n = f->limit;
}

/* Every combination of id filters, type filters, after, limit and tail
 * returns exactly what a full scan of the log says, in seq order. */
static void test_indexes_agree_with_log(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	logged log[N_LOG];
	build_log(s, log);
	assert_verify_clean(s, N_LOG);

	struct { const char *flow, *task, *attempt; } ids[] = {
		{NULL, NULL, NULL}, {FLOWS[0], NULL, NULL}, {FLOWS[2], NULL, NULL},
		{NULL, TASKS[0], NULL}, {NULL, TASKS[2], NULL}, {NULL, NULL, ATTEMPTS[1]},
		{NULL, NULL, ATTEMPTS[5]}, {FLOWS[0], TASKS[1], NULL}, {FLOWS[0], TASKS[2], NULL},
		{FLOWS[1], TASKS[2], ATTEMPTS[3]}, {NULL, TASKS[0], ATTEMPTS[0]}, {MISSING, NULL, NULL},
		{NULL, MISSING, NULL}, {NULL, NULL, MISSING},
	};
	const char *t_state[] = {"task_state_changed"};
	const char *t_two[] = {"check_completed", "attempt_started"};
	const char *t_future[] = {"future_event"};
	const char *t_none[] = {"no_such_type"};
	const char *t_dup[] = {"check_started", "check_started", "flow_created"};
	struct { const char *const *v; size_t n; } types[] = {
		{NULL, 0}, {t_state, 1}, {t_two, 2}, {t_future, 1}, {t_none, 1}, {t_dup, 3},
	};
	uint64_t afters[] = {0, 37, 120, 239, 1000};
	uint64_t limits[] = {0, 1, 7};
	uint64_t tails[] = {0, 1, 5, 10000};
	int nonempty = 0, total = 0;
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
			for (size_t a = 0; a < 5; a++)
				for (size_t l = 0; l < 3; l++)
					for (size_t tl = 0; tl < 4; tl++) {
						hive_event_filter f = {ids[i].flow, ids[i].task, ids[i].attempt,
								       types[t].v, types[t].n, afters[a],
								       limits[l], tails[tl]};
						seqs want, got;
						oracle(log, &f, &want);
						scan(s, &f, &got);
						total++;
						nonempty += want.n > 0;
						if (got.n != want.n ||
						    memcmp(got.seq, want.seq, want.n * sizeof want.seq[0]) != 0)
							fail_msg("filter ids#%zu types#%zu after %llu limit %llu tail %llu: "
								 "got %zu events, want %zu", i, t,
								 (unsigned long long)f.after, (unsigned long long)f.limit,
								 (unsigned long long)f.tail, got.n, want.n);
					}
	/* the combinations are not trivially empty */
	print_message("%d of %d filter combinations match events\n", nonempty, total);
	assert_true(nonempty > total / 5);
	hive_store_close(s);
}

/* Spot checks with hand-computed answers, so the oracle itself is tested. */
static void test_after_limit_tail_by_hand(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	for (int i = 0; i < 10; i++)
		append_ok(s, i % 2 ? "flow_started" : "flow_created", FLOWS[0], NULL, NULL);
	seqs got;
	hive_event_filter f = {.after = 3, .limit = 2};
	scan(s, &f, &got);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.seq[0], 4);
	assert_int_equal(got.seq[1], 5);
	f = (hive_event_filter){.tail = 3};
	scan(s, &f, &got);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.seq[0], 8);
	assert_int_equal(got.seq[2], 10);
	const char *started[] = {"flow_started"};
	f = (hive_event_filter){.types = started, .n_types = 1, .tail = 2};
	scan(s, &f, &got);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.seq[0], 8);
	assert_int_equal(got.seq[1], 10);
	f = (hive_event_filter){.flow_id = FLOWS[0], .after = 9};
	scan(s, &f, &got);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.seq[0], 10);
	f = (hive_event_filter){.after = 10};
	scan(s, &f, &got);
	assert_int_equal(got.n, 0);
	hive_store_close(s);
}

typedef struct {
	const char *prefix;
	size_t max, n;
	char keys[8][HIVE_ID_LEN + 1];
} prefix_ctx;

static int prefix_txn(hive_txn *txn, void *ctx)
{
	prefix_ctx *p = ctx;
	return hive_txn_index_prefix(txn, HIVE_IDX_TASK, p->prefix, p->keys, p->max, &p->n);
}

/* Id prefixes resolve through the index: distinct keys, in order, capped
 * at max, and nothing for an unused prefix. */
static void test_index_prefix_lookup(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 3; j++)
			append_ok(s, "task_created", NULL, TASKS[i], NULL);
	prefix_ctx p = {.prefix = "7", .max = 8};
	assert_int_equal(hive_store_read(s, prefix_txn, &p), 0);
	assert_int_equal(p.n, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(p.keys[i], TASKS[i]);
	p = (prefix_ctx){.prefix = "7300", .max = 8};
	assert_int_equal(hive_store_read(s, prefix_txn, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.keys[0], TASKS[2]);
	p = (prefix_ctx){.prefix = "7", .max = 2};
	assert_int_equal(hive_store_read(s, prefix_txn, &p), 0);
	assert_int_equal(p.n, 2);
	p = (prefix_ctx){.prefix = "7500", .max = 8};
	assert_int_equal(hive_store_read(s, prefix_txn, &p), 0);
	assert_int_equal(p.n, 0);
	hive_store_close(s);
}

/* An event of a type this build does not know is appended, indexed under
 * its own name, found by a type filter and passes verify. */
static void test_unknown_type_append(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	json_t *payload = json_pack("{s:s}", "from", "hive 9");
	ev_spec e = {"hologram_projected", FLOWS[0], NULL, NULL, payload};
	assert_int_equal(append_one(s, &e), 0);
	json_decref(payload);
	append_ok(s, "flow_created", FLOWS[0], NULL, NULL);
	const char *t[] = {"hologram_projected"};
	hive_event_filter f = {.types = t, .n_types = 1};
	seqs got;
	scan(s, &f, &got);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.seq[0], 1);
	assert_verify_clean(s, 2);
	hive_store_close(s);
}

/* ---- map growth --------------------------------------------------------------- */

/* From a 64 KiB map, big events force MDB_MAP_FULL several times, both on
 * single-event transactions and in the middle of a 60-event batch (which
 * must then be re-run from the start, without duplicates).  Everything is
 * there afterwards, verify is clean and the map grew. */
static void test_map_grows_from_tiny(void **state)
{
	fixture *fx = *state;
	test_opts.initial_mapsize = 64 << 10;
	hive_store *s = open_store(fx->dir);
	size_t initial = hive_store_mapsize(s);
	assert_true(initial <= (128 << 10));
	char *big = malloc(4000);
	memset(big, 'x', 3999);
	big[3999] = '\0';
	json_t *payload = json_pack("{s:s}", "blob", big);
	free(big);
	ev_spec one = {"flow_created", FLOWS[0], NULL, NULL, payload};
	ev_spec many[60];
	for (int i = 0; i < 60; i++)
		many[i] = one;
	batch b = {many, 60, 0};
	assert_int_equal(hive_store_write(s, batch_fn, &b), 0);
	assert_true(b.calls >= 2); /* the batch itself hit a full map */
	assert_int_equal(last_seq(s), 60);
	int calls = 0, txns = 0;
	for (int i = 0; i < 140; i++) {
		batch b1 = {&one, 1, 0};
		assert_int_equal(hive_store_write(s, batch_fn, &b1), 0);
		calls += b1.calls;
		txns++;
	}
	json_decref(payload);
	/* "several" MDB_MAP_FULL retries, on single-event transactions too */
	print_message("map grew from %zu to %zu bytes: %d retries in the batch, %d in single appends\n",
		      initial, hive_store_mapsize(s), b.calls - 1, calls - txns);
	assert_true(b.calls - 1 + calls - txns >= 3);
	assert_true(calls - txns >= 1);
	assert_int_equal(last_seq(s), 200);
	assert_true(hive_store_mapsize(s) >= 8 * initial);
	assert_verify_clean(s, 200);
	hive_store_close(s);

	/* a reopened store adopts the grown size */
	test_opts.initial_mapsize = 64 << 10;
	s = open_store(fx->dir);
	assert_true(hive_store_mapsize(s) >= 8 * initial);
	assert_int_equal(last_seq(s), 200);
	hive_store_close(s);
}

/* ---- several processes ---------------------------------------------------------- */

#define N_EACH 150

typedef struct {
	const char *dir;
	int writer;
	int start_fd;  /* read a byte before starting, so both run at once */
	size_t payload_bytes;
} writer_arg;

static int writer_child(void *p)
{
	writer_arg *w = p;
	hive_store *s;
	if (test_open(w->dir, &s))
		return 10;
	char c;
	if (read(w->start_fd, &c, 1) != 1)
		return 11;
	char *pad = calloc(1, w->payload_bytes + 1);
	memset(pad, 'p', w->payload_bytes);
	for (int i = 0; i < N_EACH; i++) {
		json_t *payload = json_pack("{s:i,s:i,s:s}", "writer", w->writer, "i", i, "pad", pad);
		ev_spec e = {"flow_created", FLOWS[w->writer], NULL, NULL, payload};
		int rc = append_one(s, &e);
		json_decref(payload);
		if (rc) {
			fprintf(stderr, "writer %d: %s\n", w->writer, hive_error_last());
			return 12;
		}
	}
	free(pad);
	hive_store_close(s);
	return 0;
}

typedef struct {
	int next[2];  /* next expected i per writer */
	int bad;
} order_ctx;

static int check_order(uint64_t seq, hive_slice raw, void *ctx)
{
	order_ctx *o = ctx;
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev)) {
		o->bad++;
		return 0;
	}
	int w = (int)json_integer_value(json_object_get(ev.payload, "writer"));
	int i = (int)json_integer_value(json_object_get(ev.payload, "i"));
	if (w < 0 || w > 1 || i != o->next[w] || ev.seq != seq)
		o->bad++;
	else
		o->next[w]++;
	hive_event_dispose(&ev);
	return 0;
}

static int order_txn(hive_txn *txn, void *ctx)
{
	hive_event_filter all = {0};
	return hive_txn_scan(txn, &all, check_order, ctx);
}

static void run_two_writers(const char *dir, size_t payload_bytes)
{
	int go[2];
	assert_int_equal(pipe(go), 0);
	writer_arg w[2] = {{dir, 0, go[0], payload_bytes}, {dir, 1, go[0], payload_bytes}};
	pid_t p0 = spawn(writer_child, &w[0]);
	pid_t p1 = spawn(writer_child, &w[1]);
	close(go[0]);
	assert_int_equal(write(go[1], "gg", 2), 2);
	close(go[1]);
	assert_int_equal(wait_child(p0), 0);
	assert_int_equal(wait_child(p1), 0);

	hive_store *s = open_store(dir);
	assert_int_equal(last_seq(s), 2 * N_EACH);
	order_ctx o = {{0, 0}, 0};
	assert_int_equal(hive_store_read(s, order_txn, &o), 0);
	assert_int_equal(o.bad, 0);
	assert_int_equal(o.next[0], N_EACH); /* each writer's events all there, in its order */
	assert_int_equal(o.next[1], N_EACH);
	assert_verify_clean(s, 2 * N_EACH);
	hive_store_close(s);
}

/* Two processes appending at the same time end with 2 x N events,
 * gapless, each writer's events all present and in its own order. */
static void test_two_processes_append(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	hive_store_close(s);
	run_two_writers(fx->dir, 16);
}

/* The same, with both processes creating the store at once from a 64 KiB
 * map and growing it by turns (MDB_MAP_RESIZED in the other process). */
static void test_two_processes_grow_map(void **state)
{
	fixture *fx = *state;
	test_opts.initial_mapsize = 64 << 10;
	char *sub = malloc(strlen(fx->dir) + 16);
	sprintf(sub, "%s/new/log", fx->dir);
	run_two_writers(sub, 3000);
	hive_store *s = open_store(sub);
	assert_true(hive_store_mapsize(s) >= (1 << 20));
	hive_store_close(s);
	free(sub);
}

typedef struct {
	const char *dir;
	int ready_fd, go_fd;
	uint64_t seen;
} reader_arg;

static int hold_snapshot(hive_txn *txn, void *ctx)
{
	reader_arg *r = ctx;
	uint64_t before = hive_txn_last_seq(txn);
	send_byte(r->ready_fd);
	char c;
	if (read(r->go_fd, &c, 1) != 1)
		return 1;
	/* the snapshot has not moved, even though the writer committed */
	hive_event_filter all = {0};
	seqs *got = calloc(1, sizeof *got);
	int rc = hive_txn_scan(txn, &all, collect_fn, got);
	r->seen = got->n;
	free(got);
	return rc || before != r->seen ? 2 : 0;
}

static int reader_child(void *p)
{
	reader_arg *r = p;
	hive_store *s;
	if (test_open(r->dir, &s))
		return 10;
	int rc = hive_store_read(s, hold_snapshot, r);
	hive_store_close(s);
	return rc ? 20 + rc : r->seen == 3 ? 0 : 30;
}

/* A reader in another process holding a read transaction does not block
 * the writer, and keeps seeing its snapshot. */
static void test_long_reader_does_not_block_writer(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	for (int i = 0; i < 3; i++)
		append_ok(s, "project_created", NULL, NULL, NULL);
	hive_store_close(s);

	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	reader_arg r = {fx->dir, ready[1], go[0], 0};
	pid_t pid = spawn(reader_child, &r);
	wait_byte(ready[0]);

	/* if a writer waited for the reader, this would hang; the alarm turns
	 * a hang into a failure */
	alarm(60);
	s = open_store(fx->dir);
	for (int i = 0; i < 50; i++)
		append_ok(s, "project_created", NULL, NULL, NULL);
	assert_int_equal(last_seq(s), 53);
	alarm(0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(wait_child(pid), 0);
	assert_verify_clean(s, 53);
	hive_store_close(s);
	close(ready[0]); close(ready[1]); close(go[0]); close(go[1]);
}

/* Count reader-table slots owned by pid (mdb_reader_list lines are
 * "pid thread txnid"). */
typedef struct {
	pid_t pid;
	int n;
} slot_count;

static int count_slot(const char *msg, void *ctx)
{
	slot_count *c = ctx;
	const char *p = msg;
	while (*p) {
		long pid;
		int used;
		if (sscanf(p, " %ld%n", &pid, &used) == 1 && pid == c->pid)
			c->n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

static int stale_slots(const char *dir, pid_t pid)
{
	MDB_env *env = raw_open(dir);
	slot_count c = {pid, 0};
	assert_true(mdb_reader_list(env, count_slot, &c) >= 0);
	mdb_env_close(env);
	return c.n;
}

typedef struct {
	const char *dir;
	int ready_fd, quit_fd;
} holder_arg;

/* Keeps the environment open so the lock file (and its reader table) is
 * not reset by the next opener. */
static int holder_child(void *p)
{
	holder_arg *h = p;
	hive_store *s;
	if (test_open(h->dir, &s))
		return 10;
	send_byte(h->ready_fd);
	char c;
	if (read(h->quit_fd, &c, 1) != 1)
		return 11;
	hive_store_close(s);
	return 0;
}

static int hold_forever(hive_txn *txn, void *ctx)
{
	(void)txn;
	send_byte(*(int *)ctx);
	for (;;)
		pause();
	return 0;
}

static int doomed_reader_child(void *p)
{
	holder_arg *h = p;
	hive_store *s;
	if (test_open(h->dir, &s))
		return 10;
	return hive_store_read(s, hold_forever, &h->ready_fd);
}

/* A reader killed with SIGKILL inside a read transaction leaves a stale
 * slot; the next hive_store_open clears it (mdb_reader_check), while
 * another process keeps the environment open the whole time. */
static void test_killed_reader_slot_reclaimed(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	append_ok(s, "project_created", NULL, NULL, NULL);
	hive_store_close(s);

	int ready[2], quit[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(quit), 0);
	holder_arg h = {fx->dir, ready[1], quit[0]};
	pid_t holder = spawn(holder_child, &h);
	wait_byte(ready[0]);
	pid_t doomed = spawn(doomed_reader_child, &h);
	wait_byte(ready[0]);
	assert_int_equal(kill(doomed, SIGKILL), 0);
	assert_int_equal(wait_child(doomed), 128 + SIGKILL);

	assert_int_equal(stale_slots(fx->dir, doomed), 1); /* the slot is really left behind */
	s = open_store(fx->dir);
	assert_int_equal(last_seq(s), 1);
	hive_store_close(s);
	assert_int_equal(stale_slots(fx->dir, doomed), 0); /* and open cleared it */

	assert_int_equal(write(quit[1], "q", 1), 1);
	assert_int_equal(wait_child(holder), 0);
	close(ready[0]); close(ready[1]); close(quit[0]); close(quit[1]);
}

/* ---- blobs and projections ------------------------------------------------------- */

typedef struct {
	char hex1[65], hex2[65], hex3[65];
} blob_ctx;

static int blob_put_txn(hive_txn *txn, void *ctx)
{
	blob_ctx *b = ctx;
	int rc;
	if ((rc = hive_txn_blob_put(txn, "hello world", 11, b->hex1)) ||
	    (rc = hive_txn_blob_put(txn, "hello world", 11, b->hex2)) ||
	    (rc = hive_txn_blob_put(txn, "", 0, b->hex3)))
		return rc;
	return 0;
}

static int blob_get_txn(hive_txn *txn, void *ctx)
{
	blob_ctx *b = ctx;
	hive_slice v;
	int rc = hive_txn_blob_get(txn, b->hex1, &v);
	if (rc)
		return rc;
	if (v.len != 11 || memcmp(v.data, "hello world", 11) != 0)
		return HIVE_EFAILED;
	if ((rc = hive_txn_blob_get(txn, b->hex3, &v)) || v.len != 0)
		return rc ? rc : HIVE_EFAILED;
	char missing[65];
	hive_sha256_hex("not stored", 10, missing);
	if (hive_txn_blob_get(txn, missing, &v) != HIVE_ENOTFOUND)
		return HIVE_EFAILED;
	if (hive_txn_blob_get(txn, "xyz", &v) != HIVE_EINVALID)
		return HIVE_EFAILED;
	if (hive_txn_blob_get(txn, "B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9", &v) !=
	    HIVE_EINVALID)
		return HIVE_EFAILED; /* addresses are lowercase */
	return 0;
}

/* Blobs are addressed by the SHA-256 of their content, stored once, read
 * back exactly; unknown and malformed addresses are told apart; verify is
 * clean, and catches a blob whose bytes no longer match its address. */
static void test_blobs(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	blob_ctx b;
	assert_int_equal(hive_store_write(s, blob_put_txn, &b), 0);
	assert_string_equal(b.hex1, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
	assert_string_equal(b.hex1, b.hex2);
	assert_string_equal(b.hex3, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(hive_store_write(s, blob_put_txn, &b), 0); /* again: dedupe, no error */
	int rc = hive_store_read(s, blob_get_txn, &b);
	if (rc)
		fail_msg("blob get: %d %s", rc, hive_error_last());
	assert_verify_clean(s, 0);
	hive_store_close(s);

	/* dedupe: two distinct blobs stored, not three */
	MDB_env *env = raw_open(fx->dir);
	MDB_txn *txn;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	MDB_dbi blobs = raw_dbi(txn, "blobs");
	MDB_stat st;
	assert_int_equal(mdb_stat(txn, blobs, &st), 0);
	assert_int_equal(st.ms_entries, 2);
	/* flip the content of the "hello world" blob */
	unsigned char key[32];
	for (int i = 0; i < 32; i++)
		sscanf(b.hex1 + 2 * i, "%2hhx", &key[i]);
	MDB_val k = {32, key}, v = {11, "hello WORLD"};
	assert_int_equal(mdb_put(txn, blobs, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	s = open_store(fx->dir);
	verify_result vr = verify(s);
	assert_int_equal(vr.problems, 1);
	assert_non_null(strstr(vr.msgs, b.hex1));
	hive_store_close(s);
}

static int count_keys(const char *key, size_t klen, hive_slice val, void *ctx)
{
	(void)key; (void)klen; (void)val;
	(*(int *)ctx)++;
	return 0;
}

static int proj_txn(hive_txn *txn, void *ctx)
{
	int *step = ctx;
	hive_slice v;
	int n = 0;
	switch (*step) {
	case 0:
		if (hive_txn_put(txn, "task/a", "1", 1) || hive_txn_put(txn, "task/b", "22", 2) ||
		    hive_txn_put(txn, "flow/x", "3", 1) || hive_txn_put(txn, "task/a", "one", 3))
			return HIVE_EFAILED;
		{
			char longkey[402];
			memset(longkey, 'k', 401);
			longkey[401] = '\0';
			if (hive_txn_put(txn, longkey, "x", 1) == 0 || hive_txn_put(txn, "", "x", 1) == 0)
				return HIVE_EFAILED;
		}
		return 0;
	case 1:
		if (hive_txn_get(txn, "task/a", &v) || v.len != 3 || memcmp(v.data, "one", 3))
			return HIVE_EFAILED;
		hive_txn_scan_prefix(txn, "task/", count_keys, &n);
		if (n != 2)
			return HIVE_EFAILED;
		n = 0;
		hive_txn_scan_prefix(txn, "", count_keys, &n);
		if (n != 3)
			return HIVE_EFAILED;
		if (hive_txn_del(txn, "task/b") || hive_txn_del(txn, "task/nonexistent"))
			return HIVE_EFAILED;
		return hive_txn_get(txn, "task/b", &v) == HIVE_ENOTFOUND ? 0 : HIVE_EFAILED;
	case 2:
		return hive_txn_clear_projections(txn);
	default:
		hive_txn_scan_prefix(txn, "", count_keys, &n);
		return n == 0 ? 0 : HIVE_EFAILED;
	}
}

/* The projection key space: put overwrites, get, prefix scan, delete,
 * clear (for a rebuild); an over-long key is refused. */
static void test_projection_keys(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	for (int step = 0; step < 4; step++)
		if (hive_store_write(s, proj_txn, &step))
			fail_msg("projection step %d failed", step);
	hive_store_close(s);
}

/* hive_txn_get drops the map from the resident set every few reads
 * (store.c, HIVE_TRIM_GETS): a slice returned before a trim still reads
 * its bytes, in a read and in a write transaction, after hundreds more. */
#define MANY_DOCS 300
#define DOC_LEN 3000

static void doc_bytes(int i, char *out)
{
	for (int j = 0; j < DOC_LEN; j++)
		out[j] = (char)('a' + (i * 7 + j) % 26);
}

static int many_put_txn(hive_txn *txn, void *ctx)
{
	(void)ctx;
	char key[32], doc[DOC_LEN];
	for (int i = 0; i < MANY_DOCS; i++) {
		snprintf(key, sizeof key, "many/%04d", i);
		doc_bytes(i, doc);
		int rc = hive_txn_put(txn, key, doc, DOC_LEN);
		if (rc)
			return rc;
	}
	return 0;
}

static int many_get_txn(hive_txn *txn, void *ctx)
{
	int *bad = ctx;
	hive_slice got[MANY_DOCS];
	char key[32], want[DOC_LEN];
	for (int i = 0; i < MANY_DOCS; i++) {
		snprintf(key, sizeof key, "many/%04d", i);
		int rc = hive_txn_get(txn, key, &got[i]);
		if (rc)
			return rc;
	}
	for (int i = 0; i < MANY_DOCS; i++) {
		doc_bytes(i, want);
		*bad += got[i].len != DOC_LEN || memcmp(got[i].data, want, DOC_LEN) != 0;
	}
	return 0;
}

static void test_slices_survive_trims(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	assert_int_equal(hive_store_write(s, many_put_txn, NULL), 0);
	int bad = 0;
	assert_int_equal(hive_store_read(s, many_get_txn, &bad), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(hive_store_write(s, many_get_txn, &bad), 0);
	assert_int_equal(bad, 0);
	hive_store_trim(s);
	assert_int_equal(hive_store_read(s, many_get_txn, &bad), 0);
	assert_int_equal(bad, 0);
	hive_store_close(s);
}

/* ---- opening ------------------------------------------------------------------- */

/* The data dir (and missing parents) is created 0700 and the files 0600,
 * even under a permissive umask. */
static void test_permissions(void **state)
{
	fixture *fx = *state;
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/a/b/hive", fx->dir);
	mode_t old = umask(0);
	hive_store *s = open_store(dir);
	umask(old);
	append_ok(s, "project_created", NULL, NULL, NULL);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof path, "%s/a", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	const char *files[] = {"data.mdb", "lock.mdb"};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		assert_int_equal(stat(path, &st), 0);
		if ((st.st_mode & 07777) != 0600)
			fail_msg("%s has mode %o", files[i], st.st_mode & 07777);
	}
	hive_store_close(s);
}

/* A directory that already existed keeps its mode, on the first open and
 * on later ones (when it already holds a log): --dir may name a shared
 * directory, and hive must not take it away from its other users. */
static void test_existing_dir_keeps_its_mode(void **state)
{
	fixture *fx = *state;
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/shared", fx->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	for (int round = 0; round < 2; round++) {
		hive_store *s = open_store(dir);
		append_ok(s, "project_created", NULL, NULL, NULL);
		hive_store_close(s);
		struct stat st;
		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, 01777);
		snprintf(path, sizeof path, "%s/data.mdb", dir);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
}

/* A data dir written by a newer hive (schema 99) is refused with
 * HIVE_ESYSTEM (exit 5), a message naming the dir and both versions, and
 * the front end's hint to use another dir. */
static void test_newer_schema_refused(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	append_ok(s, "project_created", NULL, NULL, NULL);
	hive_store_close(s);

	MDB_env *env = raw_open(fx->dir);
	MDB_txn *txn;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	MDB_dbi meta = raw_dbi(txn, "meta");
	MDB_val k = {14, "schema_version"}, v;
	assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
	assert_int_equal(v.mv_size, 1);
	assert_memory_equal(v.mv_data, "4", 1); /* HIVE_SCHEMA_VERSION */
	v = (MDB_val){2, "99"};
	assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	s = NULL;
	assert_int_equal(test_open(fx->dir, &s), HIVE_ESYSTEM);
	assert_null(s);
	assert_non_null(strstr(hive_error_last(), "schema 99"));
	assert_int_equal(hive_error_last_hint(), HIVE_HINT_OTHER_DIR);
	assert_non_null(strstr(hive_error_last(), fx->dir));
}

/* Durability is an option: durable and relaxed parse, anything else is
 * a usage error naming the value; both modes open and append. */
static void test_durability_setting(void **state)
{
	fixture *fx = *state;
	hive_durability d;
	assert_int_equal(hive_store_durability_parse("bogus", &d), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "bogus"));
	assert_int_equal(hive_store_durability_parse("relaxed", &d), 0);
	assert_int_equal(d, HIVE_RELAXED);
	assert_int_equal(hive_store_durability_parse("durable", &d), 0);
	assert_int_equal(d, HIVE_DURABLE);

	const hive_durability modes[] = {HIVE_DURABLE, HIVE_RELAXED};
	for (int i = 0; i < 2; i++) {
		test_opts.durability = modes[i];
		hive_store *s = open_store(fx->dir);
		append_ok(s, "project_created", NULL, NULL, NULL);
		assert_int_equal(last_seq(s), (uint64_t)i + 1);
		hive_store_close(s);
	}
	test_opts.version = 99;
	hive_store *s = NULL;
	assert_int_equal(test_open(fx->dir, &s), HIVE_EINVALID);
	assert_null(s);
}

/* A path that cannot be a data dir is a storage error naming the path. */
static void test_open_error_names_path(void **state)
{
	fixture *fx = *state;
	char file[4096], dir[4200];
	snprintf(file, sizeof file, "%s/plainfile", fx->dir);
	tu_write_file(file, "x");
	snprintf(dir, sizeof dir, "%s/sub", file);
	hive_store *s = NULL;
	assert_int_equal(test_open(dir, &s), HIVE_ESYSTEM);
	assert_null(s);
	assert_non_null(strstr(hive_error_last(), file));
}

/* ---- verify ---------------------------------------------------------------------- */

static void small_log(const char *dir)
{
	hive_store *s = open_store(dir);
	append_ok(s, "flow_created", FLOWS[0], NULL, NULL);
	append_ok(s, "task_ready", FLOWS[0], TASKS[0], NULL);
	append_ok(s, "attempt_started", FLOWS[0], TASKS[0], ATTEMPTS[0]);
	append_ok(s, "flow_created", FLOWS[1], NULL, NULL);
	assert_verify_clean(s, 4);
	hive_store_close(s);
}

typedef void (*corruptor)(MDB_txn *txn);

static void corrupt(const char *dir, corruptor fn)
{
	MDB_env *env = raw_open(dir);
	MDB_txn *txn;
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	fn(txn);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static verify_result verify_dir(const char *dir)
{
	hive_store *s = open_store(dir);
	verify_result v = verify(s);
	hive_store_close(s);
	return v;
}

static void drop_flow_entry(MDB_txn *txn)
{
	MDB_dbi idx = raw_dbi(txn, "idx_flow");
	unsigned char sk[8];
	seq_key(2, sk);
	MDB_val k = {strlen(FLOWS[0]), (void *)FLOWS[0]}, v = {8, sk};
	assert_int_equal(mdb_del(txn, idx, &k, &v), 0);
}

/* An index entry deleted behind hive's back: verify reports it, naming the
 * event, the index and the key. */
static void test_verify_missing_index_entry(void **state)
{
	fixture *fx = *state;
	small_log(fx->dir);
	corrupt(fx->dir, drop_flow_entry);
	verify_result v = verify_dir(fx->dir);
	print_message("%s", v.msgs);
	assert_true(v.problems >= 1);
	assert_int_equal(v.events, 4);
	if (!strstr(v.msgs, "event 2:") || !strstr(v.msgs, "idx_flow") || !strstr(v.msgs, FLOWS[0]))
		fail_msg("verify did not name event 2 in idx_flow:\n%s", v.msgs);
}

static void add_stray_entry(MDB_txn *txn)
{
	MDB_dbi idx = raw_dbi(txn, "idx_task");
	unsigned char sk[8];
	seq_key(4, sk); /* event 4 is a flow_created: it has no task */
	MDB_val k = {strlen(TASKS[3]), (void *)TASKS[3]}, v = {8, sk};
	assert_int_equal(mdb_put(txn, idx, &k, &v, 0), 0);
	seq_key(77, sk); /* no such event */
	v = (MDB_val){8, sk};
	assert_int_equal(mdb_put(txn, idx, &k, &v, 0), 0);
}

/* Index entries the log does not imply are found and named too (the
 * index agrees with the log both ways). */
static void test_verify_stray_index_entry(void **state)
{
	fixture *fx = *state;
	small_log(fx->dir);
	corrupt(fx->dir, add_stray_entry);
	verify_result v = verify_dir(fx->dir);
	print_message("%s", v.msgs);
	assert_true(v.problems >= 2);
	if (!strstr(v.msgs, "idx_task") || !strstr(v.msgs, "event 4") || !strstr(v.msgs, "event 77"))
		fail_msg("verify did not name the stray idx_task entries:\n%s", v.msgs);
}

/* After a stray entry larger than any seq (add_stray_entry: seq 77 under
 * TASKS[3]), appending more events of that task still indexes them: the
 * index writer's MDB_APPENDDUP refuses (MDB_KEYEXIST) and it falls back to
 * plain puts.  verify then finds only the two stray entries (and says the
 * index holds those two more than the log implies). */
static void test_append_after_stray_larger_entry(void **state)
{
	fixture *fx = *state;
	small_log(fx->dir);
	corrupt(fx->dir, add_stray_entry);
	hive_store *s = open_store(fx->dir);
	ev_spec three[] = {
		{"task_ready", FLOWS[1], TASKS[3], NULL, NULL},
		{"task_ready", FLOWS[1], TASKS[3], NULL, NULL},
		{"task_ready", FLOWS[1], TASKS[3], NULL, NULL},
	};
	batch b = {three, 3, 0};
	assert_int_equal(hive_store_write(s, batch_fn, &b), 0);
	hive_store_close(s);
	verify_result v = verify_dir(fx->dir);
	print_message("%s", v.msgs);
	assert_int_equal(v.events, 7);
	assert_int_equal(v.problems, 3);
	assert_non_null(strstr(v.msgs, "idx_task holds 7 entries but the log implies 5"));
	if (strstr(v.msgs, "missing from index"))
		fail_msg("an appended event is missing from its index:\n%s", v.msgs);
}

/* 200 distinct tasks, 2000 events, one transaction: the index writer
 * gathers entries per key and flushes them part-way (it holds at most 64
 * keys); a scan and a prefix lookup inside the same transaction see every
 * entry appended before them, and the committed indexes agree with the
 * log. */
enum { MANY_TASKS = 200, MANY_EVENTS = 2000 };

static void many_task_id(int i, char out[HIVE_ID_LEN + 1])
{
	snprintf(out, HIVE_ID_LEN + 1, "7200%04x-0000-7000-8000-000000000001", (unsigned)i);
}

typedef struct {
	seqs seen;           /* scan of the last task inside the transaction */
	size_t n_prefix;     /* index keys starting with "7200" found inside it */
} own_entries;

static int many_tasks_txn(hive_txn *txn, void *ctx)
{
	own_entries *o = ctx;
	for (int i = 0; i < MANY_EVENTS; i++) {
		char task[HIVE_ID_LEN + 1];
		many_task_id(i % MANY_TASKS, task);
		ev_spec e = {"task_ready", FLOWS[i % 3], task, NULL, NULL};
		int rc = append_spec(txn, &e);
		if (rc)
			return rc;
	}
	char last[HIVE_ID_LEN + 1]; /* its last entry is still gathered, not written */
	many_task_id(MANY_TASKS - 1, last);
	hive_event_filter f = {.task_id = last};
	memset(&o->seen, 0, sizeof o->seen);
	int rc = hive_txn_scan(txn, &f, collect_fn, &o->seen);
	char keys[256][HIVE_ID_LEN + 1];
	if (!rc)
		rc = hive_txn_index_prefix(txn, HIVE_IDX_TASK, "7200", keys, 256, &o->n_prefix);
	return rc;
}

static void test_txn_sees_its_own_index_entries(void **state)
{
	fixture *fx = *state;
	hive_store *s = open_store(fx->dir);
	own_entries *o = calloc(1, sizeof *o);
	assert_int_equal(hive_store_write(s, many_tasks_txn, o), 0);
	assert_int_equal(o->seen.n, MANY_EVENTS / MANY_TASKS);
	for (size_t i = 0; i < o->seen.n; i++)
		assert_int_equal(o->seen.seq[i], MANY_TASKS * (i + 1));
	assert_int_equal(o->n_prefix, MANY_TASKS);
	assert_verify_clean(s, MANY_EVENTS);
	char task[HIVE_ID_LEN + 1];
	many_task_id(7, task);
	hive_event_filter f = {.task_id = task};
	seqs got;
	scan(s, &f, &got);
	assert_int_equal(got.n, MANY_EVENTS / MANY_TASKS);
	assert_int_equal(got.seq[0], 8);
	f = (hive_event_filter){.flow_id = FLOWS[2]};
	scan(s, &f, &got);
	assert_int_equal(got.n, MANY_EVENTS / 3);
	free(o);
	hive_store_close(s);
}

static void mangle_event(MDB_txn *txn)
{
	MDB_dbi ev = raw_dbi(txn, "events");
	unsigned char sk[8];
	seq_key(3, sk);
	MDB_val k = {8, sk}, v = {11, "{\"seq\":3,\"i"};
	assert_int_equal(mdb_put(txn, ev, &k, &v, 0), 0);
}

/* A stored event that no longer parses is reported with its seq and the
 * JSON error position. */
static void test_verify_bad_event(void **state)
{
	fixture *fx = *state;
	small_log(fx->dir);
	corrupt(fx->dir, mangle_event);
	verify_result v = verify_dir(fx->dir);
	print_message("%s", v.msgs);
	assert_true(v.problems >= 1);
	if (!strstr(v.msgs, "event 3: ") || !strstr(v.msgs, "line 1 column"))
		fail_msg("verify did not name event 3:\n%s", v.msgs);
}

static void delete_event(MDB_txn *txn)
{
	MDB_dbi ev = raw_dbi(txn, "events");
	unsigned char sk[8];
	seq_key(2, sk);
	MDB_val k = {8, sk};
	assert_int_equal(mdb_del(txn, ev, &k, NULL), 0);
}

/* A deleted event is a gap in seq, reported as such. */
static void test_verify_gap(void **state)
{
	fixture *fx = *state;
	small_log(fx->dir);
	corrupt(fx->dir, delete_event);
	verify_result v = verify_dir(fx->dir);
	print_message("%s", v.msgs);
	assert_true(v.problems >= 1);
	if (!strstr(v.msgs, "expected seq 2, found 3"))
		fail_msg("verify did not report the gap:\n%s", v.msgs);
}


/* ---- stores of version 1 (tests/fixtures/store-v1, written by hive 0.1) ---- */

#define V1_FIXTURE "tests/fixtures/store-v1/data.mdb"

static char *schema_of(const char *dir)
{
	MDB_env *env = raw_open(dir);
	MDB_txn *txn;
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	MDB_dbi meta = raw_dbi(txn, "meta");
	MDB_val k = {14, "schema_version"}, v;
	assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
	char *out = strndup(v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return out;
}

static void copy_v1_fixture(const char *dir)
{
	char *data = NULL;
	size_t len = 0;
	FILE *in = fopen(V1_FIXTURE, "rb");
	if (!in)
		fail_msg("cannot open %s (run the unit tests from the repository root)", V1_FIXTURE);
	FILE *mem = open_memstream(&data, &len);
	int c;
	while ((c = getc(in)) != EOF)
		putc(c, mem);
	fclose(in);
	fclose(mem);
	char path[4200];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(data, 1, len, out), len);
	fclose(out);
	free(data);
}

static int rebuilds;

static int count_rebuild(hive_txn *txn, void *ctx)
{
	(void)txn;
	assert_ptr_equal(ctx, &rebuilds);
	rebuilds++;
	return 0;
}

/* Opening a version-1 store upgrades it once, in one transaction: the
 * indexes are rebuilt from the log (verify finds them in agreement), the
 * caller's rebuild runs, and the version becomes the current one. */
static void test_v1_store_upgrades(void **state)
{
	fixture *fx = *state;
	copy_v1_fixture(fx->dir);
	char *before = schema_of(fx->dir);
	assert_string_equal(before, "1");
	free(before);
	rebuilds = 0;
	test_opts.rebuild = count_rebuild;
	test_opts.rebuild_ctx = &rebuilds;
	hive_store *s = open_store(fx->dir);
	assert_int_equal(rebuilds, 1);
	assert_verify_clean(s, 57);
	hive_store_close(s);
	char *after = schema_of(fx->dir);
	char want[16];
	snprintf(want, sizeof want, "%d", HIVE_SCHEMA_VERSION);
	assert_string_equal(after, want);
	free(after);
	s = open_store(fx->dir); /* already upgraded: nothing to do */
	assert_int_equal(rebuilds, 1);
	hive_store_close(s);
}

/* Without a rebuild to run, an older store is refused and left as it was. */
static void test_v1_store_refused_without_rebuild(void **state)
{
	fixture *fx = *state;
	copy_v1_fixture(fx->dir);
	hive_store *s = NULL;
	assert_int_equal(test_open(fx->dir, &s), HIVE_ESYSTEM);
	assert_null(s);
	assert_non_null(strstr(hive_error_last(), "schema 1"));
	assert_non_null(strstr(hive_error_last(), fx->dir));
	char *v = schema_of(fx->dir);
	assert_string_equal(v, "1");
	free(v);
}

/* A meta page whose last page lies past the end of the file (LMDB would
 * read outside the file and crash) is refused with one line. */
static void test_damaged_meta_page_refused(void **state)
{
	fixture *fx = *state;
	copy_v1_fixture(fx->dir);
	char path[4200];
	snprintf(path, sizeof path, "%s/data.mdb", fx->dir);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	/* page header (16) + magic, version, address, mapsize (24) + 2 dbs (96) */
	uint64_t huge = (uint64_t)1 << 40;
	for (long page = 0; page < 2; page++) {
		assert_int_equal(fseek(f, page * 4096 + 136, SEEK_SET), 0);
		assert_int_equal(fwrite(&huge, sizeof huge, 1, f), 1);
	}
	fclose(f);
	hive_store *s = NULL;
	assert_int_equal(test_open(fx->dir, &s), HIVE_ESYSTEM);
	assert_null(s);
	assert_non_null(strstr(hive_error_last(), "is damaged: its last page lies beyond the end of the file"));
	assert_null(strchr(hive_error_last(), '\n'));
}

static int nested_read_inner(hive_txn *txn, void *ctx)
{
	(void)txn;
	(void)ctx;
	return 0;
}

static int nested_read(hive_txn *txn, void *ctx)
{
	(void)txn;
	return hive_store_read(ctx, nested_read_inner, NULL);
}

/* Every reader slot taken: the transaction waits a moment, then fails
 * with a message that says so (not LMDB's bare code). */
static void test_readers_full_is_clear(void **state)
{
	fixture *fx = *state;
	test_opts.max_readers = 1;
	hive_store *s = open_store(fx->dir);
	assert_int_equal(hive_store_read(s, nested_read, s), HIVE_ESYSTEM);
	assert_non_null(strstr(hive_error_last(), "too many processes are reading it at once"));
	assert_non_null(strstr(hive_error_last(), fx->dir));
	hive_store_close(s);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_must_exist_creates_nothing),
		T(test_null_payload_refused),
		T(test_seq_gapless_across_reopen),
		T(test_append_fills_envelope),
		T(test_batch_is_atomic),
		T(test_append_validates_event),
		T(test_append_refuses_too_deep_payload),
		T(test_append_needs_write_txn),
		T(test_indexes_agree_with_log),
		T(test_after_limit_tail_by_hand),
		T(test_index_prefix_lookup),
		T(test_unknown_type_append),
		T(test_map_grows_from_tiny),
		T(test_two_processes_append),
		T(test_two_processes_grow_map),
		T(test_long_reader_does_not_block_writer),
		T(test_killed_reader_slot_reclaimed),
		T(test_blobs),
		T(test_projection_keys),
		T(test_slices_survive_trims),
		T(test_permissions),
		T(test_existing_dir_keeps_its_mode),
		T(test_newer_schema_refused),
		T(test_durability_setting),
		T(test_open_error_names_path),
		T(test_verify_missing_index_entry),
		T(test_verify_stray_index_entry),
		T(test_append_after_stray_larger_entry),
		T(test_txn_sees_its_own_index_entries),
		T(test_verify_bad_event),
		T(test_verify_gap),
		T(test_v1_store_upgrades),
		T(test_v1_store_refused_without_rebuild),
		T(test_damaged_meta_page_refused),
		T(test_readers_full_is_clear),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
