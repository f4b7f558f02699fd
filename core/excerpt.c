/*
 * excerpt.c - choose the lines of a check's output a fixer needs.
 *
 * The work happens in three steps over the raw bytes, so that memory stays
 * proportional to what is kept and not to the input (plus a bit per line):
 *   select  - one pass counts the lines and classifies them until enough
 *             matches are known; then lines are chosen by priority, walking
 *             to neighbours with memchr/memrchr, into a list kept in the
 *             order chosen (the priority);
 *   fit     - the chosen lines are linked in line order and measured; while
 *             the text would exceed max_bytes, the last-chosen line goes;
 *   render  - only the surviving lines are sanitized and written out.
 * Lines are split on the raw bytes: sanitizing never adds or removes a '\n'
 * (it only drops the '\r' of a CRLF), so the line structure is the same.
 */
#include "core/excerpt.h"

#include "events/buf.h"
#include "events/utf8.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE            SIZE_MAX
#define MAX_FIRST_ERRORS 3 /* priority 1 keeps this many error lines */
#define CONTEXT_AFTER    3 /* lines kept after a matched line (1 before): a
                            * Rust assertion's "left:"/"right:" lines */

/* ---------------------------------------------------------------- lines */

typedef struct {
	const char *data;
	size_t len;
} input;

typedef struct {
	size_t index; /* 0-based line number */
	size_t start; /* offset of the line in the input */
	size_t end;   /* offset of its '\n', or the input's length */
	size_t len;   /* bytes of text: end - start, less a CRLF's '\r' */
	size_t limit; /* its text is cut to this many bytes */
	size_t width; /* bytes it takes in the excerpt, cut marker included */
} xline;

static xline line_make(const input *in, size_t start, size_t index)
{
	const char *nl = memchr(in->data + start, '\n', in->len - start);
	xline ln = { .index = index, .start = start, .end = nl ? (size_t)(nl - in->data) : in->len };

	ln.len = ln.end - ln.start;
	if (nl && ln.len > 0 && in->data[ln.end - 1] == '\r')
		ln.len--;
	return ln;
}

/* The first line; false for empty input. */
static bool line_first(const input *in, xline *out)
{
	if (in->len == 0)
		return false;
	*out = line_make(in, 0, 0);
	return true;
}

/* The line after ln (out may be ln); false at the end: a final '\n' ends
 * the last line rather than starting an empty one. */
static bool line_next(const input *in, const xline *ln, xline *out)
{
	if (ln->end + 1 >= in->len)
		return false;
	*out = line_make(in, ln->end + 1, ln->index + 1);
	return true;
}

/* The line before ln (out may be ln); false for the first line. */
static bool line_prev(const input *in, const xline *ln, xline *out)
{
	if (ln->start == 0)
		return false;
	const char *nl = memrchr(in->data, '\n', ln->start - 1);
	*out = line_make(in, nl ? (size_t)(nl - in->data) + 1 : 0, ln->index - 1);
	return true;
}

/* Text of one line cut to ln->limit, plus " [... N bytes cut]" when cut;
 * appended to out, or only measured when out is NULL. */
static size_t line_render(const char *data, const xline *ln, hive_buf *out)
{
	size_t used, w;
	char mark[64];

	w = hive_utf8_sanitize_into(data + ln->start, ln->len, ln->limit, out, &used);
	if (used == ln->len)
		return w;
	int k = snprintf(mark, sizeof mark, " [... %zu bytes cut]", ln->len - used);
	assert(k > 0 && (size_t)k < sizeof mark);
	if (out)
		hive_buf_append(out, mark, (size_t)k);
	return w + (size_t)k;
}

static size_t gap_marker(char *buf, size_t size, size_t n)
{
	int k = snprintf(buf, size, "[... %zu %s omitted]", n, n == 1 ? "line" : "lines");
	assert(k > 0 && (size_t)k < size);
	return (size_t)k;
}

/* ---------------------------------------------------------------- clean */

