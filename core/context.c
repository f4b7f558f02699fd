/*
 * context.c - assemble the retry context (see context.h, SPEC section 6 and
 * docs/retry-context.md).
 *
 * Four steps, all inside the caller's transaction and none reading the
 * clock, a file or the worktree:
 *   collect - the task's attempt events, through the task index, grouped by
 *             attempt and ordered by attempt number;
 *   excerpt - check output and the last diff, re-cut from the full blobs
 *             with the policy's limits;
 *   fit     - render the text; while it is over context.max_bytes,
 *             shrink one thing (diff, then older attempts, then excerpts)
 *             and render again;
 *   payload - the structured fields, consistent with the text as rendered.
 * Everything is ordered by attempt number and event seq, so the same events
 * give the same bytes.
 */
#include "core/context.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "core/excerpt.h"
#include "core/markdown.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/steer.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/event.h"
#include "events/json.h"
#include "events/sha256.h"
#include "events/utf8.h"

/* Longest diff line kept whole; longer ones are cut and marked. */
#define CTX_LINE_BYTES 400
/* One-line fields (titles, errors, verdicts) are cut to this many bytes. */
#define CTX_FIELD_BYTES 300
/* Check excerpts shrink to this before the one-line summaries of older
 * attempts are dropped, and only then further. */
#define CTX_EXCERPT_FLOOR 1024
/* Paths listed after "Changes:" and in a same-files pattern. */
#define CTX_MAX_PATHS 20

