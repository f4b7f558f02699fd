/*
 * store_impl.h - internals shared by the store's own files (store.c,
 * scan.c, follow.c).  Nothing outside events/ includes this.
 */
#ifndef HIVE_STORE_IMPL_H
#define HIVE_STORE_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>

#include "events/store.h"

struct hive_store {
	char *dir;
	MDB_env *env;
	MDB_dbi events, blobs, meta, proj;
	MDB_dbi idx[HIVE_IDX__COUNT];
	/* Readers and writers of this process hold it shared; growing the map
	 * holds it exclusively, because mdb_env_set_mapsize requires that no
	 * transaction of the process is active. */
	pthread_rwlock_t resize_lock;
	/* where data.mdb is mapped (hive_store_trim), read again whenever
	 * the map moves (under resize_lock held exclusively); len 0 = unknown */
	void *map_addr;
	size_t map_len;
	int inotify_fd;
	int inotify_watch;
};

/* The index entries of one key that a write transaction has appended but
 * not yet written (store.c, "index entries"). */
typedef struct {
	hive_index idx;
	size_t klen;
	char key[64];
	size_t n, cap;
	unsigned char *seqs; /* n seqs of 8 big-endian bytes, ascending */
} hive_pending_key;

struct hive_txn {
	hive_store *s;
	MDB_txn *txn;
	int write;
	int map_full;     /* a put hit MDB_MAP_FULL: grow and run again */
	uint64_t last_seq;
	hive_pending_key *pending; /* NULL until the first index entry */
	size_t n_pending, pending_seqs;
	unsigned gets;    /* hive_txn_get calls: every HIVE_TRIM_GETS, a trim */
};

/* Write the index entries this transaction has gathered (a no-op when
 * there are none).  Called before the commit and before anything in the
 * transaction reads an index, so a reader never misses an entry. */
int hive_store_flush_index(hive_txn *t);
/* Free what the gathering holds (the entries are dropped). */
void hive_store_pending_dispose(hive_txn *t);

/* Events are keyed by seq as 8 big-endian bytes, so LMDB's byte order is
 * seq order (and MDB_APPEND applies). */
static inline void hive_seq_key(uint64_t seq, unsigned char out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(seq >> (56 - 8 * i));
}

static inline uint64_t hive_seq_from(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Set the error for an LMDB failure (marking MDB_MAP_FULL for a retry):
 * HIVE_ESYSTEM, the message names the dir, what failed and LMDB's words. */
int hive_store_lmdb_error(hive_txn *t, int rc, const char *what);
int hive_store_env_error(hive_store *s, int rc, const char *what);

/* Before LMDB maps dir/data.mdb (when it exists): check what LMDB 0.9
 * trusts without looking (store_check.c).  HIVE_ESYSTEM, one line naming
 * the file and the damage. */
int hive_store_check_file(const char *dir);

/* store_fault.c: trap the faults a damaged file causes (opts.trap_damage).
 * trap after mdb_env_open, refresh after the map moved or grew, untrap
 * before mdb_env_close; enter/leave bracket each transaction. */
void hive_store_fault_trap(hive_store *s);
void hive_store_fault_refresh(hive_store *s);
void hive_store_fault_untrap(hive_store *s);
void hive_store_fault_enter(void);
void hive_store_fault_leave(void);

#endif