/*
 * What a terminal would show, as bytes: test runners colour their verdicts
 * and redraw progress lines, and a matcher that sees "\x1b[31mFAILED" or
 * "10%\rprogress 100%" misses the word or shows garbage.  Cleaning keeps
 * every '\n' (so line numbers are those of the raw output) and:
 *   - drops ANSI escape sequences: CSI (ESC '[' params final), OSC/DCS/PM/
 *     APC strings (ESC ']' ... BEL or ESC '\\'), and two- or three-byte
 *     ESC sequences; a sequence never runs past the end of its line;
 *   - resolves a '\r' that is not part of a CRLF as a carriage return: the
 *     line shows what was written after it, if anything was (a progress
 *     bar's last state, not every frame; "done\r\n" keeps "done").
 * NULL when the input has neither ESC nor a bare '\r' (the common case
 * costs no copy).
 */
#define ESC 0x1b

/* Offset just past the escape sequence at d[i] == ESC, stopping at '\n'. */
static size_t skip_escape(const unsigned char *d, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j >= len || d[j] == '\n')
		return j;
	if (d[j] == '[') { /* CSI: params 0x30-0x3F, intermediates 0x20-0x2F, final */
		for (j++; j < len && d[j] >= 0x20 && d[j] <= 0x3f; j++)
			;
		return j < len && d[j] >= 0x40 && d[j] <= 0x7e ? j + 1 : j;
	}
	if (d[j] == ']' || d[j] == 'P' || d[j] == 'X' || d[j] == '^' || d[j] == '_') {
		for (j++; j < len && d[j] != '\n'; j++) { /* a string, ends with BEL or ST */
			if (d[j] == 0x07)
				return j + 1;
			if (d[j] == ESC && j + 1 < len && d[j + 1] == '\\')
				return j + 2;
		}
		return j;
	}
	while (j < len && d[j] >= 0x20 && d[j] <= 0x2f) /* ESC ( B and the like */
		j++;
	return j < len && d[j] >= 0x30 && d[j] <= 0x7e ? j + 1 : j;
}

static char *clean_input(const char *data, size_t len, size_t *out_len)
{
	const unsigned char *d = (const unsigned char *)data;

	if (!memchr(data, ESC, len) && !memchr(data, '\r', len))
		return NULL;
	char *o = hive_xmalloc(len + 1);
	size_t n = 0, line_start = 0;
	bool returned = false; /* a bare '\r' was seen on this line */

	for (size_t i = 0; i < len;) {
		unsigned char c = d[i];
		if (c == ESC) {
			i = skip_escape(d, len, i);
			continue;
		}
		i++;
		if (c == '\r' && !(i < len && d[i] == '\n')) {
			returned = true;
			continue;
		}
		if (c == '\n') {
			line_start = n + 1;
			returned = false;
		} else if (returned && c != '\r') {
			n = line_start; /* the carriage return overwrites the line */
			returned = false;
		}
		o[n++] = (char)c;
	}
	/* A last line that cleaned to nothing is still a line (an empty one):
	 * line numbers and counts stay those of the raw output. */
	if (d[len - 1] != '\n' && (n == 0 || o[n - 1] == '\n'))
		o[n++] = '\n';
	*out_len = n;
	return o;
}

/* ------------------------------------------------------------- patterns */

/*
 * Which lines look like a failure.  Hand-written rather than <regex.h>:
 * POSIX regexes stop at NUL (check output may contain NULs), depend on the
 * locale (the excerpt must be the same bytes everywhere), and would need one
 * pass per pattern; this matcher is one linear, byte-exact pass per line.
 *
 * Markers are case-sensitive.  AT_WORD ones must not follow a letter, digit
 * or '_', so "error:" and "errors" match but "test_error_page PASSED" and
 * "-Werror" do not; suffixes are allowed ("FAILED", "panicked",
 * "assert_eq!").  Capitalised class-name parts ("Error", "Exception",
 * "Assertion") match anywhere, for "ValueError" or "AssertionError".
 */
enum { LINE_PLAIN, LINE_LOCATION, LINE_ERROR, LINE_HUNK };

#define AT_WORD 1 /* not preceded by [A-Za-z0-9_] */
#define AT_BOL  2 /* only at the start of the line */
#define RUST_AT 4 /* "at [./]src/": only if ".rs:<digit>" follows (a user frame) */

typedef struct {
	const char *s;
	size_t len;
	unsigned flags;
} marker_pat;