static json_t *jget(const json_t *o, const char *k) { return json_object_get(o, k); }
static long long jint(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

/* ------------------------------------------------------------------ */
/* Attempts, as their events tell them                                */
/* ------------------------------------------------------------------ */

typedef struct {
	const json_t *ev;   /* check_completed or runtime_exited payload (borrowed) */
	const char *blob_key; /* its field naming the full output blob */
	char *excerpt;      /* output excerpt as rendered (owned) */
	size_t omitted;
	size_t made_bytes;  /* byte limit the excerpt was made with; 0 = not yet */
	int same_as;        /* shown as identical to this earlier attempt's output; 0 = not */
} ctx_check;

typedef struct {
	char id[HIVE_ID_LEN + 1];
	int number;         /* from attempt_started; 0 = never started (ignored) */
	uint64_t seq;       /* of attempt_started: orders equal numbers */
	json_t *started, *exited, *changes, *completed, *crashed; /* payloads (owned) or NULL */
	json_t *checks;     /* check_completed payloads in seq order (owned array); failed
	                     * runs a re-run followed ("retrying") are left out */
	json_t *flaky;      /* check_flaky payloads (owned array): passed when re-run */
	ctx_check *fails;   /* failed checks: required first, then optional */
	size_t n_fails;
	ctx_check out[2];   /* the runtime's stderr, stdout (see runtime_output) */
	size_t n_out;
} ctx_attempt;

typedef struct {
	ctx_attempt *v;
	size_t n, cap;
	json_t *rebased;      /* the last task_rebased payload (owned) or NULL */
	uint64_t rebased_seq;
} attempt_list;

static ctx_attempt *attempt_for(attempt_list *l, const char *id)
{
	/* Newest first: an attempt's events are close together in the log. */
	for (size_t i = l->n; i-- > 0;)
		if (strcmp(l->v[i].id, id) == 0)
			return &l->v[i];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = hive_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	ctx_attempt *a = &l->v[l->n++];
	memset(a, 0, sizeof *a);
	snprintf(a->id, sizeof a->id, "%s", id);
	a->checks = json_array();
	a->flaky = json_array();
	return a;
}

/* Keep the latest payload of a type (a second one would be a newer fact). */
static void keep(json_t **slot, json_t *payload)
{
	json_decref(*slot);
	*slot = json_incref(payload);
}

static int started_number(const json_t *payload)
{
	json_int_t n = json_integer_value(jget(payload, "attempt_number"));
	return n >= 1 && n <= INT_MAX ? (int)n : 0;
}

static void file_event(ctx_attempt *a, const hive_event *ev, uint64_t seq)
{
	switch (ev->type) {
	case HIVE_EV_ATTEMPT_STARTED:
		keep(&a->started, ev->payload);
		a->number = started_number(ev->payload);
		a->seq = seq;
		break;
	case HIVE_EV_RUNTIME_EXITED:    keep(&a->exited, ev->payload); break;
	case HIVE_EV_CHANGES_RECORDED:  keep(&a->changes, ev->payload); break;
	case HIVE_EV_ATTEMPT_COMPLETED: keep(&a->completed, ev->payload); break;
	case HIVE_EV_ATTEMPT_CRASHED:   keep(&a->crashed, ev->payload); break;
	case HIVE_EV_CHECK_COMPLETED:
		/* checks[].retries: only the run that decided counts */
		if (!json_is_true(jget(ev->payload, "retrying")))
			json_array_append(a->checks, ev->payload);
		break;
	case HIVE_EV_CHECK_FLAKY:       json_array_append(a->flaky, ev->payload); break;
	default: break;
	}
}

static int collect_event(uint64_t seq, hive_slice raw, void *vctx)
{
	hive_event ev;
	int rc = hive_event_decode(raw.data, raw.len, &ev);
	if (rc)
		return hive_error_prefix("retry context: event seq %llu", (unsigned long long)seq);
	if (ev.attempt_id[0]) {
		file_event(attempt_for(vctx, ev.attempt_id), &ev, seq);
	} else if (ev.type == HIVE_EV_TASK_REBASED) {
		attempt_list *l = vctx;
		keep(&l->rebased, ev.payload);
		l->rebased_seq = seq;
	}
	hive_event_dispose(&ev);
	return 0;
}

static int collect(hive_txn *txn, const char *task_id, attempt_list *out)
{
	static const char *const types[] = {
		"attempt_started", "runtime_exited", "changes_recorded",
		"check_completed", "attempt_completed", "attempt_crashed", "check_flaky",
		"task_rebased",
	};
	hive_event_filter f = {.task_id = task_id, .types = types, .n_types = sizeof types / sizeof *types};
	return hive_txn_scan(txn, &f, collect_event, out);
}

static void attempt_dispose(ctx_attempt *a)
{
	json_decref(a->started);
	json_decref(a->exited);
	json_decref(a->changes);
	json_decref(a->completed);
	json_decref(a->crashed);
	json_decref(a->checks);
	json_decref(a->flaky);
	for (size_t i = 0; i < a->n_fails; i++)
		free(a->fails[i].excerpt);
	free(a->fails);
	for (size_t i = 0; i < a->n_out; i++)
		free(a->out[i].excerpt);
}

static int cmp_attempt(const void *x, const void *y)
{
	const ctx_attempt *a = *(const ctx_attempt *const *)x, *b = *(const ctx_attempt *const *)y;
	if (a->number != b->number)
		return a->number < b->number ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- facts about one attempt ---- */

static int finished(const ctx_attempt *a) { return a->completed || a->crashed; }

static const char *outcome_of(const ctx_attempt *a)
{
	const char *o = hive_json_str(a->completed, "outcome");
	return o ? o : a->crashed ? "crashed" : "unknown";
}

static int outcome_is(const ctx_attempt *a, const char *name) { return strcmp(outcome_of(a), name) == 0; }

static const char *termination_of(const ctx_attempt *a) { return hive_json_str(a->exited, "termination_reason"); }

static int termination_is(const ctx_attempt *a, const char *why)
{
	const char *t = termination_of(a);
	return t && strcmp(t, why) == 0;
}

static int never_ran(const ctx_attempt *a)
{
	return termination_is(a, "not_started") || outcome_is(a, "runtime_unavailable");
}

/* A check the runner cancelled (it was stopped) did not fail: leave it out. */
static int check_failed(const json_t *c)
{
	return !json_is_true(jget(c, "passed")) && !json_is_true(jget(c, "cancelled"));
}
/* A check is required unless it says otherwise (SPEC section 1). */
static int check_required(const json_t *c) { return !json_is_false(jget(c, "required")); }

static json_t *duration_of(const ctx_attempt *a)
{
	json_t *d = jget(a->completed, "duration_ms");
	if (!json_is_integer(d))
		d = jget(a->exited, "duration_ms");
	return json_is_integer(d) ? json_incref(d) : json_null();
}

/* Names of the failed required checks: as attempt_completed recorded them,
 * else as the check events tell (an attempt that crashed mid-checks). */
static json_t *failed_checks_of(const ctx_attempt *a)
{
	json_t *fc = jget(a->completed, "failed_checks");
	if (json_is_array(fc))
		return json_deep_copy(fc);
	json_t *out = json_array(), *c;
	size_t i;
	json_array_foreach(a->checks, i, c) {
		if (check_failed(c) && check_required(c) && hive_json_str(c, "name"))
			json_array_append(out, jget(c, "name"));
	}
	return out;
}

static long long files_changed(const json_t *ch)
{
	return jint(ch, "files_created") + jint(ch, "files_modified") + jint(ch, "files_deleted");
}

/* Recorded changes that touched no file at all. */
static int changed_nothing(const ctx_attempt *a)
{
	return a->changes && files_changed(a->changes) == 0 && json_array_size(jget(a->changes, "paths")) == 0;
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                       */
/* ------------------------------------------------------------------ */

/* Append s as part of one line: valid UTF-8, no control characters, line
 * breaks or trailing blanks, cut to max bytes ("..." marks a cut). */
static void put_inline(hive_buf *b, const char *s, size_t max)
{
	size_t n;
	char *t = hive_utf8_sanitize(s ? s : "", s ? strlen(s) : 0, &n);
	for (size_t i = 0; i < n; i++)
		if (t[i] == '\n' || t[i] == '\t')
			t[i] = ' ';
	while (n > 0 && t[n - 1] == ' ')
		n--;
	size_t cut = hive_utf8_cut(t, n, max);
	hive_buf_append(b, t, cut);
	if (cut < n)
		hive_buf_puts(b, "...");
	free(t);
}

/* End a sentence with '.', unless it already ends with punctuation. */
static void put_period(hive_buf *b)
{
	char last = b->len ? b->data[b->len - 1] : 0;
	if (last != '.' && last != '!' && last != '?')
		hive_buf_putc(b, '.');
}

static void put_duration(hive_buf *b, const json_t *ms)
{
	char d[HIVE_DURATION_FMT_MAX];
	hive_duration_format((int64_t)json_integer_value(ms), d, sizeof d);
	hive_buf_puts(b, d);
}

/* " after 4.2s" when the duration is known. */
static void put_after(hive_buf *b, const json_t *ms)
{
	if (!json_is_integer(ms))
		return;
	hive_buf_puts(b, " after ");
	put_duration(b, ms);
}

static void put_plural(hive_buf *b, long long n, const char *one, const char *many)
{
	hive_buf_printf(b, "%lld %s", n, n == 1 ? one : many);
}

static void put_marker(hive_buf *b, size_t n)
{
	hive_buf_printf(b, "[... %zu %s omitted]", n, n == 1 ? "line" : "lines");
}

/* "attempt 2", "attempts 1, 2, 3" (sep ", ") or "attempts 1, 2 and 3" (" and "). */
static void put_attempts(hive_buf *b, const int *v, size_t n, const char *last_sep)
{
	hive_buf_puts(b, n == 1 ? "attempt " : "attempts ");
	for (size_t i = 0; i < n; i++)
		hive_buf_printf(b, "%s%d", i == 0 ? "" : i + 1 == n ? last_sep : ", ", v[i]);
}

/* Up to max strings of arr joined with ", ", then ", and N more". */
static void put_list(hive_buf *b, const json_t *arr, size_t max)
{
	size_t n = json_array_size(arr);
	for (size_t i = 0; i < n && i < max; i++) {
		if (i)
			hive_buf_puts(b, ", ");
		put_inline(b, json_string_value(json_array_get(arr, i)), CTX_FIELD_BYTES);
	}
	if (n > max)
		hive_buf_printf(b, ", and %zu more", n - max);
}

static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0;
	for (const char *p = s, *end = s + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		lines++;
	return lines + (n > 0 && s[n - 1] != '\n');
}

/* ------------------------------------------------------------------ */
/* Check output excerpts                                              */
/* ------------------------------------------------------------------ */

/* The failed checks of an attempt, required ones first (the order they
 * are rendered and reported in); excerpts are made later. */
static void find_failures(ctx_attempt *a)
{
	size_t n = json_array_size(a->checks);
	a->fails = hive_xcalloc(n ? n : 1, sizeof *a->fails);
	for (int pass = 1; pass >= 0; pass--) {
		for (size_t i = 0; i < n; i++) {
			const json_t *c = json_array_get(a->checks, i);
			if (check_failed(c) && check_required(c) == pass)
				a->fails[a->n_fails++] = (ctx_check){.ev = c, .blob_key = "output_blob"};
		}
	}
}

/* When the runtime itself failed, timed out or the attempt crashed, what
 * it printed is the evidence (an import error, a stack trace, its last
 * words before a hang): stderr first, then stdout, each when it printed
 * anything.  Excerpts are made later, like the checks'. */
static void runtime_output(ctx_attempt *a)
{
	static const char *const blob[2] = {"stderr_blob", "stdout_blob"};
	static const char *const bytes[2] = {"stderr_bytes", "stdout_bytes"};
	if (!a->exited || !(outcome_is(a, "runtime_failed") || outcome_is(a, "timeout") ||
	                    outcome_is(a, "crashed")))
		return;
	for (int i = 0; i < 2; i++)
		if (hive_json_str(a->exited, blob[i]) && jint(a->exited, bytes[i]) > 0)
			a->out[a->n_out++] = (ctx_check){.ev = a->exited, .blob_key = blob[i]};
}

static const char *output_name(const ctx_check *c)
{
	return strcmp(c->blob_key, "stderr_blob") == 0 ? "stderr" : "stdout";
}

/* An excerpt of data with max_lines lines at most (0: none, only the gap
 * marker) and max_bytes bytes. */
static void excerpt_data(const char *data, size_t len, size_t max_lines, size_t max_bytes, ctx_check *c)
{
	if (max_lines == 0) {
		hive_buf b = {0};
		c->omitted = count_lines(data, len);
		if (c->omitted)
			put_marker(&b, c->omitted);
		c->excerpt = hive_buf_detach(&b);
		return;
	}
	hive_excerpt_opts o = {.max_lines = max_lines, .max_bytes = max_bytes};
	hive_excerpt e;
	hive_excerpt_make(data, len, &o, &e);
	c->excerpt = e.text;
	c->omitted = e.omitted_lines;
	e.text = NULL;
	hive_excerpt_dispose(&e);
}

/* Without the full output (no blob), the excerpt the check event carries
 * is all there is: made valid text and cut to the byte limit. */
static void excerpt_fallback(ctx_check *c, size_t max_bytes)
{
	const char *s = hive_json_str(c->ev, "output_excerpt");
	size_t n;
	char *t = hive_utf8_sanitize(s ? s : "", s ? strlen(s) : 0, &n);
	t[hive_utf8_cut(t, n, max_bytes)] = '\0';
	c->excerpt = t;
	json_int_t om = json_integer_value(jget(c->ev, "omitted_lines"));
	c->omitted = om > 0 ? (size_t)om : 0;
}

/* (Re)make a check's excerpt from its full output blob.  A blob that cannot
 * be read falls back to the event's own excerpt rather than failing the
 * attempt: the context is advice, not a precondition. */
static void excerpt_check(hive_txn *txn, ctx_check *c, size_t max_lines, size_t max_bytes)
{
	if (c->made_bytes == max_bytes)
		return;
	free(c->excerpt);
	c->made_bytes = max_bytes;
	const char *hex = hive_json_str(c->ev, c->blob_key);
	hive_slice blob;
	if (hex && hive_txn_blob_get(txn, hex, &blob) == 0) {
		excerpt_data(blob.data, blob.len, max_lines, max_bytes, c);
		return;
	}
	hive_error_clear();
	excerpt_fallback(c, max_bytes);
}

/* ------------------------------------------------------------------ */
/* The last diff                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
	int number;      /* attempt whose diff it is; 0 = no diff */
	char *text;      /* its first lines, valid text, each cut and ending in '\n' */
	size_t *ends;    /* ends[i]: offset just past line i's '\n' */
	size_t n;        /* lines held (<= max_diff_lines) */
	size_t total;    /* lines in the whole diff */
	size_t fence;    /* backticks in the code fence around it */
} ctx_diff;

/* One diff line, made valid text; a line over CTX_LINE_BYTES (minified
 * code, lock files) is cut and says how much was left out. */
static void put_cut_line(hive_buf *b, const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\r')
		len--;
	size_t n;
	char *t = hive_utf8_sanitize(s, len, &n);
	size_t cut = hive_utf8_cut(t, n, CTX_LINE_BYTES);
	hive_buf_append(b, t, cut);
	if (cut < n)
		hive_buf_printf(b, " [... %zu bytes cut]", n - cut);
	hive_buf_putc(b, '\n');
	free(t);
}

static void diff_load(hive_txn *txn, const ctx_attempt *a, size_t max_lines, ctx_diff *d)
{
	const char *hex = hive_json_str(a->changes, "diff_blob");
	hive_slice blob;
	if (!hex || hive_txn_blob_get(txn, hex, &blob) != 0 || blob.len == 0) {
		hive_error_clear();
		return;
	}
	d->number = a->number;
	d->total = count_lines(blob.data, blob.len);
	size_t want = max_lines < d->total ? max_lines : d->total, pos = 0;
	d->ends = hive_xcalloc(want ? want : 1, sizeof *d->ends);
	hive_buf b = {0};
	while (d->n < want) {
		const char *line = blob.data + pos, *nl = memchr(line, '\n', blob.len - pos);
		size_t len = nl ? (size_t)(nl - line) : blob.len - pos;
		put_cut_line(&b, line, len);
		d->ends[d->n++] = b.len;
		pos += len + 1;
	}
	d->text = hive_buf_detach(&b);
	/* a diff line may itself hold a code fence (a Markdown file changed) */
	d->fence = hive_markdown_fence_len(d->text, 3);
}

/* The excerpt of the first k lines, as the payload reports it: no
 * trailing newline, the gap marker as its last line. */
static char *diff_excerpt(const ctx_diff *d, size_t k)
{
	hive_buf b = {0};
	hive_buf_append(&b, d->text, k ? d->ends[k - 1] : 0);
	if (d->total > k)
		put_marker(&b, d->total - k);
	else if (b.len)
		b.data[--b.len] = '\0';
	return hive_buf_detach(&b);
}

/* ------------------------------------------------------------------ */
/* Patterns                                                           */
/* ------------------------------------------------------------------ */

typedef struct {
	int *v;
	size_t n, cap;
} int_list;

static void int_push(int_list *l, int x)
{
	if (l->n && l->v[l->n - 1] == x)
		return; /* numbers come in order: this drops repeats */
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = hive_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = x;
}

static void add_pattern(json_t *patterns, hive_buf *b)
{
	json_array_append_new(patterns, json_string(hive_buf_str(b)));
	hive_buf_reset(b);
}

typedef int (*check_pred)(const json_t *check);
static int pred_failed(const json_t *c) { return check_failed(c); }
static int pred_timed_out(const json_t *c) { return json_is_true(jget(c, "timed_out")); }

static int has_check(const ctx_attempt *a, const char *name, check_pred pred)
{
	size_t i;
	json_t *c;
	json_array_foreach(a->checks, i, c) {
		if (pred(c) && hive_json_str(c, "name") && strcmp(hive_json_str(c, "name"), name) == 0)
			return 1;
	}
	return 0;
}

/* A check name already reported: it matched in an earlier attempt, or
 * earlier in this one. */
static int seen_before(ctx_attempt *const *prior, size_t ai, size_t ci, const char *name, check_pred pred)
{
	for (size_t j = 0; j < ai; j++)
		if (has_check(prior[j], name, pred))
			return 1;
	for (size_t k = 0; k < ci; k++) {
		const json_t *c = json_array_get(prior[ai]->checks, k);
		if (pred(c) && hive_json_str(c, "name") && strcmp(hive_json_str(c, "name"), name) == 0)
			return 1;
	}
	return 0;
}

/* "check unit <verb> in attempts 1, 2" for each check matching pred in at
 * least min_count attempts, in the order the checks first matched. */
static void pattern_checks(ctx_attempt *const *prior, size_t n, check_pred pred, size_t min_count,
			   const char *verb, json_t *out)
{
	hive_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		size_t ci;
		json_t *c;
		json_array_foreach(prior[i]->checks, ci, c) {
			const char *name = hive_json_str(c, "name");
			if (!name || !pred(c) || seen_before(prior, i, ci, name, pred))
				continue;
			int_list at = {0};
			for (size_t j = i; j < n; j++)
				if (has_check(prior[j], name, pred))
					int_push(&at, prior[j]->number);
			if (at.n >= min_count) {
				hive_buf_puts(&b, "check ");
				put_inline(&b, name, CTX_FIELD_BYTES);
				hive_buf_printf(&b, " %s in ", verb);
				put_attempts(&b, at.v, at.n, ", ");
				add_pattern(out, &b);
			}
			free(at.v);
		}
	}
	hive_buf_dispose(&b);
}

/* Files touched by two or more attempts, grouped by the exact set of
 * attempts that touched them. */
typedef struct {
	const char *path;
	int number;
} path_hit;

typedef struct {
	const char *path;
	int_list at;
} path_group;

static int cmp_hit(const void *x, const void *y)
{
	const path_hit *a = x, *b = y;
	int c = strcmp(a->path, b->path);
	return c ? c : (a->number > b->number) - (a->number < b->number);
}

static int cmp_ints(const int_list *a, const int_list *b)
{
	for (size_t i = 0; i < a->n && i < b->n; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i] ? -1 : 1;
	return (a->n > b->n) - (a->n < b->n);
}

static int cmp_group(const void *x, const void *y)
{
	const path_group *a = x, *b = y;
	int c = cmp_ints(&a->at, &b->at);
	return c ? c : strcmp(a->path, b->path);
}

static path_hit *collect_hits(ctx_attempt *const *prior, size_t n, size_t *n_out)
{
	size_t cap = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		cap += json_array_size(jget(prior[i]->changes, "paths"));
	path_hit *hits = hive_xcalloc(cap ? cap : 1, sizeof *hits);
	for (size_t i = 0; i < n; i++) {
		size_t pi;
		json_t *p;
		json_array_foreach(jget(prior[i]->changes, "paths"), pi, p) {
			if (json_is_string(p))
				hits[k++] = (path_hit){json_string_value(p), prior[i]->number};
		}
	}
	qsort(hits, k, sizeof *hits, cmp_hit);
	*n_out = k;
	return hits;
}

/* One group per path touched by two or more attempts, sorted by attempts
 * then path, so equal attempt sets are adjacent. */
static path_group *group_paths(const path_hit *hits, size_t n_hits, size_t *n_out)
{
	path_group *g = hive_xcalloc(n_hits ? n_hits : 1, sizeof *g);
	size_t n = 0;
	for (size_t i = 0; i < n_hits;) {
		path_group pg = {hits[i].path, {0}};
		for (; i < n_hits && strcmp(hits[i].path, pg.path) == 0; i++)
			int_push(&pg.at, hits[i].number);
		if (pg.at.n >= 2)
			g[n++] = pg;
		else
			free(pg.at.v);
	}
	qsort(g, n, sizeof *g, cmp_group);
	*n_out = n;
	return g;
}

static void pattern_same_files(ctx_attempt *const *prior, size_t n, json_t *out)
{
	size_t n_hits, n_groups;
	path_hit *hits = collect_hits(prior, n, &n_hits);
	path_group *g = group_paths(hits, n_hits, &n_groups);
	hive_buf b = {0};
	for (size_t i = 0; i < n_groups;) {
		size_t j = i;
		while (j < n_groups && cmp_ints(&g[j].at, &g[i].at) == 0)
			j++;
		put_attempts(&b, g[i].at.v, g[i].at.n, " and ");
		hive_buf_puts(&b, " modified the same files: ");
		for (size_t k = i; k < j && k - i < CTX_MAX_PATHS; k++) {
			hive_buf_puts(&b, k > i ? ", " : "");
			put_inline(&b, g[k].path, CTX_FIELD_BYTES);
		}
		if (j - i > CTX_MAX_PATHS)
			hive_buf_printf(&b, ", and %zu more", j - i - CTX_MAX_PATHS);
		add_pattern(out, &b);
		i = j;
	}
	for (size_t i = 0; i < n_groups; i++)
		free(g[i].at.v);
	free(g);
	free(hits);
	hive_buf_dispose(&b);
}

static void pattern_attempts(ctx_attempt *const *prior, size_t n, int (*pred)(const ctx_attempt *),
			     const char *before, const char *after, const char *sep, json_t *out)
{
	int_list at = {0};
	for (size_t i = 0; i < n; i++)
		if (pred(prior[i]))
			int_push(&at, prior[i]->number);
	if (at.n) {
		hive_buf b = {0};
		hive_buf_puts(&b, before);
		put_attempts(&b, at.v, at.n, sep);
		hive_buf_puts(&b, after);
		add_pattern(out, &b);
		hive_buf_dispose(&b);
	}
	free(at.v);
}

static int runtime_timed_out(const ctx_attempt *a) { return termination_is(a, "timeout"); }
static int runtime_stalled(const ctx_attempt *a) { return termination_is(a, "stalled"); }

static int flaky_in(const ctx_attempt *a, const char *name)
{
	size_t i;
	json_t *f;
	json_array_foreach(a->flaky, i, f)
		if (hive_json_str(f, "name") && strcmp(hive_json_str(f, "name"), name) == 0)
			return 1;
	return 0;
}

/* checks[].retries: "check unit is flaky: it failed, then passed when
 * re-run, in attempt 1" once per check, in the order first seen.  The
 * re-run's pass counted, so the check did not fail those attempts: the
 * next attempt should not chase it. */
static void pattern_flaky(ctx_attempt *const *prior, size_t n, json_t *out)
{
	json_t *said = json_object();
	hive_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		size_t k;
		json_t *f;
		json_array_foreach(prior[i]->flaky, k, f) {
			const char *name = hive_json_str(f, "name");
			if (!name || json_object_get(said, name))
				continue;
			json_object_set_new(said, name, json_true());
			int_list at = {0};
			for (size_t j = i; j < n; j++)
				if (flaky_in(prior[j], name))
					int_push(&at, prior[j]->number);
			hive_buf_puts(&b, "check ");
			put_inline(&b, name, CTX_FIELD_BYTES);
			hive_buf_puts(&b, " is flaky: it failed, then passed when re-run (checks[].retries), in ");
			put_attempts(&b, at.v, at.n, ", ");
			hive_buf_puts(&b, "; it did not fail the attempt");
			add_pattern(out, &b);
			free(at.v);
		}
	}
	json_decref(said);
	hive_buf_dispose(&b);
}

