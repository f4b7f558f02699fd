/*
 * lock.h - the exclusive per-flow runner lock (lock.c): at most one
 * `flow tick`/`flow run` works on a flow at a time.
 *
 * flock(2) on <data dir>/locks/<flow-id>.lock: the kernel releases it when
 * the holder dies, so a SIGKILLed runner never leaves a stale lock.  The
 * file holds one line naming the holder, for the refusal message.
 */
#ifndef HIVE_LOCK_H
#define HIVE_LOCK_H

#include "events/store.h"

/*
 * Take the lock of flow flow_id without waiting.  flow_name names the flow
 * in the refusal; what ("run", "tick") goes into the holder line.
 * *fd_out = the lock's descriptor: the caller owns it and releases the lock
 * with hive_lock_release (or by exiting).
 * Errors: HIVE_ECONFLICT "flow X is locked by another runner (pid N, hive
 * flow run, since T); wait for it to finish or stop it"; HIVE_ESYSTEM when
 * <data dir>/locks cannot be made (core/datadir.h) or the lock file cannot
 * be used: never opened through a symlink, nor when it is not a plain file
 * of hive's (a hard link, a special file), since the holder line truncates
 * it ("cannot use lock file P: ...; remove it and run again").
 */
int hive_lock_acquire(hive_store *s, const char *flow_id, const char *flow_name, const char *what,
		      int *fd_out);

/* Release a lock taken by hive_lock_acquire.  fd < 0 is ignored. */
void hive_lock_release(int fd);

#endif
