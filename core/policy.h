/*
 * policy.h - the `retry` policy (SPEC section 4): its defaults, parsing with
 * inheritance, validation, and its canonical JSON.  Pure; no I/O.
 *
 * The pieces it is made of have their own rooms: durations (duration.h),
 * outcomes (outcome.h), backoff (backoff.h); the decision that applies a
 * policy is retry.h, the circuit breaker circuit.h.
 *
 * Errors: functions returning int return 0 or HIVE_EINVALID, with one line in
 * hive_error_last() that starts with the full field path, e.g.
 *   tasks[0].retry.backoff.initial: invalid duration "5x" (use e.g. 500ms, 2s, 1m, 1h)
 * On error the output argument is left untouched.
 */
#ifndef HIVE_POLICY_H
#define HIVE_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/backoff.h"
#include "core/outcome.h"

typedef struct {
	unsigned on;      /* non-empty subset of HIVE_OUTCOMES_RETRYABLE */
	int max_attempts; /* >= 1; attempts routed to this budget, first included */
	hive_backoff backoff;
} hive_budget;

#define HIVE_MAX_BUDGETS 16
/* Upper bounds the parser enforces, so counts always fit an int. */
#define HIVE_MAX_ATTEMPTS_LIMIT 10000
#define HIVE_CONTEXT_LIMIT 1000000
/* context.max_bytes: default and range (issue 10: a budget an agent's
 * prompt can afford; 1 KiB still holds a header and a verdict). */
#define HIVE_CONTEXT_BYTES_DEFAULT (16 * 1024)
#define HIVE_CONTEXT_BYTES_MIN     1024
#define HIVE_CONTEXT_BYTES_MAX     (64 * 1024)

/* How a retry's worktree starts (docs/lifecycle.md).  clean: the task's
 * base with tracked files reset and untracked files removed, ignored files
 * (build caches) kept, as `git clean -fd`; continue: the previous attempt's
 * checkpoint, ignored files kept; pristine: like clean and ignored files
 * removed too, as `git clean -fdx`.  The values are stored nowhere: the
 * names are. */
typedef enum {
	HIVE_RETRY_MODE_CLEAN = 0,
	HIVE_RETRY_MODE_CONTINUE = 1,
	HIVE_RETRY_MODE_PRISTINE = 2,
} hive_retry_mode;

typedef struct {
	int max_attempts;          /* default 3, 1..HIVE_MAX_ATTEMPTS_LIMIT */
	unsigned retry_on;         /* default check_failed|runtime_failed|timeout|crashed; may be empty */
	hive_backoff backoff;      /* defaults initial 0, max 60s, coefficient 2.0, jitter none */
	int n_budgets;             /* 0 = no explicit budgets */
	hive_budget budgets[HIVE_MAX_BUDGETS];
	hive_retry_mode mode;      /* "clean" (default) | "continue" | "pristine" */
	int on_exhausted_escalate; /* "fail" (default, 0) | "escalate" (1) */
	struct {
		int max_prior_attempts, max_check_output_lines, max_diff_lines;
		int max_bytes;     /* the rendered text's byte budget */
	} context;                 /* defaults 3, 50, 500 (each 0..HIVE_CONTEXT_LIMIT),
	                            * 16 KiB (HIVE_CONTEXT_BYTES_MIN..._MAX) */
	int64_t max_retry_after_ms; /* default 1h: the cap on a verdict's retry_after (SPEC 12) */
	int64_t deadline_ms;        /* default 0 = none: wall clock from the first attempt since the
	                             * last reset, backoff included, after which no retry is
	                             * scheduled (SPEC 12; retry.h) */
} hive_retry_policy;

/* Fill *p with the built-in defaults (SPEC section 4). */
void hive_retry_policy_default(hive_retry_policy *p);