#define PAT(s, f) { s, sizeof s - 1, f }
static const marker_pat error_pats[] = {
	PAT("error", AT_WORD), PAT("Error", 0), PAT("ERROR", AT_WORD),
	PAT("FAIL", AT_WORD), /* FAIL, FAILED, FAILURES, "--- FAIL:" */
	PAT("failed", AT_WORD), PAT("failure", AT_WORD),
	PAT("panic", AT_WORD), /* Go "panic:", Rust "panicked at" */
	PAT("assert", AT_WORD), PAT("Assertion", 0),
	PAT("Traceback", AT_WORD), PAT("Exception", 0),
	PAT("expected", AT_WORD), PAT("Expected", AT_WORD), /* Unity, jest */
	PAT("fatal", AT_WORD), PAT("Fatal", AT_WORD), PAT("FATAL", AT_WORD),
	PAT("undefined reference", AT_WORD),
	PAT("segmentation fault", AT_WORD), PAT("Segmentation fault", AT_WORD),
	PAT("Aborted", AT_WORD),
	PAT("E   ", AT_BOL),   /* pytest's explanation lines */
	PAT("not ok", AT_BOL), /* TAP */
	PAT("at src/", AT_WORD | RUST_AT), PAT("at ./src/", AT_WORD | RUST_AT),
};
#define N_PATS (sizeof error_pats / sizeof error_pats[0])

typedef struct {
	uint32_t first[256]; /* bit k set: error_pats[k] starts with this byte */
	uint32_t anywhere;   /* bit k set: error_pats[k] may start mid-word */
} matcher;

static void matcher_init(matcher *m)
{
	_Static_assert(N_PATS <= 32, "one bit per pattern");
	memset(m, 0, sizeof *m);
	for (size_t k = 0; k < N_PATS; k++) {
		m->first[(unsigned char)error_pats[k].s[0]] |= UINT32_C(1) << k;
		if (error_pats[k].flags == 0)
			m->anywhere |= UINT32_C(1) << k;
	}
}

static bool is_word(unsigned char c)
{
	return c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Offset just past the last ".rs:<digit>" in s[0..n), 0 if none. */
static size_t last_rust_location(const unsigned char *s, size_t n)
{
	for (size_t i = n; i >= 5; i--)
		if (is_digit(s[i - 1]) && memcmp(s + i - 5, ".rs:", 4) == 0)
			return i;
	return 0;
}

static bool pat_at(const marker_pat *p, const unsigned char *s, size_t n, size_t i,
                   size_t *rust_end)
{
	if ((p->flags & AT_BOL) && i != 0)
		return false;
	if ((p->flags & AT_WORD) && i > 0 && is_word(s[i - 1]))
		return false;
	if (n - i < p->len || memcmp(s + i, p->s, p->len) != 0)
		return false;
	if (!(p->flags & RUST_AT))
		return true;
	if (*rust_end == NONE) /* computed once per line: keeps this linear */
		*rust_end = last_rust_location(s, n);
	return *rust_end > i + p->len;
}

/* A stack frame: after indentation, "at " (Rust, Node, Java) or "<N>: "
 * (Rust's numbered frames).  Frames of the runtime's own code
 * ("core::panicking::assert_failed", "at /rustc/...") say "panic" and
 * "assert" on every line and would crowd out the failures themselves; a
 * frame is never a failure line, and one in the user's code ranks with the
 * location lines ("at ./src/lib.rs:10:97"; see in_toolchain). */
static bool is_frame(const unsigned char *s, size_t n)
{
	size_t i = 0, d;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == 0)
		return false;
	if (n - i >= 3 && memcmp(s + i, "at ", 3) == 0)
		return true;
	for (d = i; d < n && is_digit(s[d]); d++)
		;
	return d > i && n - d >= 2 && s[d] == ':' && s[d + 1] == ' ';
}

static bool has_error_marker(const matcher *m, const unsigned char *s, size_t n)
{
	size_t rust_end = NONE;

	for (size_t i = 0; i < n; i++) {
		uint32_t bits = m->first[s[i]];
		if (bits && i > 0 && is_word(s[i - 1]))
			bits &= m->anywhere; /* the common case: inside a word */
		for (; bits; bits &= bits - 1) {
			if (pat_at(&error_pats[__builtin_ctz(bits)], s, n, i, &rust_end))
				return true;
		}
	}
	return false;
}

