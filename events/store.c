/*
 * store.c - the LMDB event log.  See store.h for the contract and
 * docs/events.md for the layout and the durability modes.
 */
#include "events/store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/sha256.h"
#include "events/store_impl.h"

#define DEFAULT_MAPSIZE ((size_t)64 << 20)

#define DEFAULT_MAXREADERS 1024

static const char *const index_names[HIVE_IDX__COUNT] = {
	"idx_flow", "idx_task", "idx_attempt", "idx_type",
};

const char *hive_store_dir(const hive_store *s) { return s->dir; }

/* LMDB's codes stop here: every failure leaves the store as a HIVE_E*
 * code with LMDB's own words in the message. */
static const char *lmdb_words(int rc)
{
	switch (rc) {
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return "the file is damaged";
	case MDB_READERS_FULL:
		return "too many processes are reading it at once";
	default:
		return NULL;
	}
}

int hive_store_env_error(hive_store *s, int rc, const char *what)
{
	const char *words = lmdb_words(rc);
	if (words)
		return hive_error_set(HIVE_ESYSTEM, "event log in %s: %s: %s (%s)", s->dir, what, words,
				      mdb_strerror(rc));
	return hive_error_set(HIVE_ESYSTEM, "event log in %s: %s: %s", s->dir, what, mdb_strerror(rc));
}

int hive_store_lmdb_error(hive_txn *t, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL && t)
		t->map_full = 1;
	if (t)
		return hive_store_env_error(t->s, rc, what);
	return hive_error_set(HIVE_ESYSTEM, "event log: %s: %s", what, mdb_strerror(rc));
}

/* ---- opening ----------------------------------------------------------- */

/* The data directory, created 0700 with its missing parents (hive_fs_mkdir_p). */
static int mkdir_p(const char *dir)
{
	int rc = hive_fs_mkdir_p(dir, 0700, "data directory");
	if (rc) {
		char *msg = hive_xstrdup(hive_error_last());
		hive_error_set(rc, "%s", msg);
		hive_error_hint_set(HIVE_HINT_OTHER_DIR, NULL);
		free(msg);
	}
	return rc;
}

static int open_dbis(hive_store *s, MDB_txn *txn, unsigned flags)
{
	int rc;
	if ((rc = mdb_dbi_open(txn, "events", flags, &s->events)) ||
	    (rc = mdb_dbi_open(txn, "blobs", flags, &s->blobs)) ||
	    (rc = mdb_dbi_open(txn, "meta", flags, &s->meta)) ||
	    (rc = mdb_dbi_open(txn, "proj", flags, &s->proj)))
		return rc;
	for (int i = 0; i < HIVE_IDX__COUNT; i++)
		if ((rc = mdb_dbi_open(txn, index_names[i], flags | MDB_DUPSORT | MDB_DUPFIXED, &s->idx[i])))
			return rc;
	return 0;
}

/* ---- index entries ------------------------------------------------------ */

/*
 * A transaction's index entries are gathered per (index, key) as events
 * are appended and written when it ends (before the commit) or when
 * anything in it reads an index first: each key's seqs go in with one
 * MDB_MULTIPLE put.  A batch of 1000 events of one task is a handful of
 * puts instead of 4000, and the puts were a quarter of a batched append's
 * time.  A new seq is the log's largest, so it goes after every entry its
 * key already has: MDB_APPENDDUP skips the search among them and fills
 * pages instead of splitting them in half.  Bounded: at most PENDING_KEYS
 * keys and PENDING_SEQS seqs wait; the next one flushes them first.
 */
#define PENDING_KEYS 64
#define PENDING_SEQS 65536

/* Write one key's gathered seqs; a stray larger entry (a damaged index:
 * MDB_APPENDDUP answers MDB_KEYEXIST) makes them go in one by one, the
 * slow way. */
static int flush_key(hive_txn *t, hive_pending_key *g)
{
	MDB_val k = {g->klen, g->key};
	MDB_val d[2] = {{8, g->seqs}, {g->n, NULL}};
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->idx[g->idx], &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "index write");
	rc = mdb_cursor_put(c, &k, d, MDB_MULTIPLE | MDB_APPENDDUP);
	if (rc == MDB_KEYEXIST) { /* all of them again: a pair already there is a no-op */
		rc = 0;
		for (size_t j = 0; j < g->n && !rc; j++) {
			MDB_val v = {8, g->seqs + 8 * j};
			rc = mdb_cursor_put(c, &k, &v, 0);
		}
	}
	mdb_cursor_close(c);
	return rc ? hive_store_lmdb_error(t, rc, "index write") : 0;
}

