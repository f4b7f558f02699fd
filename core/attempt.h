/*
 * attempt.h - running one started attempt (attempt.c): the runtime
 * through its adapter, the checkpoint commit and diff, the checks, and the
 * outcome with the retry decision.  Used by the runner (runner.c); not part
 * of the library API (core/hive.h).
 */
#ifndef HIVE_ATTEMPT_H
#define HIVE_ATTEMPT_H

#include <jansson.h>
#include <stdint.h>

#include "core/hive.h"

/*
 * One attempt chosen by a tick, with everything it needs to run without
 * reading the store again.  A caller-owned struct (start it zeroed): every
 * pointer in it is owned by the pick and released by hive_pick_dispose.
 */
typedef struct {
	hive_id task_id, attempt_id;
	json_t *task;          /* projection snapshot at start (new reference) */
	json_t *context;       /* retry_context_assembled payload (new reference) or NULL */
	int number, max_attempts;
	char start_commit[41];
	char *worktree, *repo, *attempt_dir;
	char *branch;          /* hive/<flow>/<key>: the worktree's own branch, the only one hive commits on */
	char *fail_reason;     /* set when the worktree could not be prepared */
	json_t *spare;         /* attempt_started's "spare" (a spare worktree was tried) or NULL: new reference */
	int started;           /* attempt_started was committed */
	int outcome;           /* the outcome recorded for it; -1 when none was */
	char *error;           /* hive's own failure while running it (the thread's message) */
	int64_t next_due_ms;
} hive_pick;

/* Release what p holds and zero it (disposing twice is safe). */
void hive_pick_dispose(hive_pick *p);

/*
 * Run one started attempt to completion: runtime (through the adapter in
 * o->adapters its runtime names), checkpoint, checks, then the outcome and
 * retry decision (finish.h).  Steps are committed where a program starts
 * and where the attempt ends, the steps in between with the next of these
 * (docs/events.md, "Transactions of an attempt"), so followers see progress
 * in order and a crash leaves a prefix of the attempt's events.  Blocks; safe to call on several
 * picks from several threads (each pick is its own).
 *
 * Sets p->outcome to the outcome the log records for the attempt.  A
 * runtime that cannot start, fails or times out is an outcome, not an
 * error; so is hive's own failure that is not the store's (the runtime
 * could not be run, the checkpoint commit failed, the runtime broke its
 * worktree): the attempt ends crashed with that error as its summary, and
 * p->error = the message (new string).  Returns 0 once an outcome is
 * recorded (also when a person ended the attempt first, e.g. aborted it:
 * p->outcome is then theirs).
 * Errors: a storage error with no outcome recorded: the code, p->error =
 * the message (new string), p->outcome = -1; the attempt stays running in
 * the log and the next tick records it crashed and retries it.
 * HIVE_ESYSTEM with an outcome recorded: hive's own failure was a full or
 * failing disk (hive_error_is_storage_failure): the attempt ended
 * interrupted, charged to no budget, and the runner should stop (SPEC
 * section 12); p->error = the message.
 */
int hive_attempt_run(hive_store *s, hive_pick *p, const hive_run_opts *o);

/* Milliseconds since the attempt (projection document, borrowed) started,
 * by the wall clock; for attempts that end without a runner measuring them
 * (crashed, aborted).  0 when unknown or in the future. */
int64_t hive_attempt_age_ms(const json_t *attempt);

#endif
