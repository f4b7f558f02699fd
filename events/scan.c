/*
 * scan.c - filtered reads of the log through its indexes, and the
 * integrity check behind `hive events verify`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/buf.h"
#include "events/error.h"
#include "events/sha256.h"
#include "events/store_impl.h"

typedef struct {
	uint64_t *v;
	size_t n, cap;
} seq_list;

static void seq_push(seq_list *l, uint64_t seq)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = hive_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = seq;
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Append to l every seq > after recorded under key in index idx. */
static int collect_index(hive_txn *t, hive_index idx, const char *key, uint64_t after, seq_list *l)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->idx[idx], &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "index read");
	unsigned char from[8];
	hive_seq_key(after + 1, from);
	MDB_val k = {strlen(key), (void *)key}, v = {8, from};
	rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH_RANGE);
	while (rc == 0 && v.mv_size == 8) {
		seq_push(l, hive_seq_from(v.mv_data));
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP);
	}
	mdb_cursor_close(c);
	if (rc == 0) /* an entry that is not a seq */
		return hive_error_set(HIVE_ESYSTEM, "event log in %s is damaged: index %s holds an entry of %zu bytes",
				      t->s->dir, key, v.mv_size);
	return rc == MDB_NOTFOUND ? 0 : hive_store_lmdb_error(t, rc, "index read");
}

static int index_has(hive_txn *t, hive_index idx, const char *key, uint64_t seq)
{
	unsigned char sk[8];
	hive_seq_key(seq, sk);
	MDB_val k = {strlen(key), (void *)key}, v = {8, sk};
	MDB_cursor *c;
	if (mdb_cursor_open(t->txn, t->s->idx[idx], &c))
		return 0;
	int found = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH) == 0;
	mdb_cursor_close(c);
	return found;
}

static int matches_types(hive_txn *t, const hive_event_filter *f, uint64_t seq)
{
	if (!f->n_types)
		return 1;
	for (size_t i = 0; i < f->n_types; i++)
		if (index_has(t, HIVE_IDX_TYPE, f->types[i], seq))
			return 1;
	return 0;
}

/* Candidate seqs from the most selective index filter, then checked
 * against the others with point lookups: never a scan of the whole log. */
static int filtered_seqs(hive_txn *t, const hive_event_filter *f, seq_list *out)
{
	const char *ids[3] = {f->attempt_id, f->task_id, f->flow_id};
	const hive_index idxs[3] = {HIVE_IDX_ATTEMPT, HIVE_IDX_TASK, HIVE_IDX_FLOW};
	int driver = -1;
	for (int i = 0; i < 3 && driver < 0; i++)
		if (ids[i])
			driver = i;
	seq_list cand = {0};
	int rc = 0;
	if (driver >= 0) {
		rc = collect_index(t, idxs[driver], ids[driver], f->after, &cand);
	} else {
		for (size_t i = 0; i < f->n_types && !rc; i++)
			rc = collect_index(t, HIVE_IDX_TYPE, f->types[i], f->after, &cand);
		if (cand.n > 1) /* qsort(NULL, 0, ...) is undefined */
			qsort(cand.v, cand.n, sizeof *cand.v, cmp_seq);
	}
	for (size_t i = 0; i < cand.n && !rc; i++) {
		uint64_t seq = cand.v[i];
		if (i > 0 && cand.v[i - 1] == seq)
			continue;
		int ok = 1;
		for (int j = 0; j < 3 && ok; j++)
			if (j != driver && ids[j] && !index_has(t, idxs[j], ids[j], seq))
				ok = 0;
		if (ok && driver >= 0)
			ok = matches_types(t, f, seq);
		if (ok)
			seq_push(out, seq);
	}
	free(cand.v);
	return rc;
}

static int emit(hive_txn *t, uint64_t seq, hive_event_fn fn, void *ctx)
{
	hive_slice raw;
	int rc = hive_txn_event_raw(t, seq, &raw);
	return rc ? rc : fn(seq, raw, ctx);
}

