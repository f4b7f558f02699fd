/*
 * store.h - the append-only event log in one LMDB environment.
 *
 * Layout (named databases, see docs/events.md):
 *   events       seq (u64 big-endian) -> envelope JSON bytes, exactly as stored
 *   idx_flow     flow_id    -> seq (DUPSORT, DUPFIXED; ascending)
 *   idx_task     task_id    -> seq
 *   idx_attempt  attempt_id -> seq
 *   idx_type     type name  -> seq
 *   blobs        sha256 (32 bytes) -> content
 *   meta         "schema_version" -> decimal text
 *   proj         projection key -> value (owned by core/; opaque here)
 *
 * Every change goes through hive_store_write(): the caller's function runs
 * inside one write transaction, appends events and updates projections, and
 * either all of it commits or none of it does.  Readers never see half of a
 * batch.  Errors are HIVE_E* codes with hive_error_last() set.
 *
 * Thread safety: one hive_store may be shared by the threads of a process.
 * Transactions are not shared between threads.
 */
#ifndef HIVE_STORE_H
#define HIVE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "events/event.h"

/* Schema versions (docs/events.md): 1 = hive 0.1; 2 = version 2, whose
 * projection documents differ; 3 = the flows' scheduling index
 * (core/flowindex.h); 4 = a flow's task_ids stored apart from its
 * document (core/projection.h).  The log's events never change. */
#define HIVE_SCHEMA_VERSION 4

typedef struct hive_store hive_store;

/* A borrowed byte range; valid until its transaction ends. */
typedef struct {
	const char *data;
	size_t len;
} hive_slice;

typedef struct hive_txn hive_txn;
typedef int (*hive_write_fn)(hive_txn *txn, void *ctx);

typedef enum {
	HIVE_DURABLE = 0, /* a commit returns once it is on disk (the default) */
	HIVE_RELAXED,     /* the meta page is not synced: a power loss may undo the
			   * last commits, a process crash loses nothing */
} hive_durability;

#define HIVE_STORE_OPTS_VERSION 1

/* How to open a store.  Start from HIVE_STORE_OPTS_INIT (or
 * hive_upgrade_opts_init in core/upgrade.h, which adds the upgrade). */
typedef struct {
	unsigned version;           /* HIVE_STORE_OPTS_VERSION */
	hive_durability durability;
	size_t initial_mapsize;     /* bytes for a new map; 0 = 64 MiB.  The map grows by itself. */
	unsigned max_readers;       /* concurrent read transactions (all processes); 0 = 1024 */
	/*
	 * Upgrading a store written by an older hive (schema < HIVE_SCHEMA_VERSION):
	 * the store rebuilds its indexes from the log, then calls rebuild(txn,
	 * ctx) in the same write transaction to rebuild what the layers above
	 * derive from the log (the projections), then records the new version.
	 * NULL: such a store is refused (HIVE_ESYSTEM) and left as it is.
	 */
	hive_write_fn rebuild;
	void *rebuild_ctx;
	/*
	 * 1: a damaged data.mdb ends the process with one line on stderr and
	 * exit 5 instead of a crash: SIGSEGV/SIGBUS inside the map (or while
	 * this thread is in a store transaction) and LMDB's own assertions.
	 * It installs process-wide SIGSEGV and SIGBUS handlers, so only a
	 * program that owns its signals (the command line) should ask.
	 */
	int trap_damage;
	/*
	 * 1: open only a store that exists; a dir without one is HIVE_ENOTFOUND
	 * ("no hive data in DIR") and nothing is created.  For readers, so a
	 * mistyped dir never leaves an empty store behind.
	 */
	int must_exist;
} hive_store_opts;

#define HIVE_STORE_OPTS_INIT {HIVE_STORE_OPTS_VERSION, HIVE_DURABLE, 0, 0, NULL, NULL, 0, 0}

/* "durable" or "relaxed" -> *out; HIVE_EINVALID (message names s) otherwise. */
int hive_store_durability_parse(const char *s, hive_durability *out);

