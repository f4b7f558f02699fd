/*
 * circuit.h - the circuit breaker, one per flow and runtime (adapter +
 * full command + model; SPEC section 4 and 12), off unless the flow spec
 * configures `defaults.circuit_breaker`: its whole life in one room.
 *
 *  - configuration: parse, defaults, canonical JSON (pure);
 *  - the state machine: which outcomes count, allow, record (pure, so it is
 *    unit-tested without a store; the caller passes the clock);
 *  - its state in the store: load it from the projection, and record an
 *    attempt's start or outcome as circuit_* events in the caller's write
 *    transaction.
 *
 * The projection document circuit/<flow-id>/<key> (core/projection.c)
 * keeps the consecutive-failure count with hive_circuit_failures_after, the
 * same rule the state machine uses.
 *
 * Errors: the parsers return 0 or HIVE_EINVALID naming the field; the
 * transaction functions return 0 or the error of the emit (core/emit.h).
 */
#ifndef HIVE_CIRCUIT_H
#define HIVE_CIRCUIT_H

#include <jansson.h>
#include <stdint.h>

#include "core/outcome.h"
#include "events/store.h"

/* Upper bound of failure_threshold the parser enforces. */
#define HIVE_CIRCUIT_THRESHOLD_LIMIT 1000000

typedef struct {
	int enabled;              /* 0 = off: the breaker never opens (SPEC 12: off unless configured) */
	int failure_threshold;    /* default 5, 1..HIVE_CIRCUIT_THRESHOLD_LIMIT */
	int64_t reset_timeout_ms; /* default 60s */
} hive_circuit_config;

/* Size of a circuit key with its NUL: "<adapter>-" + 16 hex digits. */
#define HIVE_CIRCUIT_KEY_LEN 96

/* The circuit a runtime (task runtime object, borrowed) belongs to: its
 * adapter name, '-', and the first 16 hex digits of the SHA-256 of
 * [adapter, command, args, model] as compact JSON (SPEC 12: keyed on
 * adapter + full command + model), e.g. "exec-3f2a9c01d4e5b6a7".  Two
 * tasks share a circuit exactly when those four are equal.  An adapter
 * name too long for the key is cut (it is ours to choose: short). */
void hive_circuit_key(const json_t *runtime, char key[HIVE_CIRCUIT_KEY_LEN]);

/* The defaults of a configured breaker (enabled, 5, 60s). */
void hive_circuit_config_default(hive_circuit_config *c);

/* Parse {"failure_threshold": 5, "reset_timeout": "60s"} (borrowed; keys
 * optional, defaults otherwise; obj NULL → defaults, enabled).  Errors name the field
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
 * caller starts it) or 0.  A breaker that is not enabled always says yes.
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
 * Record a finished attempt's outcome; hive_circuit_classify says which
 * outcomes are failures and hive_circuit_failures_after how they count.
 * A breaker that is not enabled records nothing.
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

/* "closed", "open", "half_open"; "unknown" when out of range. */
const char *hive_circuit_state_name(hive_circuit_state s);

/* The state named `name` ("closed", "open", "half_open"); closed when NULL
 * or unknown (a missing document is a closed circuit). */
hive_circuit_state hive_circuit_state_parse(const char *name);

/* ------------------------------------------------------------------ */
/* Which outcomes count                                               */
/* ------------------------------------------------------------------ */

typedef enum {
	HIVE_CIRCUIT_IGNORED, /* aborted, interrupted: a person or a signal stopped it; says nothing of the runtime */
	HIVE_CIRCUIT_FAILURE, /* runtime_failed, timeout, runtime_unavailable */
	HIVE_CIRCUIT_SUCCESS, /* success, check_failed, crashed: the runtime started and ran */
} hive_circuit_verdict;

/* The one circuit-failure rule (SPEC section 4), used by the state machine
 * and by the projection: how outcome `o` counts for its runtime's circuit.
 * Out-of-range outcomes are ignored. */
hive_circuit_verdict hive_circuit_classify(hive_outcome o);

/* The consecutive-failure count after an attempt with outcome `o` ends on a
 * circuit in `state` with `failures` so far (the policy's reading):
 * an open circuit counts nothing (attempts that started before it opened
 * finish late and do not decide); ignored outcomes count nothing; a failure
 * adds one (saturating); anything else resets to 0. */
int hive_circuit_failures_after(hive_circuit_state state, int failures, hive_outcome o);

/* ------------------------------------------------------------------ */
/* In the store (inside the caller's transaction)                     */
/* ------------------------------------------------------------------ */

/* Load circuit `key` (hive_circuit_key) of flow `flow_id`: the flow's
 * configuration (defaults.circuit_breaker; absent or null → not enabled;
 * invalid → the defaults, enabled) and the state of the projection
 * document (closed when absent).  A half-open probe is in flight only while
 * the attempt named in probe_attempt runs.  Returns 0. */
int hive_circuit_load(hive_txn *txn, const char *flow_id, const char *key, hive_circuit *c,
		      hive_circuit_config *cfg);

/* 1 when flow document `flow` (borrowed) configures a circuit breaker. */
int hive_circuit_configured(const json_t *flow);

/* An attempt of `task` (document, borrowed) is about to start at now_ms
 * on the task's runtime: when its circuit lets it start as the half-open
 * probe, emit circuit_half_opened naming attempt_id.  HIVE_ECONFLICT when
 * the circuit is open (nothing emitted). */
int hive_circuit_note_start(hive_txn *txn, const json_t *task, const char *attempt_id, int64_t now_ms);

/* Record the outcome of an attempt of `task` on circuit `key` (of
 * `runtime`, the attempt's runtime object, borrowed, may be NULL) in *c
 * (loaded with hive_circuit_load BEFORE the attempt_completed event was
 * applied) and emit circuit_opened / circuit_closed when it changes state.
 * The events carry adapter, circuit (the key), command and model. */
int hive_circuit_note_outcome(hive_txn *txn, const json_t *task, const char *key, const json_t *runtime,
			      hive_circuit *c, const hive_circuit_config *cfg, hive_outcome outcome,
			      int64_t now_ms);

#endif