/* Does the ':' at s[colon] follow a file name with an extension, as in
 * "auth_test.go:31:"?  Looks back only over the extension's word chars,
 * so the scans for successive colons do not overlap. */
static bool after_file_name(const unsigned char *s, size_t colon)
{
	size_t k = colon;
	while (k > 0 && is_word(s[k - 1]))
		k--;
	return k < colon && k >= 2 && s[k - 1] == '.' && !is_digit(s[k]) &&
	       (is_word(s[k - 2]) || s[k - 2] == '/' || s[k - 2] == '-');
}

/* "file.ext:LINE:" (and so "file.ext:LINE:COL:"), as printed by compilers,
 * go test and pytest: a pointer to code, weaker evidence than a marker. */
static bool has_location(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++) {
		if (s[i] != ':' || !is_digit(s[i + 1]))
			continue;
		size_t j = i + 1;
		while (j < n && is_digit(s[j]))
			j++;
		if (j < n && s[j] == ':' && after_file_name(s, i))
			return true;
	}
	return false;
}

/* A test framework's success verdict ("t.c:12:test_x:PASS", "passed"):
 * such a line names a location but points at nothing to fix, and 29 of
 * them around one FAIL would crowd it out. */
static bool has_pass_marker(const unsigned char *s, size_t n)
{
	static const char *const words[] = { "PASS", "passed", "Passed", "OK" };

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && is_word(s[i - 1]))
			continue;
		for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
			size_t w = strlen(words[k]);
			if (n - i >= w && memcmp(s + i, words[k], w) == 0)
				return true;
		}
	}
	return false;
}

/* Frames in a toolchain's own sources, never the code to fix. */
static bool in_toolchain(const unsigned char *s, size_t n)
{
	static const char *const dirs[] = { "/rustc/", "(node:", "/usr/lib/", "/usr/include/" };

	for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++)
		if (memmem(s, n, dirs[k], strlen(dirs[k])))
			return true;
	return false;
}

static int line_class(const matcher *m, const char *line, size_t n)
{
	const unsigned char *s = (const unsigned char *)line;
	if (is_frame(s, n))
		return has_location(s, n) && !in_toolchain(s, n) ? LINE_LOCATION : LINE_PLAIN;
	if (has_error_marker(m, s, n))
		return LINE_ERROR;
	return has_location(s, n) && !has_pass_marker(s, n) ? LINE_LOCATION : LINE_PLAIN;
}

/*
 * Unified-diff hunks, as printed by `git diff --exit-code` or `diff -u`
 * after a golden-file or snapshot test: the decisive lines are the '-' and
 * '+' of the first hunks, which no marker finds (and test data inside them
 * that merely says "error" is not a failure line).  A hunk is its
 * "@@ -a,b +c,d @@" header and exactly the lines its counts announce.
 */
typedef struct {
	size_t old_left, new_left; /* lines of the current hunk still to come */
} hunk_state;

/* Parse "<digits>[,<digits>]" at s[*i]; the count (default 1), or false. */
static bool hunk_range(const unsigned char *s, size_t n, size_t *i, size_t *count)
{
	size_t j = *i, c = 0;

	if (j >= n || !is_digit(s[j]))
		return false;
	while (j < n && is_digit(s[j]))
		j++;
	*count = 1;
	if (j < n && s[j] == ',') {
		if (++j >= n || !is_digit(s[j]))
			return false;
		for (; j < n && is_digit(s[j]) && c < SIZE_MAX / 16; j++)
			c = c * 10 + (size_t)(s[j] - '0');
		*count = c;
	}
	*i = j;
	return true;
}

/* Is s a hunk header?  Starts h with its counts if so. */
static bool hunk_header(const unsigned char *s, size_t n, hunk_state *h)
{
	size_t i = 4, old, new;

	if (n < 4 || memcmp(s, "@@ -", 4) != 0 || !hunk_range(s, n, &i, &old))
		return false;
	if (n - i < 2 || s[i] != ' ' || s[i + 1] != '+')
		return false;
	i += 2;
	if (!hunk_range(s, n, &i, &new) || n - i < 3 || memcmp(s + i, " @@", 3) != 0)
		return false;
	h->old_left = old, h->new_left = new;
	return old + new > 0;
}

