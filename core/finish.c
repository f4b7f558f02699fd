/*
 * finish.c - the end of an attempt: attempt_completed, the retry decision
 * (SPEC section 4) and the circuit breaker, in one write transaction.
 *
 * The backoff delay is computed here, once, and written into
 * task_retry_scheduled with its not-before time, so a replay never rolls
 * the jitter dice again.
 */
#include "core/finish.h"

#include <stdio.h>
#include <string.h>

#include "core/circuit.h"
#include "core/emit.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/projection.h"
#include "core/retry.h"
#include "core/rng.h"
#include "core/state.h"
#include "events/error.h"
#include "events/id.h"
#include "events/json.h"

/* The facts of the decision.  budget_used holds the attempts counted
 * before this one: explicit budgets at their index, the implicit one at
 * index 0 — which is where hive_retry_decide expects it (n_budgets == 0). */
static void fill_input(const json_t *task, int outcome, const json_t *verdict, hive_retry_input *in)
{
	memset(in, 0, sizeof *in);
	in->outcome = (hive_outcome)outcome;
	json_t *used = json_object_get(task, "budget_used");
	for (size_t i = 0; i < json_array_size(used) && i <= HIVE_MAX_BUDGETS; i++)
		in->budget_used[i] = (int)json_integer_value(json_array_get(used, i));
	in->verdict_retryable = !(verdict && json_is_false(json_object_get(verdict, "retryable")));
	in->verdict_retry_after_ms = verdict ? json_integer_value(json_object_get(verdict, "retry_after_ms")) : 0;
	/* retry.deadline: the instant attempt_started recorded for the first
	 * attempt since the last reset (projection "deadline_at_ms") */
	in->deadline_at_ms = json_integer_value(json_object_get(task, "deadline_at_ms"));
}

static json_t *budget_json(const hive_retry_policy *pol, const hive_retry_decision *d)
{
	if (d->budget < 0)
		return json_null();
	unsigned on = pol->n_budgets ? pol->budgets[d->budget].on : pol->retry_on;
	json_t *names = json_array();
	for (int o = 0; o < HIVE_OUTCOME__COUNT; o++)
		if (on & (1u << o))
			json_array_append_new(names, json_string(hive_outcome_name((hive_outcome)o)));
	return json_pack("{s:i,s:o,s:i,s:i}", "index", d->budget, "on", names, "used", d->used, "max", d->max);
}

static int schedule_retry(hive_txn *txn, const json_t *task, const hive_retry_policy *pol,
			  const hive_retry_decision *d, int outcome, int number, int64_t now_ms)
{
	int rc = hive_emit_task_state(txn, task, HIVE_TASK_RETRY, d->reason);
	if (rc)
		return rc;
	char nb[40];
	hive_time_format_ms(now_ms + d->delay_ms, nb, sizeof nb);
	json_t *p = hive_json_pack("{s:i,s:s,s:I,s:s,s:I,s:o}", "next_attempt", number + 1, "outcome",
			      hive_outcome_name((hive_outcome)outcome), "delay_ms", (json_int_t)d->delay_ms,
			      "not_before", nb, "not_before_ms", (json_int_t)(now_ms + d->delay_ms), "budget",
			      budget_json(pol, d));
	if (p && json_is_string(json_object_get(task, "deadline_at")))
		json_object_set(p, "deadline_at", json_object_get(task, "deadline_at"));
	if (p && d->retry_after_capped) {
		json_object_set_new(p, "retry_after_capped", json_true());
		json_object_set_new(p, "retry_after_requested_ms", json_integer((json_int_t)d->retry_after_requested_ms));
	}
	return hive_emit_for_task(txn, task, HIVE_EV_TASK_RETRY_SCHEDULED, p, NULL);
}