static void pattern_verdicts(ctx_attempt *const *prior, size_t n, json_t *out)
{
	hive_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		const char *s = hive_json_str(jget(prior[i]->exited, "verdict"), "summary");
		if (!s || !*s)
			continue;
		hive_buf_printf(&b, "runtime verdict of attempt %d: ", prior[i]->number);
		put_inline(&b, s, CTX_FIELD_BYTES);
		add_pattern(out, &b);
	}
	hive_buf_dispose(&b);
}

/* Mechanical observations over all prior attempts (not only those shown
 * in detail), in a fixed order.  A single check failure is not a pattern
 * (the attempt's own section says it); a repeated one is. */
static json_t *find_patterns(ctx_attempt *const *prior, size_t n)
{
	json_t *out = json_array();
	pattern_checks(prior, n, pred_failed, 2, "failed", out);
	pattern_flaky(prior, n, out);
	pattern_same_files(prior, n, out);
	pattern_attempts(prior, n, changed_nothing, "", " changed nothing", " and ", out);
	pattern_checks(prior, n, pred_timed_out, 1, "timed out", out);
	pattern_attempts(prior, n, runtime_timed_out, "runtime timed out in ", "", ", ", out);
	pattern_attempts(prior, n, runtime_stalled, "runtime stalled (printed nothing for runtime.stall_timeout) in ",
			 "", ", ", out);
	pattern_verdicts(prior, n, out);
	return out;
}

