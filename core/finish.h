/*
 * finish.h - the end of an attempt (finish.c): attempt_completed, the
 * circuit breaker, and the retry decision (SPEC section 4), in the
 * caller's write transaction.
 */
#ifndef HIVE_FINISH_H
#define HIVE_FINISH_H

#include <jansson.h>
#include <stdint.h>

#include "core/outcome.h"
#include "events/store.h"

/*
 * Record the end of a running attempt and decide what its task does next:
 * success, a retry (task_retry_scheduled with its not-before time, the
 * backoff jitter drawn once from `seed`), failed or escalated.  Used by the
 * attempt runner (attempt.h) and by crash recovery (runner.c).
 *
 * duration_ms: how long the attempt ran.
 * failed_checks (array of check names), verdict (the runtime's result.json
 * object) and summary are borrowed, each may be NULL.
 * An attempt that is no longer running (a person aborted it first), or a
 * task or attempt with no document, is left as it is: 0, nothing appended.
 * Errors: those of the events it appends (core/emit.h); the caller's
 * transaction is then aborted.
 */
int hive_finish_attempt(hive_txn *txn, const char *task_id, const char *attempt_id, hive_outcome outcome,
			int64_t duration_ms, const json_t *failed_checks, const json_t *verdict,
			const char *summary, uint64_t seed);

#endif
