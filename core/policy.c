/*
 * policy.c - the retry policy: parse, validate, canonical JSON.  See
 * policy.h for the contracts.
 */
#include "core/policy.h"

#include "core/duration.h"
#include "core/jsoncheck.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Policy: field readers                                              */
/* ------------------------------------------------------------------ */

static const char *const jitter_names[] = {"none", "full", "equal", NULL};
static const char *const mode_names[] = {"clean", "continue", "pristine", NULL};
static const char *const exhausted_names[] = {"fail", "escalate", NULL};

#define RETRYABLE_LIST "check_failed, runtime_failed, timeout, crashed"


static int get_coefficient(const json_t *obj, const char *path, double *out)
{
	json_t *v = json_object_get(obj, "coefficient");
	if (!v)
		return 0;
	if (!json_is_number(v))
		return hive_jsoncheck_fail(path, "coefficient", "must be a number >= 1 (e.g. 2.0), got %s",
		               hive_json_type_name(v));
	if (!(json_number_value(v) >= 1.0))
		return hive_jsoncheck_fail(path, "coefficient", "must be a number >= 1 (e.g. 2.0), got %g",
		               json_number_value(v));
	*out = json_number_value(v);
	return 0;
}


/* One element of an outcome list → its bit, or an error naming path[i]. */
static int outcome_item(const json_t *item, const char *path, const char *key, size_t i,
                        unsigned *set)
{
	char *at = hive_jsoncheck_path(path, key, (long)i);
	int o = json_is_string(item) ? hive_outcome_parse(json_string_value(item)) : -1;
	int rc = 0;
	if (!json_is_string(item))
		rc = hive_jsoncheck_fail(at, NULL, "must be an outcome name, got %s", hive_json_type_name(item));
	else if (o < 0 || !(HIVE_OUTCOME_BIT(o) & HIVE_OUTCOMES_RETRYABLE)) {
		hive_buf m = {0};
		hive_buf_printf(&m, "%s: %soutcome \"", at, o < 0 ? "unknown " : "");
		hive_put_shown(&m, json_string_value(item));
		hive_buf_printf(&m, "\"%s (retryable outcomes: " RETRYABLE_LIST ")",
		                o < 0 ? "" : " is never retried");
		rc = hive_jsoncheck_fail_buf(&m);
	} else
		*set |= HIVE_OUTCOME_BIT(o);
	free(at);
	return rc;
}