/* Is s the next body line of the hunk h is in?  Counts it down if so. */
static bool hunk_body(const unsigned char *s, size_t n, hunk_state *h)
{
	if (h->old_left + h->new_left == 0)
		return false;
	char c = n ? (char)s[0] : ' '; /* some tools drop the blank's space */
	if (c == '\\')
		return true; /* "\ No newline at end of file" */
	if ((c == ' ' || c == '-') && h->old_left == 0)
		return false;
	if ((c == ' ' || c == '+') && h->new_left == 0)
		return false;
	if (c != ' ' && c != '-' && c != '+')
		return false;
	if (c != '+')
		h->old_left--;
	if (c != '-')
		h->new_left--;
	return true;
}

/* A file header line of a diff, kept with the file's first hunk. */
static bool diff_file_header(const char *s, size_t n)
{
	static const char *const starts[] = { "diff ", "--- ", "+++ ", "index " };

	for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++)
		if (n >= strlen(starts[k]) && memcmp(s, starts[k], strlen(starts[k])) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ selection */

typedef struct {
	xline *v;
	size_t n, cap;
} xline_list;

static void list_push(xline_list *l, const xline *ln)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = hive_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = *ln;
}

typedef struct {
	xline header; /* its "@@ ... @@" line */
	size_t body;  /* lines after the header that belong to it */
} hunk;

typedef struct {
	hunk *v;
	size_t n, cap;
} hunk_list;

typedef struct {
	input in;
	matcher m;
	size_t total;         /* lines in the input */
	xline last;           /* the input's last line */
	xline_list errors;    /* the first error-looking lines, in line order */
	xline_list locations; /* the first lines that only name a location */
	hunk_list hunks;      /* the first diff hunks, in line order */
	size_t budget;        /* lines that may still be chosen */
	unsigned char *kept;  /* bitmap over line numbers: chosen already */
	xline_list chosen;    /* in the order chosen: the priority */
} selection;

static void hunk_push(hunk_list *l, const xline *header)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = hive_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = (hunk){ *header, 0 };
}

/* Record ln in the lists it belongs to: as part of a hunk (whose lines are
 * never failure lines, whatever test data they contain), a new hunk's
 * header, or by its class. */
static void sel_classify(selection *s, const xline *ln, hunk_state *h, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s->in.data + ln->start;

	if (hunk_body(p, ln->len, h)) {
		if (s->hunks.n > 0 && s->hunks.v[s->hunks.n - 1].header.index + 1 +
		                              s->hunks.v[s->hunks.n - 1].body == ln->index)
			s->hunks.v[s->hunks.n - 1].body++;
		return;
	}
	*h = (hunk_state){ 0, 0 };
	if (hunk_header(p, ln->len, h)) {
		if (s->hunks.n < cap)
			hunk_push(&s->hunks, ln);
		return;
	}
	if (s->errors.n >= cap)
		return;
	int c = line_class(&s->m, s->in.data + ln->start, ln->len);
	if (c == LINE_ERROR)
		list_push(&s->errors, ln);
	else if (c == LINE_LOCATION && s->locations.n < cap)
		list_push(&s->locations, ln);
}

/*
 * The one pass over the whole input: count the lines, remember the last,
 * and record the first `cap` lines of each class.  Choosing never needs
 * more: every match it walks through is either a new line (costing one line
 * of budget) or one already chosen, and at most max_lines lines are chosen,
 * so after 2 * max_lines matches the budget is gone.  For the same reason,
 * once `cap` error lines and hunks are known the location lines will never
 * be reached, and the rest of the input is only counted.
 */
static void sel_scan(selection *s, size_t cap)
{
	xline ln;
	hunk_state h = { 0, 0 };

	for (bool more = line_first(&s->in, &ln); more; more = line_next(&s->in, &ln, &ln)) {
		s->total++;
		s->last = ln;
		if (s->errors.n < cap || s->hunks.n < cap)
			sel_classify(s, &ln, &h, cap);
	}
}

static void sel_add(selection *s, const xline *ln)
{
	unsigned char bit = (unsigned char)(1u << (ln->index % 8));

	if (s->budget == 0 || (s->kept[ln->index / 8] & bit))
		return;
	s->kept[ln->index / 8] |= bit;
	list_push(&s->chosen, ln);
	s->budget--;
}