/* ------------------------------------------------------------------ */
/* Rendering                                                          */
/* ------------------------------------------------------------------ */

/* What the text shows; shrunk step by step to fit the byte budget. */
typedef struct {
	size_t first_listed;   /* prior[0..first_listed): one "omitted" line */
	size_t first_detailed; /* prior[first_listed..first_detailed): one line each; the rest in detail */
	size_t diff_lines;     /* diff lines shown */
	size_t check_bytes;    /* byte limit of each check excerpt */
} ctx_limits;

typedef struct {
	hive_txn *txn;
	const json_t *task;
	int attempt_number, max_attempts;
	hive_retry_policy policy;
	attempt_list all;
	ctx_attempt **prior;   /* finished attempts before this one, by number */
	size_t n_prior;
	ctx_diff diff;
	json_t *patterns;
	ctx_limits lim;
} ctx_state;

static void put_header(hive_buf *b, const ctx_state *c)
{
	const char *title = hive_json_str(c->task, "title"), *key = hive_json_str(c->task, "key");
	hive_buf_printf(b, "## Retry context\nThis is attempt %d of %d for task \"", c->attempt_number,
			c->max_attempts);
	put_inline(b, title ? title : key ? key : hive_json_str(c->task, "id"), CTX_FIELD_BYTES);
	hive_buf_putc(b, '"');
	if (key && title) {
		hive_buf_puts(b, " (");
		put_inline(b, key, CTX_FIELD_BYTES);
		hive_buf_putc(b, ')');
	}
	hive_buf_puts(b, ".\n");
}