static int scan_all(hive_txn *t, const hive_event_filter *f, hive_event_fn fn, void *ctx)
{
	uint64_t first = f->after + 1, last = t->last_seq;
	if (f->tail && last >= f->tail && last - f->tail + 1 > first)
		first = last - f->tail + 1;
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->events, &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "read");
	unsigned char key[8];
	hive_seq_key(first, key);
	MDB_val k = {8, key}, v;
	uint64_t n = 0;
	int op = MDB_SET_RANGE, mrc = 0;
	rc = 0;
	while ((!f->limit || n < f->limit) && (mrc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 8) {
			rc = hive_error_set(HIVE_ESYSTEM, "event log in %s is damaged: a key of %zu bytes in the log",
					    t->s->dir, k.mv_size);
			break;
		}
		hive_slice raw = {v.mv_data, v.mv_size};
		if ((rc = fn(hive_seq_from(k.mv_data), raw, ctx)))
			break;
		n++;
	}
	mdb_cursor_close(c);
	if (!rc && mrc && mrc != MDB_NOTFOUND)
		rc = hive_store_lmdb_error(t, mrc, "read");
	return rc;
}

int hive_txn_scan(hive_txn *t, const hive_event_filter *f, hive_event_fn fn, void *ctx)
{
	int frc = hive_store_flush_index(t); /* this transaction's own entries count */
	if (frc)
		return frc;
	if (!f->flow_id && !f->task_id && !f->attempt_id && !f->n_types)
		return scan_all(t, f, fn, ctx);
	seq_list l = {0};
	int rc = filtered_seqs(t, f, &l);
	size_t first = 0;
	if (f->tail && l.n > f->tail)
		first = l.n - f->tail;
	uint64_t n = 0;
	for (size_t i = first; i < l.n && !rc && (!f->limit || n < f->limit); i++, n++)
		rc = emit(t, l.v[i], fn, ctx);
	free(l.v);
	return rc;
}

/* ---- verify --------------------------------------------------------------- */

/*
 * One pass over the log, in seq order, decoding each event once: the
 * caller's `each` (the projection replay) sees the same decoded event, so
 * `events verify` parses the log once.  Index agreement is checked without
 * a lookup per event: for each index the log implies a multiset of
 * (key, seq) entries; its size and an order-independent sum of a 64-bit
 * hash of each entry are compared with the same figures taken from one
 * sequential walk of the index.  Only when they differ (something is
 * already wrong) does a second, slower pass name each missing or stray
 * entry.  Time is linear in the log; memory does not grow with it.
 */

static const char *const index_name[HIVE_IDX__COUNT] = {"idx_flow", "idx_task", "idx_attempt", "idx_type"};

typedef struct {
	const hive_verify_opts *o;
	uint64_t problems;
	uint64_t expected[HIVE_IDX__COUNT]; /* index entries the log implies */
	uint64_t sum[HIVE_IDX__COUNT];      /* sum of entry_hash over them */
	uint64_t missing;                   /* detailed pass: entries absent */
} verify_state;