int hive_store_flush_index(hive_txn *t)
{
	int rc = 0;
	for (size_t i = 0; i < t->n_pending && !rc; i++)
		rc = flush_key(t, &t->pending[i]);
	t->n_pending = 0;
	t->pending_seqs = 0;
	return rc;
}

void hive_store_pending_dispose(hive_txn *t)
{
	for (size_t i = 0; t->pending && i < PENDING_KEYS; i++)
		free(t->pending[i].seqs);
	free(t->pending);
	t->pending = NULL;
	t->n_pending = t->pending_seqs = 0;
}

/* The gathered entries of (idx, key), made when missing; NULL when the
 * key is too long to gather (it is written at once). */
static hive_pending_key *pending_key(hive_txn *t, hive_index idx, const char *key, size_t klen)
{
	if (klen >= sizeof t->pending[0].key)
		return NULL;
	for (size_t i = t->n_pending; i-- > 0;) /* the latest keys first */
		if (t->pending[i].idx == idx && t->pending[i].klen == klen && memcmp(t->pending[i].key, key, klen) == 0)
			return &t->pending[i];
	if (!t->pending)
		t->pending = hive_xcalloc(PENDING_KEYS, sizeof *t->pending);
	hive_pending_key *g = &t->pending[t->n_pending++];
	g->idx = idx;
	g->klen = klen;
	memcpy(g->key, key, klen);
	g->n = 0;
	return g;
}

static int index_put(hive_txn *t, hive_index idx, const char *key, const unsigned char seq[8])
{
	size_t klen = strlen(key);
	int rc;
	if ((t->n_pending == PENDING_KEYS || t->pending_seqs == PENDING_SEQS) && (rc = hive_store_flush_index(t)))
		return rc;
	hive_pending_key *g = pending_key(t, idx, key, klen);
	if (!g) {
		MDB_val k = {klen, (void *)key}, v = {8, (void *)seq};
		rc = mdb_put(t->txn, t->s->idx[idx], &k, &v, 0);
		return rc ? hive_store_lmdb_error(t, rc, "index write") : 0;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->seqs = hive_xrealloc(g->seqs, 8 * g->cap);
	}
	memcpy(g->seqs + 8 * g->n++, seq, 8);
	t->pending_seqs++;
	return 0;
}

/* The index entries of one event (seq as its 8-byte key). */
static int index_event(hive_txn *t, const hive_event *ev, const unsigned char key[8])
{
	int rc = 0;
	if ((ev->flow_id[0] && (rc = index_put(t, HIVE_IDX_FLOW, ev->flow_id, key))) ||
	    (ev->task_id[0] && (rc = index_put(t, HIVE_IDX_TASK, ev->task_id, key))) ||
	    (ev->attempt_id[0] && (rc = index_put(t, HIVE_IDX_ATTEMPT, ev->attempt_id, key))) ||
	    (rc = index_put(t, HIVE_IDX_TYPE, ev->type_name, key)))
		return rc;
	return 0;
}

/* ---- the schema version ------------------------------------------------------ */

#define SCHEMA_KEY "schema_version"

/* The store's schema version: 0 when it has none (a new store). */
static int read_schema(hive_store *s, MDB_txn *txn, int *version)
{
	MDB_val k = {sizeof SCHEMA_KEY - 1, SCHEMA_KEY}, v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	*version = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return hive_store_env_error(s, rc, "cannot read the schema version");
	char buf[16];
	snprintf(buf, sizeof buf, "%.*s", (int)(v.mv_size < 15 ? v.mv_size : 15), (const char *)v.mv_data);
	char *end;
	long n = strtol(buf, &end, 10);
	if (end == buf || *end || n < 1 || n > 1000000)
		return hive_error_set(HIVE_ESYSTEM, "event log in %s is damaged: its schema version \"%s\" is not a number",
				      s->dir, buf);
	*version = (int)n;
	return 0;
}