/* "1 file created, 2 files modified"; nothing when no file count is set. */
static int put_counts(hive_buf *b, const json_t *ch)
{
	static const char *const keys[] = {"files_created", "files_modified", "files_deleted"};
	static const char *const verbs[] = {"created", "modified", "deleted"};
	int any = 0;
	for (int i = 0; i < 3; i++) {
		long long n = jint(ch, keys[i]);
		if (n <= 0)
			continue;
		hive_buf_puts(b, any++ ? ", " : "");
		put_plural(b, n, "file", "files");
		hive_buf_printf(b, " %s", verbs[i]);
	}
	return any;
}

/* The short form of an attempt's changes, for one-line summaries. */
static void put_changes_short(hive_buf *b, const ctx_attempt *a)
{
	if (!a->changes)
		hive_buf_puts(b, never_ran(a) ? "no changes" : "changes not recorded");
	else if (!put_counts(b, a->changes)) {
		size_t np = json_array_size(jget(a->changes, "paths"));
		if (np)
			put_plural(b, (long long)np, "file changed", "files changed");
		else
			hive_buf_puts(b, "no changes");
	}
}

static void put_changes_line(hive_buf *b, const ctx_attempt *a)
{
	hive_buf_puts(b, "Changes: ");
	if (!a->changes || changed_nothing(a)) {
		hive_buf_puts(b, !a->changes && !never_ran(a) ? "not recorded\n" : "none\n");
		return;
	}
	put_changes_short(b, a);
	hive_buf_printf(b, " (+%lld -%lld)", jint(a->changes, "insertions"), jint(a->changes, "deletions"));
	if (json_array_size(jget(a->changes, "paths"))) {
		hive_buf_puts(b, ": ");
		put_list(b, jget(a->changes, "paths"), CTX_MAX_PATHS);
	}
	hive_buf_putc(b, '\n');
}

/* How the runtime ended, as one sentence. */
static void put_runtime_line(hive_buf *b, const ctx_attempt *a)
{
	const json_t *x = a->exited, *code = jget(x, "exit_code");
	if (!x) {
		hive_buf_puts(b, a->crashed || outcome_is(a, "crashed") ? "The runner died during the attempt (crashed).\n"
				 : outcome_is(a, "aborted") ? "The attempt was aborted before the runtime finished.\n"
				 : "How the runtime ended was not recorded.\n");
		return;
	}
	if (never_ran(a) && termination_is(a, "not_started")) {
		hive_buf_puts(b, "Runtime could not start: ");
		put_inline(b, hive_json_str(x, "error") ? hive_json_str(x, "error") : "unknown error", CTX_FIELD_BYTES);
		put_period(b);
		hive_buf_putc(b, '\n');
		return;
	}
	if (termination_is(a, "signal"))
		hive_buf_printf(b, "Runtime was killed by signal %lld", jint(x, "signal"));
	else if (termination_is(a, "timeout"))
		hive_buf_puts(b, "Runtime timed out");
	else if (termination_is(a, "stalled"))
		hive_buf_puts(b, "Runtime was stopped for printing nothing for runtime.stall_timeout (stalled)");
	else if (termination_is(a, "cancelled"))
		hive_buf_puts(b, "Runtime was cancelled");
	else if (json_is_integer(code))
		hive_buf_printf(b, "Runtime exited with code %lld", (long long)json_integer_value(code));
	else
		hive_buf_puts(b, "Runtime exited");
	put_after(b, jget(x, "duration_ms"));
	hive_buf_puts(b, ".\n");
}

/* The runtime's own verdict, and hive's summary when it says more. */
static void put_verdict_lines(hive_buf *b, const ctx_attempt *a)
{
	const json_t *v = jget(a->exited, "verdict");
	const char *vs = hive_json_str(v, "summary"), *summary = hive_json_str(a->completed, "summary");
	if (vs && *vs) {
		hive_buf_puts(b, "Runtime's verdict: ");
		put_inline(b, vs, CTX_FIELD_BYTES);
		hive_buf_putc(b, '\n');
	} else if (jget(v, "malformed")) {
		hive_buf_puts(b, "Runtime's verdict file was malformed and ignored.\n");
	}
	if (summary && *summary && (!vs || strcmp(vs, summary) != 0)) {
		hive_buf_puts(b, "Summary: ");
		put_inline(b, summary, CTX_FIELD_BYTES);
		hive_buf_putc(b, '\n');
	}
}

static void put_indented(hive_buf *b, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		if (len)
			hive_buf_puts(b, "    ");
		hive_buf_append(b, text, len);
		hive_buf_putc(b, '\n');
		text += len + (nl ? 1 : 0);
	}
}

static void put_check(hive_buf *b, const ctx_check *c)
{
	const json_t *ev = c->ev;
	hive_buf_printf(b, "%s check \"", check_required(ev) ? "Required" : "Optional");
	put_inline(b, hive_json_str(ev, "name"), CTX_FIELD_BYTES);
	if (json_is_true(jget(ev, "timed_out"))) {
		hive_buf_puts(b, "\" timed out");
		put_after(b, jget(ev, "duration_ms"));
	} else {
		hive_buf_puts(b, "\" failed");
		if (json_is_integer(jget(ev, "exit_code")))
			hive_buf_printf(b, " (exit %lld)", jint(ev, "exit_code"));
	}
	if (jint(ev, "run") > 1) /* checks[].retries: it failed every run */
		hive_buf_printf(b, " in all %lld runs", jint(ev, "run"));
	if (c->same_as) {
		hive_buf_printf(b, ": identical to attempt %d's output.\n", c->same_as);
		return;
	}
	if (!c->excerpt || !*c->excerpt) {
		hive_buf_puts(b, " with no output.\n");
		return;
	}
	hive_buf_puts(b, ":\n");
	put_indented(b, c->excerpt);
}

static void put_runtime_output(hive_buf *b, const ctx_check *c)
{
	if (c->same_as) {
		hive_buf_printf(b, "Runtime %s: identical to attempt %d's output.\n", output_name(c), c->same_as);
		return;
	}
	if (!c->excerpt || !*c->excerpt)
		return;
	hive_buf_printf(b, "Runtime %s:\n", output_name(c));
	put_indented(b, c->excerpt);
}

/* One stored log: its absolute path (hive's own copy; hive reads the
 * blob, never this file) and, when hive kept only the head and the tail,
 * how much the program wrote. */
static void put_log(hive_buf *b, const char *what, const json_t *ev, const char *path_key, const char *prefix)
{
	char key[64];
	const char *path = hive_json_str(ev, path_key);
	if (!path)
		return;
	hive_buf_printf(b, "    %s: ", what);
	put_inline(b, path, CTX_FIELD_BYTES);
	snprintf(key, sizeof key, "%s_truncated", prefix);
	if (json_is_true(jget(ev, key))) {
		snprintf(key, sizeof key, "%s_bytes", prefix);
		hive_buf_printf(b, " (truncated: %lld bytes written, the file keeps the head and the tail)",
				jint(ev, key));
	}
	hive_buf_putc(b, '\n');
}

/* "Full logs:" and where they are, so an agent can read more than the
 * excerpts: the runtime's stdout and stderr when it wrote any, and each
 * failed check's output. */