/* Optional array of retryable outcome names → bitmask. */
static int get_outcomes(const json_t *obj, const char *path, const char *key, int allow_empty,
                        unsigned *out)
{
	json_t *v = json_object_get(obj, key), *item;
	size_t i;
	unsigned set = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return hive_jsoncheck_fail(path, key, "must be an array of outcome names such as [\"timeout\"], got %s",
		               hive_json_type_name(v));
	if (!allow_empty && json_array_size(v) == 0)
		return hive_jsoncheck_fail(path, key, "must not be empty (list the outcomes it covers, e.g. [\"timeout\"])");
	json_array_foreach(v, i, item) {
		int rc = outcome_item(item, path, key, i, &set);
		if (rc)
			return rc;
	}
	*out = set;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Policy: objects                                                    */
/* ------------------------------------------------------------------ */

static const char *const retry_keys[] = {"max_attempts", "retry_on", "backoff", "budgets",
                                         "mode", "on_exhausted", "context", "max_retry_after",
                                         "deadline", NULL};
/* The canonical form lists every field; one stored before max_retry_after
 * or deadline existed lacks them (and gets their defaults): the first
 * RETRY_CANON_REQUIRED keys are required, the rest optional. */
static const char *const retry_canon_keys[] = {"max_attempts", "retry_on", "backoff", "budgets", "mode",
                                               "on_exhausted", "context", "max_retry_after_ms",
                                               "deadline_ms", NULL};
#define RETRY_CANON_REQUIRED 7
static const char *const backoff_keys[] = {"initial", "max", "coefficient", "jitter", NULL};
static const char *const backoff_canon_keys[] = {"initial_ms", "max_ms", "coefficient", "jitter",
                                                 NULL};
static const char *const budget_keys[] = {"on", "max_attempts", "backoff", NULL};
static const char *const context_keys[] = {"max_prior_attempts", "max_check_output_lines",
                                           "max_diff_lines", "max_bytes", NULL};
/* Canonical forms written before max_bytes existed lack it: it is the one
 * context key a canonical form may leave out (the default applies). */
#define CONTEXT_CANON_REQUIRED 3

/* Object field `key` of `obj` parsed by `fn` at path "<path>.<key>". */
typedef int (*sub_parser)(const json_t *v, const char *path, int canon, void *out);

static int get_sub(const json_t *obj, const char *path, const char *key, int canon,
                   sub_parser fn, void *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char *at = hive_jsoncheck_path(path, key, -1);
	int rc = fn(v, at, canon, out);
	free(at);
	return rc;
}

static int parse_backoff(const json_t *v, const char *path, int canon, void *out)
{
	const char *const *keys = canon ? backoff_canon_keys : backoff_keys;
	hive_backoff b = *(hive_backoff *)out;
	int jitter = (int)b.jitter, rc;
	if ((rc = hive_jsoncheck_keys(v, path, keys, canon)) ||
	    (rc = hive_jsoncheck_ms(v, path, keys[0], canon, &b.initial_ms)) ||
	    (rc = hive_jsoncheck_ms(v, path, keys[1], canon, &b.max_ms)) ||
	    (rc = get_coefficient(v, path, &b.coefficient)) ||
	    (rc = hive_jsoncheck_enum(v, path, "jitter", jitter_names, &jitter)))
		return rc;
	b.jitter = (hive_jitter)jitter;
	*(hive_backoff *)out = b;
	return 0;
}

static int parse_context(const json_t *v, const char *path, int canon, void *out)
{
	hive_retry_policy *p = out;
	int a = p->context.max_prior_attempts, b = p->context.max_check_output_lines;
	int c = p->context.max_diff_lines, d = p->context.max_bytes, rc;
	if ((rc = hive_jsoncheck_keys(v, path, context_keys, 0)))
		return rc;
	for (int k = 0; canon && k < CONTEXT_CANON_REQUIRED; k++)
		if (!json_object_get(v, context_keys[k]))
			return hive_jsoncheck_fail(path, context_keys[k], "missing (the canonical form lists every field)");
	if ((rc = hive_jsoncheck_int(v, path, context_keys[0], 0, HIVE_CONTEXT_LIMIT, &a)) ||
	    (rc = hive_jsoncheck_int(v, path, context_keys[1], 0, HIVE_CONTEXT_LIMIT, &b)) ||
	    (rc = hive_jsoncheck_int(v, path, context_keys[2], 0, HIVE_CONTEXT_LIMIT, &c)) ||
	    (rc = hive_jsoncheck_int(v, path, context_keys[3], HIVE_CONTEXT_BYTES_MIN,
	                             HIVE_CONTEXT_BYTES_MAX, &d)))
		return rc;
	p->context.max_prior_attempts = a;
	p->context.max_check_output_lines = b;
	p->context.max_diff_lines = c;
	p->context.max_bytes = d;
	return 0;
}

/* One budget; *b arrives holding the inherited values. */
static int parse_budget(const json_t *v, const char *path, int canon, hive_budget *b)
{
	int rc;
	if ((rc = hive_jsoncheck_keys(v, path, budget_keys, canon)))
		return rc;
	if (!json_object_get(v, "on"))
		return hive_jsoncheck_fail(path, "on", "missing (list the outcomes this budget covers, e.g. [\"timeout\"])");
	if ((rc = get_outcomes(v, path, "on", 0, &b->on)) ||
	    (rc = hive_jsoncheck_int(v, path, "max_attempts", 1, HIVE_MAX_ATTEMPTS_LIMIT, &b->max_attempts)) ||
	    (rc = get_sub(v, path, "backoff", canon, parse_backoff, &b->backoff)))
		return rc;
	return 0;
}

/* The budget list; each budget inherits from the policy resolved so far. */
static int parse_budgets(const json_t *v, const char *path, int canon, void *out)
{
	hive_retry_policy *p = out;
	hive_budget list[HIVE_MAX_BUDGETS];
	json_t *item;
	size_t i;
	if (!json_is_array(v))
		return hive_jsoncheck_fail(path, NULL, "must be an array of budget objects, got %s", hive_json_type_name(v));
	if (json_array_size(v) > HIVE_MAX_BUDGETS)
		return hive_jsoncheck_fail(path, NULL, "%zu budgets, at most %d allowed (merge budgets that share limits)",
		               json_array_size(v), HIVE_MAX_BUDGETS);
	json_array_foreach(v, i, item) {
		hive_buf b = {0};
		hive_buf_printf(&b, "%s[%zu]", path, i);
		list[i] = (hive_budget){.on = 0, .max_attempts = p->max_attempts, .backoff = p->backoff};
		int rc = parse_budget(item, hive_buf_str(&b), canon, &list[i]);
		hive_buf_dispose(&b);
		if (rc)
			return rc;
	}
	p->n_budgets = (int)json_array_size(v);
	memcpy(p->budgets, list, sizeof list[0] * (size_t)p->n_budgets);
	return 0;
}

/* The canonical form: every key known, the first RETRY_CANON_REQUIRED present. */
static int canon_keys(const json_t *obj, const char *path)
{
	int rc = hive_jsoncheck_keys(obj, path, retry_canon_keys, 0);
	for (int k = 0; !rc && k < RETRY_CANON_REQUIRED; k++)
		if (!json_object_get(obj, retry_canon_keys[k]))
			rc = hive_jsoncheck_fail(path, retry_canon_keys[k], "missing (the canonical form lists every field)");
	return rc;
}

/* Scalars and nested objects of a policy, `budgets` last so it inherits the
 * resolved max_attempts and backoff. */
static int parse_policy(const json_t *obj, const char *path, int canon, hive_retry_policy *p)
{
	int mode = (int)p->mode, exh = p->on_exhausted_escalate, rc;
	if ((rc = canon ? canon_keys(obj, path) : hive_jsoncheck_keys(obj, path, retry_keys, 0)) ||
	    (rc = hive_jsoncheck_int(obj, path, "max_attempts", 1, HIVE_MAX_ATTEMPTS_LIMIT, &p->max_attempts)) ||
	    (rc = get_outcomes(obj, path, "retry_on", 1, &p->retry_on)) ||
	    (rc = get_sub(obj, path, "backoff", canon, parse_backoff, &p->backoff)) ||
	    (rc = hive_jsoncheck_enum(obj, path, "mode", mode_names, &mode)) ||
	    (rc = hive_jsoncheck_enum(obj, path, "on_exhausted", exhausted_names, &exh)) ||
	    (rc = get_sub(obj, path, "context", canon, parse_context, p)) ||
	    (rc = hive_jsoncheck_ms(obj, path, canon ? "max_retry_after_ms" : "max_retry_after", canon,
	                            &p->max_retry_after_ms)) ||
	    (rc = hive_jsoncheck_ms(obj, path, canon ? "deadline_ms" : "deadline", canon, &p->deadline_ms)) ||
	    (rc = get_sub(obj, path, "budgets", canon, parse_budgets, p)))
		return rc;
	p->mode = (hive_retry_mode)mode;
	p->on_exhausted_escalate = exh;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Policy: what can never apply (issue 10, docs/retry-context.md)     */
/* ------------------------------------------------------------------ */

/* A backoff whose initial delay exceeds its max would silently be cut to
 * max: reject it, naming the key the user wrote (initial when this object
 * sets it, else max).  `raw` is the user's backoff object (may be NULL). */
static int check_backoff(const hive_backoff *b, const json_t *raw, const char *path)
{
	if (b->initial_ms <= b->max_ms)
		return 0;
	char ini[32], max[32];
	hive_duration_format(b->initial_ms, ini, sizeof ini);
	hive_duration_format(b->max_ms, max, sizeof max);
	if (json_object_get(raw, "initial") || !json_object_get(raw, "max"))
		return hive_jsoncheck_fail(path, "initial", "%s is more than backoff.max %s; the first delay cannot"
		                           " exceed the longest (lower initial or raise max)", ini, max);
	return hive_jsoncheck_fail(path, "max", "%s is less than backoff.initial %s; the longest delay cannot be"
	                           " shorter than the first (raise max or lower initial)", max, ini);
}

/* The list of outcomes in `set`, "timeout, crashed", into b. */
static void put_outcomes(hive_buf *b, unsigned set)
{
	const char *sep = "";
	for (int o = 0; o < HIVE_OUTCOME__COUNT; o++)
		if (set & HIVE_OUTCOME_BIT(o)) {
			hive_buf_printf(b, "%s%s", sep, hive_outcome_name((hive_outcome)o));
			sep = ", ";
		}
}

/* Budgets are tried in order and the first whose `on` holds the outcome
 * applies: a budget whose every outcome an earlier one already takes can
 * never apply. */
static int check_shadowed(const hive_retry_policy *p, const char *path)
{
	unsigned taken = 0;
	for (int i = 0; i < p->n_budgets; i++) {
		if ((p->budgets[i].on & ~taken) == 0) {
			hive_buf m = {0};
			hive_buf_printf(&m, "%s.budgets[%d].on: ", path, i);
			put_outcomes(&m, p->budgets[i].on);
			hive_buf_puts(&m, " already taken by an earlier budget (the first match applies), so this budget"
			                  " can never apply; remove it or merge it into the earlier one");
			return hive_jsoncheck_fail_buf(&m);
		}
		taken |= p->budgets[i].on;
	}
	return 0;
}

/* What the user wrote (obj, borrowed) resolved into p: reject what can
 * never take effect.  Only for user input; canonical forms stored by an
 * older hive are read as they are. */
static int check_resolved(const hive_retry_policy *p, const json_t *obj, const char *path)
{
	char *at = hive_jsoncheck_path(path, "backoff", -1);
	int rc = check_backoff(&p->backoff, json_object_get(obj, "backoff"), at);
	free(at);
	const json_t *budgets = json_object_get(obj, "budgets");
	for (int i = 0; !rc && budgets && i < p->n_budgets; i++) {
		hive_buf b = {0};
		hive_buf_printf(&b, "%s.budgets[%d].backoff", path, i);
		rc = check_backoff(&p->budgets[i].backoff,
		                   json_object_get(json_array_get(budgets, (size_t)i), "backoff"), b.data);
		hive_buf_dispose(&b);
	}
	return rc ? rc : budgets ? check_shadowed(p, path) : 0;
}

void hive_retry_policy_default(hive_retry_policy *p)
{
	memset(p, 0, sizeof *p);
	p->max_attempts = 3;
	p->retry_on = HIVE_OUTCOMES_RETRYABLE;
	p->backoff = (hive_backoff){.initial_ms = 0, .max_ms = 60000, .coefficient = 2.0,
	                            .jitter = HIVE_JITTER_NONE};
	p->context.max_prior_attempts = 3;
	p->context.max_check_output_lines = 50;
	p->context.max_diff_lines = 500;
	p->context.max_bytes = HIVE_CONTEXT_BYTES_DEFAULT;
	p->max_retry_after_ms = 3600000;
	p->deadline_ms = 0;
}

int hive_retry_policy_parse(const json_t *obj, const hive_retry_policy *base,
                            const char *where, hive_retry_policy *out)
{
	hive_retry_policy p;
	if (base)
		p = *base;
	else
		hive_retry_policy_default(&p);
	if (obj) {
		const char *path = where ? where : "retry";
		int rc = parse_policy(obj, path, 0, &p);
		if (!rc)
			rc = check_resolved(&p, obj, path);
		if (rc)
			return rc;
	}
	*out = p;
	return 0;
}

int hive_retry_policy_from_json(const json_t *canonical, hive_retry_policy *out)
{
	hive_retry_policy p;
	hive_retry_policy_default(&p);
	int rc = parse_policy(canonical, "retry", 1, &p);
	if (rc)
		return rc;
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Policy: canonical JSON                                             */
/* ------------------------------------------------------------------ */

static const char *name_at(const char *const *names, int n, int i)
{
	assert(i >= 0 && i < n);
	return names[i >= 0 && i < n ? i : 0];
}

/* New reference: the names of the outcomes in `set`, in enum order. */
static json_t *outcomes_json(unsigned set)
{
	json_t *a = json_array();
	for (int o = 0; a && o < HIVE_OUTCOME__COUNT; o++)
		if (set & HIVE_OUTCOME_BIT(o))
			json_array_append_new(a, json_string(hive_outcome_name((hive_outcome)o)));
	return a;
}

static json_t *backoff_json(const hive_backoff *b)
{
	return json_pack("{s:I, s:I, s:f, s:s}", "initial_ms", (json_int_t)b->initial_ms,
	                 "max_ms", (json_int_t)b->max_ms, "coefficient", b->coefficient,
	                 "jitter", name_at(jitter_names, 3, (int)b->jitter));
}

static json_t *budgets_json(const hive_retry_policy *p)
{
	json_t *a = json_array();
	for (int i = 0; a && i < p->n_budgets; i++) {
		const hive_budget *b = &p->budgets[i];
		/* "o" steals each new reference, even when json_pack fails. */
		json_array_append_new(a, json_pack("{s:o, s:i, s:o}", "on", outcomes_json(b->on),
		                                   "max_attempts", b->max_attempts,
		                                   "backoff", backoff_json(&b->backoff)));
	}
	return a;
}

json_t *hive_retry_policy_to_json(const hive_retry_policy *p)
{
	return json_pack("{s:i, s:o, s:o, s:o, s:s, s:s, s:{s:i, s:i, s:i, s:i}, s:I, s:I}",
	                 "max_attempts", p->max_attempts,
	                 "retry_on", outcomes_json(p->retry_on),
	                 "backoff", backoff_json(&p->backoff),
	                 "budgets", budgets_json(p),
	                 "mode", hive_retry_policy_mode_name(p->mode),
	                 "on_exhausted", name_at(exhausted_names, 2, p->on_exhausted_escalate),
	                 "context",
	                 "max_prior_attempts", p->context.max_prior_attempts,
	                 "max_check_output_lines", p->context.max_check_output_lines,
	                 "max_diff_lines", p->context.max_diff_lines,
	                 "max_bytes", p->context.max_bytes,
	                 "max_retry_after_ms", (json_int_t)p->max_retry_after_ms,
	                 "deadline_ms", (json_int_t)p->deadline_ms);
}

int hive_retry_policy_budget_for(const hive_retry_policy *p, hive_outcome o)
{
	if ((unsigned)o >= HIVE_OUTCOME__COUNT || !(HIVE_OUTCOME_BIT(o) & HIVE_OUTCOMES_RETRYABLE))
		return -1;
	if (p->n_budgets == 0)
		return (p->retry_on & HIVE_OUTCOME_BIT(o)) ? 0 : -1;
	for (int i = 0; i < p->n_budgets; i++)
		if (p->budgets[i].on & HIVE_OUTCOME_BIT(o))
			return i;
	return -1;
}

void hive_retry_policy_of(const json_t *task, hive_retry_policy *out)
{
	if (hive_retry_policy_from_json(json_object_get(task, "retry"), out) != 0) {
		hive_retry_policy_default(out);
		hive_error_clear(); /* a guard, not a failure of the caller */
	}
}

hive_retry_mode hive_retry_policy_mode_of(const json_t *task)
{
	hive_retry_mode m;
	if (hive_retry_policy_mode_parse(hive_json_str(task, "mode"), &m) == 0)
		return m;
	hive_retry_policy p;
	hive_retry_policy_of(task, &p);
	return p.mode;
}

const char *hive_retry_policy_mode_name(hive_retry_mode mode)
{
	return name_at(mode_names, 3, (int)mode);
}

int hive_retry_policy_mode_parse(const char *name, hive_retry_mode *out)
{
	for (int i = 0; name && mode_names[i]; i++)
		if (strcmp(name, mode_names[i]) == 0) {
			*out = (hive_retry_mode)i;
			return 0;
		}
	return HIVE_EINVALID;
}
