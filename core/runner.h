/*
 * runner.h - internals shared by the runner's files (runner.c, attempt.c,
 * lock.c).  Not part of the library API.
 */
#ifndef HIVE_RUNNER_H
#define HIVE_RUNNER_H

#include <jansson.h>
#include <sys/types.h>

#include "core/hive.h"
#include "core/outcome.h"

/* One attempt chosen by a tick, with everything it needs to run without
 * reading the store again.  Owned by the runner; released by pick_dispose. */
typedef struct {
	hive_id task_id, attempt_id;
	json_t *task;          /* projection snapshot at start (new reference) */
	json_t *context;       /* retry_context_assembled payload or NULL */
	int number, max_attempts;
	char start_commit[41];
	char *worktree, *repo, *attempt_dir;
	char *fail_reason;     /* set when the worktree could not be prepared */
	int started;           /* attempt_started was committed */
	int outcome;           /* the outcome recorded for it; -1 when none was */
	char *error;           /* hive's own failure while running it (the thread's message) */
	int64_t next_due_ms;
} hive_pick;

void hive_pick_dispose(hive_pick *p);

/* Run one started attempt to completion: runtime, checkpoint, checks,
 * outcome and retry decision, each step committed as it happens. */
int hive_attempt_run(hive_store *s, hive_pick *p, const hive_run_opts *o);

/* Record the end of an attempt and decide what the task does next (retry,
 * fail, escalate, succeed) in the caller's write transaction.  Used by the
 * attempt runner and by crash recovery.  verdict borrowed (may be NULL). */
int hive_attempt_finish(hive_txn *txn, const char *task_id, const char *attempt_id, hive_outcome outcome,
			int64_t duration_ms, const json_t *failed_checks, const json_t *verdict,
			const char *summary, uint64_t seed);

/* The exclusive per-flow lock (flock on <dir>/locks/<flow-id>.lock). */
int hive_flow_lock(hive_store *s, const char *flow_id, const char *flow_name, const char *what, int *fd_out);
void hive_flow_unlock(int fd);

#endif