/* A matched line, then 1 line before and CONTEXT_AFTER after: the match
 * first, so that a short budget still gets it. */
static void sel_window(selection *s, const xline *match)
{
	xline ln;

	sel_add(s, match);
	if (line_prev(&s->in, match, &ln))
		sel_add(s, &ln);
	ln = *match;
	for (int k = 0; k < CONTEXT_AFTER && s->budget > 0 && line_next(&s->in, &ln, &ln); k++)
		sel_add(s, &ln);
}

/* The first `max` matches with their context, earliest first. */
static void sel_matches(selection *s, const xline_list *matches, size_t max)
{
	for (size_t i = 0; i < matches->n && i < max && s->budget > 0; i++)
		sel_window(s, &matches->v[i]);
}

/* The last count lines, chosen last line first, so that dropping in
 * reverse priority loses the earliest tail lines first. */
static void sel_tail(selection *s, size_t count)
{
	xline ln = s->last;

	for (size_t k = 0; k < count; k++) {
		sel_add(s, &ln);
		if (!line_prev(&s->in, &ln, &ln))
			break;
	}
}

/* A few lines of the head (the command, a build banner) — not more: a
 * budget filled with passing-test noise hides the lines that matter, so
 * what is left of it stays unused. */
#define MAX_HEAD_LINES 5

static void sel_head(selection *s)
{
	xline ln;
	size_t n = 0;

	for (bool more = line_first(&s->in, &ln); more && s->budget > 0 && n < MAX_HEAD_LINES;
	     more = line_next(&s->in, &ln, &ln), n++)
		sel_add(s, &ln);
}

/* Tail share of the line budget: "the last ~10 lines, or ~1/4 of it". */
static size_t tail_size(size_t max_lines)
{
	size_t half = max_lines / 2 + max_lines % 2;
	size_t t = half < 10 ? half : 10;
	return t > max_lines / 4 ? t : max_lines / 4;
}

/* Lines of a hunk that are not chosen yet, with its file's header lines
 * ("diff --git", "--- a/x", "+++ b/x", at most 4) when they precede it. */
#define MAX_FILE_HEADER 4

static size_t hunk_cost(const selection *s, const hunk *h)
{
	size_t cost = 0;
	xline ln = h->header;

	for (size_t k = 0; k <= h->body; k++) {
		if (!(s->kept[ln.index / 8] & (1u << (ln.index % 8))))
			cost++;
		if (k < h->body && !line_next(&s->in, &ln, &ln))
			break;
	}
	ln = h->header;
	for (int k = 0; k < MAX_FILE_HEADER && line_prev(&s->in, &ln, &ln) &&
	                diff_file_header(s->in.data + ln.start, ln.len); k++)
		cost++;
	return cost;
}

/* The hunk: header, then its file's header lines, then the body in order,
 * so that a tight byte budget drops the body's end first. */
static void sel_hunk(selection *s, const hunk *h)
{
	xline ln = h->header;

	sel_add(s, &ln);
	for (int k = 0; k < MAX_FILE_HEADER && line_prev(&s->in, &ln, &ln) &&
	                diff_file_header(s->in.data + ln.start, ln.len); k++)
		sel_add(s, &ln);
	ln = h->header;
	for (size_t k = 0; k < h->body && s->budget > 0 && line_next(&s->in, &ln, &ln); k++)
		sel_add(s, &ln);
}

/* Lines a hunk that does not fit must still get to be shown in part. */
#define MIN_HUNK_PART 8

/* The first hunks that fit whole in the budget (the very first one even if
 * only part of it fits: its first lines are the best there is); with
 * whole == false, every hunk, as far as the budget lasts. */
static void sel_hunks(selection *s, bool whole)
{
	for (size_t i = 0; i < s->hunks.n && s->budget > 0; i++) {
		size_t cost = i > 0 ? hunk_cost(s, &s->hunks.v[i]) : 0;
		if (whole && cost > s->budget)
			break;
		if (cost > s->budget && s->budget < MIN_HUNK_PART)
			break; /* a header with no changed line after it says nothing */
		sel_hunk(s, &s->hunks.v[i]);
	}
}

/* What is left of the budget, from the end backwards: the lines next to
 * the tail are the likeliest to explain it. */
