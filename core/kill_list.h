/*
 * kill_list.h - process groups to kill once a transaction has committed.
 *
 * Ending a running attempt (abort, crash recovery) is recorded first and
 * its processes are killed after the commit: a kill before the commit
 * could stop a runtime whose end then fails to be recorded.  The list
 * holds attempt ids; the kill finds the groups by the HIVE_ATTEMPT_ID tag
 * every runtime and check carries (hive_proc_kill_tagged), so it also
 * reaches groups a runtime detached.
 *
 * A caller-owned struct: start it zeroed ({0}), release it with
 * hive_kill_list_dispose.
 */
#ifndef HIVE_KILL_LIST_H
#define HIVE_KILL_LIST_H

#include <stddef.h>

#include "events/id.h"

typedef struct {
	char (*ids)[HIVE_ID_LEN + 1];
	size_t n;
} hive_kill_list;

/* Remember attempt_id (copied).  Allocation failure aborts (buf.h). */
void hive_kill_list_add(hive_kill_list *k, const char *attempt_id);

/* Kill every process group tagged with one of the attempts (their runtime,
 * its children, the check running), TERM then KILL after 2 s, then empty
 * k.  Returns the number of groups killed; never fails (a group that is
 * already gone is not an error). */
int hive_kill_list_run(hive_kill_list *k);

/* Release k's memory and leave it empty (reusable).  k may be zeroed. */
void hive_kill_list_dispose(hive_kill_list *k);

#endif