static void put_logs(hive_buf *b, const ctx_attempt *a)
{
	int any = (hive_json_str(a->exited, "stdout_path") && jint(a->exited, "stdout_bytes") > 0) ||
		  (hive_json_str(a->exited, "stderr_path") && jint(a->exited, "stderr_bytes") > 0);
	for (size_t i = 0; i < a->n_fails; i++)
		any |= hive_json_str(a->fails[i].ev, "output_path") != NULL;
	if (!any)
		return;
	hive_buf_puts(b, "Full logs:\n");
	if (jint(a->exited, "stdout_bytes") > 0)
		put_log(b, "runtime stdout", a->exited, "stdout_path", "stdout");
	if (jint(a->exited, "stderr_bytes") > 0)
		put_log(b, "runtime stderr", a->exited, "stderr_path", "stderr");
	for (size_t i = 0; i < a->n_fails; i++) {
		hive_buf what = {0};
		hive_buf_puts(&what, "check \"");
		put_inline(&what, hive_json_str(a->fails[i].ev, "name"), CTX_FIELD_BYTES);
		hive_buf_putc(&what, '"');
		put_log(b, hive_buf_str(&what), a->fails[i].ev, "output_path", "output");
		hive_buf_dispose(&what);
	}
}

static void put_attempt_detail(hive_buf *b, const ctx_attempt *a)
{
	if (outcome_is(a, "success"))
		hive_buf_printf(b, "\n### Attempt %d succeeded\n", a->number);
	else {
		hive_buf_printf(b, "\n### Attempt %d failed: ", a->number);
		put_inline(b, outcome_of(a), CTX_FIELD_BYTES);
		hive_buf_putc(b, '\n');
	}
	put_runtime_line(b, a);
	for (size_t i = 0; i < a->n_out; i++)
		put_runtime_output(b, &a->out[i]);
	put_verdict_lines(b, a);
	put_changes_line(b, a);
	for (size_t i = 0; i < a->n_fails; i++)
		put_check(b, &a->fails[i]);
	put_logs(b, a);
}

/* Why an attempt failed, in a few words, for its one-line summary. */
static void put_reason_short(hive_buf *b, const ctx_attempt *a)
{
	json_t *fc = failed_checks_of(a);
	if (outcome_is(a, "check_failed") && json_array_size(fc)) {
		hive_buf_puts(b, json_array_size(fc) == 1 ? " (check " : " (checks ");
		put_list(b, fc, 5);
		hive_buf_puts(b, " failed)");
	} else if (termination_is(a, "not_started")) {
		hive_buf_puts(b, " (could not start)");
	} else if (termination_is(a, "timeout")) {
		hive_buf_puts(b, " (runtime timed out)");
	} else if (termination_is(a, "stalled")) {
		hive_buf_puts(b, " (runtime stalled)");
	} else if (termination_is(a, "signal")) {
		hive_buf_printf(b, " (killed by signal %lld)", jint(a->exited, "signal"));
	} else if (!a->exited && outcome_is(a, "crashed")) {
		hive_buf_puts(b, " (the runner died)");
	} else if (outcome_is(a, "runtime_failed") && json_is_integer(jget(a->exited, "exit_code"))) {
		hive_buf_printf(b, " (exit %lld)", jint(a->exited, "exit_code"));
	}
	json_decref(fc);
}

static void put_attempt_line(hive_buf *b, const ctx_attempt *a)
{
	hive_buf_printf(b, "- Attempt %d: ", a->number);
	put_inline(b, outcome_of(a), CTX_FIELD_BYTES);
	put_reason_short(b, a);
	hive_buf_puts(b, ", ");
	put_changes_short(b, a);
	hive_buf_putc(b, '\n');
}

static void put_earlier(hive_buf *b, const ctx_state *c)
{
	if (c->lim.first_detailed == 0)
		return;
	hive_buf_puts(b, "\n### Earlier attempts\n");
	if (c->lim.first_listed)
		hive_buf_printf(b, "- [... %zu earlier %s omitted]\n", c->lim.first_listed,
				c->lim.first_listed == 1 ? "attempt" : "attempts");
	for (size_t i = c->lim.first_listed; i < c->lim.first_detailed; i++)
		put_attempt_line(b, c->prior[i]);
}

static void put_patterns(hive_buf *b, const json_t *patterns)
{
	size_t i;
	json_t *p;
	if (!json_array_size(patterns))
		return;
	hive_buf_puts(b, "\n### Observed patterns\n");
	json_array_foreach(patterns, i, p)
		hive_buf_printf(b, "- %s\n", json_string_value(p));
}

static void put_diff(hive_buf *b, const ctx_diff *d, size_t k)
{
	if (!d->number)
		return;
	hive_buf_printf(b, "\n### Changes made by attempt %d\n", d->number);
	for (size_t i = 0; i < d->fence; i++)
		hive_buf_putc(b, '`');
	hive_buf_puts(b, "diff\n");
	hive_buf_append(b, d->text, k ? d->ends[k - 1] : 0);
	if (d->total > k) {
		put_marker(b, d->total - k);
		hive_buf_putc(b, '\n');
	}
	for (size_t i = 0; i < d->fence; i++)
		hive_buf_putc(b, '`');
	hive_buf_putc(b, '\n');
}

static void attempt_excerpts(ctx_state *c, ctx_attempt *a, size_t lines)
{
	for (size_t k = 0; k < a->n_fails; k++)
		excerpt_check(c->txn, &a->fails[k], lines, c->lim.check_bytes);
	for (size_t k = 0; k < a->n_out; k++)
		excerpt_check(c->txn, &a->out[k], lines, c->lim.check_bytes);
}

/* Excerpts for every attempt shown in detail, and always for the latest
 * (the payload reports its check failures even when it is not shown). */
static void make_excerpts(ctx_state *c)
{
	size_t lines = (size_t)c->policy.context.max_check_output_lines;
	for (size_t i = c->lim.first_detailed; i < c->n_prior; i++)
		attempt_excerpts(c, c->prior[i], lines);
	attempt_excerpts(c, c->prior[c->n_prior - 1], lines);
}

/* An output already shown in detail for an earlier attempt (same blob,
 * so the same bytes) is said once: later ones point back to the first, and
 * the budget goes to what is new.  Recomputed on every render, since the
 * attempts shown in detail change while the text shrinks. */
typedef struct {
	const char *hex;
	int number;
} shown_output;

static void mark_one(ctx_check *k, int number, shown_output *shown, size_t *n)
{
	const char *hex = hive_json_str(k->ev, k->blob_key);
	k->same_as = 0;
	if (!hex || !k->excerpt || !*k->excerpt)
		return;
	for (size_t i = 0; i < *n; i++)
		if (shown[i].number < number && strcmp(shown[i].hex, hex) == 0) {
			k->same_as = shown[i].number;
			return;
		}
	shown[(*n)++] = (shown_output){hex, number};
}

/* The task_rebased since the last prior attempt started, or NULL. */
static const json_t *base_moved(const ctx_state *c)
{
	const ctx_attempt *last = c->n_prior ? c->prior[c->n_prior - 1] : NULL;
	return c->all.rebased && (!last || c->all.rebased_seq > last->seq) ? c->all.rebased : NULL;
}

/* `task retry --rebase` / `flow rebase` (core/land.c): say where this
 * attempt starts, since earlier attempts worked on another base. */