static void sel_fill(selection *s)
{
	xline ln = s->last;

	while (s->budget > 0 && line_prev(&s->in, &ln, &ln))
		sel_add(s, &ln);
}

static void select_lines(selection *s, size_t max_lines)
{
	size_t tail = tail_size(max_lines);

	s->budget = max_lines - tail; /* priorities 1-2 cannot eat the tail's share */
	sel_matches(s, &s->errors, MAX_FIRST_ERRORS);
	sel_hunks(s, true);
	s->budget += tail;
	sel_tail(s, tail);
	sel_matches(s, &s->errors, SIZE_MAX);
	sel_hunks(s, false);
	sel_matches(s, &s->locations, SIZE_MAX);
	sel_head(s);
	sel_fill(s);
}

static void sel_dispose(selection *s)
{
	free(s->errors.v);
	free(s->locations.v);
	free(s->hunks.v);
	free(s->chosen.v);
	free(s->kept);
}

/* ------------------------------------------------------------------ fit */

/* The kept lines linked in line order, with the text's size kept current:
 * pieces (lines and gap markers) and their bytes, '\n' separators aside. */
typedef struct {
	xline *lines; /* by rank (priority order) */
	size_t n, total;
	size_t *prev, *next; /* ranks of the neighbours in line order, or NONE */
	size_t first;        /* rank of the first line in line order */
	size_t pieces, bytes;
} layout;

static size_t text_len(const layout *l) { return l->bytes + (l->pieces ? l->pieces - 1 : 0); }

/* Lines left out between ranks a and b (NONE: the start or end). */
static size_t gap(const layout *l, size_t a, size_t b)
{
	size_t lo = a == NONE ? 0 : l->lines[a].index + 1;
	size_t hi = b == NONE ? l->total : l->lines[b].index;
	return hi - lo;
}

static void count_gap(layout *l, size_t lines_out, bool add)
{
	char buf[64];
	if (lines_out == 0)
		return;
	size_t w = gap_marker(buf, sizeof buf, lines_out);
	l->pieces = add ? l->pieces + 1 : l->pieces - 1;
	l->bytes = add ? l->bytes + w : l->bytes - w;
}

typedef struct { size_t index, rank; } by_index;

static int cmp_index(const void *a, const void *b)
{
	size_t x = ((const by_index *)a)->index, y = ((const by_index *)b)->index;
	return (x > y) - (x < y);
}

static void layout_init(layout *l, xline_list *chosen, size_t total, const char *data,
                        size_t max_line_bytes)
{
	size_t n = chosen->n;
	assert(n > 0); /* the tail always chose the last line */
	by_index *order = hive_xmalloc(n * sizeof *order);

	*l = (layout){ .lines = chosen->v, .n = n, .total = total, .first = NONE };
	l->prev = hive_xmalloc(n * sizeof *l->prev);
	l->next = hive_xmalloc(n * sizeof *l->next);
	for (size_t r = 0; r < n; r++) {
		order[r] = (by_index){ l->lines[r].index, r };
		l->lines[r].limit = max_line_bytes;
		l->lines[r].width = line_render(data, &l->lines[r], NULL);
	}
	qsort(order, n, sizeof *order, cmp_index);
	for (size_t i = 0, a = NONE; i < n; a = order[i++].rank) {
		size_t r = order[i].rank;
		l->prev[r] = a;
		l->next[r] = i + 1 < n ? order[i + 1].rank : NONE;
		count_gap(l, gap(l, a, r), true);
		l->pieces++, l->bytes += l->lines[r].width;
	}
	l->first = order[0].rank;
	assert(gap(l, order[n - 1].rank, NONE) == 0); /* so no marker at the end */
	free(order);
}

static void layout_drop(layout *l, size_t r)
{
	size_t a = l->prev[r], b = l->next[r];

	count_gap(l, gap(l, a, r), false);
	count_gap(l, gap(l, r, b), false);
	l->pieces--, l->bytes -= l->lines[r].width;
	count_gap(l, gap(l, a, b), true);
	if (a != NONE)
		l->next[a] = b;
	else
		l->first = b;
	if (b != NONE)
		l->prev[b] = a;
	l->n--;
}