/*
 * Open (creating when missing) the log under `dir` with opts (NULL = the
 * defaults).  The directory is created 0700 and the files 0600.  Stale
 * reader slots left by killed processes are cleared.  A store of an older
 * schema is upgraded (see opts.rebuild) in one write transaction.  Before
 * LMDB maps an existing data.mdb, its two meta pages are checked (magic,
 * version, page size, last page within the file), so a damaged file is
 * refused with one line instead of crashing on first use.
 * Errors: HIVE_ESYSTEM with hive_error_hint OTHER_DIR (cannot create/open,
 * with the path; a damaged data.mdb; written by a newer hive: the message
 * names the dir and both versions; an older one with no opts.rebuild),
 * HIVE_EINVALID (opts of another version).
 */
int hive_store_open(const char *dir, const hive_store_opts *opts, hive_store **out);
void hive_store_close(hive_store *s);
const char *hive_store_dir(const hive_store *s);

/* Current map size in bytes. */
size_t hive_store_mapsize(hive_store *s);

/*
 * Drop the log's pages from this process's resident set.  LMDB reads the
 * file through a shared memory map, so every page a long-lived process
 * (flow run) ever touched stays counted in its RSS -- about the whole
 * file after a few thousand events.  The pages stay in the kernel's page
 * cache: a later read maps them again without I/O.  Safe at any time,
 * also while other threads read (the map is read-only and file-backed).
 * Every transaction does it too when it ends, and hive_txn_get every 64
 * reads: each read fault maps up to 16 neighbouring pages (the kernel's
 * fault-around), so one transaction reading every task of a 1000-task
 * flow used to hold 9 MB of the log resident.
 */
void hive_store_trim(hive_store *s);

/*
 * Run fn(txn, ctx) in one write transaction.  fn returns 0 to commit or a
 * HIVE_E* code to abort (the code is returned, nothing is written).  When
 * the map is full, the transaction is aborted, the map grown and fn run
 * again from the start, so fn must not have effects outside the
 * transaction that a second run would repeat.  Returns only after the
 * commit is durable (in the default mode).
 */
int hive_store_write(hive_store *s, hive_write_fn fn, void *ctx);

/* Run fn(txn, ctx) in a read-only snapshot. */
int hive_store_read(hive_store *s, hive_write_fn fn, void *ctx);

/*
 * Append one event in a write transaction: assigns the next seq (gapless,
 * from 1), and an id and time when empty; writes the envelope and its
 * index entries (these are gathered per key and written when the
 * transaction ends, or before anything in it reads an index, so the
 * transaction's own reads see them).  ev->seq/id/time are filled in.  The event keeps its
 * payload (not stolen).  HIVE_EINVALID (nothing written) for an event
 * that would not decode: no type name, a payload that is not an object,
 * or a correlation field its type requires missing (the message names it).
 */
int hive_txn_append(hive_txn *txn, hive_event *ev);
/* The last seq visible in this transaction (0 for an empty log). */
uint64_t hive_txn_last_seq(hive_txn *txn);
/* The stored bytes of event seq; HIVE_ENOTFOUND when absent. */
int hive_txn_event_raw(hive_txn *txn, uint64_t seq, hive_slice *out);

/* Projection key/value space (write txn for put/del). get returns
 * HIVE_ENOTFOUND when absent.  Keys are at most 400 bytes. */
int hive_txn_put(hive_txn *txn, const char *key, const void *val, size_t len);
int hive_txn_get(hive_txn *txn, const char *key, hive_slice *out);
int hive_txn_del(hive_txn *txn, const char *key);
/* Visit every projection key starting with prefix, in key order; stop
 * early when fn returns non-zero (that value is returned). */
int hive_txn_scan_prefix(hive_txn *txn, const char *prefix,
			 int (*fn)(const char *key, size_t klen, hive_slice val, void *ctx), void *ctx);
/* Delete every projection key (used by a projection rebuild). */
int hive_txn_clear_projections(hive_txn *txn);

/* Content-addressed blobs: stored once, addressed by the lowercase hex
 * SHA-256 of the content (hex_out: 65 bytes). */
int hive_txn_blob_put(hive_txn *txn, const void *data, size_t len, char hex_out[65]);
int hive_txn_blob_get(hive_txn *txn, const char *hex, hive_slice *out);