static int fail_task(hive_txn *txn, json_t *task, const hive_retry_policy *pol, const hive_retry_decision *d)
{
	int rc = hive_emit_task_state(txn, task, HIVE_TASK_FAILED, d->reason);
	if (rc || !(d->exhausted && pol->on_exhausted_escalate))
		return rc;
	json_object_set_new(task, "state", json_string("failed"));
	rc = hive_emit_task_state(txn, task, HIVE_TASK_ESCALATED, d->deadline_exceeded
				  ? "retry.deadline exceeded; a person must decide"
				  : "retry budget exhausted; a person must decide");
	if (!rc)
		rc = hive_emit_for_task(txn, task, HIVE_EV_TASK_ESCALATED,
					hive_json_pack("{s:s}", "reason", d->reason), NULL);
	return rc;
}

/* ---- the decision ------------------------------------------------------------------ */

/* SPEC section 12: an attempt a signal to the runner interrupted is retried
 * with no delay on the next run, charged to no budget. */
static void interrupted_decision(hive_retry_decision *d, const char *summary)
{
	memset(d, 0, sizeof *d);
	d->retry = 1;
	d->budget = -1;
	if (hive_error_is_storage_failure(summary)) /* a full disk stopped the runner (SPEC 12) */
		snprintf(d->reason, sizeof d->reason, "stopped by a storage error (%s); retried on the next run", summary);
	else
		snprintf(d->reason, sizeof d->reason, "interrupted by a signal to the runner; retried on the next run");
}

int hive_finish_attempt(hive_txn *txn, const char *task_id, const char *attempt_id, hive_outcome outcome,
			int64_t duration_ms, const json_t *failed_checks, const json_t *verdict,
			const char *summary, uint64_t seed)
{
	json_t *task = hive_proj_task(txn, task_id);
	json_t *att = hive_proj_attempt(txn, attempt_id);
	int rc = 0;
	if (!task || !att || !hive_proj_attempt_running(att))
		goto out; /* already ended (a person aborted it): nothing more to record */
	int number = (int)json_integer_value(json_object_get(att, "attempt_number"));
	const char *adapter = hive_json_str(att, "runtime");
	/* the circuit the attempt started on; an attempt_started of an older
	 * hive names none: its circuit was keyed by the adapter name, as the
	 * projection counts it (count_circuit) */
	char key[HIVE_CIRCUIT_KEY_LEN];
	const json_t *runtime = json_object_get(task, "runtime");
	snprintf(key, sizeof key, "%s", hive_json_str(att, "circuit") ? hive_json_str(att, "circuit")
				       : adapter ? adapter : "");
	hive_retry_policy pol;
	hive_retry_policy_of(task, &pol);
	hive_retry_input in;
	fill_input(task, outcome, verdict, &in);
	hive_circuit circ;
	hive_circuit_config cfg;
	if (adapter)
		hive_circuit_load(txn, hive_json_str(task, "flow_id"), key, &circ, &cfg);
	json_t *p = hive_json_pack("{s:s,s:I,s:i,s:o,s:o}", "outcome", hive_outcome_name((hive_outcome)outcome),
			      "duration_ms", (json_int_t)duration_ms, "attempt_number", number, "failed_checks",
			      failed_checks ? json_deep_copy(failed_checks) : json_array(),
			      "summary", summary ? json_string(summary) : json_null());
	if ((rc = hive_emit_for_task(txn, task, HIVE_EV_ATTEMPT_COMPLETED, p, attempt_id)))
		goto out;
	int64_t now = hive_time_now_ms();
	if (adapter && (rc = hive_circuit_note_outcome(txn, task, key, runtime, &circ, &cfg, (hive_outcome)outcome, now)))
		goto out;
	in.now_ms = now;
	hive_rng rng;
	hive_rng_seed(&rng, seed ^ (uint64_t)now ^ ((uint64_t)number << 32));
	hive_retry_decision d;
	hive_retry_decide(&pol, &in, &rng, &d);
	if (outcome == HIVE_OUTCOME_INTERRUPTED)
		interrupted_decision(&d, summary); /* whatever the policy says: no budget, no delay */
	if (outcome == HIVE_OUTCOME_SUCCESS)
		rc = hive_emit_task_state(txn, task, HIVE_TASK_SUCCESS, "all required checks passed");
	else if (d.retry)
		rc = schedule_retry(txn, task, &pol, &d, outcome, number, now);
	else
		rc = fail_task(txn, task, &pol, &d);
out:
	json_decref(task);
	json_decref(att);
	return rc;
}