static int write_schema(hive_store *s, MDB_txn *txn)
{
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", HIVE_SCHEMA_VERSION);
	MDB_val k = {sizeof SCHEMA_KEY - 1, SCHEMA_KEY}, v = {(size_t)n, buf};
	int rc = mdb_put(txn, s->meta, &k, &v, 0);
	return rc ? hive_store_env_error(s, rc, "cannot write the schema version") : 0;
}

static int refuse_newer(hive_store *s, int version)
{
	hive_error_set(HIVE_ESYSTEM,
		       "data dir %s was written by a newer hive (schema %d; this hive reads up to %d); upgrade hive",
		       s->dir, version, HIVE_SCHEMA_VERSION);
	return hive_error_hint_set(HIVE_HINT_OTHER_DIR, NULL);
}

/* ---- upgrading an older store ----------------------------------------------------- */

/* Re-add one event's index entries (the same ones hive_txn_append writes). */
static int reindex_event(hive_txn *t, uint64_t seq, hive_slice raw)
{
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev) != 0)
		return 0; /* left out of the indexes; `events verify` names it */
	unsigned char key[8];
	hive_seq_key(seq, key);
	int rc = index_event(t, &ev, key);
	hive_event_dispose(&ev);
	return rc;
}

static int reindex_one(uint64_t seq, hive_slice raw, void *ctx) { return reindex_event(ctx, seq, raw); }

typedef struct {
	const hive_store_opts *o;
	int from;
} upgrade_ctx;

/* One write transaction: indexes rebuilt from the log, then what the
 * layers above derive from it (opts.rebuild), then the new version.  It
 * runs again from the start if the map must grow (hive_store_write), and
 * checks the version first: another process may have upgraded meanwhile. */
static int upgrade_txn(hive_txn *t, void *vctx)
{
	upgrade_ctx *c = vctx;
	int version, rc = read_schema(t->s, t->txn, &version);
	if (rc || version >= HIVE_SCHEMA_VERSION)
		return rc;
	for (int i = 0; i < HIVE_IDX__COUNT && !rc; i++)
		if ((rc = mdb_drop(t->txn, t->s->idx[i], 0)))
			rc = hive_store_lmdb_error(t, rc, "upgrade: clearing an index");
	hive_event_filter all = {0};
	if (!rc)
		rc = hive_txn_scan(t, &all, reindex_one, t);
	if (!rc)
		rc = c->o->rebuild(t, c->o->rebuild_ctx);
	if (!rc)
		rc = write_schema(t->s, t->txn);
	if (rc && !t->map_full)
		hive_error_prefix("cannot upgrade the event log in %s from schema %d to %d", t->s->dir, c->from,
				  HIVE_SCHEMA_VERSION);
	return rc;
}

static int upgrade(hive_store *s, const hive_store_opts *o, int from)
{
	if (!o->rebuild)
		return hive_error_set(HIVE_ESYSTEM,
				      "data dir %s holds a store of schema %d; this hive writes schema %d and was not "
				      "asked to upgrade it",
				      s->dir, from, HIVE_SCHEMA_VERSION);
	upgrade_ctx c = {o, from};
	return hive_store_write(s, upgrade_txn, &c);
}

/* ---- opening -------------------------------------------------------------------- */

static void remember_map(hive_store *s);

/* Begin a transaction while opening: another process may have grown the
 * map since mdb_env_open (MDB_MAP_RESIZED); adopt its size and go on. */
static int begin_setup_txn(hive_store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED && (rc = mdb_env_set_mapsize(s->env, 0)) == 0) {
		remember_map(s);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc ? hive_store_env_error(s, rc, "cannot begin a transaction") : 0;
}

/* Create the named databases and the version of a new store (or of one
 * another process is creating at the same time: then nothing is left to do). */
static int create_dbs(hive_store *s, int *version)
{
	MDB_txn *txn;
	int rc = begin_setup_txn(s, 0, &txn);
	if (rc)
		return rc;
	if ((rc = open_dbis(s, txn, MDB_CREATE)))
		rc = hive_store_env_error(s, rc, "cannot create its databases");
	if (!rc)
		rc = read_schema(s, txn, version);
	if (!rc && *version == 0) {
		rc = write_schema(s, txn);
		*version = HIVE_SCHEMA_VERSION;
	}
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)))
		return hive_store_env_error(s, rc, "cannot commit");
	return 0;
}

/* Open the named databases with a read transaction when the log exists
 * (so a reader never waits on a writer), else create them; then refuse a
 * newer store or upgrade an older one. */