static void problem(verify_state *vs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(verify_state *vs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	vs->problems++;
	if (vs->o->report)
		vs->o->report(msg, vs->o->ctx);
}

/* FNV-1a over the key and the seq, then a finaliser (splitmix64) so that
 * sums of hashes of similar entries do not cancel out. */
static uint64_t entry_hash(const void *key, size_t klen, uint64_t seq)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p = key;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	h ^= seq + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* The field of an event that index idx is keyed by. */
static const char *index_field(const hive_event *ev, hive_index idx, const char **name)
{
	switch (idx) {
	case HIVE_IDX_FLOW: *name = "flow_id"; return ev->flow_id;
	case HIVE_IDX_TASK: *name = "task_id"; return ev->task_id;
	case HIVE_IDX_ATTEMPT: *name = "attempt_id"; return ev->attempt_id;
	default: *name = "type"; return ev->type_name;
	}
}

static void tally_index_entries(verify_state *vs, const hive_event *ev, uint64_t seq)
{
	for (int i = 0; i < HIVE_IDX__COUNT; i++) {
		const char *field, *key = index_field(ev, (hive_index)i, &field);
		if (!*key)
			continue;
		vs->expected[i]++;
		vs->sum[i] += entry_hash(key, strlen(key), seq);
	}
}

static int verify_event(verify_state *vs, uint64_t key_seq, MDB_val *v)
{
	hive_event ev;
	if (hive_event_decode(v->mv_data, v->mv_size, &ev) != 0) {
		problem(vs, "event %llu: %s", (unsigned long long)key_seq, hive_error_last());
		return 0;
	}
	if (ev.seq != key_seq)
		problem(vs, "event %llu: its \"seq\" field says %llu", (unsigned long long)key_seq,
			(unsigned long long)ev.seq);
	tally_index_entries(vs, &ev, key_seq);
	int rc = vs->o->each ? vs->o->each(&ev, vs->o->ctx) : 0;
	hive_event_dispose(&ev);
	return rc;
}

static int verify_events(hive_txn *t, verify_state *vs, uint64_t *count)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->events, &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "verify");
	MDB_val k, v;
	uint64_t expect = 1;
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != 8) {
			problem(vs, "events: key of %zu bytes (expected 8)", k.mv_size);
			continue;
		}
		uint64_t seq = hive_seq_from(k.mv_data);
		if (seq != expect)
			problem(vs, "events: gap: expected seq %llu, found %llu", (unsigned long long)expect,
				(unsigned long long)seq);
		expect = seq + 1;
		(*count)++;
		if ((rc = verify_event(vs, seq, &v)))
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc < 0 ? rc : hive_store_lmdb_error(t, rc, "verify");
}

static int cursor_has(MDB_cursor *c, const char *key, uint64_t seq)
{
	unsigned char sk[8];
	hive_seq_key(seq, sk);
	MDB_val k = {strlen(key), (void *)key}, v = {8, sk};
	return mdb_cursor_get(c, &k, &v, MDB_GET_BOTH) == 0;
}

/* Detailed pass for one index whose figures disagree: name each event
 * whose entry is missing. */
static int name_missing_entries(hive_txn *t, verify_state *vs, hive_index idx)
{
	MDB_cursor *ec, *ic;
	int rc = mdb_cursor_open(t->txn, t->s->events, &ec);
	if (rc)
		return hive_store_lmdb_error(t, rc, "verify");
	if ((rc = mdb_cursor_open(t->txn, t->s->idx[idx], &ic))) {
		mdb_cursor_close(ec);
		return hive_store_lmdb_error(t, rc, "verify");
	}
	MDB_val k, v;
	for (int op = MDB_FIRST; mdb_cursor_get(ec, &k, &v, op) == 0; op = MDB_NEXT) {
		hive_event ev;
		if (k.mv_size != 8 || hive_event_decode(v.mv_data, v.mv_size, &ev) != 0)
			continue; /* reported by the first pass */
		uint64_t seq = hive_seq_from(k.mv_data);
		const char *field, *key = index_field(&ev, idx, &field);
		if (*key && !cursor_has(ic, key, seq)) {
			vs->missing++;
			problem(vs, "event %llu: missing from index %s under \"%s\"", (unsigned long long)seq,
				index_name[idx], key);
		}
		hive_event_dispose(&ev);
	}
	mdb_cursor_close(ic);
	mdb_cursor_close(ec);
	return 0;
}

