/*
 * policy.c - the retry policy: parse, validate, canonical JSON.  See
 * policy.h for the contracts.
 */
#include "core/policy.h"

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
                                         "mode", "on_exhausted", "context", "max_retry_after", NULL};
/* The canonical form lists every field; one stored before max_retry_after
 * existed lacks it (and gets the default). */
static const char *const retry_canon_keys[] = {"max_attempts", "retry_on", "backoff", "budgets", "mode",
                                               "on_exhausted", "context", "max_retry_after_ms", NULL};
static const char *const retry_canon_v1_keys[] = {"max_attempts", "retry_on", "backoff", "budgets",
                                                  "mode", "on_exhausted", "context", NULL};
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

/* Scalars and nested objects of a policy, `budgets` last so it inherits the
 * resolved max_attempts and backoff. */
static int parse_policy(const json_t *obj, const char *path, int canon, hive_retry_policy *p)
{
	int mode = (int)p->mode, exh = p->on_exhausted_escalate, rc;
	const char *const *keys = !canon ? retry_keys
	                        : json_object_get(obj, "max_retry_after_ms") ? retry_canon_keys : retry_canon_v1_keys;
	if ((rc = hive_jsoncheck_keys(obj, path, keys, canon)) ||
	    (rc = hive_jsoncheck_int(obj, path, "max_attempts", 1, HIVE_MAX_ATTEMPTS_LIMIT, &p->max_attempts)) ||
	    (rc = get_outcomes(obj, path, "retry_on", 1, &p->retry_on)) ||
	    (rc = get_sub(obj, path, "backoff", canon, parse_backoff, &p->backoff)) ||
	    (rc = hive_jsoncheck_enum(obj, path, "mode", mode_names, &mode)) ||
	    (rc = hive_jsoncheck_enum(obj, path, "on_exhausted", exhausted_names, &exh)) ||
	    (rc = get_sub(obj, path, "context", canon, parse_context, p)) ||
	    (rc = hive_jsoncheck_ms(obj, path, canon ? "max_retry_after_ms" : "max_retry_after", canon,
	                            &p->max_retry_after_ms)) ||
	    (rc = get_sub(obj, path, "budgets", canon, parse_budgets, p)))
		return rc;
	p->mode = (hive_retry_mode)mode;
	p->on_exhausted_escalate = exh;
	return 0;
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
		int rc = parse_policy(obj, where ? where : "retry", 0, &p);
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
	return json_pack("{s:i, s:o, s:o, s:o, s:s, s:s, s:{s:i, s:i, s:i, s:i}, s:I}",
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
	                 "max_retry_after_ms", (json_int_t)p->max_retry_after_ms);
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
