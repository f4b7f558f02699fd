/*
 * policy.h - the retry rule, in pure functions (SPEC sections 3 and 4).
 *
 * Everything here is deterministic and does no I/O: durations, outcome
 * classes, the `retry` policy (parse, validate, canonical JSON), backoff with
 * seeded jitter, the retry decision, and the per-runtime circuit breaker as a
 * state machine.  The scheduler feeds it facts taken from the event log and
 * writes what it decides (delay, budget, transitions) back into events, so a
 * replay never re-rolls dice or re-reads a clock.
 *
 * Errors: functions returning int return 0 or HIVE_EINVALID, with one line in
 * hive_error_last() that starts with the full field path, e.g.
 *   tasks[0].retry.backoff.initial: invalid duration "5x" (use e.g. 500ms, 2s, 1m, 1h)
 * On error the output argument is left untouched.
 *
 * Needs no libm: powers are computed by repeated squaring.
 */
#ifndef HIVE_POLICY_H
#define HIVE_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Durations                                                          */
/* ------------------------------------------------------------------ */

/* Largest accepted duration: 2^53 ms (about 285,000 years).  Exactly
 * representable as a double, and far enough from INT64_MAX that
 * `now_ms + duration` cannot overflow. */
#define HIVE_DURATION_MAX_MS ((int64_t)1 << 53)

/* Parse a duration into whole milliseconds.  Accepted: "0", or one or more
 * <number><unit> groups with unit ms, s, m or h and an optional decimal
 * fraction: "250ms", "1s", "1.5s", ".5s", "2m", "1h", "1h30m", "0s".
 * Rejected with HIVE_EINVALID (message quotes the input): NULL or empty,
 * negative, missing or unknown unit, spaces, exponents, a bare number other
 * than 0, a value finer than a millisecond ("1.5ms", "0.0001s"), and values
 * above HIVE_DURATION_MAX_MS.  The message carries no field name: callers
 * prefix it with theirs. */
int hive_duration_parse(const char *s, int64_t *ms_out);

/* Buffer size that always holds hive_duration_format's output. */
#define HIVE_DURATION_FMT_MAX 32

/* Short, exact, deterministic human text for `ms`: "0s", "250ms", "4.2s",
 * "1m30s", "1h30m", "1h2m3.456s" (negative values get a leading '-').  The
 * output always parses back to the same value with hive_duration_parse.
 * Truncated (and still NUL-terminated) when n is too small; n == 0 writes
 * nothing. */
void hive_duration_format(int64_t ms, char *out, size_t n);

/* ------------------------------------------------------------------ */
/* Outcomes (SPEC section 3)                                          */
/* ------------------------------------------------------------------ */

typedef enum {
	HIVE_OUTCOME_SUCCESS,
	HIVE_OUTCOME_CHECK_FAILED,
	HIVE_OUTCOME_RUNTIME_FAILED,
	HIVE_OUTCOME_TIMEOUT,
	HIVE_OUTCOME_CRASHED,
	HIVE_OUTCOME_RUNTIME_UNAVAILABLE,
	HIVE_OUTCOME_ABORTED,
	HIVE_OUTCOME__COUNT
} hive_outcome;

/* Outcome sets are bitmasks of HIVE_OUTCOME_BIT(outcome). */
#define HIVE_OUTCOME_BIT(o) (1u << (unsigned)(o))

/* The only outcomes a policy may retry.  success, runtime_unavailable and
 * aborted are never retried whatever the policy says, and the parser rejects
 * them in `retry_on` and `budgets[].on`. */
#define HIVE_OUTCOMES_RETRYABLE                                             \
	(HIVE_OUTCOME_BIT(HIVE_OUTCOME_CHECK_FAILED) |                          \
	 HIVE_OUTCOME_BIT(HIVE_OUTCOME_RUNTIME_FAILED) |                        \
	 HIVE_OUTCOME_BIT(HIVE_OUTCOME_TIMEOUT) |                               \
	 HIVE_OUTCOME_BIT(HIVE_OUTCOME_CRASHED))

/* "success", "check_failed", ... (static string); "unknown" when out of range. */
const char *hive_outcome_name(hive_outcome o);
/* The outcome named `name`, or -1 when NULL or unknown.  Sets no error: the
 * caller knows which field it came from. */
int hive_outcome_parse(const char *name);

/* ------------------------------------------------------------------ */
/* The retry policy (SPEC section 4)                                  */
/* ------------------------------------------------------------------ */

typedef enum { HIVE_JITTER_NONE, HIVE_JITTER_FULL, HIVE_JITTER_EQUAL } hive_jitter;

