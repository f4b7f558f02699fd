/*
 * outcome.h - how an attempt ended (SPEC section 3): the enum, its names,
 * and the set a retry policy may retry.
 */
#ifndef HIVE_OUTCOME_H
#define HIVE_OUTCOME_H

typedef enum {
	HIVE_OUTCOME_SUCCESS,
	HIVE_OUTCOME_CHECK_FAILED,
	HIVE_OUTCOME_RUNTIME_FAILED,
	HIVE_OUTCOME_TIMEOUT,
	HIVE_OUTCOME_CRASHED,
	HIVE_OUTCOME_RUNTIME_UNAVAILABLE,
	HIVE_OUTCOME_ABORTED,
	/* SIGINT, SIGTERM or SIGHUP stopped the runner (SPEC section 12): never
	 * charged to a budget or a circuit, retried at once on the next run */
	HIVE_OUTCOME_INTERRUPTED,
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

#endif
