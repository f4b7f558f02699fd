/*
 * retry.c - the retry decision.  See retry.h.
 */
#include "core/retry.h"

#include "core/backoff.h"
#include "core/duration.h"
#include "events/id.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(hive_retry_decision *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(hive_retry_decision *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

/* "budget" for the implicit budget, "budgets[i]" for an explicit one. */
static void budget_label(const hive_retry_policy *p, int b, char *buf, size_t n)
{
	if (b == p->n_budgets)
		snprintf(buf, n, "budget");
	else
		snprintf(buf, n, "budgets[%d]", b);
}

/* The budget that applies to outcome `o`, or -1 with out->reason saying why
 * the outcome is not retried at all. */
static int applicable_budget(const hive_retry_policy *p, hive_outcome o, hive_retry_decision *out)
{
	int b = hive_retry_policy_budget_for(p, o);
	if (o == HIVE_OUTCOME_SUCCESS)
		say(out, "attempt succeeded");
	else if ((unsigned)o >= HIVE_OUTCOME__COUNT || !(HIVE_OUTCOME_BIT(o) & HIVE_OUTCOMES_RETRYABLE))
		say(out, "outcome %s is never retried", hive_outcome_name(o));
	else if (b < 0 && p->n_budgets)
		say(out, "outcome %s matches no budget", hive_outcome_name(o));
	else if (b < 0)
		say(out, "outcome %s is not in retry_on", hive_outcome_name(o));
	return b;
}

/* Rule 7: a retry that could not start before retry.deadline is not
 * scheduled; the reason names the deadline and the policy's duration. */
static void past_deadline(const hive_retry_policy *p, const hive_retry_input *in, hive_retry_decision *out)
{
	if (in->deadline_at_ms <= 0 || in->now_ms + out->delay_ms < in->deadline_at_ms)
		return;
	char at[40], dur[32];
	hive_time_format_ms(in->deadline_at_ms, at, sizeof at);
	hive_duration_format(p->deadline_ms, dur, sizeof dur);
	out->retry = 0;
	out->delay_ms = 0;
	out->retry_after_capped = 0;
	out->retry_after_requested_ms = 0;
	out->exhausted = out->deadline_exceeded = 1;
	if (in->now_ms >= in->deadline_at_ms)
		say(out, "retry.deadline exceeded: %s since the first attempt passed at %s", dur, at);
	else
		say(out, "retry.deadline exceeded: the next attempt would start after %s (%s since the first attempt)",
		    at, dur);
}

void hive_retry_decide(const hive_retry_policy *p, const hive_retry_input *in,
                       hive_rng *rng, hive_retry_decision *out)
{
	memset(out, 0, sizeof *out);
	assert((unsigned)in->outcome < HIVE_OUTCOME__COUNT);
	int b = out->budget = applicable_budget(p, in->outcome, out);
	if (b < 0)
		return;
	const hive_budget implicit = {p->retry_on, p->max_attempts, p->backoff};
	const hive_budget *bud = b < p->n_budgets ? &p->budgets[b] : &implicit;
	int before = in->budget_used[b] > 0 ? in->budget_used[b] : 0;
	out->used = before < INT_MAX ? before + 1 : INT_MAX;
	out->max = bud->max_attempts;
	if (!in->verdict_retryable) {
		say(out, "runtime verdict retryable:false");
	} else if (out->used >= out->max) {
		char label[32];
		budget_label(p, b, label, sizeof label);
		out->exhausted = 1;
		say(out, "%s exhausted: %d of %d attempts used", label, out->used, out->max);
	} else {
		out->retry = 1;
		out->delay_ms = hive_backoff_delay(&bud->backoff, out->used, rng);
		int64_t after = in->verdict_retry_after_ms;
		if (after > p->max_retry_after_ms) { /* a runtime must not park a task for ever */
			out->retry_after_capped = 1;
			out->retry_after_requested_ms = after;
			after = p->max_retry_after_ms;
		}
		if (after > out->delay_ms)
			out->delay_ms = after;
		say(out, "retrying: %d of %d attempts used", out->used, out->max);
		past_deadline(p, in, out);
	}
}