static void put_base_moved(hive_buf *b, const ctx_state *c)
{
	const json_t *r = base_moved(c);
	if (!r)
		return;
	const char *from = hive_json_str(r, "from");
	hive_buf_printf(b, "\nThe task's base moved from %s to %s (%s): this attempt starts from the "
			"repository's HEAD %s", from ? from : "(none yet)", hive_json_str(r, "to"),
			hive_json_str(r, "reason") ? hive_json_str(r, "reason") : "rebased", hive_json_str(r, "head"));
	if (json_array_size(jget(r, "dependencies")))
		hive_buf_puts(b, ", merged with the results of its dependencies");
	hive_buf_puts(b, ".  Earlier attempts worked on the old base.\n");
}

static void mark_repeats(ctx_state *c)
{
	size_t cap = 0, n = 0;
	for (size_t i = c->lim.first_detailed; i < c->n_prior; i++)
		cap += c->prior[i]->n_fails + c->prior[i]->n_out;
	shown_output *shown = hive_xcalloc(cap ? cap : 1, sizeof *shown);
	for (size_t i = c->lim.first_detailed; i < c->n_prior; i++) {
		ctx_attempt *a = c->prior[i];
		for (size_t k = 0; k < a->n_out; k++)
			mark_one(&a->out[k], a->number, shown, &n);
		for (size_t k = 0; k < a->n_fails; k++)
			mark_one(&a->fails[k], a->number, shown, &n);
	}
	free(shown);
}

static void render(ctx_state *c, hive_buf *b)
{
	hive_buf_reset(b);
	put_header(b, c);
	hive_steer_context_put(b, c->task, c->attempt_number); /* a person's word first */
	put_base_moved(b, c);
	if (c->n_prior == 0) {
		hive_buf_puts(b, "\nNo earlier attempt of this task has finished.\n");
		return;
	}
	make_excerpts(c);
	mark_repeats(c);
	put_earlier(b, c);
	for (size_t i = c->lim.first_detailed; i < c->n_prior; i++)
		put_attempt_detail(b, c->prior[i]);
	put_patterns(b, c->patterns);
	put_diff(b, &c->diff, c->lim.diff_lines);
}

/* ------------------------------------------------------------------ */
/* Fitting the byte budget                                            */
/* ------------------------------------------------------------------ */

/* The most diff lines that still leave room, given the text is `over`
 * bytes too long with k lines shown (32 bytes of slack for the marker's
 * digits); always fewer than k. */
static size_t diff_lines_fitting(const ctx_diff *d, size_t k, size_t over)
{
	size_t shown = d->ends[k - 1], need = over + 32;
	size_t j = k - 1;
	while (j > 0 && shown - d->ends[j - 1] < need)
		j--;
	return j;
}

/* Shrink one thing, in the order docs/retry-context.md gives; 0 when
 * nothing is left to shrink. */
static int shrink(ctx_state *c, size_t over)
{
	ctx_limits *l = &c->lim;
	if (l->diff_lines > 0) {
		l->diff_lines = diff_lines_fitting(&c->diff, l->diff_lines, over);
		return 1;
	}
	if (l->first_detailed + 1 < c->n_prior) {
		l->first_detailed++;
		return 1;
	}
	if (l->check_bytes > CTX_EXCERPT_FLOOR) {
		l->check_bytes /= 2;
		return 1;
	}
	if (l->first_listed < l->first_detailed) {
		size_t left = l->first_detailed - l->first_listed;
		l->first_listed += left > 1 ? left / 2 : 1;
		return 1;
	}
	if (l->check_bytes > HIVE_EXCERPT_MIN_BYTES) {
		l->check_bytes /= 2;
		return 1;
	}
	return 0;
}

/* Last resort: cut at a line end and say so. */
static void hard_cut(hive_buf *b, size_t max_bytes)
{
	static const char note[] = "[... retry context cut to fit its byte budget]\n";
	size_t keep = hive_utf8_cut(b->data, b->len, max_bytes - (sizeof note - 1));
	while (keep > 0 && b->data[keep - 1] != '\n')
		keep--;
	b->len = keep;
	b->data[keep] = '\0';
	hive_buf_puts(b, note);
}

/* The policy's context.max_bytes, within HIVE_CONTEXT_MAX_BYTES whatever
 * a stored policy says. */
static size_t max_bytes_of(const ctx_state *c)
{
	size_t m = (size_t)c->policy.context.max_bytes;
	return m < HIVE_CONTEXT_BYTES_MIN ? HIVE_CONTEXT_BYTES_MIN : m > HIVE_CONTEXT_MAX_BYTES ? HIVE_CONTEXT_MAX_BYTES : m;
}

static void fit(ctx_state *c, hive_buf *b)
{
	size_t max = max_bytes_of(c);
	for (;;) {
		render(c, b);
		if (b->len <= max)
			return;
		if (!shrink(c, b->len - max))
			break;
	}
	hard_cut(b, max);
}

/* ------------------------------------------------------------------ */
/* Payload                                                            */
/* ------------------------------------------------------------------ */

static json_t *changes_json(const ctx_attempt *a)
{
	if (!a->changes)
		return json_null();
	static const char *const keys[] = {"files_created", "files_modified", "files_deleted", "insertions", "deletions"};
	json_t *o = json_object();
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		json_object_set_new(o, keys[i], json_integer(jint(a->changes, keys[i])));
	json_t *paths = jget(a->changes, "paths");
	json_object_set_new(o, "paths", json_is_array(paths) ? json_deep_copy(paths) : json_array());
	return o;
}

static json_t *exit_code_json(const ctx_attempt *a)
{
	json_t *code = jget(a->exited, "exit_code");
	return json_is_integer(code) ? json_incref(code) : json_null();
}

static json_t *string_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* The stored logs of an attempt by absolute path: {stdout, stderr,
 * checks: {name: path}} (null when not recorded: events of an older hive). */
static json_t *logs_json(const ctx_attempt *a)
{
	json_t *checks = json_object(), *c;
	size_t i;
	json_array_foreach(a->checks, i, c) {
		const char *name = hive_json_str(c, "name"), *path = hive_json_str(c, "output_path");
		if (name && path)
			json_object_set_new(checks, name, json_string(path));
	}
	return json_pack("{s:o,s:o,s:o}", "stdout", string_or_null(hive_json_str(a->exited, "stdout_path")),
			 "stderr", string_or_null(hive_json_str(a->exited, "stderr_path")), "checks", checks);
}

static json_t *prior_json(const ctx_attempt *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "attempt_id", json_string(a->id));
	json_object_set_new(o, "attempt_number", json_integer(a->number));
	json_object_set_new(o, "outcome", json_string(outcome_of(a)));
	json_object_set_new(o, "exit_code", exit_code_json(a));
	json_object_set_new(o, "termination_reason", string_or_null(termination_of(a)));
	json_object_set_new(o, "duration_ms", duration_of(a));
	json_object_set_new(o, "changes", changes_json(a));
	json_object_set_new(o, "failed_checks", failed_checks_of(a));
	json_object_set_new(o, "summary", string_or_null(hive_json_str(a->completed, "summary")));
	json_object_set_new(o, "logs", logs_json(a));
	return o;
}

static json_t *check_failure_json(const ctx_check *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", string_or_null(hive_json_str(c->ev, "name")));
	json_t *code = jget(c->ev, "exit_code");
	json_object_set_new(o, "exit_code", json_is_integer(code) ? json_incref(code) : json_null());
	json_object_set_new(o, "timed_out", json_boolean(json_is_true(jget(c->ev, "timed_out"))));
	json_object_set_new(o, "output_excerpt", json_string(c->excerpt ? c->excerpt : ""));
	json_object_set_new(o, "omitted_lines", json_integer((json_int_t)c->omitted));
	json_object_set_new(o, "identical_to_attempt", c->same_as ? json_integer(c->same_as) : json_null());
	return o;
}