typedef struct {
	int64_t initial_ms, max_ms; /* 0..HIVE_DURATION_MAX_MS */
	double coefficient;         /* >= 1 */
	hive_jitter jitter;
} hive_backoff;

typedef struct {
	unsigned on;      /* non-empty subset of HIVE_OUTCOMES_RETRYABLE */
	int max_attempts; /* >= 1; attempts routed to this budget, first included */
	hive_backoff backoff;
} hive_budget;

#define HIVE_MAX_BUDGETS 16
/* Upper bounds the parser enforces, so counts always fit an int. */
#define HIVE_MAX_ATTEMPTS_LIMIT 10000
#define HIVE_CONTEXT_LIMIT 1000000

typedef struct {
	int max_attempts;          /* default 3, 1..HIVE_MAX_ATTEMPTS_LIMIT */
	unsigned retry_on;         /* default check_failed|runtime_failed|timeout|crashed; may be empty */
	hive_backoff backoff;      /* defaults initial 0, max 60s, coefficient 2.0, jitter none */
	int n_budgets;             /* 0 = no explicit budgets */
	hive_budget budgets[HIVE_MAX_BUDGETS];
	int mode_continue;         /* "clean" (default, 0) | "continue" (1) */
	int on_exhausted_escalate; /* "fail" (default, 0) | "escalate" (1) */
	struct {
		int max_prior_attempts, max_check_output_lines, max_diff_lines;
	} context;                 /* defaults 3, 50, 500; each 0..HIVE_CONTEXT_LIMIT */
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
 * Validation (each failure → HIVE_EINVALID naming the field under `where`,
 * e.g. "tasks[0].retry.budgets[1].on[0]"; `where` NULL means "retry"):
 * unknown keys, wrong JSON types, max_attempts outside 1..10000, durations
 * (see hive_duration_parse), coefficient < 1, jitter other than
 * none|full|equal, mode other than clean|continue, on_exhausted other than
 * fail|escalate, context limits outside 0..1000000, outcome names that are
 * unknown or never retried (success, runtime_unavailable, aborted), a budget
 * without `on` or with an empty one, more than HIVE_MAX_BUDGETS budgets.
 * An empty `retry_on` is allowed and means "never retry".
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
 *    "context":{"max_prior_attempts":3,"max_check_output_lines":50,"max_diff_lines":500}}
 * Returns a new reference; NULL only when out of memory.
 */
json_t *hive_retry_policy_to_json(const hive_retry_policy *p);

/* Parse the canonical form (borrowed) into *out.  Strict: every field is
 * required, unknown keys and out-of-range values are rejected exactly as in
 * hive_retry_policy_parse; error paths start with "retry". */
int hive_retry_policy_from_json(const json_t *canonical, hive_retry_policy *out);

/* The policy of a task projection document (borrowed): its canonical
 * "retry" member, or the built-in default when that is absent or invalid
 * (a task_created event always carries one; the default is only a guard). */
void hive_retry_policy_of(const json_t *task, hive_retry_policy *out);

/* The budget an attempt with outcome `o` is counted against: with budgets,
 * the first whose `on` holds o; without, the implicit budget (index
 * n_budgets, i.e. 0) when o is in retry_on.  -1 when none applies or o is
 * never retried. */
int hive_retry_policy_budget_for(const hive_retry_policy *p, hive_outcome o);

/* ------------------------------------------------------------------ */
/* Deterministic randomness                                           */
/* ------------------------------------------------------------------ */

/* splitmix64: tiny, fast, and the same sequence on every platform for the
 * same seed.  Any seed (0 included) is fine.  Not for cryptography. */
typedef struct { uint64_t state; } hive_rng;

void hive_rng_seed(hive_rng *r, uint64_t seed);
uint64_t hive_rng_next(hive_rng *r);
/* Uniform in [0, 1), 53 bits. */
double hive_rng_unit(hive_rng *r);
/* Uniform integer in [0, bound) without modulo bias; 0 when bound == 0. */
uint64_t hive_rng_below(hive_rng *r, uint64_t bound);

/* ------------------------------------------------------------------ */
/* Backoff                                                            */
/* ------------------------------------------------------------------ */

/*
 * Delay in ms before attempt n+1, where n >= 1 is the number of attempts
 * already used in the budget (n < 1 is treated as 1):
 *   d = min(max, initial × coefficient^(n-1)), rounded to the nearest ms,
 * computed in double and clamped before converting, so huge n cannot
 * overflow.  Then jitter: none → d; full → uniform integer in [0, d];
 * equal → floor(d/2) + uniform integer in [0, d - floor(d/2)] (so within
 * [d/2, d]).  `rng` may be NULL only when jitter is none; one draw is taken
 * from it otherwise.
 */