/*
 * Parse the `retry` object `obj` (borrowed) on top of `base` into *out.
 *
 * `base` is the inherited policy (the flow's defaults, or NULL for the
 * built-in defaults).  Only keys present in `obj` override it; obj == NULL
 * (no `retry` key) yields a copy of base.  `out` may equal `base`.
 *
 * Inheritance rules:
 *  - `backoff` overrides field by field.
 *  - `budgets` replaces the inherited list as a whole (`[]` removes it).
 *    Missing fields of a budget inherit from the resulting policy: its
 *    max_attempts and its backoff field by field.  A budget list inherited
 *    unchanged from `base` keeps the values it was resolved with there.
 *  - `context` overrides field by field.
 *
 *  - `max_retry_after` (a duration) bounds a runtime verdict's retry_after,
 *    which may exceed backoff.max up to it (SPEC section 12).
 *  - `deadline` (a duration, "0s" = none) bounds the wall clock from the
 *    first attempt since the last reset (SPEC section 12).
 *
 * Validation (each failure → HIVE_EINVALID naming the field under `where`,
 * e.g. "tasks[0].retry.budgets[1].on[0]"; `where` NULL means "retry"):
 * unknown keys, wrong JSON types, max_attempts outside 1..10000, durations
 * (see hive_duration_parse), coefficient < 1, jitter other than
 * none|full|equal, mode other than clean|continue|pristine, on_exhausted other than
 * fail|escalate, context limits outside 0..1000000, outcome names that are
 * unknown or never retried (success, runtime_unavailable, aborted), a budget
 * without `on` or with an empty one, more than HIVE_MAX_BUDGETS budgets.
 * An empty `retry_on` is allowed and means "never retry".
 * What can never take effect is rejected too (docs/retry-context.md,
 * "Honest policy"): a backoff (the policy's or a budget's, after
 * inheritance) whose initial exceeds its max, naming `initial` (or `max`
 * when only max was written here); a budget every outcome of which an
 * earlier budget already takes (budgets[i].on).
 */
int hive_retry_policy_parse(const json_t *obj, const hive_retry_policy *base,
                            const char *where, hive_retry_policy *out);

/*
 * Canonical JSON of a full policy, for events and storage: every field
 * present, durations as integer milliseconds so it round-trips exactly:
 *   {"max_attempts":3, "retry_on":["check_failed",...],
 *    "backoff":{"initial_ms":0,"max_ms":60000,"coefficient":2.0,"jitter":"none"},
 *    "budgets":[{"on":[...],"max_attempts":5,"backoff":{...}}],
 *    "mode":"clean", "on_exhausted":"fail",
 *    "context":{"max_prior_attempts":3,"max_check_output_lines":50,"max_diff_lines":500,
 *               "max_bytes":16384},
 *    "max_retry_after_ms":3600000, "deadline_ms":0}
 * Returns a new reference; NULL only when out of memory.
 */
json_t *hive_retry_policy_to_json(const hive_retry_policy *p);

/* Parse the canonical form (borrowed) into *out.  Strict: every field is
 * required, unknown keys and out-of-range values are rejected exactly as in
 * hive_retry_policy_parse; error paths start with "retry".  The exceptions:
 * max_retry_after_ms and deadline_ms may be absent (policies stored before
 * they existed) and then take their defaults; the "can never take effect"
 * checks are not applied (a stored policy is read as it was accepted). */
int hive_retry_policy_from_json(const json_t *canonical, hive_retry_policy *out);

/* The policy of a task projection document (borrowed): its canonical
 * "retry" member, or the built-in default when that is absent or invalid
 * (a task_created event always carries one; the default is only a guard). */
void hive_retry_policy_of(const json_t *task, hive_retry_policy *out);

/* The effective retry mode of a task projection document (borrowed): the
 * mode its next attempt uses.  An override recorded by `task retry --mode`
 * (the document's "mode") wins, else the policy's. */
hive_retry_mode hive_retry_policy_mode_of(const json_t *task);

/* "clean", "continue" or "pristine" (static string) for a mode. */
const char *hive_retry_policy_mode_name(hive_retry_mode mode);

/* The mode named `name`: 0 with *out set, or HIVE_EINVALID (nothing set,
 * no message: the caller names its input). */
int hive_retry_policy_mode_parse(const char *name, hive_retry_mode *out);

/* The budget an attempt with outcome `o` is counted against: with budgets,
 * the first whose `on` holds o; without, the implicit budget (index
 * n_budgets, i.e. 0) when o is in retry_on.  -1 when none applies or o is
 * never retried. */
int hive_retry_policy_budget_for(const hive_retry_policy *p, hive_outcome o);

#endif