static int setup_dbs(hive_store *s, const hive_store_opts *o)
{
	MDB_txn *txn;
	int version = 0;
	int rc = begin_setup_txn(s, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	int mrc = open_dbis(s, txn, 0);
	if (mrc == 0)
		rc = read_schema(s, txn, &version);
	else if (mrc != MDB_NOTFOUND)
		rc = hive_store_env_error(s, mrc, "cannot open its databases");
	/* committing (not aborting) keeps the handles open_dbis opened */
	if (mrc == 0 && !rc)
		mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (!rc && (mrc == MDB_NOTFOUND || version == 0))
		rc = create_dbs(s, &version);
	if (rc)
		return rc;
	if (version > HIVE_SCHEMA_VERSION)
		return refuse_newer(s, version);
	if (version < HIVE_SCHEMA_VERSION)
		return upgrade(s, o, version);
	return 0;
}

int hive_store_durability_parse(const char *d, hive_durability *out)
{
	if (strcmp(d, "durable") == 0)
		*out = HIVE_DURABLE;
	else if (strcmp(d, "relaxed") == 0)
		*out = HIVE_RELAXED;
	else
		return hive_error_set(HIVE_EINVALID, "durability \"%s\" is not a mode; use durable or relaxed", d);
	return 0;
}

/* relaxed: data pages are synced, the meta page is not, so a power loss
 * can undo the last transaction(s) but never corrupts the log; a process
 * crash loses nothing (the write(2) reached the kernel). */
static unsigned durability_flags(hive_durability d) { return d == HIVE_RELAXED ? MDB_NOMETASYNC : 0; }

static int open_env(hive_store *s, const hive_store_opts *o)
{
	int rc;
	if ((rc = mdb_env_create(&s->env)))
		return rc;
	mdb_env_set_maxdbs(s->env, 16);
	/* Each read transaction of any process holds a slot while it runs;
	 * 1024 slots cost 64 KiB of lock.mdb.  The first process to open the
	 * environment decides the number for everyone (LMDB sizes lock.mdb
	 * then). */
	mdb_env_set_maxreaders(s->env, o->max_readers ? o->max_readers : DEFAULT_MAXREADERS);
	mdb_env_set_mapsize(s->env, o->initial_mapsize ? o->initial_mapsize : DEFAULT_MAPSIZE);
	return mdb_env_open(s->env, s->dir, MDB_NOTLS | durability_flags(o->durability), 0600);
}

/* No data.mdb in dir (nothing else counts: a store is its LMDB file). */
static int store_missing(const char *dir)
{
	char *path = hive_fs_join(dir, "data.mdb");
	struct stat st;
	int missing = lstat(path, &st) != 0 && errno == ENOENT;
	free(path);
	return missing;
}

int hive_store_open(const char *dir, const hive_store_opts *opts, hive_store **out)
{
	*out = NULL;
	static const hive_store_opts defaults = HIVE_STORE_OPTS_INIT;
	const hive_store_opts *o = opts ? opts : &defaults;
	if (o->version != HIVE_STORE_OPTS_VERSION)
		return hive_error_set(HIVE_EINVALID, "store options of version %u (this hive knows %d)", o->version,
				      HIVE_STORE_OPTS_VERSION);
	if (o->must_exist && store_missing(dir)) {
		hive_error_set(HIVE_ENOTFOUND, "no hive data in %s", dir);
		return hive_error_hint_set(HIVE_HINT_NO_STORE, NULL);
	}
	int rc = mkdir_p(dir);
	if (rc)
		return rc;
	/* mkdir_p creates what is missing 0700 (SPEC section 10).  The mode of
	 * a directory that already existed is the owner's choice and is left
	 * alone: --dir may name a shared directory such as /tmp. */
	if ((rc = hive_store_check_file(dir)))
		return rc;
	hive_store *s = hive_xcalloc(1, sizeof *s);
	s->dir = hive_xstrdup(dir);
	s->inotify_fd = -1;
	pthread_rwlock_init(&s->resize_lock, NULL);
	if ((rc = open_env(s, o))) {
		rc = hive_store_env_error(s, rc, "cannot open it");
		hive_store_close(s);
		return rc;
	}
	remember_map(s);
	if (o->trap_damage)
		hive_store_fault_trap(s);
	int dead = 0;
	mdb_reader_check(s->env, &dead);
	hive_store_fault_enter();
	rc = setup_dbs(s, o);
	hive_store_fault_leave();
	if (rc) {
		hive_store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void hive_store_close(hive_store *s)
{
	if (!s)
		return;
	hive_store_fault_untrap(s);
	if (s->env)
		mdb_env_close(s->env);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	pthread_rwlock_destroy(&s->resize_lock);
	free(s->dir);
	free(s);
}

size_t hive_store_mapsize(hive_store *s)
{
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	return info.me_mapsize;
}

/* The address range LMDB mapped data.mdb at: LMDB does not say (its
 * me_mapaddr is set only for MDB_FIXEDMAP), so find the mapping of the
 * file's inode in /proc/self/maps.  0 when not found. */
static int find_map(hive_store *s, void **addr, size_t *len)
{
	char *path = hive_fs_join(s->dir, "data.mdb");
	struct stat st;
	int ok = stat(path, &st) == 0;
	free(path);
	FILE *f = ok ? fopen("/proc/self/maps", "re") : NULL;
	if (!f)
		return 0;
	char line[512];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long lo, hi, ino;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 && ino == (unsigned long)st.st_ino &&
		    strstr(line, "data.mdb")) {
			*addr = (void *)lo;
			*len = hi - lo;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* After every mdb_env_set_mapsize (LMDB maps the file again, maybe
 * elsewhere), with resize_lock held exclusively or while opening. */
static void remember_map(hive_store *s)
{
	if (!find_map(s, &s->map_addr, &s->map_len))
		s->map_len = 0;
}

/* The caller holds resize_lock (shared is enough).  Never on a range
 * that may no longer be the map: when its size is not the map's, skip. */
static void trim_locked(hive_store *s)
{
	MDB_envinfo info;
	if (s->map_len && mdb_env_info(s->env, &info) == 0 && info.me_mapsize == s->map_len)
		madvise(s->map_addr, s->map_len, MADV_DONTNEED);
}

void hive_store_trim(hive_store *s)
{
	/* under the resize lock (shared): the map cannot move meanwhile */
	pthread_rwlock_rdlock(&s->resize_lock);
	trim_locked(s);
	pthread_rwlock_unlock(&s->resize_lock);
}

/* ---- backup ------------------------------------------------------------ */

/* Write the compacted copy into fd, from scratch on each try: another
 * process may grow the map while we copy (MDB_MAP_RESIZED), and then we
 * adopt its size and start again. */
static int copy_compact(hive_store *s, int fd)
{
	int rc = MDB_MAP_RESIZED;
	for (int tries = 0; rc == MDB_MAP_RESIZED && tries < 5; tries++) {
		mdb_env_set_mapsize(s->env, 0);
		remember_map(s);
		if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
			return errno;
		rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	}
	return rc;
}

int hive_store_backup(hive_store *s, const char *dir)
{
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/data.mdb", dir);
	int fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = fd < 0 ? errno : 0;
	if (!rc) {
		/* exclusive: no transaction of this process may run while the map
		 * size is re-read (see resize_lock) */
		pthread_rwlock_wrlock(&s->resize_lock);
		rc = copy_compact(s, fd);
		pthread_rwlock_unlock(&s->resize_lock);
	}
	if (!rc && fsync(fd) != 0)
		rc = errno;
	if (fd >= 0 && close(fd) != 0 && !rc)
		rc = errno;
	if (rc && fd >= 0)
		unlink(path.data);
	if (rc)
		rc = hive_error_set(HIVE_ESYSTEM, "cannot write the backup %s: %s", path.data, mdb_strerror(rc));
	hive_buf_dispose(&path);
	return rc;
}

/* ---- transactions ------------------------------------------------------ */

/* Double the map.  A failure here (no address space left) is reported
 * rather than retried: retrying the same size would loop forever. */
static int grow_map(hive_store *s)
{
	pthread_rwlock_wrlock(&s->resize_lock);
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	int rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
	hive_store_fault_refresh(s);
	remember_map(s);
	pthread_rwlock_unlock(&s->resize_lock);
	if (rc)
		return hive_error_set(HIVE_ESYSTEM, "event log %s is full at %zu bytes and cannot grow: %s",
				      s->dir, info.me_mapsize, mdb_strerror(rc));
	return 0;
}

/* Another process grew the map: adopt its size. */
static void adopt_map(hive_store *s)
{
	pthread_rwlock_wrlock(&s->resize_lock);
	mdb_env_set_mapsize(s->env, 0);
	hive_store_fault_refresh(s);
	remember_map(s);
	pthread_rwlock_unlock(&s->resize_lock);
}

/* The last seq in the log (0 when empty); a read error is reported, not
 * taken for an empty log (a damaged tree would otherwise restart seq at 1). */
static int last_seq_of(hive_store *s, MDB_txn *txn, uint64_t *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	*out = 0;
	int rc = mdb_cursor_open(txn, s->events, &c);
	if (rc)
		return hive_store_env_error(s, rc, "cannot read the log");
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return hive_store_env_error(s, rc, "cannot read the log");
	if (k.mv_size != 8)
		return hive_error_set(HIVE_ESYSTEM, "event log in %s is damaged: its last key holds %zu bytes, not a seq",
				      s->dir, k.mv_size);
	*out = hive_seq_from(k.mv_data);
	return 0;
}

/* How long a transaction waits for a reader slot: 50 x 20 ms. */
#define READERS_FULL_TRIES 50

static int run_txn(hive_store *s, int write, hive_write_fn fn, void *ctx)
{
	int readers_full_tries = 0;
	for (;;) {
		pthread_rwlock_rdlock(&s->resize_lock);
		MDB_txn *txn;
		int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &txn);
		if (rc == MDB_MAP_RESIZED) {
			pthread_rwlock_unlock(&s->resize_lock);
			adopt_map(s);
			continue;
		}
		if (rc == MDB_READERS_FULL && readers_full_tries++ < READERS_FULL_TRIES) {
			/* every reader slot is taken: free those of dead processes, and
			 * give live readers a moment to finish */
			pthread_rwlock_unlock(&s->resize_lock);
			int dead = 0;
			mdb_reader_check(s->env, &dead);
			if (!dead)
				usleep(20000);
			continue;
		}
		if (rc) {
			pthread_rwlock_unlock(&s->resize_lock);
			return hive_store_env_error(s, rc, "cannot begin a transaction");
		}
		hive_txn t = {.s = s, .txn = txn, .write = write};
		hive_store_fault_enter();
		rc = last_seq_of(s, txn, &t.last_seq);
		if (!rc)
			rc = fn(&t, ctx);
		if (!rc && write)
			rc = hive_store_flush_index(&t);
		hive_store_pending_dispose(&t);
		if (rc == 0 && !t.map_full && write) {
			int mrc = mdb_txn_commit(txn);
			if (mrc == MDB_MAP_FULL)
				t.map_full = 1;
			else if (mrc)
				rc = hive_store_env_error(s, mrc, "commit failed");
		} else {
			mdb_txn_abort(txn);
		}
		hive_store_fault_leave();
		trim_locked(s); /* what it read leaves the resident set (hive_store_trim) */
		pthread_rwlock_unlock(&s->resize_lock);
		if (!t.map_full)
			return rc;
		if ((rc = grow_map(s)))
			return rc;
		hive_error_clear();
	}
}

int hive_store_write(hive_store *s, hive_write_fn fn, void *ctx) { return run_txn(s, 1, fn, ctx); }
int hive_store_read(hive_store *s, hive_write_fn fn, void *ctx) { return run_txn(s, 0, fn, ctx); }

uint64_t hive_txn_last_seq(hive_txn *t) { return t->last_seq; }

static int last_seq_fn(hive_txn *t, void *ctx)
{
	*(uint64_t *)ctx = t->last_seq;
	return 0;
}

int hive_store_last_seq(hive_store *s, uint64_t *out) { return hive_store_read(s, last_seq_fn, out); }

/* ---- appending --------------------------------------------------------- */


/* Refuse what hive_event_decode() would reject when it reads the event
 * back (and `events verify` would report), so the log only ever holds
 * events that decode: a type name, a payload object, and the correlation
 * fields the catalog requires for the type the name says. */
static int check_appendable(const hive_event *ev)
{
	if (!ev->type_name[0])
		return hive_error_set(HIVE_EINVALID, "cannot append an event without a type name");
	/* the usual case first: the name is the catalog's name of ev->type */
	const char *known = ev->type != HIVE_EV_UNKNOWN ? hive_event_type_name(ev->type) : NULL;
	hive_event_type t = known && strcmp(known, ev->type_name) == 0 ? ev->type
									: hive_event_type_from_name(ev->type_name);
	if (ev->type != HIVE_EV_UNKNOWN && ev->type != t)
		return hive_error_set(HIVE_EINVALID, "cannot append event: type %d does not match its name \"%s\"",
				      (int)ev->type, ev->type_name);
	/* A missing payload is refused, never stored as {}: it means building
	 * it failed (json_pack returns NULL for one NULL string argument). */
	if (!json_is_object(ev->payload))
		return hive_error_set(HIVE_EINVALID, "cannot append %s: field \"payload\" must be an object%s",
				      ev->type_name, ev->payload ? "" : " (it could not be built)");
	if (!hive_event_payload_depth_ok(ev->payload))
		return hive_error_set(HIVE_EINVALID, "cannot append %s: its payload nests deeper than %d levels",
				      ev->type_name, HIVE_EVENT_MAX_DEPTH);
	const hive_event_kind *k = hive_event_kind_of(t);
	static const struct { unsigned bit; const char *field; size_t off; } corr[] = {
		{HIVE_CORR_PROJECT, "project_id", offsetof(hive_event, project_id)},
		{HIVE_CORR_FLOW, "flow_id", offsetof(hive_event, flow_id)},
		{HIVE_CORR_TASK, "task_id", offsetof(hive_event, task_id)},
		{HIVE_CORR_ATTEMPT, "attempt_id", offsetof(hive_event, attempt_id)},
	};
	for (size_t i = 0; k && i < sizeof corr / sizeof corr[0]; i++)
		if ((k->required & corr[i].bit) && !((const char *)ev + corr[i].off)[0])
			return hive_error_set(HIVE_EINVALID, "cannot append %s: field \"%s\" is required for type \"%s\"",
					      k->name, corr[i].field, k->name);
	return 0;
}

int hive_txn_append(hive_txn *t, hive_event *ev)
{
	if (!t->write)
		return hive_error_set(HIVE_ESYSTEM, "event log: append outside a write transaction");
	int vrc = check_appendable(ev);
	if (vrc)
		return vrc;
	uint64_t seq = t->last_seq + 1;
	if (!ev->id.s[0])
		hive_id_new(&ev->id);
	if (!ev->time[0])
		hive_time_now(ev->time, sizeof ev->time);
	ev->seq = seq;
	char *json = hive_event_encode(ev);
	unsigned char key[8];
	hive_seq_key(seq, key);
	MDB_val k = {8, key}, v = {strlen(json), json};
	int rc = mdb_put(t->txn, t->s->events, &k, &v, MDB_APPEND);
	free(json);
	if (rc)
		return hive_store_lmdb_error(t, rc, "append");
	if ((rc = index_event(t, ev, key)))
		return rc;
	t->last_seq = seq;
	return 0;
}

int hive_txn_event_raw(hive_txn *t, uint64_t seq, hive_slice *out)
{
	unsigned char key[8];
	hive_seq_key(seq, key);
	MDB_val k = {8, key}, v;
	int rc = mdb_get(t->txn, t->s->events, &k, &v);
	if (rc == MDB_NOTFOUND)
		return hive_error_set(HIVE_ENOTFOUND, "no event with seq %llu", (unsigned long long)seq);
	if (rc)
		return hive_store_lmdb_error(t, rc, "read");
	out->data = v.mv_data;
	out->len = v.mv_size;
	return 0;
}

/* ---- projections ------------------------------------------------------- */

static int check_key(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 400)
		return hive_error_set(HIVE_ESYSTEM, "projection key of %zu bytes (must be 1..400)", n);
	return 0;
}

int hive_txn_put(hive_txn *t, const char *key, const void *val, size_t len)
{
	int rc = check_key(key);
	if (rc)
		return rc;
	MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
	rc = mdb_put(t->txn, t->s->proj, &k, &v, 0);
	return rc ? hive_store_lmdb_error(t, rc, "projection write") : 0;
}

/* A read of a flow's every task (the end of a flow, a summary) touches
 * most of data.mdb, and each read fault maps up to 16 neighbouring pages
 * (the kernel's fault-around): 9 MB of RSS for 1000 task documents of
 * 1.4 KB.  Dropping the map every HIVE_TRIM_GETS reads bounds that; a
 * slice returned earlier stays valid (the map stays, its pages fault in
 * again from the page cache). */
#define HIVE_TRIM_GETS 64

int hive_txn_get(hive_txn *t, const char *key, hive_slice *out)
{
	int rc = check_key(key);
	if (rc)
		return rc;
	if (++t->gets % HIVE_TRIM_GETS == 0)
		trim_locked(t->s);
	MDB_val k = {strlen(key), (void *)key}, v;
	rc = mdb_get(t->txn, t->s->proj, &k, &v);
	if (rc == MDB_NOTFOUND)
		return HIVE_ENOTFOUND;
	if (rc)
		return hive_store_lmdb_error(t, rc, "projection read");
	out->data = v.mv_data;
	out->len = v.mv_size;
	return 0;
}

int hive_txn_del(hive_txn *t, const char *key)
{
	MDB_val k = {strlen(key), (void *)key};
	int rc = mdb_del(t->txn, t->s->proj, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	return rc ? hive_store_lmdb_error(t, rc, "projection delete") : 0;
}

int hive_txn_scan_prefix(hive_txn *t, const char *prefix,
			 int (*fn)(const char *key, size_t klen, hive_slice val, void *ctx), void *ctx)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(t->txn, t->s->proj, &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "projection scan");
	size_t plen = strlen(prefix);
	MDB_val k = {plen, (void *)prefix}, v;
	int op = plen ? MDB_SET_RANGE : MDB_FIRST;
	int ret = 0;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		hive_slice sv = {v.mv_data, v.mv_size};
		if ((ret = fn(k.mv_data, k.mv_size, sv, ctx)))
			break;
	}
	mdb_cursor_close(c);
	if (!ret && rc && rc != MDB_NOTFOUND)
		ret = hive_store_lmdb_error(t, rc, "projection scan");
	return ret;
}

int hive_txn_clear_projections(hive_txn *t)
{
	int rc = mdb_drop(t->txn, t->s->proj, 0);
	return rc ? hive_store_lmdb_error(t, rc, "projection clear") : 0;
}

/* ---- blobs ------------------------------------------------------------- */

static int hex_to_bytes(const char *hex, unsigned char out[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

int hive_txn_blob_put(hive_txn *t, const void *data, size_t len, char hex_out[65])
{
	hive_sha256_hex(data, len, hex_out);
	unsigned char key[32];
	hex_to_bytes(hex_out, key);
	MDB_val k = {32, key}, v = {len, (void *)data};
	int rc = mdb_put(t->txn, t->s->blobs, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return 0;
	return rc ? hive_store_lmdb_error(t, rc, "blob write") : 0;
}

int hive_txn_blob_get(hive_txn *t, const char *hex, hive_slice *out)
{
	unsigned char key[32];
	if (hex_to_bytes(hex, key) != 0)
		return hive_error_set(HIVE_EINVALID, "blob id \"%s\" is not a SHA-256 hex digest", hex);
	MDB_val k = {32, key}, v;
	int rc = mdb_get(t->txn, t->s->blobs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return hive_error_set(HIVE_ENOTFOUND, "blob %s not found in the event log", hex);
	if (rc)
		return hive_store_lmdb_error(t, rc, "blob read");
	out->data = v.mv_data;
	out->len = v.mv_size;
	return 0;
}

/* ---- index lookups ------------------------------------------------------ */

int hive_txn_index_prefix(hive_txn *t, hive_index idx, const char *prefix,
			  char (*out)[HIVE_ID_LEN + 1], size_t max, size_t *n_out)
{
	*n_out = 0;
	MDB_cursor *c;
	int rc = hive_store_flush_index(t);
	if (rc)
		return rc;
	rc = mdb_cursor_open(t->txn, t->s->idx[idx], &c);
	if (rc)
		return hive_store_lmdb_error(t, rc, "index scan");
	size_t plen = strlen(prefix);
	MDB_val k = {plen, (void *)prefix}, v;
	int op = plen ? MDB_SET_RANGE : MDB_FIRST;
	while (*n_out < max && (rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT_NODUP;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		size_t n = k.mv_size < HIVE_ID_LEN ? k.mv_size : HIVE_ID_LEN;
		memcpy(out[*n_out], k.mv_data, n);
		out[*n_out][n] = '\0';
		(*n_out)++;
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? hive_store_lmdb_error(t, rc, "index scan") : 0;
}