int64_t hive_backoff_delay(const hive_backoff *b, int n, hive_rng *rng);

/* ------------------------------------------------------------------ */
/* The retry decision                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
	hive_outcome outcome;
	/* Attempts already counted against each budget BEFORE this attempt;
	 * index n_budgets is the implicit budget (used when n_budgets == 0). */
	int budget_used[HIVE_MAX_BUDGETS + 1];
	int verdict_retryable;          /* 1 unless the runtime said retryable:false */
	int64_t verdict_retry_after_ms; /* 0 = none; negative is ignored */
} hive_retry_input;

typedef struct {
	int retry;          /* 1 = schedule another attempt after delay_ms */
	int exhausted;      /* 1 = not retried because the budget is spent (→ on_exhausted) */
	int budget;         /* budget that applied (n_budgets = implicit one), -1 if none */
	int used, max;      /* that budget's usage INCLUDING this attempt, and its max; 0, 0 if none */
	int64_t delay_ms;   /* backoff after jitter, raised to retry_after; 0 unless retry */
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
 *     capped by backoff.max) ("retrying: 1 of 3 attempts used").
 *
 * The caller counts this attempt against out->budget (when >= 0) before the
 * next decision, and records delay_ms and budget in task_retry_scheduled.
 */
void hive_retry_decide(const hive_retry_policy *p, const hive_retry_input *in,
                       hive_rng *rng, hive_retry_decision *out);

/* ------------------------------------------------------------------ */
/* Circuit breaker (one per runtime adapter)                          */
/* ------------------------------------------------------------------ */

typedef struct {
	int failure_threshold;    /* default 5, 1..1000000 */
	int64_t reset_timeout_ms; /* default 60s */
} hive_circuit_config;

void hive_circuit_config_default(hive_circuit_config *c);

/* Parse {"failure_threshold": 5, "reset_timeout": "60s"} (borrowed; keys
 * optional, defaults otherwise; obj NULL → defaults).  Errors name the field
 * under `where` (NULL → "circuit_breaker"), e.g.
 * "defaults.circuit_breaker.failure_threshold: ...". */
int hive_circuit_config_parse(const json_t *obj, const char *where, hive_circuit_config *out);

/* Canonical form {"failure_threshold": 5, "reset_timeout_ms": 60000}: new
 * reference (NULL only when out of memory), and its strict parser. */
json_t *hive_circuit_config_to_json(const hive_circuit_config *c);
int hive_circuit_config_from_json(const json_t *canonical, hive_circuit_config *out);

typedef enum { HIVE_CIRCUIT_CLOSED, HIVE_CIRCUIT_OPEN, HIVE_CIRCUIT_HALF_OPEN } hive_circuit_state;

/* A zero-initialised hive_circuit is closed with no failures. */
typedef struct {
	hive_circuit_state state;
	int consecutive_failures;
	int64_t opened_at_ms;
	int probe_in_flight; /* half-open: the single probe attempt has started */
} hive_circuit;

/*
 * May an attempt on this runtime start at now_ms?  Returns 1 (yes, and the
 * caller starts it) or 0.
 *  - closed: yes.
 *  - open: no, until reset_timeout has passed since opened_at_ms; then the
 *    circuit goes half-open (*transition = HIVE_CIRCUIT_HALF_OPEN) and this
 *    call's attempt is the probe.
 *  - half-open: yes only when no probe is in flight (it then becomes the
 *    probe); so exactly one attempt runs until its outcome is recorded.
 * *transition (may be NULL) is the new state when it changed, else -1.
 */
int hive_circuit_allow(hive_circuit *c, const hive_circuit_config *cfg, int64_t now_ms,
                       int *transition);

/*
 * Record a finished attempt's outcome.  runtime_failed, timeout and
 * runtime_unavailable are failures; every other outcome except aborted
 * (success, check_failed, crashed: the runtime itself started and ran)
 * resets the consecutive count.
 *  - closed: the threshold-th consecutive failure opens it (opened_at = now).
 *  - half-open: a failure re-opens it (opened_at = now, timer restarts); any
 *    non-failure closes it.
 *  - open: nothing changes: attempts that started before it opened finish
 *    late and do not decide; only the probe does.
 *  - aborted changes nothing, except that an aborted probe frees the
 *    half-open slot so another probe may start.
 * *transition (may be NULL) is HIVE_CIRCUIT_OPEN / HIVE_CIRCUIT_CLOSED or -1.
 */
void hive_circuit_record(hive_circuit *c, const hive_circuit_config *cfg, hive_outcome outcome,
                         int64_t now_ms, int *transition);

/* "closed", "open", "half_open"; "unknown" when out of range. */
const char *hive_circuit_state_name(hive_circuit_state s);

#endif