/* Check one index entry against the event it points at. */
static void verify_stray(hive_txn *t, verify_state *vs, hive_index idx, MDB_val *k, MDB_val *v)
{
	if (v->mv_size != 8) {
		problem(vs, "index %s: entry \"%.*s\" holds %zu bytes (expected an 8-byte seq)", index_name[idx],
			(int)k->mv_size, (const char *)k->mv_data, v->mv_size);
		return;
	}
	uint64_t seq = hive_seq_from(v->mv_data);
	hive_slice raw;
	if (hive_txn_event_raw(t, seq, &raw) != 0) {
		problem(vs, "event %llu: listed in index %s under \"%.*s\" but there is no such event",
			(unsigned long long)seq, index_name[idx], (int)k->mv_size, (const char *)k->mv_data);
		return;
	}
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev) != 0)
		return; /* already reported by verify_events */
	const char *field, *have = index_field(&ev, idx, &field);
	if (strlen(have) != k->mv_size || memcmp(have, k->mv_data, k->mv_size) != 0)
		problem(vs, "event %llu: listed in index %s under \"%.*s\" but its %s is %s%s%s",
			(unsigned long long)seq, index_name[idx], (int)k->mv_size, (const char *)k->mv_data,
			field, *have ? "\"" : "absent", have, *have ? "\"" : "");
	hive_event_dispose(&ev);
}

static int walk_index(hive_txn *t, verify_state *vs, hive_index idx, int name_strays,
		      uint64_t *n_out, uint64_t *sum_out)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->idx[idx], &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "verify");
	MDB_val k, v;
	uint64_t n = 0, sum = 0;
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		n++;
		if (name_strays)
			verify_stray(t, vs, idx, &k, &v);
		else if (v.mv_size == 8)
			sum += entry_hash(k.mv_data, k.mv_size, hive_seq_from(v.mv_data));
		else
			sum += 1; /* a malformed entry never matches the log's sum by design */
	}
	mdb_cursor_close(c);
	*n_out = n;
	*sum_out = sum;
	return rc == MDB_NOTFOUND ? 0 : hive_store_lmdb_error(t, rc, "verify");
}

static int verify_indexes(hive_txn *t, verify_state *vs)
{
	for (int i = 0; i < HIVE_IDX__COUNT; i++) {
		uint64_t n, sum;
		int rc = walk_index(t, vs, (hive_index)i, 0, &n, &sum);
		if (rc)
			return rc;
		if (n == vs->expected[i] && sum == vs->sum[i])
			continue;
		if (n != vs->expected[i])
			problem(vs, "index %s holds %llu entries but the log implies %llu", index_name[i],
				(unsigned long long)n, (unsigned long long)vs->expected[i]);
		uint64_t before = vs->problems;
		if ((rc = name_missing_entries(t, vs, (hive_index)i)) ||
		    (rc = walk_index(t, vs, (hive_index)i, 1, &n, &sum)))
			return rc;
		if (vs->problems == before && n == vs->expected[i])
			problem(vs, "index %s does not match the log (same size, different entries)", index_name[i]);
	}
	return 0;
}

static int verify_blobs(hive_txn *t, verify_state *vs)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->blobs, &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "verify");
	MDB_val k, v;
	int op = MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		char hex[65];
		hive_sha256_hex(v.mv_data, v.mv_size, hex);
		unsigned char *kb = k.mv_data;
		char khex[65] = "";
		for (size_t i = 0; i < 32 && i < k.mv_size; i++)
			snprintf(khex + 2 * i, 3, "%02x", kb[i]);
		if (k.mv_size != 32 || strcmp(hex, khex) != 0)
			problem(vs, "blob %s: content hash is %s", khex, hex);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : hive_store_lmdb_error(t, rc, "verify");
}

int hive_txn_verify_with(hive_txn *t, const hive_verify_opts *o, uint64_t *events_out, uint64_t *problems)
{
	int frc = hive_store_flush_index(t);
	if (frc)
		return frc;
	verify_state vs = {.o = o};
	uint64_t count = 0;
	int rc = verify_events(t, &vs, &count);
	if (!rc)
		rc = verify_indexes(t, &vs);
	if (!rc)
		rc = verify_blobs(t, &vs);
	*events_out = count;
	*problems = vs.problems;
	return rc;
}

int hive_txn_verify(hive_txn *t, void (*report)(const char *msg, void *ctx), void *ctx,
		    uint64_t *events_out, uint64_t *problems)
{
	hive_verify_opts o = {.report = report, .ctx = ctx};
	return hive_txn_verify_with(t, &o, events_out, problems);
}
