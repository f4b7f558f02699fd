/*
 * context.h - the retry context: what attempt N is told about attempts
 * 1..N-1 (SPEC section 6; docs/retry-context.md).
 *
 * The context is assembled from the task's events (read through the task
 * index) and the blobs they reference, and from nothing else: never from
 * files, the worktree or the clock.  So the same events always give the
 * same payload, byte for byte, and `hive attempt inspect --context` can show
 * exactly what an attempt was given long after its worktree is gone.
 */
#ifndef HIVE_CONTEXT_H
#define HIVE_CONTEXT_H

#include <jansson.h>

#include "events/store.h"

/* Hard limit on the rendered context text (context_bytes never exceeds it);
 * the policy's context.max_bytes (default 16 KiB) is the budget used, and
 * is at most this.  When the text would be longer it is shrunk in this order: the diff, the
 * detail of older attempts (they become one-line summaries), the check
 * output excerpts (to 1 KiB each), the oldest one-line summaries, the
 * excerpts again (to 128 bytes); as a last resort the text is cut at a line
 * end with a marker (docs/retry-context.md). */
#define HIVE_CONTEXT_MAX_BYTES (64 * 1024)

/*
 * Assemble the retry context for attempt `attempt_number` (>= 1) of `task`.
 *
 * `task` is the task's projection document (borrowed): it must have "id";
 * "key", "title", "retry" (the canonical policy; built-in defaults when
 * missing or invalid) and "budget_used" are used when present.
 * `max_attempts` is only reported (the caller knows which budget applies).
 *
 * Prior attempts are every attempt of the task with a lower number that
 * has finished (attempt_completed, or attempt_crashed), whatever its
 * budget: after `hive task retry --reset-count` they all still count.
 *
 * On success *payload_out is a new reference to the whole
 * retry_context_assembled payload (SPEC section 6), including "context",
 * "context_sha256" and "context_bytes".
 *
 * Errors: HIVE_EINVALID (task without "id", attempt_number < 1), or the
 * store's errors while reading events (HIVE_ESYSTEM).  *payload_out is left
 * untouched on error.
 */
int hive_context_assemble(hive_txn *txn, const json_t *task, int attempt_number, int max_attempts,
			  json_t **payload_out);

#endif