/* {on, used, max} of the budget the latest outcome was counted against,
 * or NULL without explicit budgets (or when no budget routes it). */
static json_t *budget_json(const ctx_state *c)
{
	const hive_retry_policy *p = &c->policy;
	if (p->n_budgets == 0 || c->n_prior == 0)
		return NULL;
	int o = hive_outcome_parse(outcome_of(c->prior[c->n_prior - 1]));
	int idx = o < 0 ? -1 : hive_retry_policy_budget_for(p, (hive_outcome)o);
	if (idx < 0 || idx >= p->n_budgets)
		return NULL;
	json_t *on = json_array();
	for (int k = 0; k < HIVE_OUTCOME__COUNT; k++)
		if (p->budgets[idx].on & HIVE_OUTCOME_BIT(k))
			json_array_append_new(on, json_string(hive_outcome_name((hive_outcome)k)));
	json_int_t used = json_integer_value(json_array_get(jget(c->task, "budget_used"), (size_t)idx));
	return json_pack("{s:o,s:I,s:i}", "on", on, "used", used, "max", p->budgets[idx].max_attempts);
}

static void add_attempts_json(json_t *p, const ctx_state *c)
{
	json_t *ids = json_array(), *list = json_array();
	for (size_t i = 0; i < c->n_prior; i++) {
		json_array_append_new(ids, json_string(c->prior[i]->id));
		json_array_append_new(list, prior_json(c->prior[i]));
	}
	json_object_set_new(p, "prior_attempt_ids", ids);
	json_object_set_new(p, "prior_attempts", list);
}

/* The latest prior attempt's check failures and runtime end. */
static void add_latest_json(json_t *p, const ctx_state *c)
{
	const ctx_attempt *last = c->n_prior ? c->prior[c->n_prior - 1] : NULL;
	json_t *req = json_array(), *opt = json_array();
	for (size_t i = 0; last && i < last->n_fails; i++)
		json_array_append_new(check_required(last->fails[i].ev) ? req : opt,
				      check_failure_json(&last->fails[i]));
	json_object_set_new(p, "required_check_failures", req);
	json_object_set_new(p, "optional_check_failures", opt);
	json_object_set_new(p, "runtime_exit_code", last ? exit_code_json(last) : json_null());
	json_object_set_new(p, "runtime_termination_reason", string_or_null(last ? termination_of(last) : NULL));
	json_object_set_new(p, "runtime_stderr_excerpt", json_null());
	json_object_set_new(p, "runtime_stdout_excerpt", json_null());
	for (size_t i = 0; last && i < last->n_out; i++) {
		char key[32];
		snprintf(key, sizeof key, "runtime_%s_excerpt", output_name(&last->out[i]));
		json_object_set_new(p, key, json_string(last->out[i].excerpt ? last->out[i].excerpt : ""));
	}
}

static void add_diff_json(json_t *p, const ctx_state *c)
{
	if (!c->diff.number) {
		json_object_set_new(p, "last_diff_excerpt", json_null());
		json_object_set_new(p, "diff_omitted_lines", json_integer(0));
		return;
	}
	char *ex = diff_excerpt(&c->diff, c->lim.diff_lines);
	json_object_set_new(p, "last_diff_excerpt", json_string(ex));
	json_object_set_new(p, "diff_omitted_lines", json_integer((json_int_t)(c->diff.total - c->lim.diff_lines)));
	free(ex);
}

static void add_text_json(json_t *p, const hive_buf *text)
{
	char hex[65];
	hive_sha256_hex(text->data, text->len, hex);
	json_object_set_new(p, "context", json_stringn(text->data, text->len));
	json_object_set_new(p, "context_sha256", json_string(hex));
	json_object_set_new(p, "context_bytes", json_integer((json_int_t)text->len));
}

static json_t *build_payload(const ctx_state *c, const hive_buf *text)
{
	json_t *p = json_object();
	json_object_set_new(p, "attempt_number", json_integer(c->attempt_number));
	json_object_set_new(p, "max_attempts", json_integer(c->max_attempts));
	json_t *budget = budget_json(c);
	if (budget)
		json_object_set_new(p, "budget", budget);
	add_attempts_json(p, c);
	add_latest_json(p, c);
	json_object_set(p, "patterns", c->patterns);
	add_diff_json(p, c);
	hive_steer_context_json(p, c->task, c->attempt_number);
	const json_t *moved = base_moved(c);
	if (moved)
		json_object_set_new(p, "base_moved", json_pack("{s:O,s:O,s:O}", "from", jget(moved, "from"), "to",
							      jget(moved, "to"), "head", jget(moved, "head")));
	add_text_json(p, text);
	return p;
}

/* ------------------------------------------------------------------ */
/* API                                                                */
/* ------------------------------------------------------------------ */

/* The finished attempts numbered below this one, in order; each gets its
 * failed checks listed. */
static void select_prior(ctx_state *c)
{
	c->prior = hive_xcalloc(c->all.n ? c->all.n : 1, sizeof *c->prior);
	for (size_t i = 0; i < c->all.n; i++) {
		ctx_attempt *a = &c->all.v[i];
		if (a->number > 0 && a->number < c->attempt_number && finished(a))
			c->prior[c->n_prior++] = a;
	}
	qsort(c->prior, c->n_prior, sizeof *c->prior, cmp_attempt);
	for (size_t i = 0; i < c->n_prior; i++) {
		find_failures(c->prior[i]);
		runtime_output(c->prior[i]);
	}
}

static void init_limits(ctx_state *c)
{
	size_t keep = (size_t)c->policy.context.max_prior_attempts;
	c->lim.first_detailed = c->n_prior > keep ? c->n_prior - keep : 0;
	c->lim.diff_lines = c->diff.n;
	c->lim.check_bytes = HIVE_EXCERPT_MAX_BYTES;
}

static void state_dispose(ctx_state *c)
{
	for (size_t i = 0; i < c->all.n; i++)
		attempt_dispose(&c->all.v[i]);
	free(c->all.v);
	json_decref(c->all.rebased);
	free(c->prior);
	free(c->diff.text);
	free(c->diff.ends);
	json_decref(c->patterns);
}

int hive_context_assemble(hive_txn *txn, const json_t *task, int attempt_number, int max_attempts,
			  json_t **payload_out)
{
	const char *task_id = hive_json_str(task, "id");
	if (!task_id || !*task_id)
		return hive_error_set(HIVE_EINVALID, "retry context: the task document has no id");
	if (attempt_number < 1)
		return hive_error_set(HIVE_EINVALID, "retry context: attempt number %d is not positive", attempt_number);
	ctx_state c = {.txn = txn, .task = task, .attempt_number = attempt_number, .max_attempts = max_attempts};
	/* A task stored before its policy could be read still gets a context. */
	hive_retry_policy_of(task, &c.policy);
	int rc = collect(txn, task_id, &c.all);
	if (rc == 0) {
		select_prior(&c);
		if (c.n_prior)
			diff_load(txn, c.prior[c.n_prior - 1], (size_t)c.policy.context.max_diff_lines, &c.diff);
		c.patterns = find_patterns(c.prior, c.n_prior);
		init_limits(&c);
		hive_buf text = {0};
		fit(&c, &text);
		*payload_out = build_payload(&c, &text);
		hive_buf_dispose(&text);
	}
	state_dispose(&c);
	return rc;
}
