/*
 * retry.h - the retry decision (SPEC section 4): a pure function of the
 * policy, the facts taken from the event log, and the rng.  The scheduler
 * writes what it decides (delay, budget, transitions) back into events.
 */
#ifndef HIVE_RETRY_H
#define HIVE_RETRY_H

#include <stdint.h>

#include "core/outcome.h"
#include "core/policy.h"
#include "core/rng.h"

typedef struct {
	hive_outcome outcome;
	/* Attempts already counted against each budget BEFORE this attempt;
	 * index n_budgets is the implicit budget (used when n_budgets == 0). */
	int budget_used[HIVE_MAX_BUDGETS + 1];
	int verdict_retryable;          /* 1 unless the runtime said retryable:false */
	int64_t verdict_retry_after_ms; /* 0 = none; negative is ignored */
	int64_t now_ms;                 /* the wall clock of the decision (rule 7) */
	int64_t deadline_at_ms;         /* 0 = none: when retry.deadline ends (rule 7) */
} hive_retry_input;

typedef struct {
	int retry;          /* 1 = schedule another attempt after delay_ms */
	int exhausted;      /* 1 = not retried because the budget is spent (→ on_exhausted) */
	int budget;         /* budget that applied (n_budgets = implicit one), -1 if none */
	int used, max;      /* that budget's usage INCLUDING this attempt, and its max; 0, 0 if none */
	int64_t delay_ms;   /* backoff after jitter, raised to retry_after; 0 unless retry */
	int retry_after_capped;           /* 1 = the verdict's retry_after exceeded max_retry_after */
	int64_t retry_after_requested_ms; /* the verdict's retry_after when capped, else 0 */
	int deadline_exceeded; /* 1 = not retried because of retry.deadline (exhausted is 1 too) */
	char reason[160];   /* short human text, e.g. "budget exhausted: 3 of 3 attempts used" */
} hive_retry_decision;

/*
 * The whole retry rule, as a pure function of the policy, the facts and the
 * rng (one draw, only when it retries with jitter).  In order:
 *
 *  1. success is never retried ("attempt succeeded").
 *  2. runtime_unavailable and aborted are never retried, whatever the policy
 *     says ("outcome aborted is never retried").
 *  3. The budget: without budgets, one implicit budget {on: retry_on,
 *     max_attempts} that counts every attempt of the task; with budgets, the
 *     first whose `on` holds the outcome, counting only attempts routed to it.
 *     The top-level max_attempts does NOT cap the total when budgets are
 *     given: it is only the default for budgets.  No budget → not retried and
 *     not exhausted (budget -1; "outcome X is not in retry_on" /
 *     "outcome X matches no budget").
 *  4. A runtime verdict retryable:false makes the failure final: no retry,
 *     not exhausted (budget/used/max still reported).  It wins over an
 *     exhausted budget, so on_exhausted does not apply to it.
 *  5. used = budget_used[budget] + 1; used >= max → exhausted
 *     ("budget exhausted: 3 of 3 attempts used", or "budgets[1] exhausted: ...").
 *  6. Otherwise retry, delay = hive_backoff_delay(budget's backoff, used, rng),
 *     raised to verdict_retry_after_ms when that is larger (retry_after is not
 *     capped by backoff.max but by max_retry_after: a larger one counts as
 *     max_retry_after and sets retry_after_capped) ("retrying: 1 of 3
 *     attempts used").
 *  7. retry.deadline: when deadline_at_ms is set and the retry of rule 6
 *     could not start before it (now_ms + delay_ms >= deadline_at_ms), it
 *     is not retried: exhausted and deadline_exceeded, so on_exhausted
 *     applies ("retry.deadline exceeded: ...").  The deadline never
 *     shortens a delay and never stops an attempt that runs.
 *
 * The caller counts this attempt against out->budget (when >= 0) before the
 * next decision, and records delay_ms and budget in task_retry_scheduled.
 */
void hive_retry_decide(const hive_retry_policy *p, const hive_retry_input *in,
                       hive_rng *rng, hive_retry_decision *out);

#endif
