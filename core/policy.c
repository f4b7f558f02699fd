/*
 * policy.c - durations, outcomes, the retry policy, backoff, the retry
 * decision and the circuit breaker.  See policy.h for the contracts.
 */
#include "core/jsoncheck.h"
#include "core/policy.h"

#include "events/buf.h"
#include "events/error.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Error messages                                                     */
/* ------------------------------------------------------------------ */


/* Set HIVE_EINVALID with "<path>.<key>: <message>" (no ".<key>" when key is
 * NULL).  `key` is ours, never user input. */
static int invalid(const char *path, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int invalid(const char *path, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hive_error_setv(HIVE_EINVALID, fmt, ap);
	va_end(ap);
	if (key)
		return hive_error_prefix("%s.%s", path, key);
	return hive_error_prefix("%s", path);
}

/* Set HIVE_EINVALID from a built message and release the buffer. */
static int invalid_buf(hive_buf *msg)
{
	int rc = hive_error_set(HIVE_EINVALID, "%s", hive_buf_str(msg));
	hive_buf_dispose(msg);
	return rc;
}

/* "<path>.<key>" or "<path>.<key>[i]" (i >= 0) as a new string; free() it. */
static char *join(const char *path, const char *key, long i)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s.%s", path, key);
	if (i >= 0)
		hive_buf_printf(&b, "[%ld]", i);
	return hive_buf_detach(&b);
}

/* ------------------------------------------------------------------ */
/* Durations                                                          */
/* ------------------------------------------------------------------ */

#define DURATION_HINT "(use e.g. 500ms, 2s, 1m, 1h)"

enum { DUR_OK, DUR_SYNTAX, DUR_TOO_FINE, DUR_TOO_BIG };