/* Only the input's last line is left and it is still too long: cut it so
 * that, with the worst-case cut marker, the text is max_bytes at most. */
static void layout_recut(layout *l, const char *data, size_t r, size_t max_bytes)
{
	xline *ln = &l->lines[r];
	char mark[64];
	size_t others = text_len(l) - ln->width;
	size_t room = max_bytes - others;
	size_t mark_max = (size_t)snprintf(mark, sizeof mark, " [... %zu bytes cut]", ln->len);

	assert(others < max_bytes && mark_max < room); /* HIVE_EXCERPT_MIN_BYTES */
	l->bytes -= ln->width;
	ln->limit = room - mark_max;
	ln->width = line_render(data, ln, NULL);
	l->bytes += ln->width;
}

/* Drop lines, last chosen first, until the text fits; the input's last line
 * (chosen by the tail step, so always present) stays. */
static void layout_fit(layout *l, const char *data, size_t max_bytes)
{
	size_t last = NONE;

	for (size_t r = 0; r < l->n; r++)
		if (l->lines[r].index == l->total - 1)
			last = r;
	assert(last != NONE);
	for (size_t r = l->n; r-- > 0 && text_len(l) > max_bytes;)
		if (r != last)
			layout_drop(l, r);
	if (text_len(l) > max_bytes)
		layout_recut(l, data, last, max_bytes);
	assert(text_len(l) <= max_bytes);
}

/* --------------------------------------------------------------- render */

static void put_piece(hive_buf *b, size_t *pieces)
{
	if ((*pieces)++ > 0)
		hive_buf_putc(b, '\n');
}

static char *layout_render(const layout *l, const char *data)
{
	hive_buf b = { 0 };
	char buf[64];
	size_t pieces = 0, a = NONE;

	for (size_t r = l->first; r != NONE; a = r, r = l->next[r]) {
		if (gap(l, a, r) > 0) {
			put_piece(&b, &pieces);
			hive_buf_append(&b, buf, gap_marker(buf, sizeof buf, gap(l, a, r)));
		}
		put_piece(&b, &pieces);
		line_render(data, &l->lines[r], &b);
	}
	assert(b.len == text_len(l));
	return hive_buf_detach(&b);
}

/* ------------------------------------------------------------------ API */

void hive_excerpt_make(const char *data, size_t len, const hive_excerpt_opts *opts,
                       hive_excerpt *out)
{
	hive_excerpt_opts o = opts ? *opts : (hive_excerpt_opts){ 0 };
	selection s = { .in = { len ? data : "", len } };
	layout l;
	size_t clean_len = 0;
	char *clean = len ? clean_input(data, len, &clean_len) : NULL;

	o.max_lines = o.max_lines ? o.max_lines : HIVE_EXCERPT_MAX_LINES;
	o.max_line_bytes = o.max_line_bytes ? o.max_line_bytes : HIVE_EXCERPT_MAX_LINE_BYTES;
	o.max_bytes = o.max_bytes ? o.max_bytes : HIVE_EXCERPT_MAX_BYTES;
	if (o.max_bytes < HIVE_EXCERPT_MIN_BYTES)
		o.max_bytes = HIVE_EXCERPT_MIN_BYTES;

	memset(out, 0, sizeof *out);
	if (clean)
		s.in = (input){ clean, clean_len };
	matcher_init(&s.m);
	sel_scan(&s, o.max_lines < SIZE_MAX / 4 ? 2 * o.max_lines + MAX_FIRST_ERRORS : SIZE_MAX);
	out->total_lines = s.total;
	if (s.total == 0) {
		out->text = hive_xstrdup("");
		free(clean);
		return;
	}
	s.kept = hive_xcalloc(s.total / 8 + 1, 1);
	select_lines(&s, o.max_lines);
	layout_init(&l, &s.chosen, s.total, s.in.data, o.max_line_bytes);
	layout_fit(&l, s.in.data, o.max_bytes);
	out->text = layout_render(&l, s.in.data);
	out->kept_lines = l.n;
	out->omitted_lines = s.total - l.n;
	free(l.prev);
	free(l.next);
	sel_dispose(&s);
	free(clean);
}

void hive_excerpt_dispose(hive_excerpt *e)
{
	if (!e)
		return;
	free(e->text);
	memset(e, 0, sizeof *e);
}
