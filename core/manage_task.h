/*
 * manage_task.h - `hive task retry` inside a caller's write transaction,
 * for commands that retry as part of something bigger (`task retry
 * --rebase` and `flow rebase` move the task's base first: core/land.c).
 * hive_task_retry and hive_task_abort themselves are in core/hive.h.
 */
#ifndef HIVE_MANAGE_TASK_H
#define HIVE_MANAGE_TASK_H

#include <jansson.h>

#include "core/hive.h"
#include "events/store.h"

/* Called once the retry's own checks passed, before task_retry_requested;
 * task is the task document (borrowed).  A non-zero return refuses the
 * retry (the caller's transaction then writes nothing). */
typedef int (*hive_retry_prelude)(hive_txn *txn, const json_t *task, void *ctx);

/* hive_task_retry's checks of its options (mode, actor, note), before any
 * transaction.  Errors: HIVE_EINVALID. */
int hive_task_retry_opts_check(const hive_task_retry_opts *o);

/*
 * What hive_task_retry does, in txn: the same checks, events and
 * scheduling.  o (borrowed) must have passed hive_task_retry_opts_check;
 * its actor is the caller's to set (hive_emit_actor_begin, core/emit.h).
 * before (may be NULL) runs as described above.
 * Errors: those of hive_task_retry, and before's.
 */
int hive_task_retry_txn(hive_txn *txn, const char *task_ref, const hive_task_retry_opts *o,
			hive_retry_prelude before, void *before_ctx);

#endif