static int duration_error(const char *s, int why)
{
	hive_buf m = {0};
	hive_buf_puts(&m, "invalid duration \"");
	hive_put_shown(&m, s ? s : "");
	hive_buf_putc(&m, '"');
	if (why == DUR_TOO_FINE)
		hive_buf_puts(&m, ": finer than a millisecond " DURATION_HINT);
	else if (why == DUR_TOO_BIG)
		hive_buf_puts(&m, ": too large (the limit is about 285000 years)");
	else if (s && *s == '-')
		hive_buf_puts(&m, ": must not be negative " DURATION_HINT);
	else
		hive_buf_puts(&m, " " DURATION_HINT);
	return invalid_buf(&m);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse "<digits>[.<digits>]" at *pp.  The integer part saturates above the
 * limit (*big); the fraction keeps 9 digits (enough: with units up to 1h a
 * non-zero digit past the 7th can never give whole milliseconds), and *fine
 * is set when a non-zero digit lies beyond them. */
static int parse_number(const char **pp, uint64_t *ip, uint64_t *fnum, uint64_t *fden,
                        int *big, int *fine)
{
	const char *p = *pp;
	int ndig = 0;
	for (; is_digit(*p); p++, ndig++) {
		*ip = *ip * 10 + (uint64_t)(*p - '0');
		if (*ip > (uint64_t)HIVE_DURATION_MAX_MS) {
			*big = 1;
			*ip = (uint64_t)HIVE_DURATION_MAX_MS + 1;
		}
	}
	if (*p == '.') {
		if (!is_digit(*++p))
			return -1;
		for (; is_digit(*p); p++, ndig++) {
			if (*fden < 1000000000u) {
				*fnum = *fnum * 10 + (uint64_t)(*p - '0');
				*fden *= 10;
			} else if (*p != '0') {
				*fine = 1;
			}
		}
	}
	*pp = p;
	return ndig ? 0 : -1;
}

/* Parse a unit at *pp into its length in ms; 0 when there is none we know. */
static uint64_t parse_unit(const char **pp)
{
	const char *p = *pp;
	uint64_t unit = 0;
	if (p[0] == 'm' && p[1] == 's')
		unit = 1, p += 2;
	else if (p[0] == 's')
		unit = 1000, p++;
	else if (p[0] == 'm')
		unit = 60000, p++;
	else if (p[0] == 'h')
		unit = 3600000, p++;
	*pp = p;
	return unit;
}

/* One "<number><unit>" group; adds its value to *total (saturating). */
static int parse_group(const char **pp, uint64_t *total)
{
	uint64_t ip = 0, fnum = 0, fden = 1, unit;
	int big = 0, fine = 0;
	if (parse_number(pp, &ip, &fnum, &fden, &big, &fine) < 0 || !(unit = parse_unit(pp)))
		return DUR_SYNTAX;
	if (big || ip > (uint64_t)HIVE_DURATION_MAX_MS / unit)
		return DUR_TOO_BIG;
	if (fine || (fnum * unit) % fden)
		return DUR_TOO_FINE;
	uint64_t ms = ip * unit + fnum * unit / fden;
	if (ms > (uint64_t)HIVE_DURATION_MAX_MS - *total)
		return DUR_TOO_BIG;
	*total += ms;
	return DUR_OK;
}

int hive_duration_parse(const char *s, int64_t *ms_out)
{
	if (!s || !*s || *s == '-')
		return duration_error(s, DUR_SYNTAX);
	if (strcmp(s, "0") == 0) {
		*ms_out = 0;
		return 0;
	}
	/* A syntax error anywhere beats a range problem in an earlier group. */
	uint64_t total = 0;
	int worst = DUR_OK;
	for (const char *p = s; *p;) {
		int rc = parse_group(&p, &total);
		if (rc == DUR_SYNTAX)
			return duration_error(s, DUR_SYNTAX);
		if (rc != DUR_OK && worst == DUR_OK)
			worst = rc;
	}
	if (worst != DUR_OK)
		return duration_error(s, worst);
	*ms_out = (int64_t)total;
	return 0;
}

/* Seconds with up to 3 decimals, trailing zeros dropped: "3", "4.2", "0.5". */
static int format_seconds(char *out, size_t n, uint64_t s, uint64_t ms)
{
	if (!ms)
		return snprintf(out, n, "%llus", (unsigned long long)s);
	assert(ms < 1000);
	char frac[4] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 0};
	for (int i = 2; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	return snprintf(out, n, "%llu.%ss", (unsigned long long)s, frac);
}

void hive_duration_format(int64_t ms, char *out, size_t n)
{
	if (!out || n == 0)
		return;
	/* Our own digits only, bounded: at most 26 bytes for any int64. */
	char tmp[64];
	size_t len = 0;
	uint64_t u = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
	if (ms < 0)
		tmp[len++] = '-';
	uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, rest = u % 1000;
	if (u < 1000) {
		snprintf(tmp + len, sizeof tmp - len, u ? "%llums" : "0s", (unsigned long long)u);
	} else {
		if (h)
			len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%lluh", (unsigned long long)h);
		if (m)
			len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%llum", (unsigned long long)m);
		if (s || rest)
			format_seconds(tmp + len, sizeof tmp - len, s, rest);
	}
	snprintf(out, n, "%s", tmp);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                           */
/* ------------------------------------------------------------------ */

static const char *const outcome_names[HIVE_OUTCOME__COUNT] = {
	"success", "check_failed", "runtime_failed", "timeout",
	"crashed", "runtime_unavailable", "aborted",
};

const char *hive_outcome_name(hive_outcome o)
{
	if ((unsigned)o >= HIVE_OUTCOME__COUNT)
		return "unknown";
	return outcome_names[o];
}

int hive_outcome_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < HIVE_OUTCOME__COUNT; i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Policy: field readers                                              */
/* ------------------------------------------------------------------ */

static const char *const jitter_names[] = {"none", "full", "equal", NULL};
static const char *const mode_names[] = {"clean", "continue", NULL};
static const char *const exhausted_names[] = {"fail", "escalate", NULL};

#define RETRYABLE_LIST "check_failed, runtime_failed, timeout, crashed"

static int unknown_key(const char *path, const char *key, const char *const *allowed)
{
	hive_buf m = {0};
	hive_buf_printf(&m, "%s.", path);
	hive_put_shown(&m, key);
	hive_buf_puts(&m, ": unknown key (allowed: ");
	hive_names_join(&m, allowed);
	hive_buf_putc(&m, ')');
	return invalid_buf(&m);
}

/* `v` must be an object whose keys are all in `keys`; with `all`, every key
 * in `keys` must also be present (the canonical form). */
static int check_object(const json_t *v, const char *path, const char *const *keys, int all)
{
	const char *key;
	json_t *item;
	if (!json_is_object(v))
		return invalid(path, NULL, "must be an object, got %s", hive_json_type_name(v));
	json_object_foreach((json_t *)v, key, item) {
		if (hive_name_index(key, keys) < 0)
			return unknown_key(path, key, keys);
	}
	for (int i = 0; all && keys[i]; i++)
		if (!json_object_get(v, keys[i]))
			return invalid(path, keys[i], "missing (the canonical form lists every field)");
	return 0;
}

/* Optional integer field in [min, max]; absent → *out unchanged. */
static int get_int(const json_t *obj, const char *path, const char *key, int min, int max, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return invalid(path, key, "must be an integer from %d to %d, got %s", min, max, hive_json_type_name(v));
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return invalid(path, key, "must be from %d to %d, got %" JSON_INTEGER_FORMAT, min, max, n);
	*out = (int)n;
	return 0;
}

/* Optional duration: a string like "2s", or integer ms in the canonical form. */
static int get_ms(const json_t *obj, const char *path, const char *key, int canon, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (canon) {
		json_int_t n = json_integer_value(v);
		if (!json_is_integer(v) || n < 0 || n > HIVE_DURATION_MAX_MS)
			return invalid(path, key, "must be an integer number of milliseconds from 0 to %lld",
			               (long long)HIVE_DURATION_MAX_MS);
		*out = n;
		return 0;
	}
	if (!json_is_string(v))
		return invalid(path, key, "must be a duration string such as \"2s\", got %s", hive_json_type_name(v));
	if (hive_duration_parse(json_string_value(v), out) < 0)
		return hive_error_prefix("%s.%s", path, key);
	return 0;
}

static int get_coefficient(const json_t *obj, const char *path, double *out)
{
	json_t *v = json_object_get(obj, "coefficient");
	if (!v)
		return 0;
	if (!json_is_number(v))
		return invalid(path, "coefficient", "must be a number >= 1 (e.g. 2.0), got %s",
		               hive_json_type_name(v));
	if (!(json_number_value(v) >= 1.0))
		return invalid(path, "coefficient", "must be a number >= 1 (e.g. 2.0), got %g",
		               json_number_value(v));
	*out = json_number_value(v);
	return 0;
}

/* Optional string field, one of `names`; *out becomes its index. */
static int get_enum(const json_t *obj, const char *path, const char *key,
                    const char *const *names, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	int i = json_is_string(v) ? hive_name_index(json_string_value(v), names) : -1;
	if (i < 0) {
		hive_buf m = {0};
		hive_buf_printf(&m, "%s.%s: must be one of ", path, key);
		hive_names_join(&m, names);
		if (json_is_string(v)) {
			hive_buf_puts(&m, ", got \"");
			hive_put_shown(&m, json_string_value(v));
			hive_buf_putc(&m, '"');
		} else {
			hive_buf_printf(&m, ", got %s", hive_json_type_name(v));
		}
		return invalid_buf(&m);
	}
	*out = i;
	return 0;
}

/* One element of an outcome list → its bit, or an error naming path[i]. */
static int outcome_item(const json_t *item, const char *path, const char *key, size_t i,
                        unsigned *set)
{
	char *at = join(path, key, (long)i);
	int o = json_is_string(item) ? hive_outcome_parse(json_string_value(item)) : -1;
	int rc = 0;
	if (!json_is_string(item))
		rc = invalid(at, NULL, "must be an outcome name, got %s", hive_json_type_name(item));
	else if (o < 0 || !(HIVE_OUTCOME_BIT(o) & HIVE_OUTCOMES_RETRYABLE)) {
		hive_buf m = {0};
		hive_buf_printf(&m, "%s: %soutcome \"", at, o < 0 ? "unknown " : "");
		hive_put_shown(&m, json_string_value(item));
		hive_buf_printf(&m, "\"%s (retryable outcomes: " RETRYABLE_LIST ")",
		                o < 0 ? "" : " is never retried");
		rc = invalid_buf(&m);
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
		return invalid(path, key, "must be an array of outcome names such as [\"timeout\"], got %s",
		               hive_json_type_name(v));
	if (!allow_empty && json_array_size(v) == 0)
		return invalid(path, key, "must not be empty (list the outcomes it covers, e.g. [\"timeout\"])");
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
                                         "mode", "on_exhausted", "context", NULL};
static const char *const backoff_keys[] = {"initial", "max", "coefficient", "jitter", NULL};
static const char *const backoff_canon_keys[] = {"initial_ms", "max_ms", "coefficient", "jitter",
                                                 NULL};
static const char *const budget_keys[] = {"on", "max_attempts", "backoff", NULL};
static const char *const context_keys[] = {"max_prior_attempts", "max_check_output_lines",
                                           "max_diff_lines", NULL};

/* Object field `key` of `obj` parsed by `fn` at path "<path>.<key>". */
typedef int (*sub_parser)(const json_t *v, const char *path, int canon, void *out);

static int get_sub(const json_t *obj, const char *path, const char *key, int canon,
                   sub_parser fn, void *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char *at = join(path, key, -1);
	int rc = fn(v, at, canon, out);
	free(at);
	return rc;
}

static int parse_backoff(const json_t *v, const char *path, int canon, void *out)
{
	const char *const *keys = canon ? backoff_canon_keys : backoff_keys;
	hive_backoff b = *(hive_backoff *)out;
	int jitter = (int)b.jitter, rc;
	if ((rc = check_object(v, path, keys, canon)) ||
	    (rc = get_ms(v, path, keys[0], canon, &b.initial_ms)) ||
	    (rc = get_ms(v, path, keys[1], canon, &b.max_ms)) ||
	    (rc = get_coefficient(v, path, &b.coefficient)) ||
	    (rc = get_enum(v, path, "jitter", jitter_names, &jitter)))
		return rc;
	b.jitter = (hive_jitter)jitter;
	*(hive_backoff *)out = b;
	return 0;
}

static int parse_context(const json_t *v, const char *path, int canon, void *out)
{
	hive_retry_policy *p = out;
	int a = p->context.max_prior_attempts, b = p->context.max_check_output_lines;
	int c = p->context.max_diff_lines, rc;
	if ((rc = check_object(v, path, context_keys, canon)) ||
	    (rc = get_int(v, path, context_keys[0], 0, HIVE_CONTEXT_LIMIT, &a)) ||
	    (rc = get_int(v, path, context_keys[1], 0, HIVE_CONTEXT_LIMIT, &b)) ||
	    (rc = get_int(v, path, context_keys[2], 0, HIVE_CONTEXT_LIMIT, &c)))
		return rc;
	p->context.max_prior_attempts = a;
	p->context.max_check_output_lines = b;
	p->context.max_diff_lines = c;
	return 0;
}

/* One budget; *b arrives holding the inherited values. */
static int parse_budget(const json_t *v, const char *path, int canon, hive_budget *b)
{
	int rc;
	if ((rc = check_object(v, path, budget_keys, canon)))
		return rc;
	if (!json_object_get(v, "on"))
		return invalid(path, "on", "missing (list the outcomes this budget covers, e.g. [\"timeout\"])");
	if ((rc = get_outcomes(v, path, "on", 0, &b->on)) ||
	    (rc = get_int(v, path, "max_attempts", 1, HIVE_MAX_ATTEMPTS_LIMIT, &b->max_attempts)) ||
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
		return invalid(path, NULL, "must be an array of budget objects, got %s", hive_json_type_name(v));
	if (json_array_size(v) > HIVE_MAX_BUDGETS)
		return invalid(path, NULL, "%zu budgets, at most %d allowed (merge budgets that share limits)",
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
	int mode = p->mode_continue, exh = p->on_exhausted_escalate, rc;
	if ((rc = check_object(obj, path, retry_keys, canon)) ||
	    (rc = get_int(obj, path, "max_attempts", 1, HIVE_MAX_ATTEMPTS_LIMIT, &p->max_attempts)) ||
	    (rc = get_outcomes(obj, path, "retry_on", 1, &p->retry_on)) ||
	    (rc = get_sub(obj, path, "backoff", canon, parse_backoff, &p->backoff)) ||
	    (rc = get_enum(obj, path, "mode", mode_names, &mode)) ||
	    (rc = get_enum(obj, path, "on_exhausted", exhausted_names, &exh)) ||
	    (rc = get_sub(obj, path, "context", canon, parse_context, p)) ||
	    (rc = get_sub(obj, path, "budgets", canon, parse_budgets, p)))
		return rc;
	p->mode_continue = mode;
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
			json_array_append_new(a, json_string(outcome_names[o]));
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
	return json_pack("{s:i, s:o, s:o, s:o, s:s, s:s, s:{s:i, s:i, s:i}}",
	                 "max_attempts", p->max_attempts,
	                 "retry_on", outcomes_json(p->retry_on),
	                 "backoff", backoff_json(&p->backoff),
	                 "budgets", budgets_json(p),
	                 "mode", name_at(mode_names, 2, p->mode_continue),
	                 "on_exhausted", name_at(exhausted_names, 2, p->on_exhausted_escalate),
	                 "context",
	                 "max_prior_attempts", p->context.max_prior_attempts,
	                 "max_check_output_lines", p->context.max_check_output_lines,
	                 "max_diff_lines", p->context.max_diff_lines);
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

/* ------------------------------------------------------------------ */
/* Randomness                                                         */
/* ------------------------------------------------------------------ */

void hive_rng_seed(hive_rng *r, uint64_t seed) { r->state = seed; }

uint64_t hive_rng_next(hive_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

double hive_rng_unit(hive_rng *r)
{
	return (double)(hive_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t hive_rng_below(hive_rng *r, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Reject the top sliver so every residue is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound, x;
	do
		x = hive_rng_next(r);
	while (x >= limit);
	return x % bound;
}

/* ------------------------------------------------------------------ */
/* Backoff                                                            */
/* ------------------------------------------------------------------ */

/* base^e by repeated squaring: O(log e), no libm; overflow gives inf. */
static double pow_int(double base, int e)
{
	double r = 1.0;
	while (e > 0) {
		if (e & 1)
			r *= base;
		e >>= 1;
		if (e)
			base *= base;
	}
	return r;
}

/* min(max, initial × coefficient^(n-1)) in whole ms, before jitter. */
static int64_t backoff_base(const hive_backoff *b, int n)
{
	int64_t max = b->max_ms > 0 ? b->max_ms : 0;
	if (b->initial_ms <= 0 || max == 0)
		return 0;
	double d = (double)b->initial_ms * pow_int(b->coefficient, n < 1 ? 0 : n - 1);
	if (!(d < (double)max)) /* also catches inf and NaN */
		return max;
	if (d <= 0)
		return 0;
	int64_t r = (int64_t)(d + 0.5);
	return r < max ? r : max;
}

int64_t hive_backoff_delay(const hive_backoff *b, int n, hive_rng *rng)
{
	int64_t d = backoff_base(b, n), lo;
	switch (b->jitter) {
	case HIVE_JITTER_NONE:
		return d;
	case HIVE_JITTER_FULL:
		assert(rng);
		return (int64_t)hive_rng_below(rng, (uint64_t)d + 1);
	case HIVE_JITTER_EQUAL:
		assert(rng);
		lo = d / 2;
		return lo + (int64_t)hive_rng_below(rng, (uint64_t)(d - lo) + 1);
	}
	return d;
}

/* ------------------------------------------------------------------ */
/* The retry decision                                                 */
/* ------------------------------------------------------------------ */

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
		if (in->verdict_retry_after_ms > out->delay_ms)
			out->delay_ms = in->verdict_retry_after_ms;
		say(out, "retrying: %d of %d attempts used", out->used, out->max);
	}
}

/* ------------------------------------------------------------------ */
/* Circuit breaker                                                    */
/* ------------------------------------------------------------------ */

static const char *const circuit_keys[] = {"failure_threshold", "reset_timeout", NULL};
static const char *const circuit_canon_keys[] = {"failure_threshold", "reset_timeout_ms", NULL};

void hive_circuit_config_default(hive_circuit_config *c)
{
	c->failure_threshold = 5;
	c->reset_timeout_ms = 60000;
}

static int parse_circuit(const json_t *obj, const char *path, int canon, hive_circuit_config *out)
{
	const char *const *keys = canon ? circuit_canon_keys : circuit_keys;
	hive_circuit_config c;
	int rc;
	hive_circuit_config_default(&c);
	if (obj) {
		if ((rc = check_object(obj, path, keys, canon)) ||
		    (rc = get_int(obj, path, keys[0], 1, HIVE_CONTEXT_LIMIT, &c.failure_threshold)) ||
		    (rc = get_ms(obj, path, keys[1], canon, &c.reset_timeout_ms)))
			return rc;
	}
	*out = c;
	return 0;
}

int hive_circuit_config_parse(const json_t *obj, const char *where, hive_circuit_config *out)
{
	return parse_circuit(obj, where ? where : "circuit_breaker", 0, out);
}

int hive_circuit_config_from_json(const json_t *canonical, hive_circuit_config *out)
{
	if (!canonical)
		return invalid("circuit_breaker", NULL, "missing");
	return parse_circuit(canonical, "circuit_breaker", 1, out);
}

json_t *hive_circuit_config_to_json(const hive_circuit_config *c)
{
	return json_pack("{s:i, s:I}", "failure_threshold", c->failure_threshold,
	                 "reset_timeout_ms", (json_int_t)c->reset_timeout_ms);
}

static const char *const circuit_names[] = {"closed", "open", "half_open"};

const char *hive_circuit_state_name(hive_circuit_state s)
{
	if ((unsigned)s > HIVE_CIRCUIT_HALF_OPEN)
		return "unknown";
	return circuit_names[s];
}

static void set_transition(int *t, int v)
{
	if (t)
		*t = v;
}

/* Has `timeout` ms passed from `since` to `now`?  Overflow-free; a clock
 * that went backwards counts as "not yet". */
static int elapsed(int64_t since, int64_t now, int64_t timeout)
{
	if (now < since)
		return timeout <= 0;
	return (uint64_t)now - (uint64_t)since >= (uint64_t)(timeout > 0 ? timeout : 0);
}

int hive_circuit_allow(hive_circuit *c, const hive_circuit_config *cfg, int64_t now_ms,
                       int *transition)
{
	set_transition(transition, -1);
	switch (c->state) {
	case HIVE_CIRCUIT_CLOSED:
		return 1;
	case HIVE_CIRCUIT_OPEN:
		if (!elapsed(c->opened_at_ms, now_ms, cfg->reset_timeout_ms))
			return 0;
		c->state = HIVE_CIRCUIT_HALF_OPEN;
		c->probe_in_flight = 1;
		set_transition(transition, HIVE_CIRCUIT_HALF_OPEN);
		return 1;
	case HIVE_CIRCUIT_HALF_OPEN:
		if (c->probe_in_flight)
			return 0;
		c->probe_in_flight = 1;
		return 1;
	}
	return 0;
}

static int is_circuit_failure(hive_outcome o)
{
	return o == HIVE_OUTCOME_RUNTIME_FAILED || o == HIVE_OUTCOME_TIMEOUT ||
	       o == HIVE_OUTCOME_RUNTIME_UNAVAILABLE;
}

static int circuit_open(hive_circuit *c, int64_t now_ms)
{
	c->state = HIVE_CIRCUIT_OPEN;
	c->opened_at_ms = now_ms;
	c->probe_in_flight = 0;
	return HIVE_CIRCUIT_OPEN;
}

static int circuit_failure(hive_circuit *c, const hive_circuit_config *cfg, int64_t now_ms)
{
	if (c->consecutive_failures < INT_MAX)
		c->consecutive_failures++;
	if (c->state == HIVE_CIRCUIT_HALF_OPEN ||
	    c->consecutive_failures >= cfg->failure_threshold)
		return circuit_open(c, now_ms);
	return -1;
}

static int circuit_success(hive_circuit *c)
{
	int was_half_open = c->state == HIVE_CIRCUIT_HALF_OPEN;
	c->consecutive_failures = 0;
	c->state = HIVE_CIRCUIT_CLOSED;
	c->probe_in_flight = 0;
	return was_half_open ? HIVE_CIRCUIT_CLOSED : -1;
}

void hive_circuit_record(hive_circuit *c, const hive_circuit_config *cfg, hive_outcome outcome,
                         int64_t now_ms, int *transition)
{
	set_transition(transition, -1);
	if (c->state == HIVE_CIRCUIT_OPEN)
		return;
	if (outcome == HIVE_OUTCOME_ABORTED) {
		if (c->state == HIVE_CIRCUIT_HALF_OPEN)
			c->probe_in_flight = 0;
		return;
	}
	if (is_circuit_failure(outcome))
		set_transition(transition, circuit_failure(c, cfg, now_ms));
	else
		set_transition(transition, circuit_success(c));
}

void hive_retry_policy_of(const json_t *task, hive_retry_policy *out)
{
	if (hive_retry_policy_from_json(json_object_get(task, "retry"), out) != 0) {
		hive_retry_policy_default(out);
		hive_error_clear(); /* a guard, not a failure of the caller */
	}
}