/* Which index a filter or a prefix lookup uses. */
typedef enum { HIVE_IDX_FLOW, HIVE_IDX_TASK, HIVE_IDX_ATTEMPT, HIVE_IDX_TYPE, HIVE_IDX__COUNT } hive_index;

/*
 * Collect the distinct keys of an index that start with `prefix` (at most
 * max; *n_out set).  Used to resolve id prefixes without scanning the log.
 * Keys are written into out[i] (each HIVE_ID_LEN+1 bytes, or truncated).
 */
int hive_txn_index_prefix(hive_txn *txn, hive_index idx, const char *prefix,
			  char (*out)[HIVE_ID_LEN + 1], size_t max, size_t *n_out);

/* Filtered reads, through the indexes (never a scan of the whole log when
 * an id or type filter is given). */
typedef struct {
	const char *flow_id, *task_id, *attempt_id; /* exact ids, NULL = any */
	const char *const *types;                   /* NULL or n_types names */
	size_t n_types;
	uint64_t after;                             /* exclusive */
	uint64_t limit;                             /* 0 = unlimited */
	uint64_t tail;                              /* 0 = all; else only the last N matches */
} hive_event_filter;

/* Call fn for each matching event in seq order with its stored bytes
 * (borrowed, valid during the call).  fn returns non-zero to stop; that
 * value is returned.  With both tail and limit, the first `limit` of the
 * last `tail` matches are visited. */
typedef int (*hive_event_fn)(uint64_t seq, hive_slice raw, void *ctx);
int hive_txn_scan(hive_txn *txn, const hive_event_filter *f, hive_event_fn fn, void *ctx);

/*
 * Integrity check of the log: seq gapless from 1, every event parses and
 * carries its fields, its seq matches its key, every index entry agrees
 * with the log both ways, every blob's content matches its hash.
 * Problems are reported through report(msg, ctx) — one line each — and
 * counted in *problems.  Returns 0 when it could read everything.
 */
int hive_txn_verify(hive_txn *txn, void (*report)(const char *msg, void *ctx), void *ctx,
		    uint64_t *events_out, uint64_t *problems);

/*
 * The same check, with a hook: each(ev, ctx) is called for every event
 * that decodes, in seq order (ev borrowed for the call), so a caller can
 * replay the log in the same pass (`events verify` parses each event
 * once).  A non-zero return from each stops the check and is returned.
 * One sequential pass over the log and one over each index: time linear
 * in the log, memory independent of it (a slower second pass naming each
 * bad index entry runs only when the index figures disagree).
 */
typedef struct {
	void (*report)(const char *msg, void *ctx);
	int (*each)(const hive_event *ev, void *ctx);
	void *ctx;
} hive_verify_opts;
int hive_txn_verify_with(hive_txn *txn, const hive_verify_opts *o, uint64_t *events_out, uint64_t *problems);

/*
 * Backup: write a consistent, compacted copy of the log to <dir>/data.mdb
 * (dir must exist; the file must not).  It is one read snapshot (LMDB's
 * mdb_env_copyfd2 with MDB_CP_COMPACT), so writers in other processes go
 * on meanwhile and the copy holds exactly the events committed before it
 * began; free pages are left out.  The file is 0600 and fsynced.  No
 * lock.mdb is written: opening the copy creates one.  Errors: HIVE_ESYSTEM
 * (the partial file is removed).  Blocks this process's other
 * transactions while it copies.
 */
int hive_store_backup(hive_store *s, const char *dir);

/* The last committed seq (a fresh read). */
int hive_store_last_seq(hive_store *s, uint64_t *out);

/*
 * Follow: block until the log holds an event after `after_seq`, or
 * timeout_ms passes (-1 = forever), or wake_fd (>= 0) becomes readable.
 * Returns 1 if there are newer events, 0 on timeout/wake, and also 0 when
 * a signal interrupts the wait (so a caller's handler can act; callers
 * loop).  Wakes within a few ms of another process's commit: it watches
 * the data file with inotify (LMDB writes commits with write(2)), with a
 * 1 s safety poll; it never spins.
 */
int hive_store_wait(hive_store *s, uint64_t after_seq, int timeout_ms, int wake_fd);

#endif
